"""Start a real Spark Thrift Server (pyspark from the test venv) on 127.0.0.1 for the SQL tests.

Not a test module: the `test_sql_*` modules import it. The server runs local[2] with an embedded Derby
metastore and a warehouse in a temporary directory, and its own operation-log directory (two servers
sharing the default /tmp/<user>/operation_logs delete each other's logs).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


def spark_home() -> Path | None:
    try:
        import pyspark
    except ImportError:
        return None
    home = Path(pyspark.__file__).resolve().parent
    return home if (home / "bin" / "spark-submit").exists() else None


def skip_reason() -> str | None:
    if spark_home() is None:
        return "pyspark is not installed in the test venv (pip install pyspark)"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (apt-get install openjdk-17-jre-headless)"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ThriftServer:
    host: str
    port: int
    auth: str
    workdir: Path
    process: subprocess.Popen[bytes]

    @property
    def log(self) -> Path:
        return self.workdir / "server.log"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start(workdir: Path, auth: str, port: int | None = None) -> ThriftServer:
    home = spark_home()
    assert home is not None
    port = port or free_port()
    workdir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOCAL_IP": "127.0.0.1",
           "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
           "SPARK_LOG_DIR": str(workdir / "logs"), "PYSPARK_PYTHON": sys.executable}
    argv = [
        str(home / "bin" / "spark-submit"),
        "--class", "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2",
        "--name", f"bigdata-admin-test-{auth.lower()}", "--master", "local[2]", "--driver-memory", "768m",
        "--conf", f"spark.sql.warehouse.dir={workdir / 'warehouse'}",
        "--conf", "spark.sql.catalogImplementation=hive",
        "--conf", f"spark.hadoop.javax.jdo.option.ConnectionURL=jdbc:derby:;databaseName="
                  f"{workdir / 'metastore_db'};create=true",
        "--conf", "spark.ui.enabled=false",
        # C1 only: the tests' short SQL sessions spend less CPU compiling (CI has 2 cores).
        "--conf", f"spark.driver.extraJavaOptions=-Dderby.system.home={workdir} -XX:TieredStopAtLevel=1",
        "--hiveconf", "hive.server2.thrift.bind.host=127.0.0.1",
        "--hiveconf", f"hive.server2.thrift.port={port}",
        "--hiveconf", f"hive.server2.authentication={auth}",
        "--hiveconf", f"hive.server2.logging.operation.log.location={workdir / 'operation_logs'}",
        "spark-internal",
    ]
    log = (workdir / "server.log").open("wb")
    proc = subprocess.Popen(argv, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    return ThriftServer("127.0.0.1", port, auth, workdir, proc)


def wait_ready(server: ThriftServer, timeout: float = 240.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"the Spark Thrift Server exited ({server.process.returncode}); "
                               f"see {server.log}:\n{server.log.read_text(errors='replace')[-3000:]}")
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex((server.host, server.port)) == 0:
                return
        time.sleep(1)
    server.stop()
    raise RuntimeError(f"the Spark Thrift Server did not open {server.port} in {timeout:.0f} s; "
                       f"see {server.log}")
