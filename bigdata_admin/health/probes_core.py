"""Service-level probes for ZooKeeper, Kafka, Storm, Redis and PostgreSQL.

Each probe talks to the real service from the control host with a short timeout and returns a
ProbeResult; it never raises for a service problem (status turns exceptions into `error` rows).
Client libraries are imported inside the probes so that loading this module stays cheap.
"""

from __future__ import annotations

from typing import Any

from bigdata_admin.deployment import in_service
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
            "expected_brokers": len(in_service(cluster, "kafka_broker"))}
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


def _storm_state(cluster: Cluster) -> Any:
    from bigdata_admin.health import storm_zk

    return storm_zk.read(cluster)


@probe("storm_nimbus")
def storm_nimbus(cluster: Cluster, host: Host) -> ProbeResult:
    """Healthy when its Thrift port is open and it is registered under <storm root>/nimbuses in
    ZooKeeper; the state says whether it holds the leader latch (no UI needed)."""
    from bigdata_admin.health import storm_zk

    addr = address(host)
    thrift = port(cluster, "storm_nimbus_port", host)
    if not port_open(addr, thrift):
        return ProbeResult(host.name, "storm_nimbus", False, "down", f"thrift port {addr}:{thrift} closed")
    try:
        state = _storm_state(cluster)
    except storm_zk.StormZkError as exc:
        return ProbeResult(host.name, "storm_nimbus", False, "unregistered",
                           f"thrift port {thrift} open; {exc}")
    mine = f"{addr}:{thrift}"
    data = {"nimbuses": state.nimbuses, "leader": state.leader, "root": state.root}
    if not storm_zk.nimbus_registered(state.nimbuses, host, thrift):
        return ProbeResult(host.name, "storm_nimbus", False, "unregistered",
                           f"thrift port {thrift} open but {addr} is not under {state.root}/nimbuses "
                           f"({len(state.nimbuses)} registered)", data)
    leader = state.leader in (mine, f"{host.name}:{thrift}")
    status = "leader" if leader else "not-a-leader"
    detail = (f"{'Leader' if leader else 'Not a Leader'} (leader {state.leader or 'none'}), registered in "
              f"ZooKeeper, thrift port {thrift} open")
    return ProbeResult(host.name, "storm_nimbus", True, status, detail, data)


@probe("storm_supervisor")
def storm_supervisor(cluster: Cluster, host: Host) -> ProbeResult:
    """Healthy when a supervisor of this host is registered under <storm root>/supervisors in
    ZooKeeper (its SupervisorInfo names the host; see storm_zk). The logviewer (Storm's web bundle,
    deployed only with it) is reported, not required."""
    from bigdata_admin.health import storm_zk

    addr = address(host)
    try:
        state = _storm_state(cluster)
    except storm_zk.StormZkError as exc:
        return ProbeResult(host.name, "storm_supervisor", False, "error", str(exc))
    sid = state.supervisor_on((addr, host.name))
    data: dict[str, Any] = {"supervisor_id": sid, "supervisors": len(state.supervisors), "root": state.root}
    if sid is None:
        return ProbeResult(host.name, "storm_supervisor", False, "missing",
                           f"no supervisor of {addr} under {state.root}/supervisors "
                           f"({len(state.supervisors)} registered)", data)
    logviewer = port(cluster, "storm_logviewer_port", host)
    data["logviewer"] = port_open(addr, logviewer)
    detail = (f"registered in ZooKeeper ({len(state.supervisors)} supervisors); logviewer "
              + (f"up on {logviewer}" if data["logviewer"] else "not running (needs Storm's web bundle)"))
    return ProbeResult(host.name, "storm_supervisor", True, "up", detail, data)


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
