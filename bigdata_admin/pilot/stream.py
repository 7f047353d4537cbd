"""The pilot's real-time path: a Storm topology from Kafka into HBase and Redis (PILOT.md section 2).

Submitted as Flux YAML with the connectors Storm publishes on Maven Central, so nothing is built on
the user's machine and no Java is compiled anywhere:

    KafkaSpout (storm-kafka-client; topic SmartCar-Topic, consumer group smartcar-stream,
      | at-least-once, offsets committed to Kafka)  --fields grouping on the record key (car number)-->
    smartcar bolt (Python, multilang: resources/smartcar_bolt.py; row key, 30-s windows, Redis)
      | --shuffle-->
    HBaseBolt (storm-hbase; DriverCarInfo, cf1, batched puts)

The topology jar is flux-core (the shaded Flux runner Storm publishes) with `resources/storm.py`
(org.apache.storm:multilang-python) and `resources/smartcar_bolt.py` added: Storm extracts
`resources/` of the topology jar for multilang bolts. The other connector jars travel with
`storm jar --jars` from the `storm-connectors-<version>-maven.tar.gz` bundle (`artifacts fetch storm`).

Nothing is lost or duplicated across a stop and start: the bolt acks a record only when its window
closes, the spout commits only acked offsets, HBase keeps one row per row key and Redis a set.
"""

from __future__ import annotations

import hashlib
import io
import shlex
import subprocess
import tarfile
import time
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from bigdata_admin.errors import BadInput, RunFailed

if TYPE_CHECKING:
    from bigdata_admin.inventory import Cluster, Host

TOPOLOGY = "smartcar-stream"
"""The topology's name in Storm."""
CONSUMER_GROUP = "smartcar-stream"
"""The Kafka consumer group of the topology's spout (its committed offsets survive a restart)."""
TOPIC_PARTITIONS = 3
"""Partitions of SmartCar-Topic when `pilot stream start` creates it."""
REMOTE_DIR = "/var/tmp/bigdata-admin-stream"
"""Where the topology jar, its YAML and the connector jars go on the Nimbus host."""
BOLT_RESOURCE = Path(__file__).with_name("resources") / "smartcar_bolt.py"
HBASE_COLUMNS = ["date", "car_number", "speed_pedal", "break_pedal", "steer_angle", "direct_light", "speed",
                 "area_number"]
SUBMIT_TIMEOUT = 240.0
"""Seconds for `storm jar` (uploads the connector jars to Nimbus's blob store)."""
STRING_DESERIALIZER = "org.apache.kafka.common.serialization.StringDeserializer"
ACTIVE_TIMEOUT = 240.0
"""Seconds for a submitted topology to show ACTIVE with a worker."""


@dataclass
class StreamSettings:
    """What the topology is told. Ports and names come from the inventory (`settings_for`)."""

    bootstrap: list[str]
    """Kafka brokers as host:port, by inventory name (workers resolve cluster names)."""
    zookeeper: list[str]
    """ZooKeeper hosts by inventory name, for HBase's client."""
    zookeeper_port: int
    hbase_znode_parent: str
    redis_host: str
    redis_port: int
    redis_password: str | None = None
    topic: str = "SmartCar-Topic"
    table: str = "DriverCarInfo"
    window_s: int = 30
    speed_limit: float = 80.0
    idle_s: float = 10.0
    """Processing-time seconds without a record from a Kafka partition after which its open windows
    close (the end of a log)."""
    expire_s: int = 7 * 24 * 3600
    workers: int = 1
    spouts: int = TOPIC_PARTITIONS
    bolts: int = 2
    hbase_bolts: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


