"""The inventory a lab writes: contract groups, addresses, SSH settings, sizing, write-once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from bigdata_admin import inventory, validate
from bigdata_admin.errors import BadInput
from bigdata_admin.lab import labinventory, model
from bigdata_admin.services import BY_GROUP, GROUPS


def _state(nodes: int, index: int = 42) -> model.LabState:
    st = model.LabState(name="t", index=index, nodes=nodes, image="/img")
    for i, h in enumerate(model.host_names(nodes), start=1):
        st.hosts[h] = model.HostState(h, model.host_address(index, i), model.machine_name("t", h),
                                      model.netns_name("t", h), model.veth_name(index, i))
    return st


def _write(tmp_path: Path, nodes: int) -> tuple[model.LabState, Path]:
    st = _state(nodes)
    inv_dir, digest, written = labinventory.write(st, tmp_path / "labdir", tmp_path / "inv")
    assert written
    st.inventory, st.inventory_digest = str(inv_dir), digest
    return st, inv_dir


@pytest.mark.parametrize("nodes", [1, 3])
def test_inventory_loads_with_contract_groups_and_addresses(tmp_path: Path, nodes: int) -> None:
    _, inv_dir = _write(tmp_path, nodes)
    cluster = inventory.load(inv_dir)
    assert sorted(cluster.hosts) == model.host_names(nodes)
    for g in GROUPS:
        assert g in cluster.groups, g
    for i, h in enumerate(model.host_names(nodes), start=1):
        host = cluster.hosts[h]
        assert host.address == f"10.213.42.{10 + i}"
        assert host.var("ansible_user") == "deploy"
        assert host.var("ansible_ssh_private_key_file") == str(tmp_path / "labdir" / "id_ed25519")
        known = tmp_path / "labdir" / "known_hosts"
        assert f"UserKnownHostsFile={known}" in host.var("ansible_ssh_common_args")
    assert cluster.var("zookeeper_install_method") == "package"
    assert cluster.var("spark_install_method") == "wheel"
    assert cluster.var("bigdata_artifact_base_url") == "http://10.213.42.1:8765"
    assert cluster.var("bigdata_apt_proxy") == "http://10.213.42.1:3142"
    assert cluster.var("zookeeper_heap_mb") == 256
    assert cluster.name == "lab-t"
    assert cluster.var("hdfs_replication") == (1 if nodes == 1 else 2)


@pytest.mark.parametrize("nodes", [1, 3])
def test_declared_memory_covers_the_services_of_each_host(tmp_path: Path, nodes: int) -> None:
    _, inv_dir = _write(tmp_path, nodes)
    cluster = inventory.load(inv_dir)
    for host in cluster.hosts.values():
        units: dict[str, int] = {}
        for g in host.groups:
            svc = BY_GROUP[g]
            units[svc.unit] = sum(int(host.var(v, 0)) for v in svc.memory)
        assert host.memory_mb >= sum(units.values()) + labinventory.HOST_MEMORY_MARGIN_MB // 2
        # Heaps stay modest; a NodeManager's container memory (1536 MiB: a Spark on YARN container is
        # 1024) is in use only while containers run.
        in_yarn = "yarn_nodemanager" in host.groups
        containers = int(host.var("yarn_nodemanager_memory_mb", 0)) if in_yarn else 0
        assert host.memory_mb - containers <= 8192, "lab hosts stay modest"


@pytest.mark.parametrize("nodes", [1, 3])
def test_inventory_passes_validation(tmp_path: Path, nodes: int) -> None:
    validate = pytest.importorskip("bigdata_admin.validate")
    _, inv_dir = _write(tmp_path, nodes)
    problems = validate.validate(inventory.load(inv_dir))
    errors = [p for p in problems if p.severity == "error"]
    assert errors == []


def test_written_once_user_edits_are_kept(tmp_path: Path) -> None:
    st, inv_dir = _write(tmp_path, 3)
    hosts = inv_dir / "hosts.yml"
    # Unchanged: writing again keeps the same digest, nothing to do.
    _, digest, written = labinventory.write(st, tmp_path / "labdir", inv_dir)
    assert written and digest == st.inventory_digest
    # The user edits: `up` again leaves the file alone and keeps the recorded digest.
    edited = hosts.read_text().replace("bigdata_host_memory_mb: 5120", "bigdata_host_memory_mb: 6144")
    assert edited != hosts.read_text()
    hosts.write_text(edited)
    _, digest2, written2 = labinventory.write(st, tmp_path / "labdir", inv_dir)
    assert not written2 and digest2 == st.inventory_digest
    assert hosts.read_text() == edited
    # `down` removes only an unchanged inventory.
    assert not labinventory.remove_if_unchanged(st, inv_dir)
    assert hosts.is_file()


def test_unchanged_inventory_is_removed(tmp_path: Path) -> None:
    st, inv_dir = _write(tmp_path, 1)
    assert labinventory.remove_if_unchanged(st, inv_dir)
    assert not inv_dir.exists()


def test_an_inventory_not_written_by_the_lab_is_never_overwritten(tmp_path: Path) -> None:
    st = _state(3)
    inv_dir = tmp_path / "inv"
    inv_dir.mkdir()
    (inv_dir / "hosts.yml").write_text("all: {hosts: {mine: {}}}\n")
    _, _, written = labinventory.write(st, tmp_path / "labdir", inv_dir)
    assert not written
    assert yaml.safe_load((inv_dir / "hosts.yml").read_text()) == {"all": {"hosts": {"mine": {}}}}


def test_a_new_lab_rewrites_an_unedited_inventory_left_by_an_old_one(tmp_path: Path) -> None:
    # An old lab of the same name wrote it, then its state was lost: a fresh state has no digest.
    old, inv_dir = _write(tmp_path, 3)
    hosts = inv_dir / "hosts.yml"
    stale = hosts.read_text().replace("bigdata_host_memory_mb: 5120", "bigdata_host_memory_mb: 1024")
    assert stale != hosts.read_text()
    hosts.write_text(stale)  # as the old lab's sizes would have it
    (inv_dir / labinventory.WRITTEN_MARK).write_text(
        labinventory.digest(inv_dir, ["hosts.yml", "group_vars/all.yml"]) + "\n")
    fresh = _state(3)
    assert fresh.inventory_digest == ""
    _, digest, written = labinventory.write(fresh, tmp_path / "labdir", inv_dir)
    assert written and hosts.read_text() != stale
    assert "bigdata_host_memory_mb: 5120" in hosts.read_text()
    assert (inv_dir / labinventory.WRITTEN_MARK).read_text().strip() == digest
    # Edited after that: kept, even by a lab that lost its state.
    hosts.write_text(stale)
    _, _, written = labinventory.write(_state(3), tmp_path / "labdir", inv_dir)
    assert not written and hosts.read_text() == stale
    # `down` of a lab without the digest in its state removes an unedited one, mark included.
    labinventory.write(old, tmp_path / "labdir", tmp_path / "inv2")
    assert labinventory.remove_if_unchanged(_state(3), tmp_path / "inv2")
    assert not (tmp_path / "inv2").exists()


def test_inventory_goes_into_the_checkout(repo_root: Path) -> None:
    assert labinventory.inventory_dir("ci") == repo_root / "inventories" / "lab-ci"


def test_hosts_file_keeps_what_others_added_and_is_stable() -> None:
    from bigdata_admin.lab.machines import _hosts_file

    st = _state(3)
    fresh = _hosts_file(st, "127.0.0.1\tlocalhost\nff02::1\tip6-allnodes\n")
    assert "ff02::1\tip6-allnodes" in fresh
    assert all(f"{s.address}\t{h}" in fresh for h, s in st.hosts.items())
    # The common role's block stays, and `up` again leaves the file as it is.
    deployed = fresh + ("# BEGIN bigdata-admin cluster hosts\n10.213.42.11 h1\n"
                        "# END bigdata-admin cluster hosts\n")
    assert _hosts_file(st, deployed) == deployed
    # A lab host at a stale address is replaced.
    stale = "127.0.0.1\tlocalhost\n10.9.9.9\th2\n"
    rewritten = _hosts_file(st, stale)
    assert "10.9.9.9" not in rewritten and f"{st.hosts['h2'].address}\th2" in rewritten


# --- a lab that grows (`lab up --nodes` above its count) --------------------------------------------------

def test_resize_grows_only_and_keeps_the_template() -> None:
    model.check_resize("x", 3, 3, "classroom", "classroom")
    model.check_resize("x", 3, 5, "classroom", "classroom")
    with pytest.raises(BadInput) as err:
        model.check_resize("x", 3, 2, "classroom", "classroom")
    assert "never removes" in err.value.message and "--nodes 3" in (err.value.fix or "")
    with pytest.raises(BadInput) as err:
        model.check_resize("x", 5, 6, "ha", "classroom")
    assert "laid out as ha" in err.value.message and "--template ha" in (err.value.fix or "")


def test_grown_lab_adds_hosts_in_no_group_and_keeps_the_layout(tmp_path: Path) -> None:
    from bigdata_admin.lab.machines import _grow

    st, inv_dir = _write(tmp_path, 3)
    before = inventory.load(inv_dir)
    changed = _grow(st, 4)
    assert changed == ["added h4 10.213.42.14 (in no inventory group)"]
    assert st.nodes == 4 and st.laid_out == 3 and st.hosts["h4"].veth == model.veth_name(42, 4)
    assert model.LabState.from_dict(json.loads(st.to_json())).laid_out == 3
    # An inventory nobody edited is written again, with h4 under all.hosts and in no group.
    _, digest, written = labinventory.write(st, tmp_path / "labdir", inv_dir)
    assert written and digest != st.inventory_digest
    after = inventory.load(inv_dir)
    h4 = after.hosts["h4"]
    assert h4.address == "10.213.42.14" and h4.groups == []
    sizes = labinventory.LAB_SIZES
    assert h4.memory_mb == labinventory.host_memory_mb(list(model.ADDED_HOST_GROUPS), sizes)
    assert {g: sorted(h.name for h in before.hosts_in(g)) for g in GROUPS} == \
        {g: sorted(h.name for h in after.hosts_in(g)) for g in GROUPS}
    assert after.var("hdfs_replication") == 2
    assert "h4: added to the lab later" in (inv_dir / "hosts.yml").read_text()
    assert not [p for p in validate.validate(after) if p.severity == "error"]
    # Placed in every worker group, h4's declared memory still passes `check`.
    data = yaml.safe_load((inv_dir / "hosts.yml").read_text())
    for g in model.ADDED_HOST_GROUPS:
        data["all"]["children"][g]["hosts"]["h4"] = {}
    (inv_dir / "hosts.yml").write_text(yaml.safe_dump(data))
    placed = inventory.load(inv_dir)
    assert sorted(placed.hosts["h4"].groups) == sorted(model.ADDED_HOST_GROUPS)
    assert not [p for p in validate.validate(placed) if p.severity == "error"]


def test_grown_lab_leaves_an_edited_inventory_and_names_the_host_to_add(tmp_path: Path) -> None:
    from bigdata_admin.lab.machines import _grow

    st, inv_dir = _write(tmp_path, 3)
    hosts = inv_dir / "hosts.yml"
    hosts.write_text(hosts.read_text() + "# mine\n")
    _grow(st, 4)
    _, _, written = labinventory.write(st, tmp_path / "labdir", inv_dir)
    assert not written and hosts.read_text().endswith("# mine\n")
    missing = labinventory.missing_hosts(st, inv_dir, tmp_path / "labdir")
    assert list(missing) == ["h4"] and missing["h4"]["ansible_host"] == "10.213.42.14"


def test_old_state_files_without_layout_nodes_keep_their_layout() -> None:
    st = model.LabState.from_dict({"name": "old", "index": 3, "nodes": 3, "image": "/img", "hosts": {}})
    assert st.layout_nodes == 0 and st.laid_out == 3


# --- the ha template (`lab up --template ha`) ----------------------------------------------------------

@pytest.mark.parametrize("nodes", [3, 4, 5, 6])
def test_ha_layout_validates_with_dedicated_kafka_controllers(tmp_path: Path, nodes: int) -> None:
    st = _state(nodes)
    st.template = "ha"
    inv_dir, _, written = labinventory.write(st, tmp_path / "labdir", tmp_path / "inv")
    assert written
    cluster = inventory.load(inv_dir)
    assert not [p for p in validate.validate(cluster) if p.severity == "error"]
    names = {g: [h.name for h in cluster.hosts_in(g)] for g in GROUPS}
    assert names["hdfs_namenode"] == names["hbase_master"] == ["h1", "h2"]
    assert names["hdfs_journalnode"] == names["zookeeper"] == ["h1", "h2", "h3"]
    controllers, brokers = set(names["kafka_controller"]), set(names["kafka_broker"])
    assert controllers and len(brokers) >= 2 and not controllers & brokers
    assert len(names["hdfs_datanode"]) >= 2 and cluster.var("hdfs_replication") == 2
    if nodes >= model.HA_FULL_NODES:  # inventories/ha's shape: workers on hosts of their own
        assert controllers == {"h1", "h2", "h3"} and not set(names["hdfs_datanode"]) & controllers
    else:  # compact: the masters carry the workers, one KRaft controller
        assert controllers == {"h1"} and names["hdfs_datanode"] == model.host_names(nodes)[1:]


def test_ha_template_needs_three_hosts_and_says_both_sizes() -> None:
    model.check_template("ha", model.HA_MIN_NODES)
    with pytest.raises(BadInput) as err:
        model.check_template("ha", 2)
    assert "at least 3" in err.value.message
    assert "--nodes 5" in (err.value.fix or "") and "--nodes 3" in (err.value.fix or "")
