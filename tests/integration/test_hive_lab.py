"""Hive for real from a Maven bundle, on its own 3-host lab (`hv`): ZooKeeper, HDFS, YARN, PostgreSQL,
then Hive 4.0 (Hive's jars without Hadoop's, on Java 17) with the metastore on PostgreSQL and
HiveServer2, each under the jvm-daemon unit.

- `status` is healthy and `smoke hive` passes (impyla and PyHive: CREATE TABLE, an INSERT that runs a
  MapReduce job on YARN, SELECT, DROP).
- `beeline` on the node connects and runs queries; the daemons log to files under the log dir; the
  classpath has exactly one SLF4J binding.
- A second deploy reports changed=0 on every host, and a table written before it reads back after it.

Slow (a full deploy, twice): runs only with BIGDATA_TEST_HIVE_LAB=1. The lab goes down at the end
unless BIGDATA_LAB_KEEP=1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bigdata_admin import deployment, inventory
from bigdata_admin.health import remote
from bigdata_admin.health.smoke_runner import run as run_smoke
from bigdata_admin.health.status import collect

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow,
              pytest.mark.skipif(os.environ.get("BIGDATA_TEST_HIVE_LAB") != "1",
                                 reason="a full Hive lab deploy (twice): set BIGDATA_TEST_HIVE_LAB=1")]

LAB = os.environ.get("BIGDATA_HIVE_LAB_NAME", "hv")
TAGS = "common,java,zookeeper,hdfs,yarn,postgresql,hive"


def _cli(*args: str, timeout: float = 3600) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bigdata_admin", *args], capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, "COLUMNS": "160"})


def _tail(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout[-5000:] + proc.stderr[-3000:]


@pytest.fixture(scope="module")
def hive_lab() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces, mounts, systemd-nspawn)")
    if shutil.which("systemd-nspawn") is None:
        pytest.skip("systemd-nspawn is not installed (apt-get install systemd-container)")
    if shutil.which("mvn") is None:
        pytest.skip("the Maven client `mvn` is not installed (apt-get install maven)")
    from bigdata_admin import lab as labmod

    lb = labmod.up(name=LAB, nodes=3)
    try:
        inv = Path(lb.inventory)
        fetched = _cli("artifacts", "fetch", "-i", str(inv), "hadoop", "hive", "postgresql-jdbc")
        assert fetched.returncode == 0, _tail(fetched)
        deployed = _cli("deploy", "-i", str(inv), "-t", TAGS, "--skip-unavailable")
        assert deployed.returncode == 0, _tail(deployed)
        yield inv
    finally:
        if os.environ.get("BIGDATA_LAB_KEEP") != "1":
            labmod.down(LAB)


def _sh(host: inventory.Host, command: str, timeout: float = 300) -> str:
    result = remote.run(host, ["sh", "-c", command], become=True, timeout=timeout)
    assert result.ok, f"{host.name}: {command}: {result.stdout[-1500:]} {result.stderr[-1500:]}"
    return result.stdout


def _healthy(cluster: inventory.Cluster) -> None:
    absent = deployment.not_deployed(cluster)
    report = collect(cluster, not_deployed=absent)
    deadline = time.monotonic() + 180  # a probe on a busy host may miss its timeout once
    while not report.healthy and time.monotonic() < deadline:
        time.sleep(5)
        report = collect(cluster, not_deployed=absent)
    assert report.healthy, [(r.host, r.group, r.problem) for r in report.unhealthy]
    groups = {r.group for r in report.rows}
    assert {"hive_metastore", "hive_server2", "metastore_db", "yarn_resourcemanager"} <= groups


def _beeline(cluster: inventory.Cluster, sql: str) -> str:
    """Run `sql` with the node's beeline against HiveServer2 (CSV output, no header)."""
    host = cluster.first("hive_server2")
    assert host is not None
    address = host.var("bigdata_address") or host.var("ansible_host") or host.name
    url = f"jdbc:hive2://{address}:{cluster.var('hive_server2_port', 10000)}/default"
    return _sh(host, f"beeline -u '{url}' -n bigdata-admin --silent=true --showHeader=false "
                     f"--outputformat=csv2 -e {json.dumps(sql)} 2>&1", timeout=600)


