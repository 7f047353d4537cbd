"""Spark on YARN smoke test (part of the `spark` smoke when YARN and HDFS are deployed).

A tiny PySpark job (the sum of the squares of 1..N, computed by Python workers on the executors) is
submitted with `spark-submit --master yarn --deploy-mode client` on a Spark host, as the spark user,
over SSH. The test checks the printed result and that the ResourceManager's REST API reports the
application FINISHED with final status SUCCEEDED.

    spark_yarn_job(cluster, data) -> detail string; raises AssertionError with what went wrong
"""

from __future__ import annotations

import re
import shlex
import time
import uuid
from pathlib import Path
from typing import Any

from bigdata_admin.health.core import address, http_json, port
from bigdata_admin.inventory import Cluster, Host

SPARK_YARN_N = 1000
"""The job sums the squares of 1..N over 2 partitions: N(N+1)(2N+1)/6."""
SPARK_YARN_SUBMIT_TIMEOUT = 240.0
"""Seconds for spark-submit over SSH (a JVM, an AM and an executor to start on small hosts)."""
SPARK_YARN_FINAL_TIMEOUT = 30.0
"""Seconds for the ResourceManager to report the application FINISHED after the driver exits."""
RESULT_MARK = "BDA_SPARK_YARN_RESULT"

JOB = f"""import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.appName(sys.argv[1]).getOrCreate()
sc = spark.sparkContext
total = sc.parallelize(range(1, int(sys.argv[2]) + 1), 2).map(lambda x: x * x).sum()
print("{RESULT_MARK}", total, sc.applicationId, sc.master, flush=True)
spark.stop()
"""


def expected_sum(n: int = SPARK_YARN_N) -> int:
    return n * (n + 1) * (2 * n + 1) // 6


def yarn_in_use(cluster: Cluster, absent: dict[str, str] | None = None) -> bool:
    """Whether the spark role configured Spark on YARN: HDFS and a ResourceManager in the inventory,
    both deployed (a skipped service is absent), and spark_use_yarn not turned off."""
    if absent is None:
        from bigdata_admin import deployment

        absent = deployment.not_deployed(cluster)
    for group in ("hdfs_namenode", "yarn_resourcemanager"):
        if not cluster.has(group) or group in absent:
            return False
    flag = cluster.var("spark_use_yarn", True)
    return not (flag is False or str(flag).strip().lower() in ("false", "no", "0"))


def submit_host(cluster: Cluster) -> Host | None:
    """The Spark host the job is submitted from: the Thrift Server's, else a master's, else a worker's."""
    for group in ("spark_thrift", "spark_master", "spark_worker"):
        host = cluster.first(group)
        if host is not None:
            return host
    return None


def submit_command(name: str, n: int = SPARK_YARN_N, user: str = "spark",
                   timeout: float = SPARK_YARN_SUBMIT_TIMEOUT) -> str:
    """Shell command (run on a Spark host by the SSH user, who may sudo) writing the job to a temp
    file readable by `user` and submitting it to YARN in client mode, one executor, no UI."""
    job = shlex.quote(JOB)
    submit = shlex.join(["sudo", "-n", "-u", user, "timeout", "-k", "10", str(int(timeout) - 15),
                         "/usr/local/bin/spark-submit", "--master", "yarn", "--deploy-mode", "client",
                         "--name", name, "--driver-memory", "512m", "--num-executors", "1",
                         "--executor-cores", "1", "--conf", "spark.ui.enabled=false"])
    return ("cd /tmp && f=$(mktemp /tmp/bigdata-admin-spark-yarn-XXXXXX.py) && trap 'rm -f \"$f\"' EXIT && "
            f"printf '%s' {job} > \"$f\" && chmod 0644 \"$f\" && "
            f"{submit} \"$f\" {shlex.quote(name)} {n}")


_RESULT = re.compile(rf"^{RESULT_MARK} (\d+) (\S+) (\S+)$", re.MULTILINE)
_APP_ID = re.compile(r"application_\d+_\d+")
_UPLOADED = re.compile(r"Uploading resource (\S+) ->")


def parse_result(text: str) -> tuple[int, str, str] | None:
    """(sum, application id, master) from the job's output line, or None."""
    m = _RESULT.search(text)
    return (int(m.group(1)), m.group(2), m.group(3)) if m else None