def settings_for(cluster: Cluster, **overrides: Any) -> StreamSettings:
    """The topology's settings from the inventory. Raises BadInput naming a missing group."""
    from bigdata_admin.health.core import port, read_secret

    for group, what in (("storm_nimbus", "Storm (Nimbus)"), ("storm_supervisor", "Storm supervisors"),
                        ("kafka_broker", "Kafka brokers"), ("hbase_master", "HBase"),
                        ("zookeeper", "ZooKeeper"), ("redis", "Redis")):
        if not cluster.hosts_in(group):
            raise BadInput(f"the real-time path needs {what}, and the inventory has no {group} host",
                           fix=f"Add a host under `{group}:` and deploy it, or leave out `pilot stream`.")
    redis = cluster.hosts_in("redis")[0]
    zk = cluster.hosts_in("zookeeper")
    return StreamSettings(
        bootstrap=[f"{h.name}:{port(cluster, 'kafka_broker_port', h)}"
                   for h in cluster.hosts_in("kafka_broker")],
        zookeeper=[h.name for h in zk], zookeeper_port=port(cluster, "zookeeper_client_port", zk[0]),
        hbase_znode_parent=str(cluster.var("hbase_znode_parent", "/hbase")),
        redis_host=redis.name, redis_port=port(cluster, "redis_port", redis),
        redis_password=read_secret(cluster, "redis_password"), **overrides)


def flux_yaml(s: StreamSettings) -> str:
    """The Flux topology (YAML text). Config keys `smartcar.*` are read by the Python bolt."""
    spout_builder = {
        "id": "spoutConfigBuilder",
        "className": "org.apache.storm.kafka.spout.KafkaSpoutConfig$Builder",
        "constructorArgs": [",".join(s.bootstrap), [s.topic]],
        "configMethods": [
            {"name": "setProp", "args": ["group.id", CONSUMER_GROUP]},
            # The Builder's constructor (unlike KafkaSpoutConfig.builder()) sets no deserializers.
            {"name": "setProp", "args": ["key.deserializer", STRING_DESERIALIZER]},
            {"name": "setProp", "args": ["value.deserializer", STRING_DESERIALIZER]},
            {"name": "setProp", "args": ["max.poll.records", 2000]},
            {"name": "setFirstPollOffsetStrategy", "args": ["UNCOMMITTED_EARLIEST"]},
            {"name": "setProcessingGuarantee", "args": ["AT_LEAST_ONCE"]},
            {"name": "setOffsetCommitPeriodMs", "args": [2000]},
        ],
    }
    config: dict[str, Any] = {
        "topology.workers": s.workers,
        # Records wait in their window for up to window + idle seconds before they are acked.
        "topology.message.timeout.secs": max(120, 4 * (s.window_s + int(s.idle_s))),
        "topology.max.spout.pending": 20000,
        "topology.component.resources.onheap.memory.mb": 128.0,
        "topology.worker.childopts": "-Xmx768m",
        "hbase.conf": {
            "hbase.zookeeper.quorum": ",".join(s.zookeeper),
            "hbase.zookeeper.property.clientPort": s.zookeeper_port,
            "zookeeper.znode.parent": s.hbase_znode_parent,
        },
        "smartcar.redis.host": s.redis_host,
        "smartcar.redis.port": s.redis_port,
        "smartcar.window.s": s.window_s,
        "smartcar.speed.limit": s.speed_limit,
        "smartcar.window.idle.s": s.idle_s,
        "smartcar.redis.expire.s": s.expire_s,
        **s.extra,
    }
    if s.redis_password:
        config["smartcar.redis.password"] = s.redis_password
    topology = {
        "name": TOPOLOGY,
        "config": config,
        "components": [
            spout_builder,
            {"id": "spoutConfig", "className": "org.apache.storm.kafka.spout.KafkaSpoutConfig",
             "constructorArgs": [{"ref": "spoutConfigBuilder"}]},
            {"id": "columns", "className": "org.apache.storm.tuple.Fields",
             "constructorArgs": [HBASE_COLUMNS]},
            {"id": "hbaseMapper", "className": "org.apache.storm.hbase.bolt.mapper.SimpleHBaseMapper",
             "configMethods": [{"name": "withRowKeyField", "args": ["rowkey"]},
                               {"name": "withColumnFields", "args": [{"ref": "columns"}]},
                               {"name": "withColumnFamily", "args": ["cf1"]}]},
        ],
        "spouts": [{"id": "kafka", "className": "org.apache.storm.kafka.spout.KafkaSpout",
                    "constructorArgs": [{"ref": "spoutConfig"}], "parallelism": s.spouts}],
        "bolts": [
            {"id": "smartcar", "className": "org.apache.storm.flux.wrappers.bolts.FluxShellBolt",
             "constructorArgs": [["python3", "smartcar_bolt.py"], ["rowkey", *HBASE_COLUMNS]],
             "configMethods": [{"name": "addComponentConfig", "args": ["topology.tick.tuple.freq.secs", 1]}],
             "parallelism": s.bolts},
            {"id": "hbase", "className": "org.apache.storm.hbase.bolt.HBaseBolt",
             "constructorArgs": [s.table, {"ref": "hbaseMapper"}],
             "configMethods": [{"name": "withConfigKey", "args": ["hbase.conf"]},
                               {"name": "withBatchSize", "args": [1000]},
                               {"name": "withFlushIntervalSecs", "args": [1]}],
             "parallelism": s.hbase_bolts},
        ],
        "streams": [
            {"from": "kafka", "to": "smartcar", "grouping": {"type": "FIELDS", "args": ["key"]}},
            {"from": "smartcar", "to": "hbase", "grouping": {"type": "SHUFFLE"}},
        ],
    }
    return yaml.safe_dump(topology, sort_keys=False)


