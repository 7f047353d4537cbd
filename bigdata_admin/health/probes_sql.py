"""Service-level probes for the Hive metastore, HiveServer2, Impala and Spark.

Each talks to the real service from the control host with short timeouts and returns a ProbeResult;
a service problem is a result, not an exception. Client libraries are imported inside the probes.
"""

from __future__ import annotations

from typing import Any

from bigdata_admin.health import ProbeResult, probe
from bigdata_admin.health.core import TIMEOUT, address, http_json, port, port_open, reason
from bigdata_admin.inventory import Cluster, Host

SQL_TIMEOUT = 15.0
"""Seconds a `SELECT 1` probe may take (a busy Thrift server answers in well under that)."""


# --- Hive metastore: one real Thrift call (get_all_databases) over the binary protocol -----------

def metastore_databases(addr: str, port_: int, timeout: float = TIMEOUT) -> list[str]:
    """Call ThriftHiveMetastore.get_all_databases() (unframed binary protocol, no SASL: the
    metastore's defaults). Raises OSError or a Thrift exception when it does not answer."""
    from thrift.protocol import TBinaryProtocol
    from thrift.Thrift import TApplicationException, TMessageType, TType
    from thrift.transport import TSocket, TTransport

    sock = TSocket.TSocket(addr, port_)
    sock.setTimeout(int(timeout * 1000))
    transport = TTransport.TBufferedTransport(sock)
    proto = TBinaryProtocol.TBinaryProtocol(transport)
    transport.open()
    try:
        proto.writeMessageBegin("get_all_databases", TMessageType.CALL, 1)
        proto.writeStructBegin("get_all_databases_args")
        proto.writeFieldStop()
        proto.writeStructEnd()
        proto.writeMessageEnd()
        transport.flush()
        _name, mtype, _seq = proto.readMessageBegin()
        if mtype == TMessageType.EXCEPTION:
            exc = TApplicationException()
            exc.read(proto)
            proto.readMessageEnd()
            raise exc
        databases: list[str] = []
        error: str | None = None
        proto.readStructBegin()
        while True:
            _fname, ftype, fid = proto.readFieldBegin()
            if ftype == TType.STOP:
                break
            if fid == 0 and ftype == TType.LIST:
                _etype, size = proto.readListBegin()
                databases = [proto.readString() for _ in range(size)]
                proto.readListEnd()
            elif fid == 1 and ftype == TType.STRUCT:  # MetaException {1: string message}
                error = _read_message_struct(proto)
            else:
                proto.skip(ftype)
            proto.readFieldEnd()
        proto.readStructEnd()
        proto.readMessageEnd()
        if error is not None:
            raise RuntimeError(f"MetaException: {error}")
        return databases
    finally:
        transport.close()


def _read_message_struct(proto: Any) -> str:
    from thrift.Thrift import TType

    message = ""
    proto.readStructBegin()
    while True:
        _fname, ftype, fid = proto.readFieldBegin()
        if ftype == TType.STOP:
            break
        if fid == 1 and ftype == TType.STRING:
            message = proto.readString()
        else:
            proto.skip(ftype)
        proto.readFieldEnd()
    proto.readStructEnd()
    return message


@probe("hive_metastore")
def hive_metastore(cluster: Cluster, host: Host) -> ProbeResult:
    addr, p = address(host), port(cluster, "hive_metastore_port", host)
    try:
        dbs = metastore_databases(addr, p)
    except OSError as exc:
        return ProbeResult(host.name, "hive_metastore", False, "down", f"{addr}:{p}: {reason(exc)}")
    except Exception as exc:
        return ProbeResult(host.name, "hive_metastore", False, "error",
                           f"{addr}:{p} answered get_all_databases badly: {reason(exc)}")
    return ProbeResult(host.name, "hive_metastore", True, "serving",
                       f"{len(dbs)} database(s) in the metastore", {"databases": dbs})


# --- HiveServer2 protocol: SELECT 1 -----------------------------------------------------------------

def _select_one(cluster: Cluster, host: Host, group: str, port_var: str, auth_var: str,
                default_auth: str) -> ProbeResult:
    from bigdata_admin import sqlclient
    from bigdata_admin.errors import BigdataAdminError

    addr, p = address(host), port(cluster, port_var, host)
    auth = str(host.var(auth_var, cluster.var(auth_var, default_auth))).upper()
    if not port_open(addr, p):
        return ProbeResult(host.name, group, False, "down", f"{addr}:{p} refuses connections")
    try:
        conn = sqlclient.hs2_connect(addr, p, auth, "bigdata-admin", "impyla", timeout=SQL_TIMEOUT,
                                     setting=auth_var)
        try:
            rows = sqlclient.query(conn, "SELECT 1")
        finally:
            conn.close()
    except BigdataAdminError as exc:
        return ProbeResult(host.name, group, False, "error", exc.message, {"fix": exc.fix, "auth": auth})
    except Exception as exc:
        return ProbeResult(host.name, group, False, "error", f"SELECT 1 failed: {reason(exc)}",
                           {"auth": auth})
    ok = rows == [(1,)]
    return ProbeResult(host.name, group, ok, "serving" if ok else "wrong-answer",
                       f"SELECT 1 -> {rows[0][0] if rows else 'no rows'} (auth {auth})", {"auth": auth})


@probe("hive_server2")
def hive_server2(cluster: Cluster, host: Host) -> ProbeResult:
    return _select_one(cluster, host, "hive_server2", "hive_server2_port", "hive_server2_auth", "NONE")


@probe("spark_thrift")
def spark_thrift(cluster: Cluster, host: Host) -> ProbeResult:
    return _select_one(cluster, host, "spark_thrift", "spark_thrift_port", "spark_thrift_auth", "NONE")


