"""Download, resume, mirror fallback and verification against a real HTTP server on 127.0.0.1.

The server is python's http.server with Range support, written here, serving files this test
creates under Apache's directory layout. Nothing here reaches Apache.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from bigdata_admin import artifacts, inventory
from bigdata_admin.catalog import apache_artifact
from bigdata_admin.checksum import ChecksumFileError, parse_checksum

pytestmark = pytest.mark.integration

ZK = "3.8.4"
ZK_PATH = f"zookeeper/zookeeper-{ZK}/apache-zookeeper-{ZK}-bin.tar.gz"
ZK_FILE = ZK_PATH.rsplit("/", 1)[-1]
PAYLOAD = bytes(range(256)) * 4096  # 1 MiB


def gpg_md(name: str, data: bytes) -> str:
    """`gpg --print-md SHA512` layout (how ZooKeeper and Kafka publish theirs)."""
    hexd = hashlib.sha512(data).hexdigest().upper()
    groups = [hexd[i:i + 8] for i in range(0, len(hexd), 8)]
    return f"{name}: {' '.join(groups[:6])}\n{' ' * (len(name) + 2)}{' '.join(groups[6:12])}\n" \
           f"{' ' * (len(name) + 2)}{' '.join(groups[12:])}\n"


@dataclass
class Site:
    files: dict[str, bytes] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    cut_after: dict[str, int] = field(default_factory=dict)
    """path -> bytes after which the server drops the connection (once)."""


class Handler(http.server.BaseHTTPRequestHandler):
    site: Site

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = self.path.lstrip("/")
        rng = self.headers.get("Range")
        self.site.requests.append((path, rng))
        data = self.site.files.get(path)
        if data is None:
            self.send_error(404)
            return
        start = 0
        if rng:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(data):
                self.send_error(416)
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        cut = self.site.cut_after.pop(path, None)
        if cut is not None:
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


@pytest.fixture()
def server() -> Iterator[tuple[str, Site]]:
    site = Site()
    handler = type("H", (Handler,), {"site": site})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", site
    httpd.shutdown()
    httpd.server_close()


def zk_artifact(base: str) -> Any:
    return apache_artifact("zookeeper", ZK, mirror=f"{base}/mirror", archive=f"{base}/archive")


def publish(site: Site, root: str, data: bytes = PAYLOAD, sums: str | None = None) -> None:
    site.files[f"{root}/{ZK_PATH}"] = data
    site.files[f"{root}/{ZK_PATH}.sha512"] = (sums or gpg_md(ZK_FILE, data)).encode()


def test_fetch_from_mirror_verifies_and_records(server: tuple[str, Site], tmp_path: Path) -> None:
    base, site = server
    publish(site, "mirror")
    a = zk_artifact(base)
    got = artifacts.fetch_http(a, tmp_path)
    assert got.hexdigest == hashlib.sha512(PAYLOAD).hexdigest()
    assert (tmp_path / ZK_FILE).read_bytes() == PAYLOAD
    assert (tmp_path / f"{ZK_FILE}.sha512").is_file(), "the checksum file is kept beside the file"
    entry = json.loads((tmp_path / "manifest.json").read_text())["files"][ZK_FILE]
    assert entry["algorithm"] == "sha512" and entry["checksum"] == got.hexdigest
    assert entry["component"] == "zookeeper" and entry["version"] == ZK
    # Fetching again downloads nothing.
    n = len(site.requests)
    artifacts.fetch_http(a, tmp_path)
    assert [p for p, _ in site.requests[n:] if p.endswith(".tar.gz")] == []


def test_falls_back_to_the_archive(server: tuple[str, Site], tmp_path: Path) -> None:
    base, site = server
    publish(site, "archive")  # the mirror dropped this old release
    artifacts.fetch_http(zk_artifact(base), tmp_path)
    entry = artifacts.load_manifest(tmp_path)["files"][ZK_FILE]
    assert entry["url"].startswith(f"{base}/archive/")
    assert (f"mirror/{ZK_PATH}.sha512", None) in site.requests


def test_resumes_a_partial_download_with_range(server: tuple[str, Site], tmp_path: Path) -> None:
    base, site = server
    publish(site, "mirror")
    half = len(PAYLOAD) // 2
    (tmp_path / f"{ZK_FILE}.part").write_bytes(PAYLOAD[:half])
    artifacts.fetch_http(zk_artifact(base), tmp_path)
    assert (f"mirror/{ZK_PATH}", f"bytes={half}-") in site.requests
    assert (tmp_path / ZK_FILE).read_bytes() == PAYLOAD
    assert not (tmp_path / f"{ZK_FILE}.part").exists()


def test_interrupted_download_is_kept_and_resumed(server: tuple[str, Site], tmp_path: Path) -> None:
    base, site = server
    publish(site, "mirror")
    site.cut_after[f"mirror/{ZK_PATH}"] = 300_000
    a = apache_artifact("zookeeper", ZK, mirror=f"{base}/mirror", archive=f"{base}/nowhere")
    with pytest.raises(artifacts.DownloadError):
        artifacts.fetch_http(a, tmp_path)
    part = tmp_path / f"{ZK_FILE}.part"
    assert part.is_file() and 0 < part.stat().st_size < len(PAYLOAD)
    kept = part.stat().st_size
    artifacts.fetch_http(a, tmp_path)
    assert (f"mirror/{ZK_PATH}", f"bytes={kept}-") in site.requests
    assert (tmp_path / ZK_FILE).read_bytes() == PAYLOAD


def test_wrong_hash_on_mirror_then_good_archive(server: tuple[str, Site], tmp_path: Path) -> None:
    base, site = server
    publish(site, "mirror", data=PAYLOAD[:-1] + b"X", sums=gpg_md(ZK_FILE, PAYLOAD))  # tampered file
    publish(site, "archive")
    artifacts.fetch_http(zk_artifact(base), tmp_path)
    assert (tmp_path / ZK_FILE).read_bytes() == PAYLOAD
    assert artifacts.load_manifest(tmp_path)["files"][ZK_FILE]["url"].startswith(f"{base}/archive/")


def test_wrong_hash_everywhere_fails_and_records_nothing(server: tuple[str, Site], tmp_path: Path) -> None:
    base, site = server
    publish(site, "mirror", data=b"evil" * 10, sums=gpg_md(ZK_FILE, PAYLOAD))
    with pytest.raises(artifacts.DownloadError, match="mismatch"):
        artifacts.fetch_http(zk_artifact(base), tmp_path)
    assert not (tmp_path / ZK_FILE).exists()
    assert ZK_FILE not in artifacts.load_manifest(tmp_path)["files"]


def test_corrupt_checksum_file_is_named(server: tuple[str, Site], tmp_path: Path) -> None:
    base, site = server
    publish(site, "mirror", sums="<html><body>Service Unavailable</body></html>")
    with pytest.raises(artifacts.DownloadError, match="not a checksum in any known layout"):
        artifacts.fetch_http(apache_artifact("zookeeper", ZK, mirror=f"{base}/mirror",
                                             archive=f"{base}/nowhere"), tmp_path)


def make_inventory(tmp_path: Path, base: str) -> inventory.Cluster:
    inv = tmp_path / "inv"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "hosts": {"n1": {"ansible_host": "10.213.0.11"}},
        "children": {"zookeeper": {"hosts": {"n1": {}}}, "redis": {"hosts": {"n1": {}}}}}}))
    (inv / "group_vars" / "all.yml").write_text(yaml.safe_dump({
        "bigdata_apache_mirror": f"{base}/mirror", "bigdata_apache_archive": f"{base}/archive",
        "bigdata_java_for": {"zookeeper": 17}}))
    return inventory.load(inv)


def test_fetch_list_verify_for_an_inventory(server: tuple[str, Site], tmp_path: Path) -> None:
    base, site = server
    publish(site, "mirror")
    cluster = make_inventory(tmp_path, base)
    cache = tmp_path / "cache"
    assert [a.filename for a in artifacts.missing(cluster, cache)] == [ZK_FILE]
    outcomes = artifacts.fetch(cluster, cache=cache)
    assert [(o.artifact.filename, o.action, o.ok) for o in outcomes] == [(ZK_FILE, "fetched", True)]
    assert artifacts.missing(cluster, cache) == []
    assert [o.action for o in artifacts.fetch(cluster, cache=cache)] == ["cached"]
    assert [o.action for o in artifacts.verify(cluster, cache=cache)] == ["verified"]
    # A file corrupted in the cache fails verification and leaves the manifest.
    data = bytearray((cache / ZK_FILE).read_bytes())
    data[100] ^= 0xFF
    (cache / ZK_FILE).write_bytes(bytes(data))
    [bad] = artifacts.verify(cluster, cache=cache)
    assert not bad.ok and "mismatch" in bad.message
    assert ZK_FILE not in artifacts.load_manifest(cache)["files"]
    assert [a.filename for a in artifacts.missing(cluster, cache)] == [ZK_FILE]


def test_two_fetches_at_once_take_turns_and_download_once(server: tuple[str, Site], tmp_path: Path) -> None:
    base, site = server
    publish(site, "mirror")
    cluster = make_inventory(tmp_path, base)
    cache = tmp_path / "cache"
    results: list[list[str]] = []

    def one() -> None:
        results.append([o.action for o in artifacts.fetch(cluster, cache=cache)])

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    # One fetched it; the other waited for the cache's lock and found it there, verified.
    assert sorted(results) == [["cached"], ["fetched"]], results
    assert [p for p, _ in site.requests if p.endswith(".tar.gz")] == [f"mirror/{ZK_PATH}"]
    assert artifacts.missing(cluster, cache) == []


def test_unknown_component_is_bad_input(server: tuple[str, Site], tmp_path: Path) -> None:
    base, _ = server
    cluster = make_inventory(tmp_path, base)
    with pytest.raises(artifacts.BadInput, match="needs no artifact for hbase"):
        artifacts.fetch(cluster, ["hbase"], cache=tmp_path / "cache")


def test_serve_is_read_only_with_range(tmp_path: Path) -> None:
    (tmp_path / "a.tar.gz").write_bytes(PAYLOAD)
    (tmp_path / "b.tar.gz.part").write_bytes(b"partial")
    with artifacts.serving("127.0.0.1", 0, tmp_path) as srv:
        with urllib.request.urlopen(f"{srv.url}/a.tar.gz") as r:
            assert r.read() == PAYLOAD
        req = urllib.request.Request(f"{srv.url}/a.tar.gz", headers={"Range": "bytes=1000-"})
        with urllib.request.urlopen(req) as r:
            assert r.status == 206 and r.read() == PAYLOAD[1000:]
        for path, code in (("/", 403), ("/b.tar.gz.part", 404), ("/../etc/passwd", 404)):
            with pytest.raises(urllib.error.HTTPError) as exc:
                urllib.request.urlopen(f"{srv.url}{path}")
            assert exc.value.code == code
        put = urllib.request.Request(f"{srv.url}/a.tar.gz", data=b"x", method="PUT")
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(put)
        assert exc.value.code == 501
    # The checksum layouts parsed here are the same ones tested in the unit tests.
    with pytest.raises(ChecksumFileError):
        parse_checksum("nonsense here", "a.tar.gz", "sha512")


def _pypi_reachable() -> bool:
    try:
        artifacts.pypi_hash("py4j", "py4j-0.10.9.7-py2.py3-none-any.whl", timeout=15)
    except Exception:
        return False
    return True


@pytest.mark.slow
def test_pypi_wheel_for_real(tmp_path: Path) -> None:
    """py4j (200 kB) through pip download, checked against the sha256 the index publishes."""
    if not _pypi_reachable():
        pytest.skip("PyPI is not reachable from here")
    from bigdata_admin.catalog import pypi_artifacts

    py4j = pypi_artifacts("3.5.5")[1]
    got = artifacts.fetch_pypi(py4j, tmp_path)
    assert got.hexdigest == "85defdfd2b2376eb3abf5ca6474b51ab7e0de341c75a02f46dc9b5976f5a5c1b"
    assert hashlib.sha256((tmp_path / py4j.filename).read_bytes()).hexdigest() == got.hexdigest
    assert artifacts.load_manifest(tmp_path)["files"][py4j.filename]["algorithm"] == "sha256"