# --------------------------------------------------------------------------------------------------
# The jars

@dataclass
class Payload:
    """The files `storm jar` needs on the Nimbus host: name -> bytes, and the order of `--jars`."""

    files: dict[str, bytes]
    jars: list[str]

    def manifest(self) -> str:
        return "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n"
                       for name, data in sorted(self.files.items()))


def topology_jar(flux_core: bytes, storm_py: bytes, bolt: bytes) -> bytes:
    """flux-core with `resources/storm.py` and `resources/smartcar_bolt.py` added (a reproducible zip)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(flux_core)) as src, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if not info.filename.startswith("resources/"):
                dst.writestr(info, src.read(info))
        for name, data in (("resources/", b""), ("resources/storm.py", storm_py),
                           ("resources/smartcar_bolt.py", bolt)):
            zi = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
            zi.external_attr = (0o40755 if name.endswith("/") else 0o100644) << 16
            dst.writestr(zi, data)
    return out.getvalue()


def payload(cache: Path, storm_version: str, settings: StreamSettings) -> Payload:
    """Read flux-core and the connectors bundle from the artifact cache; build the topology jar.

    Raises RunFailed naming `artifacts fetch storm` when either is missing."""
    flux = cache / f"flux-core-{storm_version}.jar"
    bundle = cache / f"storm-connectors-{storm_version}-maven.tar.gz"
    missing = [p.name for p in (flux, bundle) if not p.is_file()]
    if missing:
        raise RunFailed(f"the stream topology needs {', '.join(missing)} in the artifact cache {cache}",
                        fix="Fetch them: `bigdata-admin artifacts fetch -i INVENTORY storm`.")
    jars: dict[str, bytes] = {}
    with tarfile.open(bundle) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.endswith(".jar") and "/lib/" in member.name:
                f = tar.extractfile(member)
                if f is not None:
                    jars[member.name.rsplit("/", 1)[1]] = f.read()
    multilang = next((n for n in jars if n.startswith("multilang-python-")), None)
    if multilang is None:
        raise RunFailed(f"{bundle.name} has no multilang-python jar", fix="Delete it and fetch it again.")
    with zipfile.ZipFile(io.BytesIO(jars.pop(multilang))) as z:
        storm_py = z.read("resources/storm.py")
    topo = topology_jar(flux.read_bytes(), storm_py, BOLT_RESOURCE.read_bytes())
    files = {"smartcar-stream.jar": topo, "smartcar-stream.yaml": flux_yaml(settings).encode(), **jars}
    return Payload(files, sorted(jars))


# --------------------------------------------------------------------------------------------------
# On the Nimbus host

def _ssh(host: Host, command: str, *, timeout: float,
         stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    from bigdata_admin.health import remote

    argv = ["sh", "-c", command] if remote.is_local(host) else [*remote.ssh_argv(host), "--", command]
    try:
        return subprocess.run(argv, input=stdin, capture_output=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise RunFailed(f"`{command[:80]}` on {host.name} timed out after {timeout:g} s",
                        fix=f"Check that {host.name} is up (`bigdata-admin status`).") from exc


def upload(host: Host, p: Payload, directory: str = REMOTE_DIR) -> bool:
    """Put the payload under `directory` on `host` unless its manifest there is the same.
    Returns True when files were sent. Raises RunFailed."""
    manifest = p.manifest()
    d = shlex.quote(directory)
    have = _ssh(host, f"cat {d}/MANIFEST 2>/dev/null || true", timeout=60)
    if have.returncode == 0 and have.stdout.decode(errors="replace") == manifest:
        return False
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in sorted({**p.files, "MANIFEST": manifest.encode()}.items()):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    res = _ssh(host, f"rm -rf {d} && mkdir -p {d} && tar -x -C {d}", timeout=300, stdin=buf.getvalue())
    if res.returncode != 0:
        raise RunFailed(f"could not copy the topology to {host.name}:{directory}: "
                        f"{res.stderr.decode(errors='replace').strip()[-400:]}",
                        fix=f"Check the disk and the SSH user's rights on {host.name}.")
    return True


def submit_command(storm_cli: str, p: Payload, directory: str = REMOTE_DIR) -> str:
    """`storm jar` of the Flux topology with the connector jars (run on the Nimbus host)."""
    jars = ",".join(f"{directory}/{j}" for j in p.jars)
    return (f"cd {shlex.quote(directory)} && {shlex.quote(storm_cli)} jar --jars {shlex.quote(jars)} "
            "smartcar-stream.jar org.apache.storm.flux.Flux --remote smartcar-stream.yaml")


def ensure_topic(bootstrap: list[str], topic: str, partitions: int = TOPIC_PARTITIONS,
                 replication: int | None = None) -> str:
    """Create `topic` when missing (replication min(3, brokers)). Returns "exists" or "created"."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bigdata-admin-stream",
                             request_timeout_ms=30000)
    try:
        if topic in set(admin.list_topics()):
            return "exists"
        rf = replication or min(3, len(bootstrap))
        try:
            admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=rf)])
        except TopicAlreadyExistsError:
            return "exists"
        return "created"
    finally:
        admin.close()


