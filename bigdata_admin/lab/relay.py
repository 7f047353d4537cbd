"""The offline relay: what a cluster without internet needs from its control host.

Two HTTP services bound to one address of the control host (for the lab: its bridge address):

* an **apt proxy** (`Acquire::http::Proxy "http://ADDR:3142";` on the nodes): nodes ask for
  `http://MIRROR/...` and the control host fetches it from the mirror. Only the mirror hosts named at
  start are relayed (anything else gets 403). Package files (`.deb`, and `by-hash` indexes, both
  immutable by name) are kept in a cache on the control host, so each is downloaded once for all
  nodes (and all labs); other index files are passed through.
* the **artifact cache** (`bigdata_artifact_base_url: http://ADDR:8765`): the control host's
  `bigdata-admin artifacts` cache, read-only, so roles download release files with `get_url`.

The same daemon serves a real air-gapped cluster: run it on the control host (which reaches the
mirror, or a local mirror) and point the nodes at it.

Run as `python -m bigdata_admin.lab.relay --bind ADDR --allow deb.debian.org ...`; `start()`/`stop()`
manage it as a background process with a pid (the control host need not run systemd).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PASS_REQUEST_HEADERS = ("If-Modified-Since", "If-None-Match", "Range", "If-Range", "Accept-Encoding")
PASS_RESPONSE_HEADERS = ("Content-Type", "Content-Length", "Last-Modified", "ETag", "Content-Range",
                         "Accept-Ranges", "Content-Encoding")
CHUNK = 256 * 1024


_locks: dict[Path, threading.Lock] = {}
_locks_guard = threading.Lock()


def _file_lock(path: Path) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(path, threading.Lock())


def cacheable(path: str) -> bool:
    """Files whose content never changes under the same name."""
    return path.endswith((".deb", ".udeb", ".dsc")) or "/by-hash/" in path


class AptProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bigdata-admin-relay/1"
    allow: frozenset[str] = frozenset()
    cache_dir: Path = Path("/nonexistent")

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"proxy {self.address_string()} {format % args}\n")

    def do_HEAD(self) -> None:
        self._handle(head=True)

    def do_GET(self) -> None:
        self._handle(head=False)

    def _refuse(self, code: int, why: str) -> None:
        body = (why + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _handle(self, head: bool) -> None:
        url = urllib.parse.urlsplit(self.path)
        if url.scheme != "http" or not url.hostname:
            self._refuse(400, "this is an apt proxy: ask for absolute http:// URLs")
            return
        if url.hostname not in self.allow:
            self._refuse(403, f"{url.hostname} is not a relayed mirror ({', '.join(sorted(self.allow))})")
            return
        path = url.path + (f"?{url.query}" if url.query else "")
        cached = self.cache_dir / url.hostname / url.path.lstrip("/")
        if cacheable(url.path) and "Range" not in self.headers:
            # One download per file: hosts asking for it at the same time wait for the first.
            with _file_lock(cached):
                if cached.is_file():
                    self._send_file(cached, head)
                    return
                self._fetch(url.hostname, url.port or 80, path, head, store=cached)
            return
        self._fetch(url.hostname, url.port or 80, path, head, store=None)

    def _send_file(self, file: Path, head: bool) -> None:
        self.log_message('"%s" cache HIT', self.requestline)
        self.send_response(200)
        self.send_header("Content-Length", str(file.stat().st_size))
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("X-Cache", "HIT")
        self.end_headers()
        if not head:
            with file.open("rb") as fh:
                shutil.copyfileobj(fh, self.wfile, CHUNK)

    def _fetch(self, host: str, port: int, path: str, head: bool, store: Path | None) -> None:
        headers = {k: v for k in PASS_REQUEST_HEADERS if (v := self.headers.get(k))}
        conn = http.client.HTTPConnection(host, port, timeout=60)
        try:
            conn.request("HEAD" if head else "GET", path, headers=headers)
            resp = conn.getresponse()
        except OSError as exc:
            self._refuse(502, f"cannot reach {host}: {exc}")
            conn.close()
            return
        try:
            self.send_response(resp.status, resp.reason)
            for name in PASS_RESPONSE_HEADERS:
                value = resp.getheader(name)
                if value is not None:
                    self.send_header(name, value)
            length = resp.getheader("Content-Length")
            if length is None and not head and resp.status not in (204, 304):
                self.send_header("Connection", "close")
                self.close_connection = True
            self.send_header("X-Cache", "MISS")
            self.end_headers()
            if head or resp.status in (204, 304):
                return
            keep = store is not None and resp.status == 200
            tmp = None
            if keep:
                assert store is not None
                store.parent.mkdir(parents=True, exist_ok=True)
                tmp = tempfile.NamedTemporaryFile(dir=store.parent, prefix=".part-", delete=False)  # noqa: SIM115
            received = 0
            try:
                while chunk := resp.read(CHUNK):
                    received += len(chunk)
                    if tmp is not None and store is not None:
                        tmp.write(chunk)
                        if length is not None and received == int(length):
                            # Complete: keep it before the client has its last byte.
                            tmp.close()
                            os.replace(tmp.name, store)
                    self.wfile.write(chunk)
                if tmp is not None and store is not None and length is None and not tmp.closed:
                    tmp.close()
                    os.replace(tmp.name, store)
            finally:
                if tmp is not None:
                    tmp.close()
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(tmp.name)
        finally:
            conn.close()


class ArtifactHandler(SimpleHTTPRequestHandler):
    """Read-only file server (GET/HEAD only) over the artifact cache."""

    def log_message(self, format: str, *args: object) -> None:
        sys.stderr.write(f"artifacts {self.address_string()} {format % args}\n")


def _artifact_server(bind: str, port: int, artifacts: Path) -> ThreadingHTTPServer:
    """`bigdata-admin artifacts serve`'s server (read-only, Range, no listing) when available."""
    try:
        from bigdata_admin.artifacts import make_server
    except ImportError:
        return ThreadingHTTPServer((bind, port), functools.partial(ArtifactHandler, directory=str(artifacts)))
    return make_server(bind, port, artifacts)


