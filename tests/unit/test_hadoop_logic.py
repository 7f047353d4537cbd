"""Pure logic of the Hadoop probes, smoke checks and clients: verdicts from the JSON the daemons
return, redirect rewriting, the shared Thrift settings and the `TSocket read 0 bytes` explanation."""

from __future__ import annotations

from pathlib import Path

import pytest

from bigdata_admin import clients, inventory
from bigdata_admin.errors import BadInput
from bigdata_admin.health import probes_hadoop as p
from bigdata_admin.health import smoke_hadoop as s

REPO = Path(__file__).resolve().parents[2]


def _fsn(**kw: object) -> dict[str, object]:
    base = {"NumLiveDataNodes": 2, "NumDeadDataNodes": 0, "MissingBlocks": 0, "UnderReplicatedBlocks": 0}
    return {**base, **kw}


def test_namenode_active_and_healthy() -> None:
    ok, state, detail, data = p.summarize_namenode({"State": "active"}, _fsn(), {"Safemode": ""}, ha=False)
    assert ok and state == "active"
    assert "2 live / 0 dead" in detail and data["live_datanodes"] == 2


@pytest.mark.parametrize(("fsn", "info", "word", "text"), [
    (_fsn(), {"Safemode": "Safe mode is ON. The reported blocks 0 needs..."}, "safemode", "in safe mode"),
    (_fsn(NumLiveDataNodes=0), {"Safemode": ""}, "degraded", "no live DataNodes"),
    (_fsn(NumDeadDataNodes=1), {"Safemode": ""}, "degraded", "1 dead DataNode"),
    (_fsn(MissingBlocks=3), {"Safemode": ""}, "degraded", "3 missing block"),
])
def test_namenode_problems(fsn: dict[str, object], info: dict[str, object], word: str, text: str) -> None:
    ok, state, detail, _ = p.summarize_namenode({"State": "active"}, fsn, info, ha=False)
    assert not ok and state == word and text in detail


def test_a_decommissioned_datanode_stopped_afterwards_is_not_a_dead_one() -> None:
    fsn = _fsn(NumLiveDataNodes=1, NumDeadDataNodes=1, NumDecomDeadDataNodes=1)
    ok, state, detail, data = p.summarize_namenode({"State": "active"}, fsn, {"Safemode": ""}, ha=False)
    assert ok and state == "active" and data["dead_datanodes"] == 0, detail
    fsn = _fsn(NumLiveDataNodes=1, NumDeadDataNodes=2, NumDecomDeadDataNodes=1)
    assert p.summarize_namenode({"State": "active"}, fsn, {"Safemode": ""}, ha=False)[0] is False


def test_namenode_standby_is_healthy_and_unknown_is_not() -> None:
    ok, state, _, data = p.summarize_namenode({"State": "standby"}, _fsn(NumLiveDataNodes=0), {}, ha=True)
    assert ok and state == "standby" and data["ha_state"] == "standby"
    ok, state, _, _ = p.summarize_namenode({"State": "initializing"}, _fsn(), {}, ha=True)
    assert not ok and state == "initializing"


def test_datanode_registration() -> None:
    info = {"NamenodeAddresses": '{"node1":"BP-1-127.0.0.1-1"}',
            "VolumeInfo": '{"/var/lib/bigdata/hdfs/datanode/current":{"freeSpace":2147483648}}'}
    ok, state, detail, data = p.summarize_datanode(info)
    assert ok and state == "running" and "node1" in detail and data["free_bytes"] == 2**31
    ok, state, _, _ = p.summarize_datanode({"NamenodeAddresses": "{}"})
    assert not ok and state == "unregistered"


def _node(name: str, state: str = "RUNNING", mem: int = 2048, vc: int = 2) -> dict[str, object]:
    return {"nodeHostName": name, "state": state, "availMemoryMB": mem - 512, "usedMemoryMB": 512,
            "availableVirtualCores": vc - 1, "usedVirtualCores": 1}


def test_resourcemanager_counts_running_nodes() -> None:
    info = {"state": "STARTED", "haState": "ACTIVE"}
    ok, state, detail, data = p.summarize_resourcemanager(info, [_node("n2"), _node("n3")], expected=2)
    assert ok and state == "active" and data["memory_mb"] == 4096 and "2/2" in detail
    ok, state, _, data = p.summarize_resourcemanager(info, [_node("n2"), _node("n3", "LOST")], expected=2)
    assert not ok and state == "degraded" and data["unhealthy_nodes"] == ["n3"]
    ok, state, _, _ = p.summarize_resourcemanager({"state": "INITED"}, [], expected=1)
    assert not ok and state == "inited"


def test_hbase_master_verdicts() -> None:
    ok, state, _, _ = p.summarize_hbase_master({"tag.isActiveMaster": "true", "numRegionServers": 2}, 2)
    assert ok and state == "active"
    ok, state, _, _ = p.summarize_hbase_master({"tag.isActiveMaster": "true", "numRegionServers": 1}, 2)
    assert not ok and state == "degraded"
    ok, state, _, _ = p.summarize_hbase_master({"tag.isActiveMaster": "false"}, 2)
    assert ok and state == "backup"
    ok, _, _, _ = p.summarize_hbase_master({}, 2)
    assert not ok


