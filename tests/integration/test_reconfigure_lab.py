"""Reconfigure for real on the main job's lab (issue 15, item 4): a changed setting restarts only the
daemons it concerns, one node at a time, each back in service before the next.

A new DataNode heap (`hdfs_datanode_heap_mb`, which only the DataNodes' systemd unit carries) through the
hdfs play: every DataNode restarts with the new -Xmx, one host after the other; the NameNode and the
SecondaryNameNode keep running (same process); HDFS is healthy. A lab kept after the session
(BIGDATA_LAB_KEEP=1) gets its inventory's heap back at the end (a second roll, and a third run that must
change nothing); in CI the lab goes down with the session instead.
Restarts daemons, so it carries `mutates_cluster` (run after every other test of the session).
"""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest
from labtools import main_lab_cluster, wait_healthy

from bigdata_admin import inventory, paths
from bigdata_admin.health import remote
from bigdata_admin.runner import run_playbook

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.mutates_cluster]

NEEDED = (("hdfs_namenode", "the HDFS NameNode"), ("hdfs_datanode", "HDFS DataNodes"))
UNITS = ("hdfs-namenode", "hdfs-secondarynamenode", "hdfs-datanode")


def _units(host: inventory.Host) -> dict[str, dict[str, str]]:
    """unit -> {MainPID, ActiveEnterTimestampMonotonic (µs, the kernel's clock: one for every lab host),
    cmdline} for the HDFS units running on `host`."""
    result = remote.run(host, ["systemctl", "show", "-p", "Id,MainPID,ActiveEnterTimestampMonotonic",
                               *UNITS], become=True, timeout=60)
    assert result.ok, result.stderr
    out: dict[str, dict[str, str]] = {}
    for block in result.stdout.strip().split("\n\n"):
        props = dict(line.split("=", 1) for line in block.splitlines() if "=" in line)
        if props.get("MainPID", "0") != "0":
            cmd = remote.run(host, ["cat", f"/proc/{props['MainPID']}/cmdline"], become=True, timeout=30)
            props["cmdline"] = cmd.stdout.replace("\0", " ")
            out[props["Id"].removesuffix(".service")] = props
    return out


def _all_units(cluster: inventory.Cluster) -> dict[tuple[str, str], dict[str, str]]:
    hosts = {h.name: h for g in ("hdfs_namenode", "hdfs_datanode") for h in cluster.hosts_in(g)}
    return {(name, unit): props for name, host in sorted(hosts.items())
            for unit, props in _units(host).items()}


def _hdfs_play(inv: Any, heap_mb: int | None, label: str) -> Any:
    extravars = {"hdfs_datanode_heap_mb": heap_mb} if heap_mb is not None else None
    result = run_playbook(paths.playbook("services/hdfs"), inv, extravars=extravars, label=label,
                          show_progress=False)
    assert result.ok, [f.__dict__ for f in result.failures]
    return result


def test_a_datanode_setting_restarts_only_the_datanodes_one_at_a_time(main_lab: dict[str, Any]) -> None:
    cluster = main_lab_cluster(main_lab, NEEDED)
    inv = main_lab["inventory"]
    heap = int(cluster.var("hdfs_datanode_heap_mb", 512))
    before = _all_units(cluster)
    datanodes = sorted(k for k in before if k[1] == "hdfs-datanode")
    assert len(datanodes) == len(cluster.hosts_in("hdfs_datanode")), before.keys()
    try:
        _hdfs_play(inv, heap + 64, "test-reconfigure")
        after = _all_units(cluster)
        assert after.keys() == before.keys()
        for key, props in after.items():
            if key[1] == "hdfs-datanode":
                assert props["MainPID"] != before[key]["MainPID"], f"{key} was not restarted"
                assert f"-Xmx{heap + 64}m" in props["cmdline"], props["cmdline"]
            else:
                assert props["MainPID"] == before[key]["MainPID"], f"{key} restarted for a DataNode setting"
        # one at a time: each DataNode came up after the one before it was back in service (a JVM start
        # and a block report: seconds, not the milliseconds of a parallel restart)
        starts = sorted(int(after[k]["ActiveEnterTimestampMonotonic"]) for k in datanodes)
        gaps_s = [(b - a) / 1e6 for a, b in itertools.pairwise(starts)]
        assert all(gap >= 3 for gap in gaps_s), gaps_s
        report = wait_healthy(cluster, 120, groups=["hdfs_namenode", "hdfs_datanode"])
        assert report.healthy, [(r.host, r.group, r.problem) for r in report.unhealthy]
    finally:
        if os.environ.get("BIGDATA_LAB_KEEP") == "1":
            _hdfs_play(inv, None, "test-reconfigure-restore")
            again = _hdfs_play(inv, None, "test-reconfigure-again")
            assert sum(r.changed for r in again.recap.values()) == 0, again.recap
