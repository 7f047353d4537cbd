"""Issue 11 items 4 and 5: every client gives up quickly on a server that accepts the connection and
never answers (what an auth or transport mismatch looks like), with a message naming the setting to
compare; HBase Thrift clients take the transport/protocol of the serving host.

The server is real: a TCP listener on 127.0.0.1 that accepts, reads and discards, and never answers.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bigdata_admin import clients, inventory, sqlclient
from bigdata_admin.errors import RunFailed
from bigdata_admin.health import probes_core

HANDSHAKE = 1.5
SLACK = 4.0  # seconds on top of the timeout before a test calls it a hang


class SilentServer:
    """Accepts every connection, swallows what arrives, answers nothing, closes on stop()."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = int(self.sock.getsockname()[1])
        self.conns: list[socket.socket] = []
        self.accepted = 0
        self._stop = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            self.conns.append(conn)
            threading.Thread(target=self._swallow, args=(conn,), daemon=True).start()

    def _swallow(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(0.5)
        except OSError:  # closed by stop() already
            return
        while not self._stop.is_set():
            try:
                if not conn.recv(65536):
                    return
            except TimeoutError:
                continue
            except OSError:
                return

    def stop(self) -> None:
        self._stop.set()
        for conn in self.conns:
            conn.close()
        self.sock.close()


@pytest.fixture
def silent() -> Iterator[SilentServer]:
    server = SilentServer()
    yield server
    server.stop()


def _cluster(tmp_path: Path, port: int, group_vars: dict[str, dict[str, Any]] | None = None,
             groups: tuple[str, ...] = ()) -> inventory.Cluster:
    inv = tmp_path / "inv"
    (inv / "group_vars").mkdir(parents=True)
    hosts = {"s1": {"ansible_host": "127.0.0.1"}, "s2": {"ansible_host": "127.0.0.2"}}
    children = {g: {"hosts": {"s1": None}} for g in groups}
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts, "children": children}}))
    ports = {v: port for v in ("hbase_thrift_port", "hive_server2_port", "zookeeper_client_port",
                               "kafka_broker_port", "redis_port", "metastore_db_port",
                               "hdfs_namenode_http_port")}
    (inv / "group_vars" / "all.yml").write_text(yaml.safe_dump(ports))
    for group, values in (group_vars or {}).items():
        (inv / "group_vars" / f"{group}.yml").write_text(yaml.safe_dump(values))
    return inventory.load(inv)


def _timed(fn: Any) -> tuple[float, Any]:
    start = time.monotonic()
    try:
        out = fn()
    except Exception as exc:
        return time.monotonic() - start, exc
    return time.monotonic() - start, out


@pytest.mark.parametrize(("driver", "auth"), [("impyla", "NONE"), ("impyla", "NOSASL"),
                                              ("pyhive", "NONE"), ("pyhive", "NOSASL")])
def test_hs2_gives_up_fast_naming_the_auth_setting(silent: SilentServer, driver: str, auth: str) -> None:
    took, err = _timed(lambda: sqlclient.hs2_connect(
        "127.0.0.1", silent.port, auth, "u", driver, timeout=60.0, handshake_timeout=HANDSHAKE,
        setting="hive_server2_auth"))
    assert silent.accepted >= 1
    assert isinstance(err, sqlclient.SqlConnectError), repr(err)
    assert took < HANDSHAKE + SLACK
    assert "did not answer" in err.message and "hive_server2_auth" in err.fix


def test_happybase_gives_up_fast_naming_the_serving_hosts_settings(silent: SilentServer,
                                                                   tmp_path: Path) -> None:
    cluster = _cluster(tmp_path, silent.port, {"hbase_thrift": {"hbase_thrift_transport": "framed"}},
                       groups=("hbase_thrift",))
    took, err = _timed(lambda: clients.happybase_connection(cluster, timeout_ms=60_000,
                                                            handshake_timeout=HANDSHAKE))
    assert isinstance(err, clients.ThriftMismatch), repr(err)
    assert took < HANDSHAKE + SLACK
    assert "transport='framed'" in err.message  # the serving host's value, not the cluster-wide one
    assert "hbase_thrift_transport" in err.fix and "s1" in err.fix


def test_thrift_settings_come_from_the_serving_host(tmp_path: Path) -> None:
    cluster = _cluster(tmp_path, 9090, {"hbase_thrift": {"hbase_thrift_transport": "framed",
                                                         "hbase_thrift_protocol": "compact"}},
                       groups=("hbase_thrift",))
    assert cluster.var("hbase_thrift_transport") == "buffered"  # cluster-wide default
    assert clients.thrift_settings(cluster) == ("framed", "compact")
    assert clients.thrift_settings(cluster, cluster.hosts["s2"]) == ("buffered", "binary")


def test_webhdfs_gives_up_fast_naming_the_port_setting(silent: SilentServer, tmp_path: Path) -> None:
    cluster = _cluster(tmp_path, silent.port, groups=("hdfs_namenode",))
    took, err = _timed(lambda: clients.active_namenode(cluster, timeout=HANDSHAKE))
    assert isinstance(err, RunFailed), repr(err)
    assert took < HANDSHAKE + SLACK
    assert "hdfs_namenode_http_port" in err.message


@pytest.mark.parametrize(("probe", "group", "setting"), [
    (probes_core.zookeeper, "zookeeper", "zookeeper_client_port"),
    (probes_core.kafka_broker, "kafka_broker", "kafka_broker_port"),
    (probes_core.redis_probe, "redis", "redis_port"),
    (probes_core.postgresql, "metastore_db", "metastore_db_port"),
])
def test_status_probes_give_up_fast_naming_the_setting(silent: SilentServer, tmp_path: Path, probe: Any,
                                                      group: str, setting: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGDATA_ADMIN_STATE_DIR", str(tmp_path / "state"))
    cluster = _cluster(tmp_path, silent.port, groups=(group,))
    took, result = _timed(lambda: probe(cluster, cluster.hosts["s1"]))
    assert not isinstance(result, Exception), repr(result)
    assert took < probes_core.TIMEOUT * 2 + SLACK
    assert not result.healthy and result.state == "no-answer", result
    assert setting in result.detail


def test_status_hbase_thrift_probe_uses_the_serving_hosts_transport(silent: SilentServer,
                                                                    tmp_path: Path) -> None:
    from bigdata_admin.health import probes_hadoop

    cluster = _cluster(tmp_path, silent.port, {"hbase_thrift": {"hbase_thrift_transport": "framed"}},
                       groups=("hbase_thrift",))
    took, result = _timed(lambda: probes_hadoop.hbase_thrift(cluster, cluster.hosts["s1"]))
    assert not isinstance(result, Exception), repr(result)
    assert took < probes_hadoop.TIMEOUT + SLACK
    assert not result.healthy and "transport='framed'" in result.detail, result
