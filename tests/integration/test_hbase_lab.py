"""HBase for real from a Maven bundle, on its own 3-host lab (`hb-it`): ZooKeeper, HDFS, then HBase
2.6 (-hadoop3 modules with the cluster's Hadoop client, on Java 17) with a master, two
RegionServers and the Thrift server, each under the jvm-daemon unit.

- `status` is healthy and `smoke` passes (happybase create/put/scan/drop, and a pre-split table
  created with the node's `hbase shell`, its regions checked through Thrift).
- `hbase shell` and `hbase version` work on a node; every daemon logs to its file.
- A second deploy reports changed=0, and a table written before it reads back after it.

The lab goes down at the end unless BIGDATA_LAB_KEEP=1.
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

pytestmark = [
    pytest.mark.integration, pytest.mark.lab, pytest.mark.slow,
    # Not yet confirmed green on a lab when its session ended (the machine was too loaded): runs
    # with BIGDATA_TEST_HBASE_LAB=1 until it has passed once; then this gate goes.
    pytest.mark.skipif(os.environ.get("BIGDATA_TEST_HBASE_LAB") != "1",
                       reason="not yet passed on a lab: set BIGDATA_TEST_HBASE_LAB=1 to run it"),
]

LAB = os.environ.get("BIGDATA_HBASE_LAB_NAME", "hb-it")
TAGS = "common,java,zookeeper,hdfs,hbase"


def _cli(*args: str, timeout: float = 2700) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bigdata_admin", *args], capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, "COLUMNS": "160"})


def _tail(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stdout[-5000:] + proc.stderr[-3000:]


@pytest.fixture(scope="module")
def hbase_lab() -> Iterator[Path]:
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
        fetched = _cli("artifacts", "fetch", "-i", str(inv), "hadoop", "hbase")
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
    deadline = time.monotonic() + 120  # a probe on a busy host may miss its timeout once
    while not report.healthy and time.monotonic() < deadline:
        time.sleep(5)
        report = collect(cluster, not_deployed=absent)
    assert report.healthy, [(r.host, r.group, r.problem) for r in report.unhealthy]
    groups = {r.group for r in report.rows}
    assert {"hbase_master", "hbase_regionserver", "hbase_thrift"} <= groups


def test_hbase_is_deployed_healthy_and_passes_smoke(hbase_lab: Path) -> None:
    cluster = inventory.load(hbase_lab)
    absent = deployment.not_deployed(cluster)
    for group in ("zookeeper", "hdfs_namenode", "hdfs_datanode", "hbase_master", "hbase_regionserver",
                  "hbase_thrift"):
        assert group not in absent, f"{group}: {absent.get(group)}"
    _healthy(cluster)
    smoke = run_smoke(cluster, ["hbase"], not_deployed=absent)
    names = {r.name: r for r in smoke.results}
    assert smoke.passed, [(r.name, r.detail) for r in smoke.results if not r.passed]
    presplit = names["hbase pre-split table (hbase shell + Thrift)"]
    assert len(presplit.data["regions"]) == 3 and 0 not in presplit.data["rows_per_region"]


def test_units_shell_and_logs_on_the_nodes(hbase_lab: Path) -> None:
    cluster = inventory.load(hbase_lab)
    master = cluster.first("hbase_master")
    assert master is not None
    unit = _sh(master, "systemctl cat hbase-master")
    assert "bin/java" in unit and "org.apache.hadoop.hbase.master.HMaster" in unit
    assert "--add-modules=jdk.unsupported" in unit and "/java/17/" in unit
    version = _sh(master, "sudo -u hbase hbase version 2>&1")
    assert "2.6.1-hadoop3" in version, version[-500:]
    table = f"shell_{uuid.uuid4().hex[:8]}"
    script = (f"create '{table}', 'cf'\nput '{table}', 'r1', 'cf:a', 'v1'\nscan '{table}'\n"
              f"disable '{table}'\ndrop '{table}'\nlist\n")
    out = _sh(master, f"printf %s {json.dumps(script)} | sudo -u hbase hbase shell -n 2>&1")
    assert "column=cf:a" in out and "value=v1" in out, out[-2000:]
    log_root = cluster.var("bigdata_log_root", "/var/log/bigdata")
    for group, name in (("hbase_master", "master"), ("hbase_regionserver", "regionserver"),
                        ("hbase_thrift", "thrift")):
        for host in cluster.hosts_in(group):
            path = f"{log_root}/hbase/hbase-hbase-{name}-{host.name}.log"
            size = _sh(host, f"stat -c %s {path}").strip()
            assert int(size) > 0, f"{host.name}: {path} is empty"


def test_redeploy_changes_nothing_and_keeps_a_table(hbase_lab: Path) -> None:
    from bigdata_admin.clients import happybase_connection

    cluster = inventory.load(hbase_lab)
    name = f"redeploy_{uuid.uuid4().hex[:8]}"
    rows = {f"k{i:03d}".encode(): {b"cf:v": os.urandom(6).hex().encode()} for i in range(40)}
    conn = happybase_connection(cluster)
    conn.create_table(name, {"cf": {}})
    with conn.table(name).batch() as batch:
        for key, cells in rows.items():
            batch.put(key, cells)
    conn.close()

    proc = _cli("deploy", "-i", str(hbase_lab), "-t", TAGS, "--skip-unavailable", "--json")
    assert proc.returncode == 0, _tail(proc)
    result = json.loads(proc.stdout)
    recap = result.get("recap") or result.get("run", {}).get("recap") or {}
    assert recap, f"no recap in the deploy's JSON: {list(result)}"
    changed = {h: r["changed"] for h, r in recap.items() if r.get("changed")}
    assert changed == {}, f"a second deploy changed something: {changed}"

    _healthy(cluster)
    conn = happybase_connection(cluster)
    try:
        assert dict(conn.table(name).scan()) == rows
    finally:
        conn.delete_table(name, disable=True)
        conn.close()
