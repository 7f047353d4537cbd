"""Issue 11 item 1 for Kafka, on the main job's lab (session fixture `main_lab`): a KRaft node's
node.id belongs to its storage. Deploying Kafka from an inventory that lists the controllers and
brokers in reverse order keeps every node's node.id (meta.properties), changes no file (the voters are
written in id order, not inventory order), and leaves the quorum healthy with its records."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from labtools import create_topic  # tests/integration (rootdir-relative import)

from bigdata_admin import deployment, inventory
from bigdata_admin.health import remote
from bigdata_admin.health.smoke_runner import run as run_smoke
from bigdata_admin.lab.labinventory import with_groups

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]

GROUPS = ("kafka_controller", "kafka_broker")


def _node_ids(cluster: inventory.Cluster) -> dict[str, str]:
    data_dir = f"{cluster.var('bigdata_data_root', '/data')}/kafka/data"
    out = {}
    for group in GROUPS:
        for host in cluster.hosts_in(group):
            res = remote.run(host, ["cat", f"{data_dir}/meta.properties"], become=True, timeout=30)
            assert res.rc == 0, res.stderr
            out[host.name] = next(ln.split("=", 1)[1] for ln in res.stdout.splitlines()
                                  if ln.startswith("node.id="))
    return out


def test_reordered_inventory_keeps_kafka_node_ids(main_lab: dict[str, Any], tmp_path: Path) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    from bigdata_admin.health.core import kafka_bootstrap

    assert main_lab["rc"] == 0, str(main_lab["out"])[-5000:]
    inv = Path(main_lab["inventory"])
    cluster = inventory.load(inv)
    assert not set(GROUPS) & set(deployment.not_deployed(cluster)), "Kafka is deployed on the main lab"
    before = _node_ids(cluster)
    assert len(set(before.values())) == len(before), before
    topic = f"reorder-{uuid.uuid4().hex[:8]}"
    create_topic(cluster, kafka_bootstrap(cluster), topic)  # the cluster does not auto-create topics
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap(cluster), acks="all")
    records = [f"r{i}".encode() for i in range(30)]
    for r in records:
        producer.send(topic, r)
    producer.flush(30)
    producer.close()

    groups = {g: [h.name for h in reversed(cluster.hosts_in(g))] for g in GROUPS if cluster.has(g)}
    reordered = with_groups(inv, tmp_path / "reordered", groups)
    proc = subprocess.run([sys.executable, "-m", "bigdata_admin", "deploy", "-i", str(reordered), "--tags",
                           "kafka", "--json"], capture_output=True, text=True, timeout=2700, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    recap = json.loads(proc.stdout)["recap"]
    changed = {h: r["changed"] for h, r in recap.items() if r.get("changed")}
    assert changed == {}, f"listing the same nodes in another order changed something: {changed}"
    assert _node_ids(inventory.load(reordered)) == before

    smoke = run_smoke(cluster, ["kafka"], not_deployed=deployment.not_deployed(cluster))
    assert smoke.passed, [(r.name, r.detail) for r in smoke.results if not r.passed]
    consumer = KafkaConsumer(topic, bootstrap_servers=kafka_bootstrap(cluster), auto_offset_reset="earliest",
                             consumer_timeout_ms=15000, group_id=f"{topic}-check")
    got = sorted(m.value for m in consumer)
    consumer.close()
    assert got == sorted(records)