# --- Impala: the statestore knows every daemon --------------------------------------------------------

def parse_subscribers(doc: dict[str, Any]) -> dict[str, list[str]]:
    """Split the statestore's /subscribers?json into impalad and catalogd subscriber ids."""
    out: dict[str, list[str]] = {"impalad": [], "catalogd": [], "other": []}
    for sub in doc.get("subscribers", []) or []:
        sid = str(sub.get("id", ""))
        if sid.startswith("impalad"):
            out["impalad"].append(sid)
        elif sid.startswith("catalog"):
            out["catalogd"].append(sid)
        else:
            out["other"].append(sid)
    return out


@probe("impala_statestore")
def impala_statestore(cluster: Cluster, host: Host) -> ProbeResult:
    addr, p = address(host), port(cluster, "impala_statestore_http_port", host)
    try:
        doc = http_json(f"http://{addr}:{p}/subscribers?json")
    except Exception as exc:
        return ProbeResult(host.name, "impala_statestore", False, "down", f"{addr}:{p}: {reason(exc)}")
    subs = parse_subscribers(doc)
    expected = len(cluster.hosts_in("impala_daemon"))
    catalogs = len(subs["catalogd"])
    healthy = len(subs["impalad"]) >= expected and catalogs >= 1
    detail = f"{len(subs['impalad'])}/{expected} impalad and {catalogs} catalogd subscribed"
    return ProbeResult(host.name, "impala_statestore", healthy, "serving" if healthy else "degraded",
                       detail, {"impalad": subs["impalad"], "catalogd": subs["catalogd"],
                                "expected_impalad": expected})


def _healthz(host: Host, group: str, url: str) -> ProbeResult:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
            body = resp.read(200).decode("utf-8", "replace").strip()
    except Exception as exc:
        return ProbeResult(host.name, group, False, "down", f"{url}: {reason(exc)}")
    ok = body.upper().startswith("OK")
    return ProbeResult(host.name, group, ok, "serving" if ok else "not-ready", f"/healthz: {body[:60]}")


@probe("impala_catalog")
def impala_catalog(cluster: Cluster, host: Host) -> ProbeResult:
    p = port(cluster, "impala_catalog_http_port", host)
    return _healthz(host, "impala_catalog", f"http://{address(host)}:{p}/healthz")


@probe("impala_daemon")
def impala_daemon(cluster: Cluster, host: Host) -> ProbeResult:
    addr = address(host)
    http = port(cluster, "impala_daemon_http_port", host)
    result = _healthz(host, "impala_daemon", f"http://{addr}:{http}/healthz")
    hs2 = port(cluster, "impala_daemon_hs2_port", host)
    if result.healthy and not port_open(addr, hs2):
        return ProbeResult(host.name, "impala_daemon", False, "no-hs2",
                           f"{addr}:{hs2} (HS2) refuses connections")
    return result


# --- Spark standalone ---------------------------------------------------------------------------------

def summarize_master(doc: dict[str, Any]) -> dict[str, Any]:
    """The facts status shows from a Spark master's /json/ document."""
    workers = doc.get("workers", []) or []
    return {
        "status": doc.get("status", "UNKNOWN"),
        "alive_workers": int(doc.get("aliveworkers", sum(1 for w in workers if w.get("state") == "ALIVE"))),
        "cores": int(doc.get("cores", 0)), "cores_used": int(doc.get("coresused", 0)),
        "memory_mb": int(doc.get("memory", 0)), "memory_used_mb": int(doc.get("memoryused", 0)),
        "active_apps": len(doc.get("activeapps", []) or []),
        "workers": [{"host": w.get("host"), "state": w.get("state"), "cores": w.get("cores"),
                     "memory_mb": w.get("memory")} for w in workers],
    }


@probe("spark_master")
def spark_master(cluster: Cluster, host: Host) -> ProbeResult:
    addr, p = address(host), port(cluster, "spark_master_http_port", host)
    try:
        doc = http_json(f"http://{addr}:{p}/json/")
    except Exception as exc:
        return ProbeResult(host.name, "spark_master", False, "down", f"{addr}:{p}/json/: {reason(exc)}")
    facts = summarize_master(doc)
    expected = len(cluster.hosts_in("spark_worker"))
    if facts["status"] == "STANDBY":
        return ProbeResult(host.name, "spark_master", True, "standby", "standby master", facts)
    healthy = facts["status"] == "ALIVE" and facts["alive_workers"] >= expected
    detail = (f"{facts['alive_workers']}/{expected} workers alive, "
              f"{facts['cores_used']}/{facts['cores']} cores, "
              f"{facts['memory_used_mb']}/{facts['memory_mb']} MiB used, {facts['active_apps']} app(s)")
    return ProbeResult(host.name, "spark_master", healthy, facts["status"].lower(), detail, facts)


@probe("spark_worker")
def spark_worker(cluster: Cluster, host: Host) -> ProbeResult:
    addr, p = address(host), port(cluster, "spark_worker_http_port", host)
    try:
        doc = http_json(f"http://{addr}:{p}/json/")
    except Exception as exc:
        return ProbeResult(host.name, "spark_worker", False, "down", f"{addr}:{p}/json/: {reason(exc)}")
    master = str(doc.get("masterurl", ""))
    data = {"master": master, "cores": doc.get("cores"), "cores_used": doc.get("coresused"),
            "memory_mb": doc.get("memory"), "executors": len(doc.get("executors", []) or [])}
    registered = master.startswith("spark://")
    return ProbeResult(host.name, "spark_worker", registered, "registered" if registered else "unregistered",
                       f"{doc.get('cores')} cores, {doc.get('memory')} MiB, master {master or 'none'}", data)