def test_hive_is_deployed_healthy_and_passes_smoke(hive_lab: Path) -> None:
    cluster = inventory.load(hive_lab)
    absent = deployment.not_deployed(cluster)
    for group in ("hdfs_namenode", "yarn_resourcemanager", "metastore_db", "hive_metastore", "hive_server2"):
        assert group not in absent, f"{group}: {absent.get(group)}"
    _healthy(cluster)
    smoke = run_smoke(cluster, ["hive"], not_deployed=absent)
    assert smoke.passed, [(r.name, r.detail) for r in smoke.results if not r.passed]
    assert {r.data.get("driver") for r in smoke.results} == {"impyla", "pyhive"}
    assert all(r.data.get("rows") == 3 for r in smoke.results)


def test_units_beeline_logs_and_one_slf4j_binding(hive_lab: Path) -> None:
    cluster = inventory.load(hive_lab)
    node = cluster.first("hive_server2")
    assert node is not None
    unit = _sh(node, "systemctl cat hive-server2")
    assert "/java/17/bin/java" in unit and "org.apache.hive.service.server.HiveServer2" in unit
    assert "--add-opens=java.sql/java.sql=ALL-UNNAMED" in unit
    bindings = _sh(node, "ls /opt/bigdata/hive-current/lib/ /opt/bigdata/hive-current/hadoop-lib/ "
                         "| grep -E '^(slf4j-(reload4j|log4j12)|log4j-slf4j-impl|logback-classic)-' || true")
    assert bindings.split() == ["log4j-slf4j-impl-2.18.0.jar"], bindings
    table = f"beeline_{uuid.uuid4().hex[:8]}"
    out = _beeline(cluster, f"CREATE TABLE {table} (id INT, name STRING); "
                            f"INSERT INTO {table} VALUES (1, 'one'), (2, 'two'); "
                            f"SELECT id, name FROM {table} ORDER BY id; DROP TABLE {table};")
    assert "1,one" in out and "2,two" in out, out[-3000:]
    log_root = cluster.var("bigdata_log_root", "/var/log/bigdata")
    for group, name in (("hive_metastore", "metastore"), ("hive_server2", "hiveserver2")):
        for host in cluster.hosts_in(group):
            path = f"{log_root}/hive/hive-{name}-{host.name}.log"
            size = _sh(host, f"stat -c %s {path}").strip()
            assert int(size) > 0, f"{host.name}: {path} is empty"


def test_redeploy_changes_nothing_and_keeps_a_table(hive_lab: Path) -> None:
    cluster = inventory.load(hive_lab)
    table = f"redeploy_{uuid.uuid4().hex[:8]}"
    _beeline(cluster, f"CREATE TABLE {table} (k INT, v STRING); "
                      f"INSERT INTO {table} VALUES (1, 'a'), (2, 'b'), (3, 'c');")

    proc = _cli("deploy", "-i", str(hive_lab), "-t", TAGS, "--skip-unavailable", "--json")
    assert proc.returncode == 0, _tail(proc)
    result = json.loads(proc.stdout)
    recap = result.get("recap") or result.get("run", {}).get("recap") or {}
    assert recap, f"no recap in the deploy's JSON: {list(result)}"
    changed = {h: r["changed"] for h, r in recap.items() if r.get("changed")}
    assert changed == {}, f"a second deploy changed something: {changed}"

    _healthy(cluster)
    try:
        out = _beeline(cluster, f"SELECT k, v FROM {table} ORDER BY k;")
        assert [line for line in out.split() if "," in line] == ["1,a", "2,b", "3,c"], out[-2000:]
    finally:
        _beeline(cluster, f"DROP TABLE IF EXISTS {table};")
