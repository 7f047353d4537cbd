"""A local Spark Thrift Server (pyspark from the virtualenv) that speaks the HiveServer2 protocol.

Used by the pilot's integration tests and `benchmarks/mart.py` as a stand-in for HiveServer2 and
Impala: local[2], embedded Derby metastore and warehouse in a scratch directory, 127.0.0.1 only.
Settings that make the book's HiveQL run unchanged: ANSI mode off (`cast('1.57' as int)` is NULL-safe
as in Hive) and non-strict dynamic partitions.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bigdata_admin.errors import BadInput, RunFailed


@dataclass
class LocalThriftServer:
    host: str
    port: int
    workdir: Path
    process: subprocess.Popen[bytes]

    @property
    def log(self) -> Path:
        return self.workdir / "server.log"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spark_home() -> Path:
    """The pyspark package directory of this interpreter (it holds bin/spark-submit and jars/)."""
    try:
        import pyspark
    except ImportError as exc:
        raise BadInput("pyspark is not installed in this Python environment",
                       fix="pip install pyspark (the `test` extra of bigdata-admin pulls it in).") from exc
    return Path(pyspark.__file__).resolve().parent


def _wait_port(host: str, port: int, proc: subprocess.Popen[bytes], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
            raise RunFailed(f"the Spark Thrift Server exited with code {proc.returncode} before opening "
                            f"{host}:{port}:\n{tail}", fix="Read the log above (Java 17 must be installed).")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        time.sleep(0.5)
    raise RunFailed(f"the Spark Thrift Server did not open {host}:{port} within {timeout:.0f} s",
                    fix=f"Read {log}.")


def start(workdir: Path, port: int | None = None, auth: str = "NONE", memory: str = "1g",
          timeout: float = 600.0) -> LocalThriftServer:
    """Start a Spark Thrift Server on 127.0.0.1 and wait until its port accepts connections."""
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    home = spark_home()
    env = dict(os.environ)
    env.update({
        "SPARK_HOME": str(home),
        "SPARK_LOCAL_IP": "127.0.0.1",
        "SPARK_LOG_DIR": str(workdir / "logs"),
        "PYSPARK_PYTHON": sys.executable,
        "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
    })
    cmd = [
        str(home / "bin" / "spark-submit"),
        "--class", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
        "--name", "bigdata-admin-pilot", "--master", "local[2]", "--driver-memory", memory,
        "--conf", f"spark.sql.warehouse.dir={workdir / 'warehouse'}",
        "--conf", "spark.sql.catalogImplementation=hive",
        "--conf", "spark.hadoop.javax.jdo.option.ConnectionURL="
                  f"jdbc:derby:;databaseName={workdir / 'metastore_db'};create=true",
        "--conf", "spark.ui.enabled=false",
        "--conf", "spark.sql.ansi.enabled=false",
        "--conf", "spark.hadoop.hive.exec.dynamic.partition.mode=nonstrict",
        "--conf", "spark.sql.shuffle.partitions=4",
        "--conf", f"spark.driver.extraJavaOptions=-Dderby.system.home={workdir}",
        "--hiveconf", "hive.server2.thrift.bind.host=127.0.0.1",
        "--hiveconf", f"hive.server2.thrift.port={port}",
        "--hiveconf", f"hive.server2.authentication={auth}",
        "spark-internal",
    ]
    log = workdir / "server.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
    server = LocalThriftServer("127.0.0.1", port, workdir, proc)
    try:
        _wait_port("127.0.0.1", port, proc, timeout, log)
    except BaseException:
        stop(server)
        raise
    return server


def stop(server: LocalThriftServer, timeout: float = 30.0) -> None:
    """Stop the server (its whole process group) and wait for it."""
    proc = server.process
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


@contextlib.contextmanager
def running(workdir: Path, port: int | None = None, auth: str = "NONE", keep: bool = True) -> Iterator[
        LocalThriftServer]:
    """Context manager: a started server, stopped on exit (workdir removed unless keep)."""
    server = start(workdir, port, auth)
    try:
        yield server
    finally:
        stop(server)
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
