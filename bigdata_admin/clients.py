"""Client connections to the cluster's HDFS (WebHDFS) and HBase (Thrift), built from an inventory.

- `webhdfs_client(cluster)`: an `hdfs.InsecureClient` for the active NameNode. WebHDFS answers
  reads and writes with a redirect to a DataNode named as the cluster knows it (its inventory name);
  the client's session rewrites those names to the inventory addresses, so the control host needs no
  /etc/hosts entries for the cluster.
- `happybase_connection(cluster)`: a `happybase.Connection` to the HBase Thrift server (thrift1) with
  the transport and protocol of the inventory's `hbase_thrift_transport` / `hbase_thrift_protocol`,
  the same two settings the hbase role configures the server with. A mismatch shows only as
  `TSocket read 0 bytes`; this module turns it into a `ThriftMismatch` naming those settings.

Client libraries are imported inside the functions so that importing this module stays cheap.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from bigdata_admin.choices import THRIFT_PROTOCOLS, THRIFT_TRANSPORTS
from bigdata_admin.errors import BadInput, RunFailed

if TYPE_CHECKING:
    from bigdata_admin.inventory import Cluster, Host

__all__ = ["THRIFT_PROTOCOLS", "THRIFT_TRANSPORTS"]  # re-exported: the lists live in choices.py

HDFS_USER = "hdfs"
HANDSHAKE_TIMEOUT = 10.0
"""Seconds a client waits to connect and complete its handshake (first answer) before it says which
setting to compare. Queries afterwards get the caller's longer timeout."""


class ClientError(RunFailed):
    """A client could not reach or talk to a cluster service."""


class ThriftMismatch(ClientError):
    """The Thrift server closed the connection: its transport/protocol differ from the client's."""


# --- HDFS --------------------------------------------------------------------------------------------

def _int_var(cluster: Cluster, host: Host | None, name: str) -> int:
    value = host.var(name) if host is not None else None
    if value is None:
        value = cluster.var(name)
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise BadInput(f"{name} must be a port number, got {value!r}",
                       fix=f"Set {name} to an integer in the inventory.") from exc


def _host_address(host: Host) -> str:
    return host.address or host.name


def namenode_state(address: str, http_port: int, timeout: float = 3.0) -> dict[str, Any]:
    """The NameNodeStatus JMX bean of one NameNode (`State`: active/standby, `HostAndPort`, ...)."""
    url = f"http://{address}:{http_port}/jmx?qry=Hadoop:service=NameNode,name=NameNodeStatus"
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        beans = json.load(resp).get("beans") or []
    if not beans:
        raise ClientError(f"NameNode {address}:{http_port} returned no NameNodeStatus bean",
                          fix="Check that the process on that port is an HDFS NameNode.")
    return dict(beans[0])


def active_namenode(cluster: Cluster, timeout: float = 3.0) -> Host:
    """The hdfs_namenode host whose NameNode reports State=active."""
    namenodes = cluster.hosts_in("hdfs_namenode")
    if not namenodes:
        raise BadInput("the inventory has no hdfs_namenode host",
                       fix="Add a host to the hdfs_namenode group (two for HA).")
    seen: list[str] = []
    for host in namenodes:
        port = _int_var(cluster, host, "hdfs_namenode_http_port")
        address = _host_address(host)
        try:
            state = namenode_state(address, port, timeout)
        except (OSError, ValueError, urllib.error.URLError) as exc:
            reason = getattr(exc, "reason", exc)
            if is_timeout(exc) or (isinstance(reason, BaseException) and is_timeout(reason)):
                reason = (f"accepted the connection but did not answer within {timeout:g} s; compare "
                          "hdfs_namenode_http_port with the NameNode's dfs.namenode.http-address")
            seen.append(f"{host.name} ({address}:{port}): {reason}")
            continue
        if state.get("State") == "active":
            return host
        seen.append(f"{host.name} ({address}:{port}): {state.get('State')}")
    from bigdata_admin.deployment import start_hint

    raise ClientError("no active NameNode: " + "; ".join(seen),
                      fix=f"HDFS: {start_hint(cluster, 'hdfs')}; with HA check that the "
                          "hdfs-zkfc units run and reach ZooKeeper.")


def address_map(cluster: Cluster) -> dict[str, str]:
    """Inventory host name (and its short form) -> address the control host reaches it at."""
    out: dict[str, str] = {}
    for host in cluster.hosts.values():
        address = host.address
        if not address:
            continue
        out[host.name] = address
        out.setdefault(host.name.split(".")[0], address)
    return out


