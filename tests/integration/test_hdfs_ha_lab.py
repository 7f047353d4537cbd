"""NameNode HA for real, on a lab laid out like inventories/ha (`lab up --template ha`): 2 NameNodes
with their ZooKeeper failover controllers, 3 JournalNodes, a 3-node ZooKeeper ensemble, 2 DataNodes,
and Kafka with dedicated KRaft controllers and brokers. In CI the compact layout (3 hosts: one KRaft
controller on h1, DataNodes and brokers on h2 and h3); BIGDATA_TEST_HA_LAB=1 takes inventories/ha's own
shape (5 hosts: controllers h1-h3, workers and brokers h4 and h5, about 19 minutes on 2 cores).

Deploy; write a file; stop the active NameNode; the other one is active within 60 s; the file
reads back and a new write succeeds; the stopped one comes back as standby. Kafka's smoke test
passes across the dedicated controllers and brokers.

Day-2 operations on this cluster (issue 15), last in this module: a rolling upgrade of Hadoop (3.4.2 ->
3.5.0: JournalNodes, the standby NameNode, a failover, the other NameNode, DataNodes, finalize) keeps a
file written before it; `destroy` without --purge-data leaves the data directories and nothing running,
and a new deploy finds the data (both NameNodes keep the cluster id and come back one active, one
standby; the file reads back; Kafka keeps its cluster id and its records). Opt-in
(BIGDATA_TEST_DAYOPS_LAB=1): before it, a rolling restart of the dedicated KRaft controllers and the
brokers passes its in-sync gate (the main lab's dayops test rolls Kafka in CI).

BIGDATA_LAB_KEEP=1 leaves the lab up afterwards.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from labtools import assert_destroyed_keeping_data, cli_process, create_topic, opt_in, raise_versions

from bigdata_admin import deployment, inventory
from bigdata_admin.health import remote
from bigdata_admin.health.probes_hadoop import hdfs_namenode
from bigdata_admin.health.smoke_runner import run as run_smoke
from bigdata_admin.health.status import collect

pytestmark = [
    pytest.mark.integration, pytest.mark.lab, pytest.mark.slow,
]

LAB = os.environ.get("BIGDATA_HA_LAB_NAME", "ha")
NODES = 5 if os.environ.get("BIGDATA_TEST_HA_LAB") == "1" else 3
TAGS = "common,java,zookeeper,hdfs,kafka"
FAILOVER_S = 60
HADOOP_FROM, HADOOP_TO = inventory.role_defaults()["bigdata_versions"]["hadoop"], "3.5.0"
DROPIN_PATH = "/run/systemd/system/hdfs-namenode.service.d/rolling-upgrade.conf"  # hdfs-rolling-upgrade's
dayops_opt_in = opt_in("BIGDATA_TEST_DAYOPS_LAB", "a few minutes: rolls the KRaft controllers and brokers")


@pytest.fixture(scope="module")
def ha_lab() -> Iterator[Path]:
    if os.geteuid() != 0:
        pytest.skip("the lab needs root (network namespaces, mounts, systemd-nspawn)")
    if shutil.which("systemd-nspawn") is None:
        pytest.skip("systemd-nspawn is not installed (apt-get install systemd-container)")
    from bigdata_admin import lab as labmod

    lb = labmod.up(name=LAB, nodes=NODES, template="ha")
    try:
        inv = Path(lb.inventory)
        # `lab up` keeps an existing inventory: undo the version an earlier run's upgrade test raised.
        raise_versions(inv, {"hadoop": HADOOP_FROM})
        fetched = cli_process("artifacts", "fetch", "-i", str(inv), "hadoop", "kafka")
        assert fetched.returncode == 0, fetched.stdout[-3000:] + fetched.stderr[-3000:]
        deployed = cli_process("deploy", "-i", str(inv), "-t", TAGS, "--skip-unavailable")
        assert deployed.returncode == 0, deployed.stdout[-5000:] + deployed.stderr[-3000:]
        yield inv
    finally:
        if os.environ.get("BIGDATA_LAB_KEEP") != "1":
            labmod.down(LAB)


def _states(cluster: inventory.Cluster) -> dict[str, str]:
    """NameNode host -> its HA state as the status probe reads it from JMX."""
    out = {}
    for host in cluster.hosts_in("hdfs_namenode"):
        probe = hdfs_namenode(cluster, host)
        out[host.name] = str(probe.state)
    return out


def _wait_for(cluster: inventory.Cluster, want: dict[str, str],
              timeout: float) -> tuple[dict[str, str], float]:
    started = time.monotonic()
    states = _states(cluster)
    while any(states.get(h) != s for h, s in want.items()) and time.monotonic() - started < timeout:
        time.sleep(1)
        states = _states(cluster)
    return states, time.monotonic() - started


def test_layout_is_ha(ha_lab: Path) -> None:
    cluster = inventory.load(ha_lab)
    assert len(cluster.hosts_in("hdfs_namenode")) == 2
    assert len(cluster.hosts_in("hdfs_journalnode")) == 3
    controllers = {h.name for h in cluster.hosts_in("kafka_controller")}
    brokers = {h.name for h in cluster.hosts_in("kafka_broker")}
    assert controllers and brokers and not controllers & brokers


def test_status_and_smoke_pass(ha_lab: Path) -> None:
    cluster = inventory.load(ha_lab)
    absent = deployment.not_deployed(cluster)
    report = collect(cluster, not_deployed=absent)
    assert report.healthy, [(r.host, r.group, r.problem) for r in report.unhealthy]
    assert sorted(_states(cluster).values()) == ["active", "standby"]
    smoke = run_smoke(cluster, ["hdfs", "kafka", "zookeeper"], not_deployed=absent)
    assert smoke.passed, [(r.name, r.detail) for r in smoke.results if not r.passed]


def test_failover_keeps_the_data(ha_lab: Path) -> None:
    from bigdata_admin.clients import webhdfs_client

    cluster = inventory.load(ha_lab)
    states = _states(cluster)
    active = next(h for h, s in states.items() if s == "active")
    standby = next(h for h, s in states.items() if s == "standby")
    path = f"/tmp/ha-{uuid.uuid4().hex[:8]}"
    payload = os.urandom(200_000)
    webhdfs_client(cluster).write(path, payload, overwrite=True)

    victim = cluster.hosts[active]
    stopped = remote.run(victim, ["systemctl", "stop", "hdfs-namenode"], become=True, timeout=120)
    assert stopped.ok, stopped.stderr
    try:
        after, seconds = _wait_for(cluster, {standby: "active"}, FAILOVER_S)
        assert after[standby] == "active", f"no failover within {FAILOVER_S} s: {after}"
        print(f"failover: {standby} active {seconds:.1f} s after {active} stopped")
        client = webhdfs_client(cluster)
        with client.read(path) as reader:
            assert reader.read() == payload
        second = f"{path}-after"
        client.write(second, b"written after the failover", overwrite=True)
        with client.read(second) as reader:
            assert reader.read() == b"written after the failover"
    finally:
        started = remote.run(victim, ["systemctl", "start", "hdfs-namenode"], become=True, timeout=120)
        assert started.ok, started.stderr
    back, _ = _wait_for(cluster, {active: "standby", standby: "active"}, 180)
    assert back == {active: "standby", standby: "active"}, back
    client = webhdfs_client(cluster)
    client.delete(path)
    client.delete(f"{path}-after")


def _kafka_cluster_ids(cluster: inventory.Cluster) -> dict[str, str]:
    """Kafka host -> the cluster.id in its meta.properties (controllers and brokers)."""
    meta_file = f"{cluster.var('bigdata_data_root')}/kafka/data/meta.properties"  # kafka_data_dir's default
    out = {}
    nodes = {h.name: h for g in ("kafka_controller", "kafka_broker") for h in cluster.hosts_in(g)}
    for host in nodes.values():
        meta = remote.run(host, ["cat", meta_file], become=True, timeout=30)
        assert meta.ok, f"{host.name}: {meta.stderr}"
        out[host.name] = next(line.split("=", 1)[1] for line in meta.stdout.splitlines()
                              if line.startswith("cluster.id="))
    return out


@dayops_opt_in
def test_rolling_restart_of_the_kafka_brokers_passes_the_in_sync_gate(ha_lab: Path) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    from bigdata_admin import dayops
    from bigdata_admin.health.core import kafka_bootstrap

    cluster = inventory.load(ha_lab)
    topic = f"ha-roll-{uuid.uuid4().hex[:6]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap(cluster))
    try:
        admin.create_topics([NewTopic(topic, num_partitions=2,
                                      replication_factor=len(cluster.hosts_in("kafka_broker")))])
    finally:
        admin.close()
    report = dayops.rolling_restart(cluster, ["kafka"], progress=print)
    assert report.ok, report.as_dict()
    restarted = {s.host for s in report.steps}
    # Controllers and brokers are separate nodes here: every one restarts, each behind the gate.
    assert restarted == {h.name for g in ("kafka_controller", "kafka_broker") for h in cluster.hosts_in(g)}
    assert all(s.gate == "kafka healthy" and "fully in sync" in s.detail for s in report.steps), \
        report.as_dict()


def test_a_rolling_upgrade_of_the_ha_pair_keeps_the_data(ha_lab: Path) -> None:
    """Hadoop 3.4.2 -> 3.5.0 on the HA pair: each JournalNode in turn (back in the write quorum before the
    next), the standby NameNode and its failover controller, a failover to it, then the other one; the
    DataNodes; finalize. The NameNodes swap roles, every Hadoop daemon runs 3.5.0, a file written before
    reads back, and `upgrade` again has nothing to do."""
    from bigdata_admin.clients import webhdfs_client
    from bigdata_admin.upgrade import running_versions

    cluster = inventory.load(ha_lab)
    target = HADOOP_TO
    versions, _ = running_versions(cluster, "hadoop")
    assert target != HADOOP_FROM and set(versions.values()) == {HADOOP_FROM}, versions
    states = _states(cluster)
    active = next(h for h, s in states.items() if s == "active")
    standby = next(h for h, s in states.items() if s == "standby")
    path, body = f"/tmp/ha-upgrade-{uuid.uuid4().hex[:8]}", os.urandom(150_000)
    webhdfs_client(cluster).write(path, data=body)

    raise_versions(ha_lab, {"hadoop": target})
    started = time.monotonic()
    res = cli_process("upgrade", "-i", str(ha_lab), "--service", "hdfs", "--json")
    upgrade_s = time.monotonic() - started
    assert res.returncode == 0, res.stdout[-5000:] + res.stderr[-3000:]
    report = json.loads(res.stdout)
    assert report["ok"] is True, report["problems"]
    assert {c["component"]: c["action"] for c in report["components"]} == {"hadoop": "upgrade"}
    print(f"HA rolling upgrade {upgrade_s:.1f} s; steps (s): {report['seconds']}")

    cluster = inventory.load(ha_lab)
    versions, still_open = running_versions(cluster, "hadoop")
    assert set(versions.values()) == {target}, versions
    groups = {key.split("@")[0] for key in versions}
    assert {"hdfs_namenode", "hdfs_datanode", "hdfs_journalnode", "hdfs_zkfc"} <= groups, versions
    assert not still_open, "the rolling upgrade was not finalized"
    # The standby went first and took over; the one that was active came back as standby.
    assert _states(cluster) == {active: "standby", standby: "active"}
    for host in cluster.hosts_in("hdfs_namenode"):
        left = remote.run(host, ["test", "-e", DROPIN_PATH], become=True, timeout=30)
        assert left.reachable and left.rc == 1, f"{host.name}: {DROPIN_PATH} left after finalize"
    client = webhdfs_client(cluster)
    with client.read(path) as reader:
        assert reader.read() == body
    client.write(f"{path}-after", b"written after the upgrade", overwrite=True)
    with client.read(f"{path}-after") as reader:
        assert reader.read() == b"written after the upgrade"

    again = cli_process("upgrade", "-i", str(ha_lab), "--service", "hdfs", "--json", timeout=300)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert [c["action"] for c in json.loads(again.stdout)["components"]] == ["current"]
    report_after = collect(cluster, not_deployed=deployment.not_deployed(cluster))
    assert report_after.healthy, [(r.host, r.group, r.problem) for r in report_after.unhealthy]


def test_destroy_keeps_the_data_and_a_new_deploy_finds_it(ha_lab: Path) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    from bigdata_admin.clients import webhdfs_client
    from bigdata_admin.health.core import kafka_bootstrap
    from bigdata_admin.health.probes_hadoop import jmx

    cluster = inventory.load(ha_lab)
    nn_http = int(cluster.var("hdfs_namenode_http_port"))

    def cluster_ids() -> dict[str, str]:
        return {h.name: str(jmx(h.address or h.name, nn_http, "Hadoop:service=NameNode,name=NameNodeInfo")[0]
                            ["ClusterId"]) for h in cluster.hosts_in("hdfs_namenode")}

    hdfs_ids, kafka_ids = cluster_ids(), _kafka_cluster_ids(cluster)
    assert len(set(hdfs_ids.values())) == 1, hdfs_ids
    path, body = f"/tmp/ha-destroy-{uuid.uuid4().hex[:8]}", os.urandom(100_000)
    webhdfs_client(cluster).write(path, data=body)
    topic = f"ha-destroy-{uuid.uuid4().hex[:6]}"
    create_topic(cluster, kafka_bootstrap(cluster), topic)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap(cluster), acks="all", retries=5)
    for i in range(10):
        producer.send(topic, f"before-{i}".encode())
    producer.flush(60)
    producer.close()

    refused = cli_process("destroy", "-i", str(ha_lab), timeout=120)
    assert refused.returncode == 2 and "--yes-i-really-really-mean-it" in refused.stderr, refused.stderr
    started = time.monotonic()
    gone = cli_process("destroy", "-i", str(ha_lab), "--yes-i-really-really-mean-it")
    assert gone.returncode == 0, gone.stdout[-3000:] + gone.stderr[-3000:]
    destroy_s = time.monotonic() - started
    assert_destroyed_keeping_data(cluster)

    started = time.monotonic()
    again = cli_process("deploy", "-i", str(ha_lab), "-t", TAGS)
    assert again.returncode == 0, again.stdout[-5000:] + again.stderr[-3000:]
    print(f"destroy {destroy_s:.1f} s, deploy again ({TAGS}) {time.monotonic() - started:.1f} s")
    cluster = inventory.load(ha_lab)
    assert not deployment.not_deployed(cluster).get("hdfs_namenode")
    deadline = time.monotonic() + FAILOVER_S  # the failover controllers elect after their restart
    states = _states(cluster)
    while sorted(states.values()) != ["active", "standby"] and time.monotonic() < deadline:
        time.sleep(2)
        states = _states(cluster)
    assert sorted(states.values()) == ["active", "standby"], states
    assert cluster_ids() == hdfs_ids  # neither NameNode re-formatted
    with webhdfs_client(cluster).read(path) as reader:
        assert reader.read() == body
    assert _kafka_cluster_ids(cluster) == kafka_ids  # no Kafka storage re-formatted
    consumer = KafkaConsumer(topic, bootstrap_servers=kafka_bootstrap(cluster), auto_offset_reset="earliest",
                             consumer_timeout_ms=30_000)
    try:
        seen = [m.value.decode() for m in consumer]
    finally:
        consumer.close()
    assert sorted(seen) == sorted(f"before-{i}" for i in range(10)), seen
    absent = deployment.not_deployed(cluster)
    report = collect(cluster, not_deployed=absent)
    assert report.healthy, [(r.host, r.group, r.problem) for r in report.unhealthy]
