"""Spark on YARN: the deploy's archive helper (roles/spark/files/spark-yarn-archives) against a small
in-process WebHDFS fake (the real one is exercised on the lab), and the smoke test's pure helpers.

The helper must upload Spark's jars and the PySpark archives once, change nothing on a second run,
upload again only what changed, and build the same bytes from the same files.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import subprocess
import sys
import threading
import urllib.parse
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bigdata_admin.health import smoke_spark_yarn
from bigdata_admin.inventory import Cluster

REPO = Path(__file__).resolve().parents[2]
HELPER = REPO / "roles" / "spark" / "files" / "spark-yarn-archives"


class FakeWebHdfs(http.server.ThreadingHTTPServer):
    """Files and directories in memory; CREATE redirects to itself (`datanode=1`), like a NameNode."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.dirs: dict[str, str] = {"/": "755", "/tmp": "1777", "/user": "755", "/user/spark": "755"}
        self.calls: list[tuple[str, str, str]] = []


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeWebHdfs

    def log_message(self, *args: Any) -> None:
        pass

    def _reply(self, code: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode() if body is not None else b""
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _parse(self) -> tuple[str, dict[str, str]]:
        url = urllib.parse.urlsplit(self.path)
        path = urllib.parse.unquote(url.path.removeprefix("/webhdfs/v1")) or "/"
        query = dict(urllib.parse.parse_qsl(url.query))
        self.server.calls.append((self.command, query.get("op", ""), path))
        return path.rstrip("/") or "/", query

    def do_GET(self) -> None:
        path, q = self._parse()
        fs = self.server
        if q["op"] == "GETFILESTATUS":
            if path in fs.dirs:
                return self._reply(200, {"FileStatus": {"type": "DIRECTORY", "length": 0,
                                                        "permission": fs.dirs[path]}})
            if path in fs.files:
                return self._reply(200, {"FileStatus": {"type": "FILE", "length": len(fs.files[path]),
                                                        "permission": "644"}})
            return self._reply(404, {"RemoteException": {"message": f"File does not exist: {path}"}})
        if q["op"] == "OPEN":
            if path not in fs.files:
                return self._reply(404, {})
            data = fs.files[path]
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return None
        return self._reply(400, {})

    def do_PUT(self) -> None:
        path, q = self._parse()
        fs = self.server
        op = q["op"]
        if op == "MKDIRS":
            fs.dirs[path] = q.get("permission", "755")
            return self._reply(200, {"boolean": True})
        if op == "SETPERMISSION":
            fs.dirs[path] = q["permission"]
            return self._reply(200, {})
        if op == "RENAME":
            fs.files[q["destination"]] = fs.files.pop(path)
            return self._reply(200, {"boolean": True})
        if op == "CREATE" and "datanode" not in q:
            location = f"http://127.0.0.1:{fs.server_address[1]}/webhdfs/v1{path}?op=CREATE&datanode=1"
            return self._reply(307, None, {"Location": location})
        if op == "CREATE":
            fs.files[path] = self.rfile.read(int(self.headers["Content-Length"]))
            return self._reply(201, None)
        return self._reply(400, {})

    def do_DELETE(self) -> None:
        path, _ = self._parse()
        self.server.files.pop(path, None)
        self._reply(200, {"boolean": True})


@pytest.fixture
def webhdfs() -> Iterator[FakeWebHdfs]:
    server = FakeWebHdfs()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _wheel_home(root: Path) -> Path:
    """A pip-installed pyspark's layout: site-packages/pyspark (jars/, bin/, modules) and py4j beside it."""
    site = root / "site-packages"
    home = site / "pyspark"
    (home / "jars").mkdir(parents=True)
    (home / "bin").mkdir()
    (home / "sql").mkdir()
    (home / "__pycache__").mkdir()
    for i in range(3):
        (home / "jars" / f"lib-{i}.jar").write_bytes(bytes([i]) * (1000 + i))
    (home / "bin" / "spark-submit").write_text("#!/bin/sh\n")
    (home / "__init__.py").write_text("VERSION = 'test'\n")
    (home / "sql" / "__init__.py").write_text("")
    (home / "__pycache__" / "x.pyc").write_bytes(b"\0")
    (site / "py4j").mkdir()
    (site / "py4j" / "__init__.py").write_text("")
    return home


def _run(spec: dict[str, Any]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, str(HELPER)], input=json.dumps(spec), capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def _spec(home: Path, cache: Path, server: FakeWebHdfs) -> dict[str, Any]:
    return {"spark_home": str(home), "cache_dir": str(cache), "hdfs_dir": "/user/spark/yarn/spark-t",
            "staging_dir": "/tmp/spark-staging", "user": "spark",
            "namenodes": ["http://127.0.0.1:1/webhdfs/v1",  # a NameNode that does not answer first
                          f"http://127.0.0.1:{server.server_address[1]}/webhdfs/v1"],
            "archive": "spark-t-jars.zip", "pyspark": "pyspark.zip", "py4j": "py4j-0.1-src.zip"}


def test_archives_are_uploaded_once_and_again_only_when_changed(tmp_path: Path, webhdfs: FakeWebHdfs) -> None:
    home = _wheel_home(tmp_path)
    spec = _spec(home, tmp_path / "cache", webhdfs)
    first = _run(spec)
    assert first["changed"] is True
    assert sorted(first["uploaded"]) == ["py4j-0.1-src.zip", "pyspark.zip", "spark-t-jars.zip"]
    base = "/user/spark/yarn/spark-t"
    assert webhdfs.dirs[base] == "755" and webhdfs.dirs["/tmp/spark-staging"] == "1777"
    # The jars at the archive's root, stored; pyspark without jars/bin/caches; what HDFS holds is
    # byte for byte what the helper reports.
    jars = webhdfs.files[f"{base}/spark-t-jars.zip"]
    assert hashlib.sha256(jars).hexdigest() == first["files"]["spark-t-jars.zip"]["sha256"]
    zpath = tmp_path / "got.zip"
    zpath.write_bytes(jars)
    with zipfile.ZipFile(zpath) as z:
        assert z.namelist() == ["lib-0.jar", "lib-1.jar", "lib-2.jar"]
        assert {i.compress_type for i in z.infolist()} == {zipfile.ZIP_STORED}
    zpath.write_bytes(webhdfs.files[f"{base}/pyspark.zip"])
    with zipfile.ZipFile(zpath) as z:
        assert sorted(z.namelist()) == ["pyspark/__init__.py", "pyspark/sql/__init__.py"]
    zpath.write_bytes(webhdfs.files[f"{base}/py4j-0.1-src.zip"])
    with zipfile.ZipFile(zpath) as z:
        assert z.namelist() == ["py4j/__init__.py"]
    record = json.loads(webhdfs.files[f"{base}/.bigdata-admin-archives.json"])
    assert record == first["files"]
    assert not any(p.endswith("._COPYING_") for p in webhdfs.files)

    # Second run: nothing built, nothing written to HDFS.
    cache_zip = tmp_path / "cache" / "spark-t-jars.zip"
    built_at = cache_zip.stat().st_mtime_ns
    webhdfs.calls.clear()
    second = _run(spec)
    assert second == {**first, "changed": False, "uploaded": []}
    assert cache_zip.stat().st_mtime_ns == built_at
    assert {c[0] for c in webhdfs.calls} == {"GET"}, webhdfs.calls

    # A changed jar: only the jar archive goes up again, under its name, and the record follows.
    (home / "jars" / "lib-1.jar").write_bytes(b"new content")
    third = _run(spec)
    assert third["changed"] is True and third["uploaded"] == ["spark-t-jars.zip"]
    assert third["files"]["spark-t-jars.zip"]["sha256"] != first["files"]["spark-t-jars.zip"]["sha256"]
    assert hashlib.sha256(webhdfs.files[f"{base}/spark-t-jars.zip"]).hexdigest() == \
        third["files"]["spark-t-jars.zip"]["sha256"]
    assert json.loads(webhdfs.files[f"{base}/.bigdata-admin-archives.json"]) == third["files"]

    # A file lost on HDFS (same record) is put back.
    del webhdfs.files[f"{base}/pyspark.zip"]
    assert _run(spec)["uploaded"] == ["pyspark.zip"]


def test_the_same_files_give_the_same_archive(tmp_path: Path, webhdfs: FakeWebHdfs) -> None:
    home = _wheel_home(tmp_path / "a")
    one = _run(_spec(home, tmp_path / "cache1", webhdfs))["files"]
    two = _run(_spec(home, tmp_path / "cache2", webhdfs))["files"]
    assert one == two


def test_a_release_tarball_s_python_lib_zips_are_taken_as_they_are(tmp_path: Path,
                                                                    webhdfs: FakeWebHdfs) -> None:
    home = tmp_path / "spark-3.5.5-bin-hadoop3"
    (home / "jars").mkdir(parents=True)
    (home / "jars" / "a.jar").write_bytes(b"a")
    lib = home / "python" / "lib"
    lib.mkdir(parents=True)
    (lib / "pyspark.zip").write_bytes(b"PK-pyspark")
    (lib / "py4j-0.10.9.7-src.zip").write_bytes(b"PK-py4j")
    out = _run(_spec(home, tmp_path / "cache", webhdfs))
    base = "/user/spark/yarn/spark-t"
    assert webhdfs.files[f"{base}/pyspark.zip"] == b"PK-pyspark"
    assert webhdfs.files[f"{base}/py4j-0.1-src.zip"] == b"PK-py4j"
    assert out["files"]["pyspark.zip"]["size"] == len(b"PK-pyspark")


def test_no_namenode_answering_is_an_error_naming_them(tmp_path: Path) -> None:
    home = _wheel_home(tmp_path)
    spec = {"spark_home": str(home), "cache_dir": str(tmp_path / "cache"), "hdfs_dir": "/x",
            "staging_dir": "", "user": "spark", "namenodes": ["http://127.0.0.1:1/webhdfs/v1"],
            "archive": "a.zip", "pyspark": "p.zip", "py4j": "q.zip"}
    proc = subprocess.run([sys.executable, str(HELPER)], input=json.dumps(spec), capture_output=True,
                          text=True, timeout=60, check=False)
    assert proc.returncode == 1
    assert "no active NameNode answered WebHDFS" in proc.stderr and "127.0.0.1:1" in proc.stderr


# --- the smoke test's helpers --------------------------------------------------------------------

def _cluster(groups: dict[str, list[str]], **vars_: Any) -> Cluster:
    from bigdata_admin.inventory import Host

    hosts = {h: Host(h, {"ansible_host": f"10.0.0.{i + 1}"}, [g for g, m in groups.items() if h in m])
             for i, h in enumerate(sorted({h for m in groups.values() for h in m}))}
    return Cluster(Path("/nonexistent"), hosts, groups, dict(vars_))


def test_yarn_in_use_needs_hdfs_and_a_deployed_resourcemanager() -> None:
    full = _cluster({"hdfs_namenode": ["a"], "yarn_resourcemanager": ["a"], "spark_master": ["a"]})
    assert smoke_spark_yarn.yarn_in_use(full, {}) is True
    assert smoke_spark_yarn.yarn_in_use(full, {"yarn_resourcemanager": "artifacts missing"}) is False
    assert smoke_spark_yarn.yarn_in_use(full, {"hdfs_namenode": "skipped"}) is False
    no_yarn = _cluster({"hdfs_namenode": ["a"], "spark_master": ["a"]})
    assert smoke_spark_yarn.yarn_in_use(no_yarn, {}) is False
    off = _cluster({"hdfs_namenode": ["a"], "yarn_resourcemanager": ["a"]}, spark_use_yarn=False)
    assert smoke_spark_yarn.yarn_in_use(off, {}) is False


def test_submit_host_prefers_the_thrift_server_then_a_master() -> None:
    c = _cluster({"spark_master": ["m"], "spark_worker": ["w"], "spark_thrift": ["t"]})
    assert (h := smoke_spark_yarn.submit_host(c)) is not None and h.name == "t"
    c = _cluster({"spark_master": ["m"], "spark_worker": ["w"]})
    assert (h := smoke_spark_yarn.submit_host(c)) is not None and h.name == "m"
    assert smoke_spark_yarn.submit_host(_cluster({"hdfs_namenode": ["a"]})) is None


def test_submit_command_runs_the_job_on_yarn_as_spark_and_the_job_computes_the_sum(tmp_path: Path) -> None:
    cmd = smoke_spark_yarn.submit_command("bda-x", n=10)
    assert "sudo -n -u spark timeout" in cmd
    assert "/usr/local/bin/spark-submit --master yarn --deploy-mode client --name bda-x" in cmd
    assert "--num-executors 1" in cmd and cmd.endswith(" bda-x 10")
    # The job text survives the shell quoting: run the printf part locally and compare.
    script = tmp_path / "job.py"
    printf = next(p for p in cmd.split(" && ") if p.startswith("printf")).replace('"$f"', str(script))
    subprocess.run(["sh", "-c", printf], check=True)
    assert script.read_text() == smoke_spark_yarn.JOB
    assert smoke_spark_yarn.expected_sum(10) == sum(i * i for i in range(1, 11))


def test_parse_result_and_application_id() -> None:
    out = ("noise\nBDA_SPARK_YARN_RESULT 333833500 application_1764520000000_0007 yarn\nmore\n")
    assert smoke_spark_yarn.parse_result(out) == (333833500, "application_1764520000000_0007", "yarn")
    assert smoke_spark_yarn.parse_result("Exception in thread main") is None
    log = "INFO Client: Submitted application application_1764520000000_0009\nERROR boom"
    assert smoke_spark_yarn.application_id(log) == "application_1764520000000_0009"
    assert smoke_spark_yarn.application_id("nothing") is None
    assert smoke_spark_yarn.expected_sum() == 333833500
