"""The inventory loader: variable precedence, children, errors; and the model Ansible builds."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bigdata_admin import inventory
from bigdata_admin.errors import BadInput
from bigdata_admin.validate import cluster_from_ansible, validate


def _write(root: Path, hosts_doc: object, all_vars: dict | None = None, group_vars: dict | None = None,
           host_vars: dict | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "hosts.yml").write_text(hosts_doc if isinstance(hosts_doc, str) else yaml.safe_dump(hosts_doc))
    if all_vars is not None:
        (root / "group_vars").mkdir(exist_ok=True)
        (root / "group_vars" / "all.yml").write_text(yaml.safe_dump(all_vars))
    for name, data in (group_vars or {}).items():
        (root / "group_vars").mkdir(exist_ok=True)
        (root / "group_vars" / f"{name}.yml").write_text(yaml.safe_dump(data))
    for name, data in (host_vars or {}).items():
        (root / "host_vars").mkdir(exist_ok=True)
        (root / "host_vars" / f"{name}.yml").write_text(yaml.safe_dump(data))
    return root


def test_variable_precedence(tmp_path: Path) -> None:
    doc = {"all": {
        "vars": {"zookeeper_heap_mb": 300, "kafka_heap_mb": 700},
        "hosts": {"a": {"ansible_host": "10.0.0.1", "redis_port": 7000}, "b": {"ansible_host": "10.0.0.2"}},
        "children": {"zookeeper": {"hosts": {"a": None, "b": None}, "vars": {"zookeeper_heap_mb": 400}}},
    }}
    inv = _write(tmp_path / "inv", doc, all_vars={"zookeeper_heap_mb": 200, "hbase_master_heap_mb": 900},
                 group_vars={"zookeeper": {"zookeeper_client_port": 2182}},
                 host_vars={"b": {"zookeeper_heap_mb": 999}})
    cluster = inventory.load(inv)
    # role defaults < group_vars/all < inventory `all` vars
    assert cluster.var("hdfs_namenode_rpc_port") == 8020
    assert cluster.var("hbase_master_heap_mb") == 900
    assert cluster.var("kafka_heap_mb") == 700
    assert cluster.var("zookeeper_heap_mb") == 300
    # < group vars (inline and group_vars/) < host vars (inline and host_vars/)
    a, b = cluster.hosts["a"], cluster.hosts["b"]
    assert a.var("zookeeper_heap_mb") == 400 and a.var("zookeeper_client_port") == 2182
    assert a.var("redis_port") == 7000
    assert b.var("zookeeper_heap_mb") == 999


def test_children_put_hosts_in_parents(tmp_path: Path) -> None:
    doc = {"all": {
        "hosts": {"m1": {"ansible_host": "10.0.0.1"}, "m2": {"ansible_host": "10.0.0.2"},
                  "m3": {"ansible_host": "10.0.0.3"}},
        "children": {"masters": {"hosts": {"m1": None, "m2": None, "m3": None}},
                     "zookeeper": {"children": {"masters": None}}},
    }}
    cluster = inventory.load(_write(tmp_path / "inv", doc))
    assert [h.name for h in cluster.hosts_in("zookeeper")] == ["m1", "m2", "m3"]
    assert cluster.hosts["m2"].in_group("zookeeper") and cluster.hosts["m2"].in_group("masters")
    assert cluster.children["zookeeper"] == ["masters"]


def test_host_address_sources(tmp_path: Path) -> None:
    doc = {"all": {"hosts": {"a": {"ansible_host": "10.0.0.1"}, "b": {"ansible_connection": "local"},
                             "10.0.0.9": None, "c": {"bigdata_address": "10.0.1.3", "ansible_host": "x"},
                             "d": None}}}
    hosts = inventory.load(_write(tmp_path / "inv", doc)).hosts
    assert hosts["a"].address == "10.0.0.1"
    assert hosts["b"].address == "127.0.0.1"
    assert hosts["10.0.0.9"].address == "10.0.0.9"
    assert hosts["c"].address == "10.0.1.3"
    assert hosts["d"].address is None


@pytest.mark.parametrize(("content", "needle"), [
    ("all: [", "not valid YAML"),
    ("hosts: {}", "top level must be `all:`"),
    ({"all": {"children": {"zookeeper": {"host": {"a": None}}}}}, "unknown key"),
    ({"all": {"children": {"zookeeper": ["a"]}}}, "must be a mapping"),
])
def test_bad_inventories_name_the_problem(tmp_path: Path, content: object, needle: str) -> None:
    with pytest.raises(BadInput) as exc:
        inventory.load(_write(tmp_path / "inv", content))
    assert needle in exc.value.message and exc.value.fix


def test_missing_inventory(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as exc:
        inventory.load(tmp_path / "nowhere")
    assert "does not exist" in exc.value.message and "init" in (exc.value.fix or "")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInput) as exc:
        inventory.load(tmp_path / "empty")
    assert "has no hosts.yml" in exc.value.message


def test_cluster_from_ansible_matches_the_loader(repo_root: Path) -> None:
    """The validate play's model (built from groups/hostvars) gives the same verdicts as the loader's."""
    loaded = inventory.load(repo_root / "inventories" / "ha")
    groups = {g: list(m) for g, m in loaded.groups.items()}
    hostvars = {name: {k: v for k, v in h.vars.items()} for name, h in loaded.hosts.items()}
    rebuilt = cluster_from_ansible(groups, hostvars, "ha", loaded.children)
    # The shipped ha inventory's one warning: Impala (built for a Hive 3.1 metastore) beside Hive 4.
    known = ["setting bigdata_versions.hive"]
    assert validate(rebuilt) == validate(loaded)
    assert [p.where for p in validate(loaded)] == known
    assert rebuilt.version("kafka") == loaded.version("kafka")
    # Break one thing the Ansible way (an extra var on every host): the same rule fires.
    for hv in hostvars.values():
        hv["hdfs_replication"] = 9
    found = validate(cluster_from_ansible(groups, hostvars, "ha", loaded.children))
    assert [p.where for p in found] == ["variable hdfs_replication", *known]
