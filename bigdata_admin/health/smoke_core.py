"""Smoke tests for ZooKeeper, Kafka, Storm, Redis and PostgreSQL through their real clients.

Each test leaves nothing behind: what it creates is removed in a `finally`, also when a step fails.
"""

from __future__ import annotations

import contextlib
import shlex
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
        from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
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
                futures = [producer.send(topic, value) for value in sent]
                producer.flush(timeout=30)
                errors = [f.exception for f in futures if f.failed()]
                if errors or not all(f.succeeded() for f in futures):
                    first = errors[0] if errors else "no answer in 30 s"
                    return False, (f"{len(sent) - len(errors)} of {len(sent)} records acknowledged "
                                   f"(acks=all); first error: {first}"), {"topic": topic}
            finally:
                producer.close()
            # Read every partition from the start without a consumer group: the test is about the
            # replicated topic, not the group coordinator (whose offsets topic a fresh cluster may
            # still be creating).
            consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, consumer_timeout_ms=15000,
                                     enable_auto_commit=False, **kafka_timeouts(KafkaConsumer))
            try:
                partitions = [TopicPartition(topic, p)
                              for p in sorted(consumer.partitions_for_topic(topic) or {0})]
                consumer.assign(partitions)
                consumer.seek_to_beginning(*partitions)
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


STORM_SMOKE_TIMEOUT = 240.0
"""Seconds for the smoke topology to be ACTIVE with its worker emitting tuples."""


def storm_flux_jar(cluster: Cluster) -> str:
    """Path of the flux-core jar on the Storm nodes (role storm puts it under external/flux)."""
    root = cluster.var("bigdata_install_root", "/opt/bigdata")
    return f"{root}/storm/external/flux/flux-core-{cluster.version('storm')}.jar"


def storm_smoke_flux_yaml(name: str) -> str:
    """A Flux topology of classes shipped in storm-client (org.apache.storm.testing): a word spout
    feeding a counting bolt, fields-grouped on `word`; one small worker. Needs no build."""
    return (f"name: \"{name}\"\n"
            "config:\n  topology.workers: 1\n  topology.component.resources.onheap.memory.mb: 64.0\n"
            "spouts:\n  - id: words\n    className: org.apache.storm.testing.TestWordSpout\n"
            "    parallelism: 1\n"
            "bolts:\n  - id: counter\n    className: org.apache.storm.testing.TestWordCounter\n"
            "    parallelism: 1\n"
            "streams:\n  - from: words\n    to: counter\n    grouping:\n      type: FIELDS\n"
            "      args: [\"word\"]\n")


def storm_submit_command(cluster: Cluster, name: str) -> str:
    """Shell command (run on a Storm node) that writes the Flux YAML to a temp file and submits it."""
    yaml_text = shlex.quote(storm_smoke_flux_yaml(name))
    return ("f=$(mktemp /tmp/bigdata-admin-smoke-XXXXXX.yaml) && trap 'rm -f \"$f\"' EXIT && "
            f"printf '%s' {yaml_text} > \"$f\" && "
            f"/usr/local/bin/storm jar {storm_flux_jar(cluster)} org.apache.storm.flux.Flux --remote \"$f\"")


def storm_topology(summary: dict[str, Any], name: str) -> dict[str, Any] | None:
    """The entry of `name` in the UI's /api/v1/topology/summary answer, or None."""
    for topo in summary.get("topologies") or []:
        if topo.get("name") == name:
            return dict(topo)
    return None


def storm_emitted(topology: dict[str, Any]) -> int:
    """Tuples emitted over all time, from the UI's /api/v1/topology/<id> answer (0 when unknown)."""
    for stats in topology.get("topologyStats") or []:
        if stats.get("window") == ":all-time":
            try:
                return int(stats.get("emitted") or 0)
            except (TypeError, ValueError):
                return 0
    return 0


