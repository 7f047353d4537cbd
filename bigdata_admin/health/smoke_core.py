"""Smoke tests for ZooKeeper, Kafka, Storm, Redis and PostgreSQL through their real clients.

Each test leaves nothing behind: what it creates is removed in a `finally`, also when a step fails.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Any

from bigdata_admin.health import SmokeResult, smoke
from bigdata_admin.health.core import (
    TIMEOUT,
    address,
    four_letter_word,
    http_json,
    kafka_bootstrap,
    kafka_timeouts,
    parse_srvr,
    port,
    quorum_size,
    read_secret,
    redis_no_retry,
    short_error,
    storm_ui_url,
)
from bigdata_admin.inventory import Cluster, Host

SMOKE_ROOT = "/bigdata-admin-smoke"


def _timed(name: str, component: str, fn: Callable[[], tuple[bool, str, dict[str, Any]]]) -> SmokeResult:
    start = time.monotonic()
    try:
        passed, detail, data = fn()
    except Exception as exc:  # a smoke test reports failures, it does not crash the run
        passed, detail, data = False, f"{type(exc).__name__}: {short_error(exc)}", {}
    return SmokeResult(name, component if component else "", passed, round(time.monotonic() - start, 3),
                       detail, data)


def _zk_serving(addr: str, client_port: int) -> bool:
    try:
        srvr = parse_srvr(four_letter_word(addr, client_port, "srvr", timeout=2))
    except OSError:
        return False
    return "Mode" in srvr


@smoke("zookeeper")
def zookeeper(cluster: Cluster) -> list[SmokeResult]:
    """On every serving member: create a znode, read it back through the next member, delete it.

    A stopped member is reported and skipped; the test passes while a quorum of the ensemble serves.
    """
    from kazoo.client import KazooClient

    members = cluster.hosts_in("zookeeper")
    targets = [(h, address(h), port(cluster, "zookeeper_client_port", h)) for h in members]
    serving = [t for t in targets if _zk_serving(t[1], t[2])]
    results: list[SmokeResult] = []
    need = quorum_size(len(members))

    def quorum_check() -> tuple[bool, str, dict[str, Any]]:
        down = [t[0].name for t in targets if t not in serving]
        ok = len(serving) >= need
        detail = f"{len(serving)}/{len(members)} members serving (quorum needs {need})"
        if down:
            detail += f"; not serving: {', '.join(down)}"
        return ok, detail, {"serving": len(serving), "members": len(members), "down": down}

    results.append(_timed("zookeeper quorum", "zookeeper", quorum_check))

    for i, (host, addr, client_port) in enumerate(serving):
        reader = serving[(i + 1) % len(serving)]

        def one(host: Host = host, addr: str = addr, client_port: int = client_port,
                reader: tuple[Host, str, int] = reader) -> tuple[bool, str, dict[str, Any]]:
            path = f"{SMOKE_ROOT}/{host.name}-{uuid.uuid4().hex[:8]}"
            payload = f"written via {host.name} at {time.time():.3f}".encode()
            writer = KazooClient(hosts=f"{addr}:{client_port}", timeout=TIMEOUT)
            other = KazooClient(hosts=f"{reader[1]}:{reader[2]}", timeout=TIMEOUT)
            try:
                writer.start(timeout=TIMEOUT * 2)
                writer.create(path, payload, makepath=True)
                own, _ = writer.get(path)
                other.start(timeout=TIMEOUT * 2)
                other.sync(path)
                seen, _ = other.get(path)
                writer.delete(path)
                gone = writer.exists(path) is None
            finally:
                try:
                    if writer.connected and writer.exists(path):
                        writer.delete(path)
                finally:
                    for client in (writer, other):
                        client.stop()
                        client.close()
            ok = own == payload and seen == payload and gone
            detail = (f"created, read back{' and via ' + reader[0].name if reader[0] is not host else ''}, "
                      f"deleted {path}" if ok else f"mismatch: own={own!r} other={seen!r} deleted={gone}")
            return ok, detail, {"path": path, "reader": reader[0].name}

        results.append(_timed(f"zookeeper znode via {host.name}", "zookeeper", one))
    return results


@smoke("kafka")
def kafka(cluster: Cluster, records: int = 100) -> list[SmokeResult]:
    """Create a topic, produce `records` records, consume them back and compare; delete the topic."""

    def run() -> tuple[bool, str, dict[str, Any]]:
        from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
        from kafka.admin import NewTopic

        bootstrap = kafka_bootstrap(cluster)
        brokers = len(bootstrap)
        topic = f"bigdata-admin-smoke-{uuid.uuid4().hex[:8]}"
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bigdata-admin-smoke",
                                 request_timeout_ms=15000, **kafka_timeouts(KafkaAdminClient))
        sent = [f"record-{i}-{uuid.uuid4().hex[:6]}".encode() for i in range(records)]
        try:
            admin.create_topics([NewTopic(topic, num_partitions=min(3, brokers) or 1,
                                          replication_factor=min(3, brokers) or 1)])
            producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=5,
                                     **kafka_timeouts(KafkaProducer))
            try:
                for value in sent:
                    producer.send(topic, value)
                producer.flush(timeout=30)
            finally:
                producer.close()
            consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                     group_id=f"{topic}-reader", consumer_timeout_ms=15000,
                                     enable_auto_commit=False, **kafka_timeouts(KafkaConsumer))
            try:
                got = [m.value for m in consumer]
            finally:
                consumer.close()
        finally:
            with contextlib.suppress(Exception):  # the topic may not exist if creation failed
                admin.delete_topics([topic])
            admin.close()
        ok = sorted(got) == sorted(sent)
        detail = (f"produced and consumed {records} records on {topic} ({brokers} brokers), topic deleted"
                  if ok else
                  f"sent {len(sent)} records, got {len(got)} back ({len(set(got) & set(sent))} match)")
        return ok, detail, {"topic": topic, "sent": len(sent), "received": len(got)}

    return [_timed(f"kafka produce/consume {records} records", "kafka", run)]


@smoke("storm")
def storm(cluster: Cluster) -> list[SmokeResult]:
    """Read the cluster summary through the UI's REST API: Nimbus answers and supervisors joined."""

    def run() -> tuple[bool, str, dict[str, Any]]:
        base = storm_ui_url(cluster)
        if base is None:
            return False, "no storm_ui host in the inventory", {}
        summary = http_json(base + "/api/v1/cluster/summary")
        nimbus = http_json(base + "/api/v1/nimbus/summary").get("nimbuses", [])
        leaders = [n for n in nimbus if n.get("status") == "Leader"]
        expected = len(cluster.hosts_in("storm_supervisor"))
        sups = int(summary.get("supervisors") or 0)
        ok = bool(leaders) and sups >= expected and int(summary.get("slotsTotal") or 0) > 0
        leader = leaders[0].get("host") if leaders else "none"
        detail = (f"Nimbus leader {leader}, {sups}/{expected} supervisors, "
                  f"{summary.get('slotsFree')}/{summary.get('slotsTotal')} slots free, Storm "
                  f"{summary.get('stormVersion')}")
        return ok, detail, {"summary": summary}

    return [_timed("storm cluster summary", "storm", run)]


