"""Pure logic of the SQL side: endpoint resolution from the inventories, the auth-mismatch and
refused-connection messages, which statements return rows, and the parsing of the Spark master's
and Impala statestore's JSON documents."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bigdata_admin import inventory, sqlclient
from bigdata_admin.errors import BadInput
from bigdata_admin.health.probes_sql import parse_subscribers, summarize_master
from bigdata_admin.sqlclient import SqlConnectError, endpoint, returns_rows, translate_errors

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["single-node", "classroom", "ha"])
def test_endpoints_come_from_the_inventory(name: str) -> None:
    cluster = inventory.load(REPO / "inventories" / name)
    hive = endpoint(cluster, "hive")
    spark = endpoint(cluster, "spark")
    impala = endpoint(cluster, "impala")
    assert (hive.port, hive.auth, hive.setting) == (10000, "NONE", "hive_server2_auth")
    assert (spark.port, spark.auth, spark.setting) == (10015, "NONE", "spark_thrift_auth")
    assert (impala.port, impala.auth, impala.setting) == (21050, "NOSASL", "impala_daemon_hs2_auth")
    assert hive.host == (cluster.first("hive_server2").address or "")
    assert spark.host == (cluster.first("spark_thrift").address or "")


def test_endpoint_of_a_missing_group_names_the_group(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text("all:\n  hosts:\n    a: {ansible_host: 10.213.9.11}\n"
                                        "  children:\n    spark_thrift: {hosts: {a: {}}}\n")
    cluster = inventory.load(tmp_path)
    assert endpoint(cluster, "spark").host == "10.213.9.11"
    with pytest.raises(BadInput) as info:
        endpoint(cluster, "hive")
    assert "hive_server2" in info.value.message and info.value.fix
    with pytest.raises(BadInput):
        endpoint(cluster, "presto")


def test_bad_auth_and_driver_are_bad_input() -> None:
    with pytest.raises(BadInput) as info:
        sqlclient.hs2_connect("127.0.0.1", 1, "KERBEROS")
    assert "NONE" in info.value.message and "NOSASL" in info.value.message
    with pytest.raises(BadInput):
        sqlclient.hs2_connect("127.0.0.1", 1, "NONE", driver="jdbc")
    with pytest.raises(BadInput):
        sqlclient.hs2_connect("127.0.0.1", 1, "LDAP")  # LDAP needs a password


def test_tsocket_eof_becomes_a_message_naming_modes_and_setting() -> None:
    from thrift.transport.TTransport import TTransportException

    with pytest.raises(SqlConnectError) as info, translate_errors("h1", 10015, "NOSASL", "spark_thrift_auth"):
        raise TTransportException(TTransportException.END_OF_FILE, "TSocket read 0 bytes")
    err = info.value
    assert "h1:10015" in err.message and "NOSASL" in err.message and "NONE" in err.message
    assert err.fix is not None and "`spark_thrift_auth`" in err.fix and "auth=NONE" in err.fix


def test_refused_connection_is_named() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Nothing listens on the port now: a real refused connection.
    with pytest.raises(SqlConnectError) as info, translate_errors("127.0.0.1", port, "NONE"):
        socket.create_connection(("127.0.0.1", port), timeout=2)
    assert "nothing accepts connections" in info.value.message


def test_other_errors_pass_through() -> None:
    with pytest.raises(ZeroDivisionError), translate_errors("h", 1, "NONE"):
        _ = 1 / 0


@pytest.mark.parametrize(("sql", "rows"), [
    ("SELECT 1", True), ("  with t as (select 1) select * from t", True), ("SHOW TABLES", True),
    ("DESCRIBE t", True), ("-- comment\nSELECT 1", True), ("(SELECT 1) UNION (SELECT 2)", True),
    ("CREATE TABLE t (id INT)", False), ("INSERT INTO t VALUES (1)", False), ("DROP TABLE t", False),
    ("INVALIDATE METADATA t", False), ("", False),
])
def test_returns_rows(sql: str, rows: bool) -> None:
    assert returns_rows(sql) is rows


def test_summarize_master() -> None:
    doc = {"url": "spark://10.0.0.1:7077", "status": "ALIVE", "aliveworkers": 2, "cores": 4, "coresused": 2,
           "memory": 1024, "memoryused": 512, "activeapps": [{"id": "app-1"}],
           "workers": [{"host": "10.0.0.2", "state": "ALIVE", "cores": 2, "memory": 512},
                       {"host": "10.0.0.3", "state": "DEAD", "cores": 2, "memory": 512}]}
    facts = summarize_master(doc)
    assert facts["status"] == "ALIVE" and facts["alive_workers"] == 2
    assert (facts["cores"], facts["cores_used"], facts["memory_mb"], facts["active_apps"]) == (4, 2, 1024, 1)
    assert [w["state"] for w in facts["workers"]] == ["ALIVE", "DEAD"]
    # Older masters without `aliveworkers`: counted from the workers list.
    del doc["aliveworkers"]
    assert summarize_master(doc)["alive_workers"] == 1


def test_parse_subscribers() -> None:
    doc = {"subscribers": [{"id": "impalad@w1:27000"}, {"id": "impalad@w2:27000"},
                           {"id": "catalog-server@m2:26000"}, {"id": "admissiond@m2:29500"}]}
    subs = parse_subscribers(doc)
    assert subs["impalad"] == ["impalad@w1:27000", "impalad@w2:27000"]
    assert subs["catalogd"] == ["catalog-server@m2:26000"]
    assert subs["other"] == ["admissiond@m2:29500"]
    assert parse_subscribers({}) == {"impalad": [], "catalogd": [], "other": []}