def consumer_lag(bootstrap: list[str], topic: str, group: str = CONSUMER_GROUP) -> dict[str, int]:
    """{"end": records in the topic, "committed": committed by the group, "lag": end - committed}."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient
    from kafka.errors import CoordinatorNotAvailableError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="bigdata-admin-stream")
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="bigdata-admin-stream")
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(parts)]
        ends = consumer.end_offsets(tps) if tps else {}
        try:
            offsets = admin.list_group_offsets(group).get(group, {})  # kafka-python 3's API
        except CoordinatorNotAvailableError:  # the group has committed nothing yet
            offsets = {}
        committed = {tp: meta.offset for tp, meta in offsets.items() if tp.topic == topic}
        end = sum(ends.values())
        done = sum(max(0, committed.get(tp, 0)) for tp in tps)
        return {"end": end, "committed": done, "lag": end - done}
    finally:
        consumer.close()
        admin.close()


def _storm(host: Host, command: str, timeout: float) -> tuple[int, str]:
    res = _ssh(host, command, timeout=timeout)
    return res.returncode, (res.stdout + res.stderr).decode(errors="replace")


def storm_cli(cluster: Cluster) -> str:
    from bigdata_admin.health.smoke_core import STORM_CLI

    return str(cluster.var("pilot_storm_cli", STORM_CLI))


def listed(cluster: Cluster) -> dict[str, Any] | None:
    """The topology's `storm list` row on the Nimbus host, or None. Raises RunFailed."""
    from bigdata_admin.health.smoke_core import storm_list_rows

    nimbus = cluster.hosts_in("storm_nimbus")[0]
    rc, text = _storm(nimbus, f"{shlex.quote(storm_cli(cluster))} list", 120)
    if rc != 0:
        raise RunFailed(f"`storm list` on {nimbus.name} failed (exit {rc}): {text.strip()[-400:]}",
                        fix="Check Nimbus: `bigdata-admin status -i INVENTORY`.")
    return storm_list_rows(text).get(TOPOLOGY)


