"""Storm's status and smoke helpers without the UI: ZooKeeper node data (gzipped Thrift), Curator's
leader latch, `storm list` output, and the Nimbus / supervisor probes on a given ZooKeeper state.

The Thrift payloads are built the way Storm's GzipThriftSerializationDelegate writes them (binary
protocol, gzipped); the probes' network calls (port, ZooKeeper) are replaced by a given state.
"""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest
import yaml

from bigdata_admin import inventory
from bigdata_admin.health import probes_core, smoke_core, storm_zk


def tstring(field_id: int, text: str) -> bytes:
    """One Thrift binary-protocol string field (type 11)."""
    raw = text.encode()
    return struct.pack(">bhi", 11, field_id, len(raw)) + raw


def supervisor_info(host: str) -> bytes:
    """A SupervisorInfo as Storm stores it: time_secs (i64), hostname (string), ... gzipped."""
    body = struct.pack(">bhq", 10, 1, 1_700_000_000) + tstring(2, host) + tstring(3, "assign-id") + b"\x00"
    return gzip.compress(body)


def test_payload_gunzips_and_host_match_is_exact() -> None:
    data = storm_zk.payload(supervisor_info("10.0.0.11"))
    assert data.startswith(struct.pack(">bhq", 10, 1, 1_700_000_000))
    assert storm_zk.host_in_payload(data, ["10.0.0.11"])
    assert not storm_zk.host_in_payload(data, ["10.0.0.1"]), "a prefix of another host is no match"
    assert not storm_zk.host_in_payload(data, ["10.0.0.111", ""])
    assert storm_zk.payload(b"plain") == b"plain" and storm_zk.payload(None) == b""
    assert storm_zk.payload(b"\x1f\x8bnot gzip") == b"\x1f\x8bnot gzip"


def test_leader_is_the_lowest_latch_sequence() -> None:
    # Storm 2.8 writes `<host>:<port>:0` as the participant id.
    latches = {"_c_b2-latch-0000000007": b"10.0.0.12:6627:0", "_c_a1-latch-0000000003": b"10.0.0.11:6627:0",
               "stray": b"x"}
    assert storm_zk.latch_leader(latches) == "10.0.0.11:6627"
    assert storm_zk.latch_leader({"_c_a-latch-0000000001": b"10.0.0.11:6627"}) == "10.0.0.11:6627"
    assert storm_zk.latch_leader({}) is None
    assert storm_zk.latch_leader({"_c_a-latch-0000000001": b""}) is None


def test_topology_id_matches_the_name_exactly() -> None:
    ids = ["smoke-ab-1-1700000000", "smoke-abc-2-1700000001", "other-3-1700000002"]
    assert storm_zk.topology_id(ids, "smoke-abc") == "smoke-abc-2-1700000001"
    assert storm_zk.topology_id(ids, "smoke-ab") == "smoke-ab-1-1700000000"
    assert storm_zk.topology_id(ids, "smoke") is None


STORM_LIST = "\n".join([
    "Running: java -client ... org.apache.storm.command.ListTopologies",
    "Topology_name        Status     Num_tasks  Num_workers  Uptime_secs  Topology_Id          Owner",
    "----------------------------------------------------------------------------------------",
    "bigdata-admin-smoke-1a2b3c4d ACTIVE     3          1            12           "
    "bigdata-admin-smoke-1a2b3c4d-1-1764470000 storm",
    "other                KILLED     2          0            40           other-2-1764460000   storm", ""])


def test_storm_list_rows() -> None:
    rows = smoke_core.storm_list_rows(STORM_LIST)
    assert rows["bigdata-admin-smoke-1a2b3c4d"] == {
        "status": "ACTIVE", "tasks": 3, "workers": 1, "uptime_s": 12,
        "id": "bigdata-admin-smoke-1a2b3c4d-1-1764470000"}
    assert rows["other"]["status"] == "KILLED" and rows["other"]["workers"] == 0
    assert smoke_core.storm_list_rows("Running: java ...\nNo topologies running.\n") == {}


def _cluster(tmp_path: Path) -> inventory.Cluster:
    inv = tmp_path / "inv"
    (inv / "group_vars").mkdir(parents=True)
    hosts = {"h1": {"ansible_host": "10.0.0.11"}, "h2": {"ansible_host": "10.0.0.12"}}
    children = {"zookeeper": {"hosts": {"h1": {}}}, "storm_nimbus": {"hosts": {"h1": {}}},
                "storm_supervisor": {"hosts": {"h1": {}, "h2": {}}}}
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts, "children": children}}))
    (inv / "group_vars" / "all.yml").write_text(yaml.safe_dump({"storm_zookeeper_root": "/storm"}))
    return inventory.load(inv)


