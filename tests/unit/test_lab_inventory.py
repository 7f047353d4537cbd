"""The inventory a lab writes: contract groups, addresses, SSH settings, sizing, write-once."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bigdata_admin import inventory
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
