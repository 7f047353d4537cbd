"""Service-level probes for ZooKeeper, Kafka, Storm, Redis and PostgreSQL.

Each probe talks to the real service from the control host with a short timeout and returns a
ProbeResult; it never raises for a service problem (status turns exceptions into `error` rows).
Client libraries are imported inside the probes so that loading this module stays cheap.
"""

from __future__ import annotations

from typing import Any

from bigdata_admin.health import ProbeResult, probe
from bigdata_admin.health.core import (
    TIMEOUT,
    address,
    four_letter_word,
    http_json,
    is_timeout,
    kafka_bootstrap,
    kafka_timeouts,
    no_answer,
    parse_mntr,
    parse_srvr,
    port,
    port_open,
    quorum_size,
    read_secret,
    reason,
    redis_no_retry,
    short_error,
    storm_ui_url,
)
from bigdata_admin.inventory import Cluster, Host


@probe("zookeeper")
def zookeeper(cluster: Cluster, host: Host) -> ProbeResult:
    addr, client_port = address(host), port(cluster, "zookeeper_client_port", host)
    members = len(cluster.hosts_in("zookeeper"))
    try:
        srvr = parse_srvr(four_letter_word(addr, client_port, "srvr"))
    except OSError as exc:
        if is_timeout(exc) and port_open(addr, client_port):
            return ProbeResult(host.name, "zookeeper", False, "no-answer",
                               no_answer("zookeeper", f"{addr}:{client_port}", TIMEOUT, exc),
                               {"ensemble": members})
        return ProbeResult(host.name, "zookeeper", False, "down", f"{addr}:{client_port}: {reason(exc)}",
                           {"ensemble": members})
    if srvr.get("not_serving"):
        return ProbeResult(host.name, "zookeeper", False, "no-quorum",
                           "running but not serving: it cannot reach a quorum of the ensemble",
                           {"ensemble": members})
    mode = srvr.get("Mode", "unknown")
    data: dict[str, Any] = {"mode": mode, "ensemble": members, "zxid": srvr.get("Zxid"),
                            "version": srvr.get("Zookeeper version", "").split(",")[0],
                            "connections": srvr.get("Connections")}
    detail = f"{mode}, ensemble of {members}"
    if mode == "leader":
        try:
            mntr = parse_mntr(four_letter_word(addr, client_port, "mntr"))
            synced = int(mntr.get("zk_synced_followers", "0"))
            data["synced_followers"] = synced
            data["in_quorum"] = synced + 1
            detail = (f"leader, {synced + 1}/{members} members in sync "
                      f"(quorum needs {quorum_size(members)})")
        except (OSError, ValueError):
            pass
    healthy = mode in ("leader", "follower", "standalone", "observer")
    return ProbeResult(host.name, "zookeeper", healthy, mode, detail, data)


def _kafka_admin(cluster: Cluster) -> Any:
    from kafka import KafkaAdminClient

    timeout_ms = int(TIMEOUT * 1000)
    return KafkaAdminClient(bootstrap_servers=kafka_bootstrap(cluster), client_id="bigdata-admin-status",
                            request_timeout_ms=timeout_ms, **kafka_timeouts(KafkaAdminClient))


@probe("kafka_broker")
def kafka_broker(cluster: Cluster, host: Host) -> ProbeResult:
    addr = address(host)
    broker_port = port(cluster, "kafka_broker_port", host)
    if not port_open(addr, broker_port):
        return ProbeResult(host.name, "kafka_broker", False, "down",
                           f"{addr}:{broker_port} refuses connections")
    try:
        admin = _kafka_admin(cluster)
        try:
            described = admin.describe_cluster()
        finally:
            admin.close()
    except Exception as exc:  # kafka-python raises many types; all mean "no answer"
        if is_timeout(exc):
            return ProbeResult(host.name, "kafka_broker", False, "no-answer",
                               no_answer("kafka", f"{addr}:{broker_port}", TIMEOUT, exc))
        return ProbeResult(host.name, "kafka_broker", False, "error",
                           f"metadata request failed: {reason(exc)}")
    brokers = described.get("brokers", [])
    hosts = {b.get("host") for b in brokers}
    controller = described.get("controller_id")
    registered = addr in hosts or host.name in hosts
    data = {"brokers": len(brokers), "controller_id": controller, "registered": registered,
            "expected_brokers": len(cluster.hosts_in("kafka_broker"))}
    detail = (f"{'registered' if registered else 'NOT registered'}; {len(brokers)}/"
              f"{data['expected_brokers']} brokers, controller {controller}")
    return ProbeResult(host.name, "kafka_broker", registered, "active" if registered else "unregistered",
                       detail, data)


@probe("kafka_controller")
def kafka_controller(cluster: Cluster, host: Host) -> ProbeResult:
    addr = address(host)
    controller_port = port(cluster, "kafka_controller_port", host)
    voters = len(cluster.hosts_in("kafka_controller"))
    if not port_open(addr, controller_port):
        return ProbeResult(host.name, "kafka_controller", False, "down",
                           f"{addr}:{controller_port} refuses connections (quorum needs "
                           f"{quorum_size(voters)} of {voters} voters)")
    return ProbeResult(host.name, "kafka_controller", True, "voter",
                       f"controller listener up; one of {voters} voters", {"voters": voters})


def _storm_json(cluster: Cluster, path: str) -> Any:
    base = storm_ui_url(cluster)
    if base is None:
        raise OSError("no storm_ui host in the inventory: the Storm REST API lives on the UI")
    return http_json(base + path)