@pytest.fixture
def cluster(tmp_path: Path) -> inventory.Cluster:
    return _cluster(tmp_path)


def _state(**kw: object) -> storm_zk.StormZk:
    return storm_zk.StormZk("/storm", **kw)  # type: ignore[arg-type]


def test_zk_connect_string_and_root(cluster: inventory.Cluster) -> None:
    assert storm_zk.zk_hosts(cluster) == f"10.0.0.11:{cluster.var('zookeeper_client_port')}"
    assert storm_zk.storm_root(cluster) == "/storm"


def test_nimbus_probe_needs_its_port_and_a_registration(cluster: inventory.Cluster,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    h1 = cluster.hosts["h1"]
    thrift = int(cluster.var("storm_nimbus_port"))
    open_ports: set[int] = {thrift}
    monkeypatch.setattr(probes_core, "port_open", lambda addr, p, *a: p in open_ports)
    state = _state(nimbuses=["10.0.0.11"], leader=f"10.0.0.11:{thrift}")  # as Storm 2.8 registers
    monkeypatch.setattr(probes_core, "_storm_state", lambda c: state)
    r = probes_core.storm_nimbus(cluster, h1)
    assert r.healthy and r.state == "leader" and "registered in ZooKeeper" in r.detail
    state.nimbuses = [f"10.0.0.11:{thrift}"]
    assert probes_core.storm_nimbus(cluster, h1).healthy
    state.nimbuses = ["10.0.0.111"]
    assert not probes_core.storm_nimbus(cluster, h1).healthy
    state.nimbuses = ["10.0.0.11"]

    state.leader = f"10.0.0.99:{thrift}"
    r = probes_core.storm_nimbus(cluster, h1)
    assert r.healthy and r.state == "not-a-leader"

    state.nimbuses = []
    r = probes_core.storm_nimbus(cluster, h1)
    assert not r.healthy and r.state == "unregistered" and "/storm/nimbuses" in r.detail

    def zk_down(c: object) -> storm_zk.StormZk:
        raise storm_zk.StormZkError("ZooKeeper (10.0.0.11:2181) did not answer within 6 s")

    monkeypatch.setattr(probes_core, "_storm_state", zk_down)
    r = probes_core.storm_nimbus(cluster, h1)
    assert not r.healthy and "did not answer" in r.detail

    open_ports.clear()
    r = probes_core.storm_nimbus(cluster, h1)
    assert not r.healthy and r.state == "down"


def test_supervisor_probe_finds_its_host_in_zookeeper(cluster: inventory.Cluster,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    logviewer = int(cluster.var("storm_logviewer_port"))
    monkeypatch.setattr(probes_core, "port_open", lambda addr, p, *a: addr == "10.0.0.12" and p == logviewer)
    state = _state(supervisors={"sup-a": storm_zk.payload(supervisor_info("10.0.0.11")),
                                "sup-b": storm_zk.payload(supervisor_info("10.0.0.12"))})
    monkeypatch.setattr(probes_core, "_storm_state", lambda c: state)
    r1 = probes_core.storm_supervisor(cluster, cluster.hosts["h1"])
    assert r1.healthy and r1.data["supervisor_id"] == "sup-a"
    assert "not running (needs Storm's web bundle)" in r1.detail and r1.data["logviewer"] is False
    r2 = probes_core.storm_supervisor(cluster, cluster.hosts["h2"])
    assert r2.healthy and r2.data["supervisor_id"] == "sup-b" and f"up on {logviewer}" in r2.detail
    del state.supervisors["sup-a"]
    r1 = probes_core.storm_supervisor(cluster, cluster.hosts["h1"])
    assert not r1.healthy and r1.state == "missing"


def test_status_does_not_require_the_logviewer_port(cluster: inventory.Cluster) -> None:
    from bigdata_admin import services
    from bigdata_admin.health.status import _primary_port

    sup = services.service("storm_supervisor")
    assert sup.optional_ports == ("logviewer",)
    assert _primary_port(cluster, cluster.hosts["h2"], sup) == (None, None)
    nimbus = services.service("storm_nimbus")
    thrift = int(cluster.var("storm_nimbus_port"))
    assert _primary_port(cluster, cluster.hosts["h1"], nimbus) == ("thrift", thrift)


def test_assignment_hosts(cluster: inventory.Cluster) -> None:
    assignment = storm_zk.payload(gzip.compress(tstring(1, "/storm/x") + tstring(2, "10.0.0.12") + b"\x00"))
    assert [h.name for h in smoke_core.storm_workers_on(cluster, assignment)] == ["h2"]
    assert smoke_core.storm_workers_on(cluster, b"") == []