def test_yarn_nodes_compared_with_the_inventory() -> None:
    expected = {"node2": (2048, 2), "node3": (2048, 2)}
    assert s.compare_yarn_nodes([_node("node2.lab"), _node("node3")], expected) == []
    problems = s.compare_yarn_nodes([_node("node2", mem=1024)], expected)
    assert any("node2: offers 1024 MiB" in x for x in problems)
    assert any("node3: not registered" in x for x in problems)


def test_yarn_expectations_follow_host_vars() -> None:
    cluster = inventory.load(REPO / "inventories" / "classroom")
    cluster.hosts["node2"].vars["yarn_nodemanager_memory_mb"] = 3072
    exp = s.yarn_expectations(cluster)
    assert exp["node2"] == (3072, int(cluster.var("yarn_nodemanager_vcores")))
    assert exp["node3"][0] == int(cluster.var("yarn_nodemanager_memory_mb"))


def test_datanode_redirects_go_to_inventory_addresses() -> None:
    cluster = inventory.load(REPO / "inventories" / "classroom")
    names = clients.address_map(cluster)
    url = "http://node2:9864/webhdfs/v1/tmp/x?op=CREATE&namenoderpcaddress=node1:8020&overwrite=false"
    assert clients.rewrite_url(url, names) == url.replace("node2:9864", "192.168.56.12:9864", 1)
    assert clients.rewrite_url("http://node2.example.org:9864/a", {"node2.example.org": "10.0.0.2"}) == \
        "http://10.0.0.2:9864/a"
    assert clients.rewrite_url("http://elsewhere:1/a", names) == "http://elsewhere:1/a"


def test_thrift_settings_are_validated() -> None:
    cluster = inventory.load(REPO / "inventories" / "classroom")
    assert clients.thrift_settings(cluster) == ("buffered", "binary")
    serving = cluster.first("hbase_thrift")
    assert serving is not None
    serving.vars["hbase_thrift_transport"] = "http"  # clients follow the serving host's value
    with pytest.raises(BadInput) as err:
        clients.thrift_settings(cluster)
    assert "hbase_thrift_transport" in err.value.message and "buffered" in (err.value.fix or "")


def test_tsocket_read_zero_bytes_names_the_settings() -> None:
    cluster = inventory.load(REPO / "inventories" / "classroom")
    serving = cluster.first("hbase_thrift")
    assert serving is not None
    serving.vars["hbase_thrift_transport"] = "framed"
    exc = Exception("TSocket read 0 bytes")
    err = clients.explain_thrift_error(exc, cluster, "192.168.56.11:9090")
    assert isinstance(err, clients.ThriftMismatch)
    assert "transport='framed'" in err.message and "protocol='binary'" in err.message
    fix = err.fix or ""
    assert "hbase_thrift_transport" in fix and "hbase.regionserver.thrift.framed" in fix
    refused = clients.explain_thrift_error(ConnectionRefusedError(111, "Connection refused"), cluster, "h:1")
    assert not isinstance(refused, clients.ThriftMismatch) and "nothing listens" in refused.message


def test_happybase_connection_reports_mismatch_for_a_closed_socket() -> None:
    """A real TCP listener that closes every connection at once is what a Thrift server does when the
    transport differs: happybase sees `TSocket read 0 bytes`, the helper names the settings."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            conn.recv(1024)
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        cluster = inventory.load(REPO / "inventories" / "single-node")
        cluster.hosts["localhost"].vars["hbase_thrift_port"] = server.getsockname()[1]
        with pytest.raises(clients.ThriftMismatch) as err:
            clients.happybase_connection(cluster, timeout_ms=3000)
        assert "hbase_thrift_protocol" in (err.value.fix or "")
    finally:
        stop.set()
        thread.join(2)
        server.close()


def test_namenode_infos_skip_a_namenode_that_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    from bigdata_admin.pilot import endpoints

    cluster = inventory.load(REPO / "inventories" / "ha")
    first, second = cluster.hosts_in("hdfs_namenode")[:2]
    bean = "Hadoop:service=NameNode,name=NameNodeInfo"

    def jmx(addr: str, _port: int, query: str) -> list[dict[str, object]]:
        assert query == bean
        if addr == (first.address or first.name):
            raise ConnectionRefusedError("down")
        return [{"name": bean, "ClusterId": "CID-x"}]

    monkeypatch.setattr(p, "jmx", jmx)
    assert [(h.name, info["ClusterId"]) for h, info in p.namenode_infos(cluster)] == [(second.name, "CID-x")]
    assert endpoints.hdfs_cluster_id(cluster) == "CID-x"
    monkeypatch.setattr(p, "jmx", lambda *_a: (_ for _ in ()).throw(OSError("no route")))
    assert endpoints.hdfs_cluster_id(cluster) is None
