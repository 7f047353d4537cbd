"""HBase for real from a Maven bundle, on the main job's lab (session fixture `main_lab`, which
deploys the whole stack once): HBase 2.6 (-hadoop3 modules with the cluster's Hadoop client, on
Java 17) with a master, RegionServers and the Thrift server, each under the jvm-daemon unit.

- `status` is healthy and `smoke` passes (happybase create/put/scan/drop, and a pre-split table
  created with the node's `hbase shell`, its regions checked through Thrift).
- `hbase shell` and `hbase version` work on a node; every daemon logs to its file.

That a second deploy changes nothing and keeps a table is checked with the rest of the stack in
test_main_job_lab.py.
"""

from __future__ import annotations

import shlex
import uuid
from pathlib import Path
from typing import Any

import pytest
from labtools import wait_healthy  # tests/integration (rootdir-relative import)

from bigdata_admin import deployment, inventory
from bigdata_admin.health import remote
from bigdata_admin.health.smoke_runner import run as run_smoke

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def hbase_lab(main_lab: dict[str, Any]) -> Path:
    assert main_lab["rc"] == 0, str(main_lab["out"])[-5000:]
    return Path(main_lab["inventory"])


def _sh(host: inventory.Host, command: str, timeout: float = 300) -> str:
    result = remote.run(host, ["sh", "-c", command], become=True, timeout=timeout)
    assert result.ok, f"{host.name}: {command}: {result.stdout[-1500:]} {result.stderr[-1500:]}"
    return result.stdout


def _healthy(cluster: inventory.Cluster) -> None:
    # a probe on a busy host may miss its timeout once
    report = wait_healthy(cluster, 120, interval=5, not_deployed=deployment.not_deployed(cluster))
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
    out = _sh(master, f"printf %s {shlex.quote(script)} | sudo -u hbase hbase shell -n 2>&1")
    assert "column=cf:a" in out and "value=v1" in out, out[-2000:]
    log_root = cluster.var("bigdata_log_root", "/var/log/bigdata")
    for group, name in (("hbase_master", "master"), ("hbase_regionserver", "regionserver"),
                        ("hbase_thrift", "thrift")):
        for host in cluster.hosts_in(group):
            path = f"{log_root}/hbase/hbase-hbase-{name}-{host.name}.log"
            size = _sh(host, f"stat -c %s {path}").strip()
            assert int(size) > 0, f"{host.name}: {path} is empty"