def ensure_table(cluster: Cluster) -> str:
    """Create `DriverCarInfo` pre-split when missing (as `pilot load --to hbase`)."""
    from bigdata_admin.pilot import endpoints, load

    conn = endpoints.hbase(cluster)
    try:
        return load.ensure_hbase_table(conn, load.cluster_hbase_shell(cluster))
    finally:
        conn.close()


def start(cluster: Cluster, cache: Path, *, note: Callable[[str], None] = lambda _m: None,
          **overrides: Any) -> dict[str, Any]:
    """Submit the topology (a running one is left as it is). Creates the topic and the pre-split
    table when missing. Returns {"status": "started" | "running", ...}. Raises BadInput, RunFailed."""
    s = settings_for(cluster, **overrides)
    row = listed(cluster)
    if row is not None:
        return {**row, "storm_status": row["status"], "status": "running", "topology": TOPOLOGY}
    from bigdata_admin.pilot.endpoints import kafka_bootstrap

    note(f"Kafka topic {s.topic}: {ensure_topic(kafka_bootstrap(cluster), s.topic)}")
    note(f"HBase table {s.table}: {ensure_table(cluster)}")
    p = payload(cache, str(cluster.version("storm")), s)
    nimbus = cluster.hosts_in("storm_nimbus")[0]
    sent = upload(nimbus, p)
    note(f"topology and {len(p.jars)} connector jars {'copied to' if sent else 'already on'} {nimbus.name}")
    t0 = time.monotonic()
    rc, text = _storm(nimbus, submit_command(storm_cli(cluster), p), SUBMIT_TIMEOUT)
    if rc != 0:
        raise RunFailed(f"`storm jar` on {nimbus.name} failed (exit {rc}): {text.strip()[-800:]}",
                        fix="Read the error above; the Storm UI and Nimbus's log have more.")
    deadline = time.monotonic() + ACTIVE_TIMEOUT
    while time.monotonic() < deadline:
        row = listed(cluster)
        if row and row["status"] == "ACTIVE" and row["workers"] > 0:
            return {**row, "storm_status": row["status"], "status": "started", "topology": TOPOLOGY,
                    "seconds": round(time.monotonic() - t0, 1)}
        time.sleep(3)
    raise RunFailed(f"{TOPOLOGY} was submitted but is not ACTIVE with a worker after {ACTIVE_TIMEOUT:g} s "
                    f"(`storm list`: {row})", fix="Look at the supervisors' worker logs.")


def stop(cluster: Cluster, wait_s: int = 10) -> dict[str, Any]:
    """Kill the topology (after `wait_s` seconds of deactivation) and wait until it is gone.
    Returns {"status": "stopped" | "not running"}. Raises RunFailed."""
    settings_for(cluster)
    if listed(cluster) is None:
        return {"status": "not running", "topology": TOPOLOGY}
    nimbus = cluster.hosts_in("storm_nimbus")[0]
    kill = f"{shlex.quote(storm_cli(cluster))} kill {TOPOLOGY} -w {int(wait_s)}"
    rc, text = _storm(nimbus, kill, 180)
    if rc != 0 and "NotAliveException" not in text:
        raise RunFailed(f"`storm kill {TOPOLOGY}` failed (exit {rc}): {text.strip()[-400:]}",
                        fix="Check Nimbus: `bigdata-admin status -i INVENTORY`.")
    deadline = time.monotonic() + wait_s + 120
    while time.monotonic() < deadline:
        if listed(cluster) is None:
            return {"status": "stopped", "topology": TOPOLOGY}
        time.sleep(3)
    raise RunFailed(f"{TOPOLOGY} is still listed {wait_s + 120} s after `storm kill`",
                    fix="Look at Nimbus's log; `storm list` on the Nimbus host shows its state.")


