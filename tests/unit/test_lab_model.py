"""Pure logic of the lab: names, subnets, interface names, layouts, mirror parsing, relay rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from bigdata_admin.errors import BadInput
from bigdata_admin.lab import image, model, relay
from bigdata_admin.services import GROUPS


@pytest.mark.parametrize("name", ["ci", "dev", "a", "lab-2", "x" * 20])
def test_valid_names(name: str) -> None:
    assert model.check_name(name) == name


@pytest.mark.parametrize("name", ["", "Dev", "1lab", "-x", "a_b", "a.b", "x" * 21, "a b"])
def test_invalid_names_name_the_fix(name: str) -> None:
    with pytest.raises(BadInput) as exc:
        model.check_name(name)
    assert repr(name) in exc.value.message
    assert exc.value.fix and "--name" in exc.value.fix


@pytest.mark.parametrize("nodes", [0, -1, model.MAX_NODES + 1])
def test_node_count_out_of_range(nodes: int) -> None:
    with pytest.raises(BadInput) as exc:
        model.check_nodes(nodes)
    assert "--nodes" in exc.value.message


def test_preferred_index_is_stable_and_in_range() -> None:
    for name in ("ci", "dev", "b-life", "zz"):
        i = model.preferred_index(name)
        assert model.FIRST_INDEX <= i <= model.LAST_INDEX
        assert model.preferred_index(name) == i


def test_allocation_reuses_the_recorded_index() -> None:
    assert model.allocate_index("ci", {77: "ci", 78: "dev"}) == 77


def test_allocation_probes_past_taken_indexes() -> None:
    want = model.preferred_index("dev")
    nxt = model.FIRST_INDEX if want == model.LAST_INDEX else want + 1
    assert model.allocate_index("dev", {want: "other"}) == nxt
    assert model.allocate_index("dev", {}) == want


def test_allocation_wraps_around_and_fails_when_full() -> None:
    taken = {i: f"l{i}" for i in range(model.FIRST_INDEX, model.LAST_INDEX + 1)}
    free = taken.pop(model.FIRST_INDEX)
    assert free == f"l{model.FIRST_INDEX}"
    assert model.allocate_index("new", taken) == model.FIRST_INDEX
    taken[model.FIRST_INDEX] = "full"
    with pytest.raises(BadInput) as exc:
        model.allocate_index("new", taken)
    assert "lab down" in (exc.value.fix or "")


def test_addresses_and_interface_names_fit() -> None:
    for index in (model.FIRST_INDEX, model.LAST_INDEX):
        assert len(model.bridge_name(index)) <= model.IFNAMSIZ
        for n in range(1, model.MAX_NODES + 1):
            assert len(model.veth_name(index, n)) <= model.IFNAMSIZ
    assert model.subnet(7) == "10.213.7.0/24"
    assert model.gateway(7) == "10.213.7.1"
    assert model.host_address(7, 2) == "10.213.7.12"
    # Names of one lab never clash with another lab's.
    assert model.veth_name(7, 1) != model.veth_name(71, 1)
    assert model.machine_name("a", "h1") != model.machine_name("b", "h1")


def test_single_node_layout_puts_every_group_on_h1() -> None:
    groups = model.layout(1)
    assert set(groups) == set(GROUPS)
    assert all(members == ["h1"] for members in groups.values())


def test_three_node_layout_is_classroom_like() -> None:
    groups = model.layout(3)
    assert set(groups) == set(GROUPS)
    assert groups["zookeeper"] == ["h1", "h2", "h3"]
    assert groups["kafka_broker"] == groups["kafka_controller"] == ["h1", "h2", "h3"]
    for g in model.WORKER_GROUPS:
        assert groups[g] == ["h2", "h3"], g
    for g in ("hdfs_namenode", "yarn_resourcemanager", "hbase_master", "hive_metastore", "metastore_db",
              "spark_master", "storm_nimbus", "impala_statestore", "impala_catalog", "redis"):
        assert groups[g] == ["h1"], g
    assert groups["gpu_worker"] == ["h3"]
    assert groups["hdfs_journalnode"] == []


def test_state_round_trip(tmp_path: Path) -> None:
    st = model.LabState(name="ci", index=9, nodes=1, image="/img")
    st.hosts["h1"] = model.HostState("h1", "10.213.9.11", "lab-ci-h1", "bdlab-ci-h1", "bdl9h1", pid=42)
    st.write(tmp_path / "state.json")
    back = model.LabState.read(tmp_path / "state.json")
    assert back == st
    assert back.bridge == "bdlab9" and back.gateway == "10.213.9.1" and back.subnet == "10.213.9.0/24"


def test_mirror_from_deb822_and_one_line_sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BIGDATA_LAB_MIRROR", raising=False)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\n# URIs: http://ignored.example/debian\nURIs: http://mirror.example.org/debian/\n"
        "Suites: bookworm\nComponents: main\n")
    assert image.host_mirror(tmp_path) == "http://mirror.example.org/debian"
    (tmp_path / "sources.list").write_text("deb [arch=amd64] http://ftp.example.net/debian bookworm main\n")
    assert image.host_mirror(tmp_path) == "http://ftp.example.net/debian"
    monkeypatch.setenv("BIGDATA_LAB_MIRROR", "http://local/debian/")
    assert image.host_mirror(tmp_path) == "http://local/debian"


def test_mirror_falls_back_to_deb_debian_org(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BIGDATA_LAB_MIRROR", raising=False)
    assert image.host_mirror(tmp_path) == image.DEFAULT_MIRROR


@pytest.mark.parametrize(("path", "expected"), [
    ("/debian/pool/main/t/tree/tree_2.1.0-1_amd64.deb", True),
    ("/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/abc", True),
    ("/debian/dists/bookworm/InRelease", False),
    ("/debian/dists/bookworm/main/binary-amd64/Packages.xz", False),
])
def test_relay_caches_only_immutable_files(path: str, expected: bool) -> None:
    assert relay.cacheable(path) is expected