def storm_topology_roundtrip(cluster: Cluster, data: dict[str, Any],
                             timeout: float = STORM_SMOKE_TIMEOUT) -> tuple[bool, str]:
    """Submit the Flux topology on a Nimbus host, see it ACTIVE and emitting through the UI's REST
    API and in `storm list`, kill it with `storm kill` and see it gone. Kills it also on failure."""
    from bigdata_admin import remote

    base = storm_ui_url(cluster)
    node = cluster.first("storm_nimbus")
    if base is None or node is None:
        return False, "the inventory has no storm_ui or storm_nimbus host"
    name = f"bigdata-admin-smoke-{uuid.uuid4().hex[:8]}"
    data["topology"] = name
    submitted = False
    try:
        started = time.monotonic()
        result = remote.run_on(cluster.source, storm_submit_command(cluster, name), limit=node.name,
                               timeout=180)[0]
        submitted = True
        if not result.ok:
            tail = " | ".join((result.stdout + result.stderr).strip().splitlines()[-3:]) or str(result.error)
            return False, f"submitting the Flux topology failed (exit {result.exit_status}): {tail}"
        data["submit_s"] = round(time.monotonic() - started, 1)
        topo: dict[str, Any] | None = None
        emitted = 0
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            topo = storm_topology(http_json(base + "/api/v1/topology/summary"), name)
            if topo and topo.get("status") == "ACTIVE":
                emitted = storm_emitted(http_json(f"{base}/api/v1/topology/{topo['id']}?window=:all-time"))
                if emitted > 0:
                    break
            time.sleep(3)
        data.update({"status": (topo or {}).get("status"), "emitted": emitted,
                     "active_s": round(time.monotonic() - started, 1)})
        if not topo or topo.get("status") != "ACTIVE":
            return False, f"{name} not ACTIVE in the UI within {int(timeout)} s (status {data['status']})"
        if emitted <= 0:
            return False, f"{name} ACTIVE but its worker emitted nothing within {int(timeout)} s"
        listed = remote.run_on(cluster.source, "/usr/local/bin/storm list", limit=node.name, timeout=120)[0]
        if not listed.ok or name not in listed.stdout:
            return False, f"`storm list` on {node.name} does not show {name} (exit {listed.exit_status})"
        killed = remote.run_on(cluster.source, f"/usr/local/bin/storm kill {name} -w 1", limit=node.name,
                               timeout=120)[0]
        submitted = not killed.ok
        if not killed.ok:
            return False, f"`storm kill {name}` failed (exit {killed.exit_status})"
        gone_by = time.monotonic() + 60
        while storm_topology(http_json(base + "/api/v1/topology/summary"), name) is not None:
            if time.monotonic() > gone_by:
                return False, f"{name} still listed 60 s after `storm kill`"
            time.sleep(2)
        return True, (f"Flux topology {name}: ACTIVE, {emitted} tuples emitted, in `storm list`, killed "
                      f"({time.monotonic() - started:.0f} s in all)")
    finally:
        if submitted:
            with contextlib.suppress(Exception):
                remote.run_on(cluster.source, f"/usr/local/bin/storm kill {name} -w 0", limit=node.name,
                              timeout=120)


@smoke("storm")
def storm(cluster: Cluster) -> list[SmokeResult]:
    """The cluster summary through the UI's REST API (Nimbus leader, supervisors joined), then a
    topology submitted with Flux, seen ACTIVE and emitting, listed by `storm list`, and killed."""

    def summary() -> tuple[bool, str, dict[str, Any]]:
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

    def topology() -> tuple[bool, str, dict[str, Any]]:
        data: dict[str, Any] = {}
        ok, detail = storm_topology_roundtrip(cluster, data)
        return ok, detail, data

    first = _timed("storm cluster summary", "storm", summary)
    if not first.passed:
        return [first]
    return [first, _timed("storm topology submit/ACTIVE/kill (Flux)", "storm", topology)]


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