def status(cluster: Cluster) -> dict[str, Any]:
    """The topology's state: `storm list` row, Kafka lag of its consumer group, the UI's counters."""
    s = settings_for(cluster)
    from bigdata_admin.pilot.endpoints import kafka_bootstrap

    row = listed(cluster)
    out: dict[str, Any] = {"topology": TOPOLOGY, "running": row is not None, "storm": row}
    try:
        out["kafka"] = consumer_lag(kafka_bootstrap(cluster), s.topic)
    except Exception as exc:  # the topic may not exist yet
        out["kafka"] = {"error": str(exc)}
    if row is not None:
        out["components"] = ui_components(cluster, str(row["id"]))
    return out


UI_COUNTERS = ("emitted", "acked", "failed", "executed", "completeLatency", "processLatency", "capacity",
               "lastError")


def ui_components(cluster: Cluster, topology_id: str) -> dict[str, dict[str, Any]]:
    """Per spout/bolt all-time counters from the Storm UI's REST API ({} without a UI)."""
    from bigdata_admin.health.core import http_json
    from bigdata_admin.health.smoke_core import storm_ui_deployed, storm_ui_url

    if not storm_ui_deployed(cluster):
        return {}
    url = f"{storm_ui_url(cluster)}/api/v1/topology/{topology_id}?window=:all-time"
    try:
        data = http_json(url, timeout=10)
    except (OSError, ValueError):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for kind in ("spouts", "bolts"):
        for c in data.get(kind) or []:
            name = c.get("spoutId") or c.get("boltId")
            out[str(name)] = {k: c.get(k) for k in UI_COUNTERS if k in c}
    return out


# --------------------------------------------------------------------------------------------------
# The rule, recomputed

def overspeeding(records: Iterable[list[str]], window_s: int = 30,
                 limit: float = 80.0) -> dict[str, set[str]]:
    """What the topology must put into Redis for these driving records: day -> {"<car>-<window start>"}.

    The rule (PILOT.md section 2): a car's average speed over a 30-second tumbling window above
    80 km/h. Windows are in event time and aligned to the clock; the member is the car and the
    window's start (`yyyyMMddHHmmss`). Written apart from the bolt's code, to check it.
    """
    from datetime import datetime, timedelta

    sums: dict[tuple[str, datetime], list[int]] = {}
    for f in records:
        t = datetime.strptime(f[0], "%Y%m%d%H%M%S")
        start = t - timedelta(seconds=(t.hour * 3600 + t.minute * 60 + t.second) % window_s)
        acc = sums.setdefault((f[1], start), [0, 0])
        acc[0] += int(f[6])
        acc[1] += 1
    out: dict[str, set[str]] = {}
    for (car, start), (total, count) in sums.items():
        if total / count > limit:
            out.setdefault(start.strftime("%Y%m%d"), set()).add(f"{car}-{start.strftime('%Y%m%d%H%M%S')}")
    return out


# --------------------------------------------------------------------------------------------------
# pilot watch

NEW_SHOWN = 50
"""Newly flagged members a `pilot watch` sample lists (the newest; `new_count` counts them all)."""


class Watcher:
    """Samples the stream for `pilot watch`: Kafka's end offsets (records in), the consumer group's
    committed offsets (records through the topology), the lag, and the day's overspeeding set in Redis."""

    def __init__(self, cluster: Cluster, day: str, recent: int = 12) -> None:
        from bigdata_admin.pilot.endpoints import kafka_bootstrap

        self.day = day
        self.bootstrap = kafka_bootstrap(cluster)
        self.redis = redis_client(cluster)
        self.last: tuple[float, int, int] | None = None
        self.seen: set[str] = set()
        self.recent: list[str] = []
        self.keep = recent
        self.state: dict[str, Any] = {}

    def sample(self) -> dict[str, Any]:
        """One sample: {"time", "in_per_s", "out_per_s", "end", "committed", "lag", "overspeeding",
        "new_count", "new" (at most NEW_SHOWN, the newest)}; rates are None on the first sample."""
        now = time.time()
        lag = consumer_lag(self.bootstrap, "SmartCar-Topic")
        members = {m.decode() if isinstance(m, bytes) else str(m) for m in self.redis.smembers(self.day)}
        new = sorted(members - self.seen)
        self.seen |= members
        self.recent = (self.recent + new)[-self.keep:]
        rates: tuple[float | None, float | None] = (None, None)
        if self.last is not None:
            dt = max(1e-6, now - self.last[0])
            rates = ((lag["end"] - self.last[1]) / dt, (lag["committed"] - self.last[2]) / dt)
        self.last = (now, lag["end"], lag["committed"])
        self.state = {"time": round(now, 3), "in_per_s": None if rates[0] is None else round(rates[0], 1),
                      "out_per_s": None if rates[1] is None else round(rates[1], 1), **lag,
                      "overspeeding": len(members), "new_count": len(new), "new": new[-NEW_SHOWN:]}
        return self.state

    def render(self) -> Any:
        """A rich renderable of the last sample."""
        from rich.table import Table

        s = self.state
        table = Table(title=f"{TOPOLOGY}: SmartCar-Topic -> HBase DriverCarInfo, Redis {self.day}",
                      show_header=False)

        def rate(v: float | None) -> str:
            return "-" if v is None else f"{v:,.0f} records/s"

        table.add_row("into Kafka", rate(s.get("in_per_s")))
        table.add_row("through the topology (committed)", rate(s.get("out_per_s")))
        table.add_row("consumer lag", f"{s.get('lag', 0):,} records")
        table.add_row("overspeeding windows today", f"{s.get('overspeeding', 0):,}")
        table.add_row("latest flagged", ", ".join(self.recent[-6:]) or "-")
        return table


