"""Small helpers shared by the lab tests (imported rootdir-relative, like sitexml in tests/unit)."""

from __future__ import annotations

import os
from typing import Any

import pytest


def opted_in(variable: str) -> bool:
    """Whether the environment sets `variable` to 1 (an opt-in of the lab tests)."""
    return os.environ.get(variable) == "1"


def opt_in(variable: str, why: str) -> Any:
    """A skip mark unless the environment sets `variable` to 1; the reason reads
    `opt-in: set VARIABLE=1 (why)`."""
    return pytest.mark.skipif(not opted_in(variable), reason=f"opt-in: set {variable}=1 ({why})")


def wait_healthy(cluster: Any, timeout: float, interval: float = 3, **collect_kwargs: Any) -> Any:
    """`status` (health.status.collect) of the cluster, looked at every `interval` seconds until
    healthy or `timeout` seconds went by; returns the last report."""
    import time

    from bigdata_admin.health.status import collect

    deadline = time.monotonic() + timeout
    report = collect(cluster, **collect_kwargs)
    while not report.healthy and time.monotonic() < deadline:
        time.sleep(interval)
        report = collect(cluster, **collect_kwargs)
    return report


def create_topic(cluster: Any, bootstrap: Any, topic: str) -> None:
    """Create a one-partition Kafka topic replicated on up to 3 brokers (the lab's clusters do not
    auto-create topics: kafka_auto_create_topics is false)."""
    from kafka.admin import KafkaAdminClient, NewTopic

    brokers = len(cluster.hosts_in("kafka_broker")) or len(cluster.hosts_in("kafka_controller"))
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=min(3, brokers))])
    finally:
        admin.close()


def main_lab_cluster(main_lab: dict[str, Any], needed: tuple[tuple[str, str], ...]) -> Any:
    """The main job's cluster: asserts the job exited 0, then skips (with the reason) when a needed group
    is absent from the inventory or was skipped by the job. `needed`: (group, what it is) pairs."""
    import pytest

    from bigdata_admin import deployment, inventory

    assert main_lab["rc"] == 0, str(main_lab["out"])[-5000:]
    cluster = inventory.load(main_lab["inventory"])
    absent = deployment.not_deployed(cluster)
    for group, what in needed:
        if not cluster.has(group):
            pytest.skip(f"the lab's inventory has no {group} ({what})")
        if group in absent:
            pytest.skip(f"{what} was skipped in the main job: {absent[group]}")
    return cluster


def cli_process(*args: str, timeout: float = 2400, columns: int = 160) -> Any:
    """`bigdata-admin ARGS` as a process of its own (`python -m bigdata_admin`), as a user runs it:
    the CompletedProcess (text stdout and stderr), never raising on its exit code."""
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-m", "bigdata_admin", *args], capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, "COLUMNS": str(columns)})


def raise_versions(inv: Any, versions: dict[str, str]) -> str:
    """Write `versions` over the bigdata_versions of inventory directory `inv` (the whole dict, as Ansible
    replaces one given in an inventory); returns group_vars/all.yml's old text."""
    from pathlib import Path

    import yaml

    from bigdata_admin import inventory

    all_yml = Path(inv) / "group_vars" / "all.yml"
    old = all_yml.read_text()
    data = yaml.safe_load(old) or {}
    current = dict(data.get("bigdata_versions") or inventory.role_defaults()["bigdata_versions"])
    current.update(versions)
    data["bigdata_versions"] = current
    all_yml.write_text("---\n" + yaml.safe_dump(data, sort_keys=False, width=200))
    return old


def cli(*args: str) -> Any:
    """`bigdata-admin ARGS` in this process: .exit_code and .output with rich's line wrapping undone."""
    from types import SimpleNamespace

    from typer.testing import CliRunner

    from bigdata_admin.cli import app

    res = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    return SimpleNamespace(exit_code=res.exit_code, output=" ".join(res.output.split()))


def datanode_states(cluster: Any) -> dict[str, str]:
    """DataNode host -> its admin state as the active NameNode reports it (In Service, Decommissioned,
    dead, ...)."""
    from bigdata_admin import dayops, decommission

    info, _fsn = dayops._active_namenode_beans(cluster)
    return {h.name: decommission.datanode_admin_state(info, h)[0] for h in cluster.hosts_in("hdfs_datanode")}