@probe("storm_ui")
def storm_ui(cluster: Cluster, host: Host) -> ProbeResult:
    try:
        summary = _storm_json(cluster, "/api/v1/cluster/summary")
    except (OSError, ValueError) as exc:
        return ProbeResult(host.name, "storm_ui", False, "down", f"cluster summary: {reason(exc)}")
    data = {k: summary.get(k) for k in ("supervisors", "slotsTotal", "slotsFree", "slotsUsed", "topologies",
                                       "stormVersion")}
    healthy = int(summary.get("supervisors") or 0) > 0
    detail = (f"{data['supervisors']} supervisors, {data['slotsFree']}/{data['slotsTotal']} slots free, "
              f"{data['topologies']} topologies")
    return ProbeResult(host.name, "storm_ui", healthy, "up" if healthy else "no-supervisors", detail, data)


@probe("storm_nimbus")
def storm_nimbus(cluster: Cluster, host: Host) -> ProbeResult:
    addr = address(host)
    try:
        nimbuses = _storm_json(cluster, "/api/v1/nimbus/summary").get("nimbuses", [])
    except (OSError, ValueError) as exc:
        thrift = port(cluster, "storm_nimbus_port", host)
        ok = port_open(addr, thrift)
        return ProbeResult(host.name, "storm_nimbus", ok, "up" if ok else "down",
                           f"thrift port {thrift} {'open' if ok else 'closed'}; "
                           f"UI unavailable ({reason(exc)})")
    mine = [n for n in nimbuses if n.get("host") in (addr, host.name)]
    if not mine:
        return ProbeResult(host.name, "storm_nimbus", False, "missing",
                           f"the UI lists no Nimbus on {addr} ({len(nimbuses)} known)")
    status = str(mine[0].get("status", "unknown"))
    healthy = status in ("Leader", "Not a Leader")
    return ProbeResult(host.name, "storm_nimbus", healthy, status.lower().replace(" ", "-"),
                       f"{status}, up {mine[0].get('nimbusUpTime', '?')}", {"status": status})


@probe("storm_supervisor")
def storm_supervisor(cluster: Cluster, host: Host) -> ProbeResult:
    addr = address(host)
    try:
        supervisors = _storm_json(cluster, "/api/v1/supervisor/summary").get("supervisors", [])
    except (OSError, ValueError) as exc:
        return ProbeResult(host.name, "storm_supervisor", False, "error",
                           f"supervisor summary: {reason(exc)}")
    mine = [s for s in supervisors if s.get("host") in (addr, host.name)]
    if not mine:
        return ProbeResult(host.name, "storm_supervisor", False, "missing",
                           f"Nimbus does not list a supervisor on {addr}")
    sup = mine[0]
    total, used = int(sup.get("slotsTotal") or 0), int(sup.get("slotsUsed") or 0)
    return ProbeResult(host.name, "storm_supervisor", True, "up",
                       f"{total - used}/{total} slots free", {"slotsTotal": total, "slotsUsed": used})


@probe("redis")
def redis_probe(cluster: Cluster, host: Host) -> ProbeResult:
    import redis

    addr, redis_port = address(host), port(cluster, "redis_port", host)
    password = read_secret(cluster, "redis_password")
    client = redis.Redis(host=addr, port=redis_port, password=password, socket_timeout=TIMEOUT,
                         socket_connect_timeout=TIMEOUT, **redis_no_retry())
    try:
        pong = client.ping()
        info = client.info("server")
    except redis.AuthenticationError:
        return ProbeResult(host.name, "redis", False, "auth-failed",
                           "PING refused: the password in the secrets dir does not match")
    except redis.RedisError as exc:
        if is_timeout(exc):
            return ProbeResult(host.name, "redis", False, "no-answer",
                               no_answer("redis", f"{addr}:{redis_port}", TIMEOUT, exc))
        return ProbeResult(host.name, "redis", False, "down", f"{addr}:{redis_port}: {reason(exc)}")
    finally:
        client.close()
    return ProbeResult(host.name, "redis", bool(pong), "pong",
                       f"PING ok, Redis {info.get('redis_version')}", {"version": info.get("redis_version")})


@probe("metastore_db")
def postgresql(cluster: Cluster, host: Host) -> ProbeResult:
    import psycopg

    addr, pg_port = address(host), port(cluster, "metastore_db_port", host)
    dbname = str(cluster.var("metastore_db_name", "metastore"))
    user = str(cluster.var("metastore_db_user", "hive"))
    password = read_secret(cluster, "metastore_db_password")
    try:
        with psycopg.connect(host=addr, port=pg_port, dbname=dbname, user=user, password=password,
                             connect_timeout=int(TIMEOUT)) as conn:
            version = conn.execute("SHOW server_version").fetchone()
    except psycopg.Error as exc:
        if is_timeout(exc):
            return ProbeResult(host.name, "metastore_db", False, "no-answer",
                               no_answer("postgresql", f"{addr}:{pg_port}", TIMEOUT, exc))
        first = short_error(exc)
        return ProbeResult(host.name, "metastore_db", False, "down",
                           f"{user}@{addr}:{pg_port}/{dbname}: {first}")
    server_version = version[0] if version else "?"
    return ProbeResult(host.name, "metastore_db", True, "accepting",
                       f"connected as {user} to {dbname}, PostgreSQL {server_version}",
                       {"version": server_version, "database": dbname})
