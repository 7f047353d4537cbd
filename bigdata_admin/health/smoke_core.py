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


STORM_CLI = "/usr/local/bin/storm"
"""The admin command the storm role installs on every Storm node."""
STORM_CLI_TIMEOUT = 120.0
"""Seconds for one `storm list` / `storm kill` over SSH (each starts a JVM)."""
STORM_SUBMIT_TIMEOUT = 180.0
"""Seconds for `storm jar ... Flux --remote` over SSH."""
STORM_KILL_GONE_S = 60.0
"""Seconds for a killed topology to leave `storm list` and ZooKeeper."""


def storm_list_rows(text: str) -> dict[str, dict[str, Any]]:
    """`storm list` output -> topology name -> {"status", "tasks", "workers", "uptime_s", "id"}.

    Its table is `Topology_name Status Num_tasks Num_workers Uptime_secs Topology_Id Owner` after a
    dashed line (names have no spaces); "No topologies running." gives {}."""
    rows: dict[str, dict[str, Any]] = {}
    started = False
    for line in text.splitlines():
        if line.startswith("---"):
            started = True
            continue
        parts = line.split()
        if not started or len(parts) < 6 or not parts[2].isdigit() or not parts[3].isdigit():
            continue
        rows[parts[0]] = {"status": parts[1], "tasks": int(parts[2]), "workers": int(parts[3]),
                          "uptime_s": int(parts[4]) if parts[4].isdigit() else None, "id": parts[5]}
    return rows


def storm_ui_deployed(cluster: Cluster) -> bool:
    """Whether the inventory has a storm_ui host that a deploy installed (it needs the web bundle)."""
    from bigdata_admin import deployment

    return cluster.has("storm_ui") and "storm_ui" not in deployment.not_deployed(cluster)


def _storm_run(cluster: Cluster, node: Host, command: str, timeout: float = STORM_CLI_TIMEOUT) -> Any:
    from bigdata_admin import remote

    return remote.run_on(cluster.source, command, limit=node.name, timeout=timeout)[0]


def _storm_listed(cluster: Cluster, node: Host, name: str) -> tuple[dict[str, Any] | None, Any]:
    """(the `storm list` row of `name` or None, the command's result). Raises RuntimeError when
    `storm list` fails."""
    listed = _storm_run(cluster, node, f"{STORM_CLI} list")
    if not listed.ok:
        tail = " | ".join((listed.stdout + listed.stderr).strip().splitlines()[-3:]) or str(listed.error)
        raise RuntimeError(f"`storm list` on {node.name} failed (exit {listed.exit_status}): {tail}")
    return storm_list_rows(listed.stdout).get(name), listed


def storm_workers_on(cluster: Cluster, assignment: bytes) -> list[Host]:
    """The supervisor hosts an Assignment (gunzipped Thrift) names (see storm_zk)."""
    from bigdata_admin.health import storm_zk

    return [h for h in cluster.hosts_in("storm_supervisor")
            if storm_zk.host_in_payload(assignment, (address(h), h.name))]