def datanode_round_trip(cluster: Any, record_property: Any) -> None:
    """Decommission the last DataNode that is not a NameNode's host (with its NodeManager when it has
    one), assert Decommissioned with 0 missing and 0 under-replicated blocks and a file written before
    reading back, a second DataNode refused when the replication needs it, then recommission it and
    assert every DataNode In Service and the cluster healthy. Records decommission_s, recommission_s."""
    import time
    import uuid

    from bigdata_admin import dayops, decommission
    from bigdata_admin.clients import webhdfs_client

    dns = [h.name for h in cluster.hosts_in("hdfs_datanode")]
    replication = int(cluster.var("hdfs_replication"))
    nn = {h.name for h in cluster.hosts_in("hdfs_namenode")}
    target = next(h for h in reversed(dns) if h not in nn)
    services = ["hdfs", "yarn"] if cluster.hosts[target].in_group("yarn_nodemanager") else ["hdfs"]
    client = webhdfs_client(cluster, timeout=60)  # a busy lab's NameNode may take a while
    path, body = f"/tmp/decom-{uuid.uuid4().hex[:8]}", b"written before the decommission\n" * 1000
    client.write(path, data=body, overwrite=True)
    started = time.monotonic()
    report = decommission.run(cluster, target, services, timeout_s=300, progress=print)
    decom_s = time.monotonic() - started
    assert report.ok, report.as_dict()
    hdfs_step = next(s for s in report.steps if s.service == "hdfs")
    assert hdfs_step.data["missing_blocks"] == 0 and hdfs_step.data["under_replicated_blocks"] == 0
    assert datanode_states(cluster)[target] in ("Decommissioned", "dead")
    _info, fsn = dayops._active_namenode_beans(cluster)
    assert int(fsn["MissingBlocks"]) == 0 and int(fsn["UnderReplicatedBlocks"]) == 0, fsn
    with client.read(path) as reader:
        assert reader.read() == body
    if len(dns) - 2 < replication:  # a second one may not leave
        other = next(h for h in dns if h != target)
        refused = cli("decommission", other, "-i", str(cluster.source), "--service", "hdfs")
        assert refused.exit_code == 2, refused.output
        assert f"above the {len(dns) - 2} DataNode(s) that would remain" in refused.output, refused.output
        assert datanode_states(cluster)[other] == "In Service"  # nothing done
    started = time.monotonic()
    back = decommission.run(cluster, target, services, decommission=False, timeout_s=300, progress=print)
    recom_s = time.monotonic() - started
    assert back.ok, back.as_dict()
    assert set(datanode_states(cluster).values()) == {"In Service"}
    client.delete(path)
    health = wait_healthy(cluster, 180)
    assert health.healthy, [(r.host, r.group, r.problem) for r in health.unhealthy]
    record_property("decommission_s", round(decom_s, 1))
    record_property("recommission_s", round(recom_s, 1))
    print(f"decommission of {target} ({', '.join(services)}) {decom_s:.1f} s: "
          + ", ".join(f"{s.service} {s.seconds:.1f} s" for s in report.steps)
          + f"; recommission {recom_s:.1f} s")


def hbase_deployed(cluster: Any) -> bool:
    """Whether the HMaster, RegionServers and Thrift server are in the inventory and deployed."""
    from bigdata_admin import deployment

    absent = deployment.not_deployed(cluster)
    groups = ("hbase_master", "hbase_regionserver", "hbase_thrift")
    return all(cluster.has(g) and g not in absent for g in groups)


def hbase_put(cluster: Any, table: str, row: str, value: str, create: bool) -> None:
    """Put `value` into `row`'s cf:v through the Thrift server (creating `table` first when `create`)."""
    from bigdata_admin.clients import happybase_connection

    conn = happybase_connection(cluster, timeout_ms=60000)
    try:
        if create:
            conn.create_table(table, {"cf": {"max_versions": 1}})
        conn.table(table).put(row.encode(), {b"cf:v": value.encode()})
    finally:
        conn.close()


def hbase_get(cluster: Any, table: str, row: str) -> bytes | None:
    """`row`'s cf:v through the Thrift server (None when absent)."""
    from bigdata_admin.clients import happybase_connection

    conn = happybase_connection(cluster, timeout_ms=60000)
    try:
        return conn.table(table).row(row.encode()).get(b"cf:v")
    finally:
        conn.close()