def _rewriting_session(names: dict[str, str]) -> Any:
    """A requests Session that sends requests for a cluster host name to its inventory address.

    Every request, including each redirect requests follows and the DataNode URL a WebHDFS write
    is sent to, goes through `send`, so rewriting there covers them all.
    """
    import requests

    class RewritingSession(requests.Session):
        def send(self, request: Any, **kwargs: Any) -> Any:
            request.url = rewrite_url(str(request.url), names)
            return super().send(request, **kwargs)

    return RewritingSession()


def rewrite_url(url: str, names: dict[str, str]) -> str:
    """Replace the host of `url` by its address when `names` knows it (port, path and query kept)."""
    parts = urlsplit(url)
    host = parts.hostname
    if not host or host not in names:
        return url
    netloc = names[host] + (f":{parts.port}" if parts.port else "")
    if parts.username:
        netloc = f"{parts.username}{':' + parts.password if parts.password else ''}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def webhdfs_client(cluster: Cluster, user: str = HDFS_USER, timeout: float = 10.0) -> Any:
    """An `hdfs.InsecureClient` on the active NameNode's WebHDFS, resolving DataNode redirects."""
    try:
        from hdfs import InsecureClient
    except ImportError as exc:
        raise BadInput("the `hdfs` Python package is not installed",
                       fix="pip install 'bigdata-admin[clients]' (or `pip install hdfs`).") from exc
    host = active_namenode(cluster, timeout=min(timeout, 5.0))
    port = _int_var(cluster, host, "hdfs_namenode_http_port")
    url = f"http://{_host_address(host)}:{port}"
    return InsecureClient(url, user=user, timeout=timeout, session=_rewriting_session(address_map(cluster)))


# --- HBase Thrift ------------------------------------------------------------------------------------

def thrift_settings(cluster: Cluster, host: Host | None = None) -> tuple[str, str]:
    """(transport, protocol) the HBase Thrift server on `host` (default: the first hbase_thrift host)
    runs with: that host's resolved variables (host_vars, group_vars/hbase_thrift.yml, all.yml), the
    values the hbase role rendered its hbase-site.xml from. Validated against choices.py."""
    host = host or cluster.first("hbase_thrift")
    source = host.vars if host is not None else cluster.vars
    transport = str(source.get("hbase_thrift_transport", cluster.var("hbase_thrift_transport", "buffered")))
    protocol = str(source.get("hbase_thrift_protocol", cluster.var("hbase_thrift_protocol", "binary")))
    if transport not in THRIFT_TRANSPORTS:
        raise BadInput(f"hbase_thrift_transport is {transport!r}",
                       fix=f"Set it to one of {', '.join(THRIFT_TRANSPORTS)} in the inventory.")
    if protocol not in THRIFT_PROTOCOLS:
        raise BadInput(f"hbase_thrift_protocol is {protocol!r}",
                       fix=f"Set it to one of {', '.join(THRIFT_PROTOCOLS)} in the inventory.")
    return transport, protocol


def thrift_endpoint(cluster: Cluster, host: Host | None = None) -> tuple[str, int]:
    """Address and port of an hbase_thrift host (the first one unless given)."""
    host = host or cluster.first("hbase_thrift")
    if host is None:
        raise BadInput("the inventory has no hbase_thrift host",
                       fix="Add a host to the hbase_thrift group (it runs the Thrift server happybase uses).")
    return _host_address(host), _int_var(cluster, host, "hbase_thrift_port")


def is_read_zero_bytes(exc: BaseException) -> bool:
    """True for the Thrift error a transport/protocol (or auth) mismatch produces."""
    text = str(exc)
    return "read 0 bytes" in text or "TSocket read 0" in text


def is_timeout(exc: BaseException) -> bool:
    """True for a socket or Thrift timeout (a server that accepted and never answered)."""
    if isinstance(exc, TimeoutError):
        return True
    text = text_of(exc).lower()
    return "timed out" in text or "timeout" in text