def application_id(text: str) -> str | None:
    """The first YARN application id in spark-submit's log, for a job that did not print its result."""
    m = _APP_ID.search(text)
    return m.group(0) if m else None


def rm_url(cluster: Cluster) -> str:
    rm = cluster.first("yarn_resourcemanager")
    if rm is None:
        raise AssertionError("the inventory has no yarn_resourcemanager host")
    return f"http://{address(rm)}:{port(cluster, 'yarn_resourcemanager_http_port', rm)}"


def app_report(cluster: Cluster, app_id: str) -> dict[str, Any]:
    """The ResourceManager's /ws/v1/cluster/apps/ID answer's `app` object."""
    return dict(http_json(f"{rm_url(cluster)}/ws/v1/cluster/apps/{app_id}").get("app") or {})


def wait_final(cluster: Cluster, app_id: str, timeout: float = SPARK_YARN_FINAL_TIMEOUT) -> dict[str, Any]:
    """Poll the application's report until its state is final (FINISHED, FAILED, KILLED) or timeout."""
    deadline = time.monotonic() + timeout
    report = app_report(cluster, app_id)
    while report.get("state") not in ("FINISHED", "FAILED", "KILLED") and time.monotonic() < deadline:
        time.sleep(2)
        report = app_report(cluster, app_id)
    return report


def _tail(text: str, lines: int = 4) -> str:
    keep = [ln for ln in text.strip().splitlines() if ln.strip()]
    return " | ".join(keep[-lines:])


def spark_yarn_job(cluster: Cluster, data: dict[str, Any], n: int = SPARK_YARN_N) -> str:
    """Submit the PySpark job to YARN, check its sum and the RM's FINISHED/SUCCEEDED. Raises
    AssertionError naming what failed (spark-submit's last lines, or the RM's diagnostics)."""
    from bigdata_admin import remote

    node = submit_host(cluster)
    if node is None:
        raise AssertionError("the inventory has no Spark host to submit from")
    name = f"bigdata-admin-smoke-{uuid.uuid4().hex[:8]}"
    command = submit_command(name, n)
    data.update({"host": node.name, "name": name})
    result = remote.run_on(cluster.source, command, limit=node.name, timeout=SPARK_YARN_SUBMIT_TIMEOUT)[0]
    data["submit_s"] = round(result.seconds, 1)
    output = result.stdout + "\n" + result.stderr
    # What spark-submit copied to the staging directory (its INFO log): with spark.yarn.archive on
    # HDFS, not Spark's jars (`__spark_libs__*.zip`, ~300 MB), only the app and its configuration.
    data["uploaded"] = [Path(u).name for u in _UPLOADED.findall(output)]
    parsed = parse_result(result.stdout)
    app_id = parsed[1] if parsed else application_id(output)
    data["application"] = app_id
    if parsed is None:
        report = wait_final(cluster, app_id, 5) if app_id else {}
        why = f"; YARN: {report.get('state')}/{report.get('finalStatus')} {report.get('diagnostics', '')}" \
            if report else ""
        raise AssertionError(f"spark-submit --master yarn on {node.name} printed no result "
                             f"(exit {result.exit_status}): {_tail(output) or result.error}{why}")
    total, app_id, master = parsed
    data.update({"sum": total, "master": master})
    if total != expected_sum(n):
        raise AssertionError(f"the job on YARN computed {total}, expected {expected_sum(n)}")
    if master != "yarn":
        raise AssertionError(f"the job ran on master {master!r}, not yarn")
    report = wait_final(cluster, app_id)
    data.update({"state": report.get("state"), "final_status": report.get("finalStatus"),
                 "elapsed_ms": report.get("elapsedTime"), "queue": report.get("queue")})
    if report.get("state") != "FINISHED" or report.get("finalStatus") != "SUCCEEDED":
        raise AssertionError(f"YARN reports {app_id} {report.get('state')}/{report.get('finalStatus')}: "
                             f"{report.get('diagnostics') or 'no diagnostics'}")
    return (f"PySpark job {app_id} on YARN (client mode, from {node.name}): sum of squares 1..{n} = "
            f"{total}, FINISHED/SUCCEEDED, {result.seconds:.0f} s")