def main_pids(cluster: Any, groups: list[str]) -> dict[tuple[str, str], str]:
    """(host, unit) -> MainPID of the daemons of `groups` (SecondaryNameNode with the NameNode); a daemon
    that is not running is left out."""
    from bigdata_admin.health import remote
    from bigdata_admin.services import BY_GROUP

    out: dict[tuple[str, str], str] = {}
    for group in groups:
        units = [BY_GROUP[group].unit] + (["hdfs-secondarynamenode"] if group == "hdfs_namenode" else [])
        for host in cluster.hosts_in(group):
            res = remote.run(host, ["systemctl", "show", "-p", "MainPID", "--value", *units], become=True,
                             timeout=60)
            assert res.ok, (host.name, res.stderr)
            for unit, pid in zip(units, res.stdout.split(), strict=True):
                if pid != "0":
                    out[(host.name, unit)] = pid
    return out


def why_restarted(cluster: Any, before: dict[tuple[str, str], str], after: dict[tuple[str, str], str]) -> str:
    """The journal and the log files' last errors of each daemon whose MainPID changed (for the failure
    message: the lab, and its journal, may be gone when someone reads it)."""
    from bigdata_admin.health import remote

    out = []
    for host_name, unit in sorted(k for k in before if after.get(k) != before[k]):
        host = cluster.hosts[host_name]
        key = (host_name, unit)
        out.append(f"--- {host_name} {unit}: MainPID {before[key]} -> {after.get(key)}")
        journal = remote.run(host, ["journalctl", "-u", unit, "-n", "40", "--no-pager"], become=True,
                             timeout=60)
        out.append(journal.stdout + journal.stderr)
        logs = remote.run(host, ["sh", "-c", "grep -h -E 'ABORTING|FATAL|OutOfMemoryError|Terminating' "
                                 "/var/log/bigdata/*/*.log 2>/dev/null | tail -n 30"],
                          become=True, timeout=60)
        out.append(logs.stdout)
    return "\n".join(out)


def assert_destroyed_keeping_data(cluster: Any) -> None:
    """After `destroy` without --purge-data: nothing runs from the install root on any host, every host
    keeps its data root, and the deploy record marks the NameNode destroyed."""
    from bigdata_admin import deployment
    from bigdata_admin.health import remote

    data_root = str(cluster.var("bigdata_data_root"))
    for host in cluster.hosts.values():
        left = remote.run(host, ["pgrep", "-af", f"{cluster.var('bigdata_install_root')}/"], timeout=30)
        assert left.rc == 1, (host.name, left.stdout)  # nothing of the stack runs
        kept = remote.run(host, ["test", "-d", data_root], become=True, timeout=30)
        assert kept.ok, f"{data_root} gone on {host.name}"
    assert "destroyed at" in deployment.not_deployed(cluster)["hdfs_namenode"]


def kafka_broker_round_trip(cluster: Any, target: Any) -> None:
    """Decommission the Kafka broker on host `target`: a new topic replicated on all brokers but one has
    replicas on it, and none is left there afterwards (its partitions moved); then recommission it."""
    import time
    import uuid

    from kafka.admin import KafkaAdminClient, NewTopic

    from bigdata_admin import decommission
    from bigdata_admin.health.core import kafka_bootstrap

    brokers = cluster.hosts_in("kafka_broker")
    live = decommission.Live(cluster)
    topic = f"decom-{uuid.uuid4().hex[:6]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap(cluster))
    try:
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=len(brokers) - 1)])
    finally:
        admin.close()
    deadline = time.monotonic() + 30
    while topic not in {t["name"] for t in live.kafka_facts()[1]} and time.monotonic() < deadline:
        time.sleep(1)  # the new topic's metadata reaches every broker
    leaving = decommission.broker_id(live.kafka_facts()[0], target)
    report = decommission.run(cluster, target.name, ["kafka"], timeout_s=300, progress=print)
    assert report.ok, report.as_dict()
    after = decommission.Live(cluster).kafka_facts()[1]
    on_it = [t["name"] for t in after for p in t["partitions"] if leaving in p["replica_nodes"]]
    moved = next(st for st in report.steps if st.service == "kafka")
    assert leaving is not None and leaving >= 0 and not on_it, on_it
    assert not moved.detail.startswith("0 partition"), moved.detail  # the new topic had replicas on it
    back = decommission.run(cluster, target.name, ["kafka"], decommission=False, timeout_s=300,
                            progress=print)
    assert back.ok, back.as_dict()
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap(cluster))
    try:
        admin.delete_topics([topic])
    finally:
        admin.close()
