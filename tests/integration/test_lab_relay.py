"""The offline relay against real HTTP servers on 127.0.0.1 (no lab needed): the apt proxy relays
only named mirrors, caches immutable files once, passes indexes through; the artifact server serves
the cache read-only."""

from __future__ import annotations

import functools
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bigdata_admin.lab import relay

pytestmark = pytest.mark.integration


class _Quiet(SimpleHTTPRequestHandler):
    hits: list[str] = []  # noqa: RUF012

    def log_message(self, *args: object) -> None:
        _Quiet.hits.append(self.path)


def _serve(server: ThreadingHTTPServer) -> ThreadingHTTPServer:
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "mirror"
    (root / "debian/pool/main/t/tiny").mkdir(parents=True)
    (root / "debian/pool/main/t/tiny/tiny_1.0_all.deb").write_bytes(b"!<arch>\n" + b"x" * 100_000)
    (root / "debian/dists/bookworm").mkdir(parents=True)
    (root / "debian/dists/bookworm/InRelease").write_text("Suite: bookworm\n")
    server = _serve(ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root))))
    _Quiet.hits.clear()
    yield f"127.0.0.1:{server.server_address[1]}", root
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    cache = tmp_path / "apt-cache"
    handler = type("P", (relay.AptProxyHandler,), {"allow": frozenset({"127.0.0.1"}), "cache_dir": cache})
    server = _serve(ThreadingHTTPServer(("127.0.0.1", 0), handler))
    yield f"http://127.0.0.1:{server.server_address[1]}", cache
    server.shutdown()
    server.server_close()


def _get(proxy_url: str, url: str) -> tuple[int, bytes, str]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": proxy_url}))
    try:
        with opener.open(url, timeout=10) as resp:
            return resp.status, resp.read(), resp.headers.get("X-Cache", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("X-Cache", "")


def test_packages_are_fetched_once_and_then_served_from_the_cache(mirror: tuple[str, Path],
                                                                  proxy: tuple[str, Path]) -> None:
    upstream, root = mirror
    proxy_url, cache = proxy
    url = f"http://{upstream}/debian/pool/main/t/tiny/tiny_1.0_all.deb"
    want = (root / "debian/pool/main/t/tiny/tiny_1.0_all.deb").read_bytes()
    status, body, how = _get(proxy_url, url)
    assert (status, body, how) == (200, want, "MISS")
    cached = cache / "127.0.0.1/debian/pool/main/t/tiny/tiny_1.0_all.deb"
    assert cached.read_bytes() == want
    for _ in range(3):
        assert _get(proxy_url, url) == (200, want, "HIT")
    assert _Quiet.hits.count("/debian/pool/main/t/tiny/tiny_1.0_all.deb") == 1


def test_indexes_pass_through_uncached(mirror: tuple[str, Path], proxy: tuple[str, Path]) -> None:
    upstream, root = mirror
    proxy_url, cache = proxy
    url = f"http://{upstream}/debian/dists/bookworm/InRelease"
    assert _get(proxy_url, url)[:2] == (200, b"Suite: bookworm\n")
    (root / "debian/dists/bookworm/InRelease").write_text("Suite: bookworm\nChanged: yes\n")
    assert _get(proxy_url, url)[1] == b"Suite: bookworm\nChanged: yes\n"
    assert not (cache / "127.0.0.1/debian/dists/bookworm/InRelease").exists()
    assert _get(proxy_url, f"http://{upstream}/debian/nope")[0] == 404


def test_only_named_mirrors_are_relayed(proxy: tuple[str, Path]) -> None:
    proxy_url, _ = proxy
    status, body, _ = _get(proxy_url, "http://localhost:9/anything")
    assert status == 403
    assert b"not a relayed mirror" in body


def test_relative_requests_are_refused(proxy: tuple[str, Path]) -> None:
    proxy_url, _ = proxy
    try:
        urllib.request.urlopen(f"{proxy_url}/debian/", timeout=5)
        raise AssertionError("expected 400")
    except urllib.error.HTTPError as exc:
        assert exc.code == 400


def test_relay_process_serves_artifacts_and_stops(tmp_path: Path) -> None:
    """The background daemon as `lab up` starts it, bound to 127.0.0.1 here."""
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    (artifacts / "zookeeper-3.8.4.tar.gz").write_bytes(b"\x1f\x8b" + b"z" * 5000)
    pid = relay.start("127.0.0.1", ports[0], ports[1], ["deb.debian.org"], tmp_path / "apt", artifacts,
                      tmp_path / "relay.log")
    try:
        assert relay.is_relay(pid)
        with urllib.request.urlopen(f"http://127.0.0.1:{ports[1]}/zookeeper-3.8.4.tar.gz", timeout=5) as r:
            assert r.read() == (artifacts / "zookeeper-3.8.4.tar.gz").read_bytes()
        req = urllib.request.Request(f"http://127.0.0.1:{ports[1]}/x", method="PUT", data=b"no")
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(req, timeout=5)
        assert exc.value.code == 501  # read-only
    finally:
        relay.stop(pid)
    assert not relay.is_relay(pid)
    assert not relay.port_open("127.0.0.1", ports[0])


def test_relay_exits_cleanly_on_sigterm_sent_as_soon_as_it_answers(tmp_path: Path) -> None:
    """A SIGTERM right after start once left the relay hung (its handler set an Event whose lock the
    main thread held), so `lab down` had to SIGKILL it; it must exit 0 on its own each time."""
    import os
    import signal
    import time

    for i in range(10):
        ports = []
        for _ in range(2):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                ports.append(s.getsockname()[1])
        pid = relay.start("127.0.0.1", ports[0], ports[1], ["deb.debian.org"], tmp_path / "apt",
                          tmp_path / "artifacts", tmp_path / "relay.log")
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.02)
        else:
            relay.stop(pid)
            pytest.fail(f"round {i}: the relay was still running 5 s after SIGTERM")
        assert os.waitstatus_to_exitcode(status) == 0, f"round {i}"


