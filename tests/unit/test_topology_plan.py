"""The plan: processes per host (implied ones included), ports, memory, versions, Java, web UIs."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from bigdata_admin import inventory, plan


def _host(data: dict, name: str) -> dict:
    return next(h for h in data["hosts"] if h["host"] == name)


def _proc(host: dict, name: str) -> dict:
    return next(p for p in host["processes"] if p["name"] == name)


def test_classroom_plan(repo_root: Path) -> None:
    cluster = inventory.load(repo_root / "inventories" / "classroom")
    data = plan.build(cluster)
    assert data["cluster"] == "classroom" and data["namenode_ha"] is False
    node1 = _host(data, "node1")
    assert node1["address"] == "192.168.56.11" and node1["memory_mb"] == 12288
    nn = _proc(node1, "hdfs_namenode")
    assert nn["ports"] == {"rpc": 8020, "http": 9870}
    assert nn["ui"] == "http://192.168.56.11:9870/"
    java_for = cluster.var("bigdata_java_for")
    assert nn["version"] == cluster.version("hadoop") and nn["java"] == java_for["hadoop"]
    # Hive runs on its own Java (8), Kafka on 17: one JDK does not fit all.
    assert _proc(node1, "hive_metastore")["java"] == java_for["hive"]
    kafka = _proc(node1, "kafka_broker+kafka_controller")
    assert kafka["ports"] == {"broker": 9092, "controller": 9093}
    assert kafka["memory_mb"] == cluster.var("kafka_heap_mb")
    # Without HA the SecondaryNameNode is implied on the NameNode host.
    snn = _proc(node1, "hdfs_secondarynamenode")
    assert snn["implied"] and snn["ports"] == {"http": 9868}
    # Non-JVM services have no Java; distro packages show the version Debian 12 runs.
    redis = _proc(node1, "redis")
    assert redis["java"] is None and redis["version"] == "7.0 (Debian 12 package)"
    # Memory adds up per host.
    assert node1["planned_memory_mb"] == sum(p["memory_mb"] for p in node1["processes"])
    node2 = _host(data, "node2")
    workers = _proc(node2, "storm_workers")
    slots = len(cluster.var("storm_supervisor_slot_ports"))
    assert workers["memory_mb"] == cluster.var("storm_worker_heap_mb") * slots
    nm = _proc(node2, "yarn_nodemanager")
    want = cluster.var("yarn_nodemanager_heap_mb") + cluster.var("yarn_nodemanager_memory_mb")
    assert nm["memory_mb"] == want


def test_ha_plan_has_zkfc_not_secondarynamenode(repo_root: Path) -> None:
    data = plan.build(inventory.load(repo_root / "inventories" / "ha"))
    assert data["namenode_ha"] is True
    for name in ("master1", "master2"):
        names = [p["name"] for p in _host(data, name)["processes"]]
        assert "hdfs_zkfc" in names and "hdfs_secondarynamenode" not in names
    assert "hdfs_zkfc" not in [p["name"] for p in _host(data, "master3")["processes"]]


def test_render_prints_every_host(repo_root: Path) -> None:
    data = plan.build(inventory.load(repo_root / "inventories" / "classroom"))
    console = Console(record=True, width=200)
    for table in plan.render(data):
        console.print(table)
    text = console.export_text()
    for host in ("node1", "node2", "node3"):
        assert host in text
    assert "http://192.168.56.11:9870/" in text and "(implied)" in text