def set_socket_timeout(obj: Any, seconds: float) -> bool:
    """Set the timeout of the Thrift TSocket (or plain socket) somewhere inside a client object.

    Client libraries (impyla, happybase, PyHive) fix one timeout when they connect; this finds their
    socket (breadth-first through attributes, a few levels deep) so that the handshake can use a short
    timeout and later queries a long one. Returns False when no socket was found.
    """
    import socket

    seen: set[int] = set()
    level = [obj]
    for _depth in range(7):
        nxt: list[Any] = []
        for item in level:
            if id(item) in seen or item is None or isinstance(item, (str, bytes, int, float)):
                continue
            seen.add(id(item))
            if type(item).__name__ == "TSocket":  # thrift's (impyla, PyHive) or thriftpy2's (happybase)
                setter = getattr(item, "setTimeout", None) or getattr(item, "set_timeout", None)
                if setter is not None:
                    setter(seconds * 1000)
                    return True
            if isinstance(item, socket.socket):
                item.settimeout(seconds)
                return True
            values = list(vars(item).values()) if hasattr(item, "__dict__") else []
            # Compiled transports (thriftpy2's cybuffered, happybase's) have no __dict__: their
            # wrapped transport or socket is an attribute of one of these names.
            values += [getattr(item, name, None) for name in ("sock", "trans", "_trans", "handle")
                       if not hasattr(item, "__dict__")]
            nxt.extend(v for v in values if v is not None and (not callable(v) or hasattr(v, "__dict__")))
        level = nxt
    return False


def explain_thrift_error(exc: BaseException, cluster: Cluster, where: str,
                         host: Host | None = None) -> ClientError:
    """Turn a Thrift failure into a ClientError that names the settings to check."""
    from bigdata_admin.deployment import inventory_arg, start_hint, status_hint

    transport, protocol = thrift_settings(cluster, host)
    inv = inventory_arg(cluster.source)
    if is_timeout(exc):
        return ThriftMismatch(
            f"the HBase Thrift server at {where} accepted the connection but did not answer: it probably "
            f"does not speak transport={transport!r}, protocol={protocol!r}, which this client uses "
            "(a framed server waits for the rest of a frame a buffered client never sends)",
            fix="Compare hbase_thrift_transport / hbase_thrift_protocol of the hbase_thrift host "
                f"({host.name if host else 'its host_vars/group_vars'}) with the server's "
                "hbase.regionserver.thrift.framed / .compact in hbase-site.xml, then redeploy hbase.")
    if is_read_zero_bytes(exc):
        return ThriftMismatch(
            f"the HBase Thrift server at {where} closed the connection (TSocket read 0 bytes): it does not "
            f"speak transport={transport!r}, protocol={protocol!r}, which this client uses",
            fix="Make hbase_thrift_transport / hbase_thrift_protocol in the inventory match the server "
                "(hbase.regionserver.thrift.framed / .compact in hbase-site.xml), then redeploy hbase "
                f"(`bigdata-admin deploy -i {inv} --tags hbase`).")
    if isinstance(exc, ConnectionRefusedError) or any(
            text in text_of(exc) for text in ("Connection refused", "Could not connect")):
        return ClientError(f"nothing listens at {where} (HBase Thrift server)",
                           fix=f"HBase: {start_hint(cluster, 'hbase')}, then check "
                               f"{status_hint(cluster.source)}.")
    return ClientError(f"HBase Thrift server at {where}: {text_of(exc)}",
                       fix=f"Check {status_hint(cluster.source)} for the hbase_thrift and hbase_master "
                           "hosts.")


def text_of(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def happybase_connection(cluster: Cluster, host: Host | None = None, timeout_ms: int = 10000,
                         verify: bool = True, handshake_timeout: float = HANDSHAKE_TIMEOUT) -> Any:
    """An open `happybase.Connection` to the HBase Thrift server on `host` (default: the first).

    Transport and protocol come from that host's `hbase_thrift_transport` / `hbase_thrift_protocol`.
    With `verify`, a `tables()` call within `handshake_timeout` seconds proves the server answers; a
    mismatch (closed connection or no answer) raises `ThriftMismatch`. Later calls time out after
    `timeout_ms`.
    """
    try:
        import happybase
    except ImportError as exc:
        raise BadInput("the `happybase` Python package is not installed",
                       fix="pip install 'bigdata-admin[clients]' (or `pip install happybase`).") from exc
    host = host or cluster.first("hbase_thrift")
    transport, protocol = thrift_settings(cluster, host)
    address, port = thrift_endpoint(cluster, host)
    where = f"{address}:{port}"
    first_ms = int(min(handshake_timeout * 1000, timeout_ms)) if verify else timeout_ms
    try:
        conn = happybase.Connection(address, port, timeout=first_ms, autoconnect=True,
                                    transport=transport, protocol=protocol)
    except Exception as exc:
        raise explain_thrift_error(exc, cluster, where, host) from exc
    if verify:
        try:
            conn.tables()
        except Exception as exc:
            conn.close()
            raise explain_thrift_error(exc, cluster, where, host) from exc
        set_socket_timeout(conn, timeout_ms / 1000)
    return conn
