"""Issue 11 item 1 on the main job's lab (session fixture `main_lab`): a ZooKeeper member's myid and a
KRaft node's node.id belong to their storage, not to the inventory's order.

Deploying ZooKeeper and Kafka from an inventory that lists every member in reverse order keeps every
myid and node.id, changes no file (zoo.cfg's servers and the KRaft voters are written in id order),
and leaves the ensemble (one leader) and the quorum (with its records) healthy. An explicit
zookeeper_myid that contradicts a member's stored id stops the deploy, naming the host and the fix,
and changes nothing.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from labtools import create_topic, wait_healthy  # tests/integration (rootdir-relative import)

from bigdata_admin import deployment, inventory, paths
from bigdata_admin.health import remote
from bigdata_admin.health.smoke_runner import run as run_smoke
from bigdata_admin.lab.labinventory import with_groups

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]

KAFKA_GROUPS = ("kafka_controller", "kafka_broker")
GROUPS = ("zookeeper", *KAFKA_GROUPS)


def _deploy(inv: Path, tags: list[str], label: str) -> Any:
    from bigdata_admin.runner import run_playbook

    return run_playbook(paths.playbook("site"), inv, tags=tags, label=label, show_progress=False)


def _failures(result: Any) -> str:
    return "\n".join(f"{f.host} | {f.task} | {f.message}" for f in result.failures)


def _read(cluster: inventory.Cluster, host: inventory.Host, path: str) -> str:
    res = remote.run(host, ["cat", path], become=True, timeout=30)
    assert res.rc == 0, f"{host.name}: {res.stderr}"
    return res.stdout


def _kafka_node_ids(cluster: inventory.Cluster) -> dict[str, str]:
    meta = f"{cluster.var('bigdata_data_root', '/data')}/kafka/data/meta.properties"
    return {h.name: next(ln.split("=", 1)[1] for ln in _read(cluster, h, meta).splitlines()
                         if ln.startswith("node.id="))
            for g in KAFKA_GROUPS for h in cluster.hosts_in(g)}


def _myids(cluster: inventory.Cluster) -> dict[str, str]:
    myid = f"{cluster.var('bigdata_data_root', '/data')}/zookeeper/data/myid"
    return {h.name: _read(cluster, h, myid).strip() for h in cluster.hosts_in("zookeeper")}


def _zoo_servers(cluster: inventory.Cluster) -> dict[str, dict[str, str]]:
    """host -> {server id -> address} from each member's zoo.cfg."""
    conf = f"{cluster.var('bigdata_config_root', '/etc/bigdata')}/zookeeper/zoo.cfg"
    out = {}
    for host in cluster.hosts_in("zookeeper"):
        pairs = (line.partition("=") for line in _read(cluster, host, conf).splitlines())
        out[host.name] = {k.removeprefix("server."): v.split(":")[0] for k, _, v in pairs
                          if k.startswith("server.")}
    return out


def _healthy(cluster: inventory.Cluster, timeout: float = 90) -> Any:
    return wait_healthy(cluster, timeout, not_deployed=deployment.not_deployed(cluster))


@pytest.fixture(scope="module")
def cluster(main_lab: dict[str, Any]) -> inventory.Cluster:
    assert main_lab["rc"] == 0, str(main_lab["out"])[-5000:]
    c = inventory.load(Path(main_lab["inventory"]))
    skipped = set(GROUPS) & set(deployment.not_deployed(c))
    assert not skipped, f"ZooKeeper and Kafka must be deployed on the main lab: {skipped}"
    return c


def test_reordered_inventory_keeps_myids_and_node_ids(cluster: inventory.Cluster, tmp_path: Path) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    from bigdata_admin.health.core import kafka_bootstrap

    myids, node_ids = _myids(cluster), _kafka_node_ids(cluster)
    assert sorted(myids.values()) == [str(i) for i in range(1, len(myids) + 1)], myids
    assert len(set(node_ids.values())) == len(node_ids), node_ids
    topic = f"reorder-{uuid.uuid4().hex[:8]}"
    create_topic(cluster, kafka_bootstrap(cluster), topic)  # the cluster does not auto-create topics
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap(cluster), acks="all")
    records = [f"r{i}".encode() for i in range(30)]
    for r in records:
        producer.send(topic, r)
    producer.flush(30)
    producer.close()

    groups = {g: [h.name for h in reversed(cluster.hosts_in(g))] for g in GROUPS if cluster.has(g)}
    reordered = with_groups(Path(cluster.source), tmp_path / "reordered", groups)
    result = _deploy(reordered, ["zookeeper", "kafka"], "test-ids-reordered")
    assert result.rc == 0, _failures(result)
    changed = {h: r.changed for h, r in result.recap.items() if r.changed}
    assert changed == {}, f"listing the same nodes in another order changed something: {changed}"

    again = inventory.load(reordered)
    assert _myids(again) == myids and _kafka_node_ids(again) == node_ids
    addresses = {h.address: h.name for h in cluster.hosts_in("zookeeper")}
    for host, servers in _zoo_servers(again).items():
        assert {sid: addresses[a] for sid, a in servers.items()} == {v: k for k, v in myids.items()}, host
    report = _healthy(cluster)
    assert report.healthy, [(r.host, r.group, r.problem) for r in report.unhealthy]
    modes = sorted(r.probe.state for r in report.rows if r.group == "zookeeper" and r.probe)
    assert modes == ["follower"] * (len(myids) - 1) + ["leader"]

    smoke = run_smoke(cluster, ["kafka"], not_deployed=deployment.not_deployed(cluster))
    assert smoke.passed, [(r.name, r.detail) for r in smoke.results if not r.passed]
    consumer = KafkaConsumer(topic, bootstrap_servers=kafka_bootstrap(cluster), auto_offset_reset="earliest",
                             consumer_timeout_ms=15000, group_id=f"{topic}-check")
    got = sorted(m.value for m in consumer)
    consumer.close()
    assert got == sorted(records)


def test_a_contradicting_myid_stops_the_deploy_before_any_change(cluster: inventory.Cluster,
                                                                  tmp_path: Path) -> None:
    myids = _myids(cluster)
    members = [h.name for h in cluster.hosts_in("zookeeper")]
    victim = members[0]
    wrong = "9" if myids[victim] != "9" else "8"
    bad = with_groups(Path(cluster.source), tmp_path / "contradicting", {"zookeeper": members},
                      host_vars={victim: {"zookeeper_myid": int(wrong)}})
    result = _deploy(bad, ["zookeeper"], "test-ids-contradicting")
    assert result.rc != 0
    text = _failures(result)
    assert f"{victim} stores myid id {myids[victim]}" in text and f"zookeeper_myid: {myids[victim]}" in text
    assert _myids(cluster) == myids
    changed = {h: r.changed for h, r in result.recap.items() if r.changed}
    assert changed == {}, changed