@smoke("redis")
def redis_smoke(cluster: Cluster) -> list[SmokeResult]:
    """SET with an expiry, GET it back, check the TTL, DEL it."""
    import redis

    results: list[SmokeResult] = []
    for host in cluster.hosts_in("redis"):

        def run(host=host) -> tuple[bool, str, dict[str, Any]]:
            client = redis.Redis(host=address(host), port=port(cluster, "redis_port", host),
                                 password=read_secret(cluster, "redis_password"), socket_timeout=TIMEOUT,
                                 socket_connect_timeout=TIMEOUT, **redis_no_retry())
            key = f"bigdata-admin:smoke:{uuid.uuid4().hex[:8]}"
            value = uuid.uuid4().hex
            try:
                client.set(key, value, ex=30)
                got = client.get(key)
                ttl = client.ttl(key)
            finally:
                try:
                    client.delete(key)
                finally:
                    client.close()
            ok = got == value.encode() and 0 < ttl <= 30
            return ok, f"SET/GET/EXPIRE ok (ttl {ttl} s), key deleted" if ok else \
                f"GET returned {got!r}, ttl {ttl}", {"key": key, "ttl": ttl}

        results.append(_timed(f"redis set/get/expire on {host.name}", "redis", run))
    return results


@smoke("postgresql")
def postgresql(cluster: Cluster) -> list[SmokeResult]:
    """Connect as the metastore user, write and read a temporary table (gone at disconnect)."""
    import psycopg

    results: list[SmokeResult] = []
    for host in cluster.hosts_in("metastore_db"):

        def run(host=host) -> tuple[bool, str, dict[str, Any]]:
            dbname = str(cluster.var("metastore_db_name", "metastore"))
            user = str(cluster.var("metastore_db_user", "hive"))
            with psycopg.connect(host=address(host), port=port(cluster, "metastore_db_port", host),
                                 dbname=dbname, user=user,
                                 password=read_secret(cluster, "metastore_db_password"),
                                 connect_timeout=int(TIMEOUT)) as conn:
                conn.execute("CREATE TEMPORARY TABLE bigdata_admin_smoke (id int, note text)")
                conn.execute("INSERT INTO bigdata_admin_smoke VALUES (1, 'one'), (2, 'two')")
                row = conn.execute("SELECT count(*), sum(id) FROM bigdata_admin_smoke").fetchone()
                version = conn.execute("SHOW server_version").fetchone()
                conn.rollback()
            ok = row == (2, 3)
            return ok, (f"connected as {user} to {dbname} (PostgreSQL {version[0] if version else '?'}), "
                        f"query ok" if ok else f"unexpected result {row}"), {"database": dbname}

        results.append(_timed(f"postgresql connect and query on {host.name}", "postgresql", run))
    return results
