"""bigdata_admin.sqlclient against real Spark Thrift Servers started on 127.0.0.1 (auth NONE and
NOSASL): a SQL round trip through impyla and PyHive, and the message a mismatched auth mode gives."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sql_thrift_server as sts

from bigdata_admin import sqlclient
from bigdata_admin.sqlclient import SqlConnectError, hs2_connect, query

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODES = ("NONE", "NOSASL")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, sts.ThriftServer]]:
    reason = sts.skip_reason()
    if reason:
        pytest.skip(reason)
    base: Path = tmp_path_factory.mktemp("sts")
    started = {mode: sts.start(base / mode.lower(), mode) for mode in MODES}
    try:
        for server in started.values():
            sts.wait_ready(server)
        yield started
    finally:
        for server in started.values():
            server.stop()


@pytest.mark.parametrize("driver", sqlclient.DRIVERS)
@pytest.mark.parametrize("mode", MODES)
def test_round_trip(servers: dict[str, sts.ThriftServer], mode: str, driver: str) -> None:
    server = servers[mode]
    table = f"sqlclient_{driver}_{mode.lower()}_{uuid.uuid4().hex[:8]}"
    conn = hs2_connect(server.host, server.port, mode, "tester", driver)
    try:
        assert query(conn, "SELECT 1") == [(1,)]
        query(conn, f"CREATE TABLE {table} (id INT, name STRING) USING parquet")
        try:
            query(conn, f"INSERT INTO {table} VALUES (1, 'a'), (2, 'b')")
            assert query(conn, f"SELECT id, name FROM {table} ORDER BY id") == [(1, "a"), (2, "b")]
        finally:
            query(conn, f"DROP TABLE IF EXISTS {table}")
        assert table not in [row[1] for row in query(conn, "SHOW TABLES")]
    finally:
        conn.close()


@pytest.mark.parametrize("driver", sqlclient.DRIVERS)
@pytest.mark.parametrize("mode", MODES)
def test_auth_mismatch_names_modes_and_setting(servers: dict[str, sts.ThriftServer], mode: str,
                                               driver: str) -> None:
    server = servers[mode]
    wrong = "NOSASL" if mode == "NONE" else "NONE"
    with pytest.raises(SqlConnectError) as info:
        hs2_connect(server.host, server.port, wrong, "tester", driver, timeout=30,
                    setting="spark_thrift_auth")
    err = info.value
    assert "TSocket read 0 bytes" in err.message
    assert "NONE" in err.message and "NOSASL" in err.message
    assert err.fix is not None and "spark_thrift_auth" in err.fix and mode in err.fix
    assert err.exit_code == 1


def test_nothing_listening_is_named() -> None:
    port = sts.free_port()
    with pytest.raises(SqlConnectError) as info:
        hs2_connect("127.0.0.1", port, "NONE", "tester", "pyhive", timeout=5)
    assert f"127.0.0.1:{port}" in info.value.message
    assert "nothing accepts connections" in info.value.message
