"""Every rule of `bigdata_admin.validate`: a failing and a passing case each, on real YAML inventories."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bigdata_admin import inventory
from bigdata_admin.problems import Problem
from bigdata_admin.validate import validate

# A small, valid cluster: 3 hosts, HDFS, ZooKeeper, nothing else.
BASE_HOSTS = {
    "n1": {"ansible_host": "10.1.0.1", "bigdata_host_memory_mb": 65536},
    "n2": {"ansible_host": "10.1.0.2", "bigdata_host_memory_mb": 65536},
    "n3": {"ansible_host": "10.1.0.3", "bigdata_host_memory_mb": 65536},
}
BASE_GROUPS = {
    "zookeeper": ["n1", "n2", "n3"],
    "hdfs_namenode": ["n1"],
    "hdfs_datanode": ["n2", "n3"],
    "gpu_worker": ["n3"],
}


def write_inventory(root: Path, groups: dict[str, Any], hosts: dict[str, Any] | None = None,
                    all_vars: dict[str, Any] | None = None) -> Path:
    """Write hosts.yml + group_vars/all.yml; group values are host lists or ready group mappings."""
    children: dict[str, Any] = {}
    for name, members in groups.items():
        children[name] = {"hosts": {h: None for h in members}} if isinstance(members, list) else members
    doc = {"all": {"hosts": hosts if hosts is not None else BASE_HOSTS, "children": children}}
    root.mkdir(parents=True, exist_ok=True)
    (root / "hosts.yml").write_text(yaml.safe_dump(doc))
    (root / "group_vars").mkdir(exist_ok=True)
    (root / "group_vars" / "all.yml").write_text(yaml.safe_dump({"hdfs_replication": 2, **(all_vars or {})}))
    return root


def problems_of(tmp_path: Path, groups: dict[str, Any] | None = None, **kw: Any) -> list[Problem]:
    g = dict(BASE_GROUPS)
    g.update(groups or {})
    g = {k: v for k, v in g.items() if v is not None}
    return validate(inventory.load(write_inventory(tmp_path / "inv", g, **kw)))


def errors_at(problems: list[Problem], where: str) -> list[Problem]:
    return [p for p in problems if p.severity == "error" and p.where == where]


def warnings_at(problems: list[Problem], where: str) -> list[Problem]:
    return [p for p in problems if p.severity == "warning" and p.where == where]


def test_base_inventory_is_clean(tmp_path: Path) -> None:
    assert problems_of(tmp_path) == []


# --- ZooKeeper -------------------------------------------------------------------------------------

def test_even_zookeeper_ensemble_is_rejected(tmp_path: Path) -> None:
    found = errors_at(problems_of(tmp_path, {"zookeeper": ["n1", "n2"]}), "group zookeeper")
    assert found and "odd" in found[0].message and "2 members" in found[0].message
    assert "1 or 3" in found[0].fix


def test_odd_zookeeper_ensemble_passes(tmp_path: Path) -> None:
    assert not errors_at(problems_of(tmp_path, {"zookeeper": ["n1"]}), "group zookeeper")


# --- HDFS ------------------------------------------------------------------------------------------

def test_datanodes_without_namenode(tmp_path: Path) -> None:
    found = errors_at(problems_of(tmp_path, {"hdfs_namenode": None}), "group hdfs_namenode")
    assert found and "no NameNode" in found[0].message and "hdfs_datanode" in found[0].message


def test_three_namenodes_rejected(tmp_path: Path) -> None:
    found = errors_at(problems_of(tmp_path, {"hdfs_namenode": ["n1", "n2", "n3"]}), "group hdfs_namenode")
    assert found and "3 NameNodes" in found[0].message


def test_ha_needs_three_journalnodes(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {"hdfs_namenode": ["n1", "n2"], "hdfs_journalnode": ["n1", "n2"]})
    jn = errors_at(found, "group hdfs_journalnode")
    assert jn and "JournalNodes" in jn[0].message and "there are 2" in jn[0].message


def test_ha_needs_zookeeper(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {"hdfs_namenode": ["n1", "n2"], "hdfs_journalnode": ["n1", "n2", "n3"],
                                   "zookeeper": None})
    assert errors_at(found, "group zookeeper")
    assert "ZKFC" in errors_at(found, "group zookeeper")[0].message


def test_ha_with_three_journalnodes_and_zookeeper_passes(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {"hdfs_namenode": ["n1", "n2"], "hdfs_journalnode": ["n1", "n2", "n3"]})
    assert [p for p in found if p.severity == "error"] == []


def test_journalnodes_without_ha_warn(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {"hdfs_journalnode": ["n1", "n2", "n3"]})
    assert warnings_at(found, "group hdfs_journalnode")


def test_hdfs_needs_a_datanode(tmp_path: Path) -> None:
    found = errors_at(problems_of(tmp_path, {"hdfs_datanode": None}), "group hdfs_datanode")
    assert found and "no DataNode" in found[0].message


def test_replication_above_datanodes(tmp_path: Path) -> None:
    found = errors_at(problems_of(tmp_path, all_vars={"hdfs_replication": 3}), "variable hdfs_replication")
    assert found and "only 2 DataNode" in found[0].message and "hdfs_replication: 2" in found[0].fix


def test_replication_equal_to_datanodes_passes(tmp_path: Path) -> None:
    assert not errors_at(problems_of(tmp_path, all_vars={"hdfs_replication": 2}), "variable hdfs_replication")


# --- YARN, Spark -----------------------------------------------------------------------------------

def test_nodemanagers_need_a_resourcemanager(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {"yarn_nodemanager": ["n2", "n3"]})
    assert errors_at(found, "group yarn_resourcemanager")
    ok = problems_of(tmp_path, {"yarn_nodemanager": ["n2", "n3"], "yarn_resourcemanager": ["n1"]})
    assert not errors_at(ok, "group yarn_resourcemanager")


def test_spark_workers_need_one_master(tmp_path: Path) -> None:
    assert errors_at(problems_of(tmp_path, {"spark_worker": ["n2"]}), "group spark_master")
    assert errors_at(problems_of(tmp_path, {"spark_master": ["n1", "n2"]}), "group spark_master")
    ok = problems_of(tmp_path, {"spark_worker": ["n2"], "spark_master": ["n1"]})
    assert not errors_at(ok, "group spark_master")


# --- HBase -----------------------------------------------------------------------------------------

HBASE = {"hbase_master": ["n1"], "hbase_regionserver": ["n2", "n3"]}


def test_hbase_needs_hdfs(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {**HBASE, "hdfs_namenode": None, "hdfs_datanode": None})
    assert any("HBase needs HDFS" in p.message for p in errors_at(found, "group hdfs_namenode"))


def test_hbase_needs_zookeeper(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {**HBASE, "zookeeper": None})
    assert any("HBase needs ZooKeeper" in p.message for p in errors_at(found, "group zookeeper"))


def test_hbase_thrift_needs_hbase(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {"hbase_thrift": ["n1"]})
    assert any("no master" in p.message for p in errors_at(found, "group hbase_master"))


def test_hbase_with_hdfs_zookeeper_and_thrift_passes(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {**HBASE, "hbase_thrift": ["n1"]})
    assert [p for p in found if p.severity == "error"] == []


# --- Hive, Impala ----------------------------------------------------------------------------------

HIVE = {"hive_metastore": ["n1"], "hive_server2": ["n1"], "metastore_db": ["n1"]}


def test_hive_needs_metastore_db(tmp_path: Path) -> None:
    found = errors_at(problems_of(tmp_path, {**HIVE, "metastore_db": None}), "group metastore_db")
    assert found and "metastore_db" in found[0].message and "metastore_db" in found[0].fix


def test_hive_with_metastore_db_passes(tmp_path: Path) -> None:
    assert [p for p in problems_of(tmp_path, HIVE) if p.severity == "error"] == []


def test_hiveserver2_needs_a_metastore(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {**HIVE, "hive_metastore": None})
    assert errors_at(found, "group hive_metastore")


IMPALA = {"impala_statestore": ["n1"], "impala_catalog": ["n1"], "impala_daemon": ["n2", "n3"]}


def test_impala_needs_the_hive_metastore(tmp_path: Path) -> None:
    found = errors_at(problems_of(tmp_path, IMPALA), "group hive_metastore")
    assert found and "Impala needs the Hive metastore" in found[0].message


def test_impala_needs_hdfs(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {**HIVE, **IMPALA, "hdfs_namenode": None, "hdfs_datanode": None})
    assert any("Impala needs HDFS" in p.message for p in errors_at(found, "group hdfs_namenode"))


def test_impalad_off_datanode_warns(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {**HIVE, **IMPALA, "impala_daemon": ["n1", "n2"]})
    assert [p for p in found if p.severity == "error"] == []
    assert warnings_at(found, "host n1") and not warnings_at(found, "host n2")


def test_impala_on_datanodes_with_metastore_passes(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {**HIVE, **IMPALA})
    # The layout is fine; only the default Hive (4.0) is flagged: Impala 4 is built for a 3.1 metastore.
    assert [(p.severity, p.where) for p in found] == [("warning", "setting bigdata_versions.hive")]
    assert "Hive 3.1.x metastore" in found[0].message


def test_impala_needs_one_statestore_and_catalog(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {**HIVE, **IMPALA, "impala_statestore": None,
                                   "impala_catalog": ["n1", "n2"]})
    assert errors_at(found, "group impala_statestore") and errors_at(found, "group impala_catalog")


# --- Storm -----------------------------------------------------------------------------------------

STORM = {"storm_nimbus": ["n1"], "storm_ui": ["n1"], "storm_supervisor": ["n2", "n3"]}


def test_storm_needs_zookeeper(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {**STORM, "zookeeper": None})
    assert any("Storm needs ZooKeeper" in p.message for p in errors_at(found, "group zookeeper"))


def test_storm_needs_exactly_one_nimbus(tmp_path: Path) -> None:
    assert errors_at(problems_of(tmp_path, {**STORM, "storm_nimbus": None}), "group storm_nimbus")
    two = errors_at(problems_of(tmp_path, {**STORM, "storm_nimbus": ["n1", "n2"]}), "group storm_nimbus")
    assert two and "exactly one Nimbus" in two[0].message


def test_storm_with_zookeeper_and_nimbus_passes(tmp_path: Path) -> None:
    assert problems_of(tmp_path, STORM) == []


# --- Kafka -----------------------------------------------------------------------------------------

def test_even_kafka_controllers_rejected(tmp_path: Path) -> None:
    found = errors_at(problems_of(tmp_path, {"kafka_controller": ["n1", "n2"], "kafka_broker": ["n1"]}),
                      "group kafka_controller")
    assert found and "odd" in found[0].message


def test_kafka_needs_controllers_and_a_broker(tmp_path: Path) -> None:
    assert errors_at(problems_of(tmp_path, {"kafka_broker": ["n1"]}), "group kafka_controller")
    assert errors_at(problems_of(tmp_path, {"kafka_controller": ["n1"]}), "group kafka_broker")


def test_kafka_three_controllers_pass(tmp_path: Path) -> None:
    assert problems_of(tmp_path, {"kafka_controller": ["n1", "n2", "n3"], "kafka_broker": ["n1", "n2"]}) == []


# --- GPU -------------------------------------------------------------------------------------------

def test_no_gpu_worker_warns(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {"gpu_worker": None})
    warned = warnings_at(found, "group gpu_worker")
    assert warned and "CPU" in warned[0].message
    assert not [p for p in found if p.severity == "error"]


def test_gpu_worker_present_no_warning(tmp_path: Path) -> None:
    assert not warnings_at(problems_of(tmp_path), "group gpu_worker")


# --- group names -----------------------------------------------------------------------------------

def test_unknown_group_gets_did_you_mean(tmp_path: Path) -> None:
    found = errors_at(problems_of(tmp_path, {"hbase_thirft": ["n1"]}), "group hbase_thirft")
    assert found and "did you mean 'hbase_thrift'" in found[0].message
    assert "Rename" in found[0].fix


def test_unknown_group_without_close_name(tmp_path: Path) -> None:
    found = errors_at(problems_of(tmp_path, {"webservers": ["n1"]}), "group webservers")
    assert found and "unknown group 'webservers'" in found[0].message and "children" in found[0].fix


def test_aggregation_groups_are_fine(tmp_path: Path) -> None:
    groups = {
        "masters": ["n1"],
        "workers": ["n2", "n3"],
        "hdfs_namenode": {"children": {"masters": None}},
        "hdfs_datanode": {"children": {"workers": None}},
        # a parent aggregating contract groups is fine too
        "hadoop": {"children": {"hdfs_namenode": None, "hdfs_datanode": None}},
    }
    assert problems_of(tmp_path, groups) == []


# --- hosts -----------------------------------------------------------------------------------------

def test_host_without_address(tmp_path: Path) -> None:
    hosts = {**BASE_HOSTS, "n3": {"bigdata_host_memory_mb": 65536}}
    found = errors_at(problems_of(tmp_path, hosts=hosts), "host n3")
    assert found and "no address" in found[0].message and "ansible_host" in found[0].fix


def test_local_connection_counts_as_address(tmp_path: Path) -> None:
    hosts = {**BASE_HOSTS, "n3": {"ansible_connection": "local", "bigdata_host_memory_mb": 65536}}
    assert not errors_at(problems_of(tmp_path, hosts=hosts), "host n3")


# --- ports -----------------------------------------------------------------------------------------

def test_same_port_twice_on_one_host(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {**HIVE, "spark_thrift": ["n1"]}, all_vars={"spark_thrift_port": 10000})
    errs = errors_at(found, "host n1")
    assert errs and "port 10000" in errs[0].message
    assert "hive_server2" in errs[0].message and "spark_thrift" in errs[0].message
    assert "spark_thrift_port" in errs[0].fix or "hive_server2_port" in errs[0].fix


def test_same_port_on_different_hosts_passes(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {**HIVE, "spark_thrift": ["n2"]}, all_vars={"spark_thrift_port": 10000})
    assert not [p for p in found if "port 10000" in p.message]


def test_kafka_broker_and_controller_are_one_process(tmp_path: Path) -> None:
    # Both groups on one host share the kafka unit: their ports and heap count once.
    found = problems_of(tmp_path, {"kafka_controller": ["n1"], "kafka_broker": ["n1"]})
    assert found == []
    found = problems_of(tmp_path, {"kafka_controller": ["n1"], "kafka_broker": ["n1"]},
                        all_vars={"kafka_controller_port": 9092})
    assert errors_at(found, "host n1") and "used twice by kafka_broker+kafka_controller" in \
        errors_at(found, "host n1")[0].message


def test_implied_secondarynamenode_port(tmp_path: Path) -> None:
    # Without HA the SecondaryNameNode runs on the NameNode host; its port may not collide.
    found = problems_of(tmp_path, {"redis": ["n1"]}, all_vars={"redis_port": 9868})
    errs = errors_at(found, "host n1")
    assert errs and "hdfs_secondarynamenode" in errs[0].message


def test_implied_zkfc_port_with_ha(tmp_path: Path) -> None:
    ha = {"hdfs_namenode": ["n1", "n2"], "hdfs_journalnode": ["n1", "n2", "n3"], "redis": ["n2"]}
    found = problems_of(tmp_path, ha, all_vars={"redis_port": 8019})
    errs = errors_at(found, "host n2")
    assert errs and "hdfs_zkfc" in errs[0].message
    # Without HA there is no ZKFC, so port 8019 is free.
    assert not errors_at(problems_of(tmp_path, {"redis": ["n2"]}, all_vars={"redis_port": 8019}), "host n2")


def test_storm_slot_ports_collide(tmp_path: Path) -> None:
    found = problems_of(tmp_path, {**STORM, "redis": ["n2"]}, all_vars={"redis_port": 6700})
    errs = errors_at(found, "host n2")
    assert errs and "storm_workers" in errs[0].message and "storm_supervisor_slot_ports" in errs[0].message


# --- memory ----------------------------------------------------------------------------------------

def test_memory_over_the_host(tmp_path: Path) -> None:
    hosts = {**BASE_HOSTS, "n1": {"ansible_host": "10.1.0.1", "bigdata_host_memory_mb": 1500}}
    found = errors_at(problems_of(tmp_path, hosts=hosts), "host n1")
    # n1: ZooKeeper 512 + NameNode 1024 + SecondaryNameNode 512 = 2048 > 1500
    assert found and "needs 2048 MiB" in found[0].message and "548 MiB over" in found[0].message
    assert "hdfs_namenode 1024" in found[0].message and "zookeeper 512" in found[0].message
    assert "bigdata_host_memory_mb" in found[0].fix


def test_memory_within_the_host(tmp_path: Path) -> None:
    hosts = {**BASE_HOSTS, "n1": {"ansible_host": "10.1.0.1", "bigdata_host_memory_mb": 2048}}
    assert not errors_at(problems_of(tmp_path, hosts=hosts), "host n1")


# --- types -----------------------------------------------------------------------------------------

def test_port_that_is_not_an_int(tmp_path: Path) -> None:
    found = errors_at(problems_of(tmp_path, all_vars={"hdfs_namenode_rpc_port": "8020"}),
                      "variable hdfs_namenode_rpc_port")
    assert found and "'8020'" in found[0].message and "port number" in found[0].message


def test_port_out_of_range(tmp_path: Path) -> None:
    assert errors_at(problems_of(tmp_path, all_vars={"zookeeper_client_port": 70000}),
                     "variable zookeeper_client_port")


def test_heap_and_replication_types(tmp_path: Path) -> None:
    found = problems_of(tmp_path, all_vars={"zookeeper_heap_mb": "512m", "hdfs_replication": "two",
                                            "storm_supervisor_slot_ports": "6700"})
    assert errors_at(found, "variable zookeeper_heap_mb")
    assert errors_at(found, "variable hdfs_replication")
    assert errors_at(found, "variable storm_supervisor_slot_ports")


def test_well_typed_values_pass(tmp_path: Path) -> None:
    assert problems_of(tmp_path, all_vars={"hdfs_namenode_rpc_port": 8021, "zookeeper_heap_mb": 256}) == []


# --- everything at once, versions, shipped inventories ---------------------------------------------

def test_all_problems_reported_at_once(tmp_path: Path) -> None:
    hosts = {**BASE_HOSTS, "n3": {"bigdata_host_memory_mb": 65536}}
    found = problems_of(tmp_path, {"zookeeper": ["n1", "n2"], "hbase_thirft": ["n1"], "hdfs_datanode": None},
                        hosts=hosts)
    wheres = {p.where for p in found if p.severity == "error"}
    assert {"group zookeeper", "group hbase_thirft", "group hdfs_datanode", "host n3"} <= wheres
    assert found[0].severity == "error"  # errors first


def test_version_rules_come_from_the_catalog(tmp_path: Path) -> None:
    catalog = pytest.importorskip("bigdata_admin.catalog")
    cluster = inventory.load(write_inventory(
        tmp_path / "inv", {**BASE_GROUPS, **HIVE, **IMPALA},
        all_vars={"bigdata_versions": {**inventory.role_defaults()["bigdata_versions"], "hive": "2.3.9"}}))
    from_catalog = catalog.compatibility_problems(cluster)
    assert from_catalog, "the catalog should object to Impala 4 on a Hive 2.3 metastore"
    found = validate(cluster)
    assert all(p in found for p in from_catalog)


@pytest.mark.parametrize("name", ["single-node", "classroom", "ha"])
def test_shipped_inventories_pass(repo_root: Path, name: str) -> None:
    found = validate(inventory.load(repo_root / "inventories" / name))
    assert [p for p in found if p.severity == "error"] == [], found