def storm_topology_roundtrip(cluster: Cluster, data: dict[str, Any],
                             timeout: float = STORM_SMOKE_TIMEOUT) -> tuple[bool, str]:
    """Submit the Flux topology on a Nimbus host; see it ACTIVE with workers in `storm list`, under
    storms/ and assigned to a supervisor under assignments/ in ZooKeeper, its worker process running
    on that supervisor (and, when the UI is deployed, emitting tuples through the UI's REST API);
    kill it with `storm kill` and see it leave `storm list` and ZooKeeper. Kills it also on failure."""
    from bigdata_admin.health import storm_zk

    node = cluster.first("storm_nimbus")
    if node is None:
        return False, "the inventory has no storm_nimbus host"
    base = storm_ui_url(cluster) if storm_ui_deployed(cluster) else None
    name = f"bigdata-admin-smoke-{uuid.uuid4().hex[:8]}"
    data["topology"] = name
    submitted = False
    try:
        started = time.monotonic()
        result = _storm_run(cluster, node, storm_submit_command(cluster, name), STORM_SUBMIT_TIMEOUT)
        submitted = True
        if not result.ok:
            tail = " | ".join((result.stdout + result.stderr).strip().splitlines()[-3:]) or str(result.error)
            return False, f"submitting the Flux topology failed (exit {result.exit_status}): {tail}"
        data["submit_s"] = round(time.monotonic() - started, 1)
        row: dict[str, Any] | None = None
        workers: list[Host] = []
        tid: str | None = None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            row, _ = _storm_listed(cluster, node, name)
            if row and row["status"] == "ACTIVE" and row["workers"] > 0:
                zk = storm_zk.read(cluster, topologies=True)
                tid = zk.topology_id(name) or row["id"]
                if tid in zk.storms and tid in zk.assignments:
                    workers = storm_workers_on(cluster, zk.assignments[tid])
                    if workers:
                        break
            time.sleep(3)
        data.update({"status": (row or {}).get("status"), "workers": (row or {}).get("workers"),
                     "id": tid, "assigned_to": [h.name for h in workers],
                     "active_s": round(time.monotonic() - started, 1)})
        if not row or row["status"] != "ACTIVE":
            return False, (f"{name} not ACTIVE in `storm list` within {int(timeout)} s "
                           f"(status {data['status']})")
        if not workers:
            return False, (f"{name} ACTIVE but ZooKeeper shows no worker assigned to a supervisor within "
                           f"{int(timeout)} s (id {tid}, {row['workers']} workers in `storm list`)")
        process = f"pgrep -f 'storm[.]id={tid}'"
        running = False
        while time.monotonic() < deadline and not running:
            running = _storm_run(cluster, workers[0], process).ok
            if not running:
                time.sleep(3)
        if not running:
            return False, f"{name} assigned to {workers[0].name}, but no worker process runs there"
        emitted = None
        if base is not None:
            emitted = 0
            while time.monotonic() < deadline and emitted <= 0:
                topo = storm_topology(http_json(base + "/api/v1/topology/summary"), name)
                if topo:
                    url = f"{base}/api/v1/topology/{topo['id']}?window=:all-time"
                    emitted = storm_emitted(http_json(url))
                if emitted <= 0:
                    time.sleep(3)
            data["emitted"] = emitted
            if emitted <= 0:
                return False, f"{name} ACTIVE but the UI shows no tuple emitted within {int(timeout)} s"
        killed = _storm_run(cluster, node, f"{STORM_CLI} kill {name} -w 1")
        submitted = not killed.ok
        if not killed.ok:
            return False, f"`storm kill {name}` failed (exit {killed.exit_status})"
        gone_by = time.monotonic() + STORM_KILL_GONE_S
        while True:
            row, _ = _storm_listed(cluster, node, name)
            zk = storm_zk.read(cluster, topologies=True)
            if row is None and tid not in zk.storms:
                break
            if time.monotonic() > gone_by:
                return False, f"{name} still listed {int(STORM_KILL_GONE_S)} s after `storm kill`"
            time.sleep(2)
        ui_part = f", {emitted} tuples emitted (UI)" if emitted is not None else ""
        return True, (f"Flux topology {name}: ACTIVE in `storm list` and ZooKeeper, worker running on "
                      f"{workers[0].name}{ui_part}, killed ({time.monotonic() - started:.0f} s in all)")
    finally:
        if submitted:
            with contextlib.suppress(Exception):
                _storm_run(cluster, node, f"{STORM_CLI} kill {name} -w 0")


@smoke("storm")
def storm(cluster: Cluster) -> list[SmokeResult]:
    """The cluster as ZooKeeper shows it (a Nimbus leader, every supervisor registered), then a
    topology submitted with Flux, seen ACTIVE with a worker running, and killed (see
    storm_topology_roundtrip). Needs no UI; uses it in addition when it is deployed."""
    from bigdata_admin.health import storm_zk

    def summary() -> tuple[bool, str, dict[str, Any]]:
        state = storm_zk.read(cluster)
        expected = cluster.hosts_in("storm_supervisor")
        joined = [h.name for h in expected if state.supervisor_on((address(h), h.name))]
        ok = state.leader is not None and len(joined) == len(expected) and bool(expected)
        detail = (f"Nimbus leader {state.leader or 'none'} ({len(state.nimbuses)} registered), "
                  f"{len(joined)}/{len(expected)} supervisors registered in ZooKeeper {state.root}")
        data: dict[str, Any] = {"leader": state.leader, "nimbuses": state.nimbuses, "supervisors": joined}
        if ok and storm_ui_deployed(cluster):
            base = storm_ui_url(cluster)
            ui = http_json(f"{base}/api/v1/cluster/summary")
            data["ui"] = ui
            detail += (f"; UI: {ui.get('supervisors')} supervisors, {ui.get('slotsFree')}/"
                       f"{ui.get('slotsTotal')} slots free, Storm {ui.get('stormVersion')}")
        return ok, detail, data

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