# --------------------------------------------------------------------------------------------------
# What the topology wrote

def day_row_filter(day: str) -> str:
    """HBase filter for DriverCarInfo rows of `day`: the row key's characters 7-14 are the day reversed."""
    return f"RowFilter(=, 'regexstring:^.{{6}}{day[::-1]}-')"


SCAN_TIMEOUT_MS = 300_000
"""Per-call timeout of the day's filtered scans: the filter reads the whole table, on a busy cluster
one batch can take minutes."""


def day_row_count(cluster: Cluster, day: str) -> int:
    """Rows of `day` in DriverCarInfo (keys only, through the Thrift server)."""
    from bigdata_admin.pilot import endpoints

    conn = endpoints.hbase(cluster, timeout_ms=SCAN_TIMEOUT_MS)
    try:
        table = conn.table(StreamSettings.table)
        flt = f"{day_row_filter(day)} AND KeyOnlyFilter()"
        return sum(1 for _ in table.scan(filter=flt, batch_size=2000))
    finally:
        conn.close()


def redis_client(cluster: Cluster) -> Any:
    """A redis-py client of the inventory's first Redis host."""
    import redis

    from bigdata_admin.health.core import address, port, read_secret

    settings_for(cluster)
    host = cluster.hosts_in("redis")[0]
    return redis.Redis(host=address(host), port=port(cluster, "redis_port", host),
                       password=read_secret(cluster, "redis_password"), socket_timeout=30)


def overspeeding_in_redis(cluster: Cluster, day: str) -> set[str]:
    """The day's overspeeding set as Redis holds it."""
    return {m.decode() if isinstance(m, bytes) else str(m) for m in redis_client(cluster).smembers(day)}


def wait_for_day(cluster: Cluster, day: str, records_expected: int, timeout: float = 900,
                 note: Callable[[int], None] | None = None) -> int:
    """Poll until the spout's consumer group has no lag (every record read and acked, so written by
    HBaseBolt) and DriverCarInfo holds `records_expected` rows of `day`. The lag is cheap to read; the
    rows are counted (a filtered scan of the whole table) only once it is 0. `note(lag)` reports
    progress. Returns the row count (less than expected on timeout)."""
    from kafka.errors import KafkaError

    from bigdata_admin.pilot.endpoints import kafka_bootstrap

    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        try:
            lag = consumer_lag(kafka_bootstrap(cluster), "SmartCar-Topic")["lag"]
        except KafkaError as exc:
            # e.g. NotCoordinatorError while the group's coordinator moves or loads (a busy cluster):
            # look again; anything else is a real failure
            if not getattr(exc, "retriable", False):
                raise
            time.sleep(3)
            continue
        if note:
            note(lag)
        if lag == 0:
            count = day_row_count(cluster, day)
            if count >= records_expected:
                return count
        time.sleep(3)
    return count