def test_simultaneous_requests_download_a_package_once(mirror: tuple[str, Path],
                                                       proxy: tuple[str, Path]) -> None:
    upstream, root = mirror
    proxy_url, _ = proxy
    url = f"http://{upstream}/debian/pool/main/t/tiny/tiny_1.0_all.deb"
    want = (root / "debian/pool/main/t/tiny/tiny_1.0_all.deb").read_bytes()
    results: list[tuple[int, bytes, str]] = []
    threads = [threading.Thread(target=lambda: results.append(_get(proxy_url, url))) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 6
    assert all(status == 200 and body == want for status, body, _ in results)
    assert sorted(how for _, _, how in results) == ["HIT"] * 5 + ["MISS"]
    assert _Quiet.hits.count("/debian/pool/main/t/tiny/tiny_1.0_all.deb") == 1


def test_relay_verb_serves_in_the_foreground(tmp_path: Path, mirror: tuple[str, Path]) -> None:
    """`bigdata-admin relay` as an air-gapped cluster's control host would run it."""
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time

    upstream, root = mirror
    ports = []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    env = {**os.environ, "BIGDATA_ADMIN_CACHE_DIR": str(tmp_path / "artifacts")}
    proc = subprocess.Popen([sys.executable, "-m", "bigdata_admin", "relay", "--bind", "127.0.0.1",
                             "--allow", "127.0.0.1", "--proxy-port", str(ports[0]), "--artifact-port",
                             str(ports[1]), "--apt-cache", str(tmp_path / "apt")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while not (relay.port_open("127.0.0.1", ports[0]) and relay.port_open("127.0.0.1", ports[1])):
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            assert time.monotonic() < deadline
            time.sleep(0.1)
        url = f"http://{upstream}/debian/pool/main/t/tiny/tiny_1.0_all.deb"
        status, body, _ = _get(f"http://127.0.0.1:{ports[0]}", url)
        assert status == 200 and body == (root / "debian/pool/main/t/tiny/tiny_1.0_all.deb").read_bytes()
        assert (tmp_path / "apt/127.0.0.1/debian/pool/main/t/tiny/tiny_1.0_all.deb").is_file()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
    busy = subprocess.run([sys.executable, "-m", "bigdata_admin", "relay", "--bind", "192.0.2.250"],
                          capture_output=True, text=True, env=env, timeout=60)
    assert busy.returncode == 2
    assert "cannot listen on 192.0.2.250" in busy.stderr and "fix:" in busy.stderr