def serve(bind: str, proxy_port: int, artifact_port: int, allow: list[str], apt_cache: Path,
          artifacts: Path) -> None:
    """Serve both until SIGTERM/SIGINT (foreground)."""
    # Blocked before the threads start, so they inherit it and the main thread takes the signal in
    # sigwait. (A handler that set an Event could deadlock on the Event's lock when the signal came
    # while the main thread held it inside Event.wait.)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    apt_cache.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    proxy_handler = type("Proxy", (AptProxyHandler,), {"allow": frozenset(allow), "cache_dir": apt_cache})
    servers = [ThreadingHTTPServer((bind, proxy_port), proxy_handler), _artifact_server(bind, artifact_port,
                                                                                      artifacts)]
    for s in servers:
        s.daemon_threads = True
        threading.Thread(target=s.serve_forever, daemon=True).start()
    sys.stderr.write(f"relay on {bind}: apt proxy :{proxy_port} for {', '.join(allow)}, "
                     f"artifacts :{artifact_port} from {artifacts}\n")
    sys.stderr.flush()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    for s in servers:
        s.shutdown()
        s.server_close()


def port_open(addr: str, port: int, timeout: float = 0.2) -> bool:
    """True if something listens on addr:port. A TCP self-connect (the kernel picked the probed port
    as the client's own, possible when that port is in the ephemeral range) does not count."""
    try:
        with socket.create_connection((addr, port), timeout=timeout) as s:
            return bool(s.getsockname() != s.getpeername())
    except OSError:
        return False


def start(bind: str, proxy_port: int, artifact_port: int, allow: list[str], apt_cache: Path,
          artifacts: Path, log: Path, timeout: float = 10.0) -> int:
    """Start the relay in the background (own session); wait until both ports answer; return its pid."""
    from bigdata_admin.errors import RunFailed

    cmd = [sys.executable, "-m", "bigdata_admin.lab.relay", "--bind", bind,
           "--proxy-port", str(proxy_port), "--artifact-port", str(artifact_port),
           "--apt-cache", str(apt_cache), "--artifacts", str(artifacts), "--allow", *allow]
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                start_new_session=True, close_fds=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RunFailed(f"the relay exited at start (exit {proc.returncode}); see {log}",
                            fix=f"Is port {proxy_port} or {artifact_port} on {bind} taken?")
        if port_open(bind, proxy_port) and port_open(bind, artifact_port):
            return proc.pid
        time.sleep(0.03)
    proc.terminate()
    raise RunFailed(f"the relay did not answer on {bind} within {timeout:.0f} s; see {log}")


def is_relay(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"bigdata_admin.lab.relay" in cmdline


def _running(pid: int) -> bool:
    """True until the process has closed its files: gone, or a zombie. Its cmdline empties earlier
    (the kernel drops its memory before its files), so is_relay alone returns while ports still listen."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def stop(pid: int | None, timeout: float = 5.0) -> None:
    """SIGTERM the relay, SIGKILL it after timeout seconds; return once it has closed its ports."""
    if not is_relay(pid):
        return
    assert pid is not None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _running(pid):
        time.sleep(0.05)
    if _running(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        while _running(pid):
            time.sleep(0.05)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bigdata_admin.lab.relay", description=__doc__.split("\n")[0])
    p.add_argument("--bind", required=True)
    p.add_argument("--proxy-port", type=int, default=3142)
    p.add_argument("--artifact-port", type=int, default=8765)
    p.add_argument("--apt-cache", type=Path, required=True)
    p.add_argument("--artifacts", type=Path, required=True)
    p.add_argument("--allow", nargs="+", required=True, help="mirror host names to relay")
    a = p.parse_args(argv)
    serve(a.bind, a.proxy_port, a.artifact_port, a.allow, a.apt_cache, a.artifacts)


if __name__ == "__main__":
    main()
