"""Decommission and recommission one worker host, service by service (issue 15 item 3).

`decommission(cluster, HOST, services)` takes the host's worker daemons out of service without losing
data, in this order (HBase first: its RegionServers write through HDFS; HDFS last):

- hbase: RegionMover unloads every region to the other RegionServers (`hbase regionmover -r HOST -o
  unload`), wait until the RegionServer holds 0 regions, stop it;
- kafka: every partition replica on the broker is reassigned to the other brokers (a plan computed
  from describe_topics: the broker replaced in place, by the least loaded broker not yet a replica), wait
  until no reassignment is pending and every partition is in sync, stop the broker. The broker is not
  unregistered (`kafka-cluster unregister`): a stopped KRaft broker stays fenced and holds no replica,
  and recommission starts it again under the same node id;
- yarn: graceful decommission (the host into the ResourceManager's nodes exclude file, `yarn rmadmin
  -refreshNodes -g TIMEOUT -client`), wait until the RM lists it DECOMMISSIONED, stop the NodeManager;
- hdfs: the host into the NameNodes' exclude file (dfs.hosts.exclude), `hdfs dfsadmin -refreshNodes`
  (all NameNodes of an HA nameservice), wait until the NameNode reports it Decommissioned with 0 missing
  and 0 under-replicated blocks, stop the DataNode.

`recommission` reverses each (HDFS first): out of the exclude file, refreshNodes, start the daemon, wait
until it is back in service (DataNode In Service, NodeManager RUNNING, RegionServer registered and
regions balanced back by the master, broker registered; Kafka replicas are not moved back).

Refusals (BadInput, exit 2, nothing done): a host not in the inventory, a service it does not run, an
HDFS replication (dfs.replication or a file's) above the DataNodes that would stay in service, a Kafka
topic whose replication factor is above the brokers that would stay, the last NodeManager or
RegionServer. The exclude files are the NameNodes' and the ResourceManager's own: the hdfs role creates
them empty once and never rewrites them, so a later deploy does not re-admit a decommissioned host.
"""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from bigdata_admin import deployment
from bigdata_admin.dayops import GateCheck, wait_gate
from bigdata_admin.errors import BadInput, RunFailed
from bigdata_admin.inventory import Cluster, Host

WORKER_GROUPS: dict[str, str] = {"hdfs": "hdfs_datanode", "yarn": "yarn_nodemanager",
                                 "hbase": "hbase_regionserver", "kafka": "kafka_broker"}
"""Service -> the worker group decommission takes a host out of."""
DECOMMISSION_ORDER = ("hbase", "kafka", "yarn", "hdfs")
"""Order of the services on one host; recommission runs it backwards."""
DEFAULT_TIMEOUT_S = 600.0
"""Seconds one service's wait may take (block re-replication, region moves, reassignments)."""
INTERVAL_S = 3.0
"""Seconds between two looks."""
FILE_SCAN_LIMIT = 5000
"""At most this many HDFS entries are walked to find the highest file replication."""


# --- small helpers ---------------------------------------------------------------------------------------

def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _literal(cluster: Cluster, name: str, default: str) -> str:
    """An inventory variable when it is a literal (not a Jinja expression), else `default`."""
    value = cluster.var(name)
    return str(value) if value not in (None, "") and "{{" not in str(value) else default


def hadoop_conf_dir(cluster: Cluster) -> str:
    """HADOOP_CONF_DIR on the hosts (the hdfs role's hdfs_conf_dir)."""
    root = _literal(cluster, "bigdata_config_root", "/etc/bigdata")
    return _literal(cluster, "hdfs_conf_dir", f"{root}/hadoop")


def exclude_files(cluster: Cluster) -> dict[str, str]:
    """{"hdfs": the NameNodes' dfs.hosts.exclude file, "yarn": the ResourceManager's nodes exclude file}
    (paths on the hosts; the hdfs role's hdfs_hosts_exclude_file / hdfs_yarn_nodes_exclude_file)."""
    conf = hadoop_conf_dir(cluster)
    return {"hdfs": _literal(cluster, "hdfs_hosts_exclude_file", f"{conf}/dfs.exclude"),
            "yarn": _literal(cluster, "hdfs_yarn_nodes_exclude_file", f"{conf}/yarn.exclude")}


def parse_exclude(text: str) -> list[str]:
    """Host names of an exclude file (one per line or separated by blanks; `#` starts a comment)."""
    out: list[str] = []
    for line in text.splitlines():
        for word in line.split("#", 1)[0].split():
            if word not in out:
                out.append(word)
    return out


def render_exclude(hosts: Iterable[str]) -> str:
    """Exclude file content for these host names (sorted, one per line)."""
    names = sorted(set(hosts))
    return "".join(f"{h}\n" for h in names)


# --- pure verdicts ---------------------------------------------------------------------------------------

def datanode_admin_state(info: dict[str, Any], host: Host) -> tuple[str, dict[str, Any]]:
    """(adminState, entry) of the DataNode on `host` from the NameNodeInfo bean: `In Service`,
    `Decommission In Progress`, `Decommissioned`, ... from LiveNodes, `dead` (with its
    `decommissioned` flag in the entry) from DeadNodes, `unknown` when the NameNode does not list it."""
    from bigdata_admin.dayops import _json_field, live_datanode

    live = _json_field(info.get("LiveNodes"))
    entry = live_datanode(live, host)
    if entry is not None:
        return str(entry.get("adminState") or "unknown"), entry
    dead = live_datanode(_json_field(info.get("DeadNodes")), host)
    if dead is not None:
        return "dead", dead
    return "unknown", {}


def hdfs_decommissioned_verdict(info: dict[str, Any], fsn: dict[str, Any], host: Host) -> GateCheck:
    """Passes when the NameNode reports the DataNode Decommissioned and no block is missing or
    under-replicated (FSNamesystem MissingBlocks, UnderReplicatedBlocks)."""
    state, entry = datanode_admin_state(info, host)
    missing, under = _int(fsn.get("MissingBlocks")), _int(fsn.get("UnderReplicatedBlocks"))
    data = {"admin_state": state, "missing_blocks": missing, "under_replicated_blocks": under}
    if not info:
        return GateCheck(False, "NameNode answering", "no NameNodeInfo bean", data)
    decommissioned = state == "Decommissioned" or (state == "dead" and bool(entry.get("decommissioned")))
    if not decommissioned:
        return GateCheck(False, f"DataNode {host.name} Decommissioned", f"admin state: {state}", data)
    if missing or under:
        return GateCheck(False, "blocks re-replicated",
                         f"{missing} missing, {under} under-replicated block(s)", data)
    return GateCheck(True, f"DataNode {host.name} Decommissioned",
                     "Decommissioned; 0 missing, 0 under-replicated blocks", data)


def hdfs_in_service_verdict(info: dict[str, Any], fsn: dict[str, Any], host: Host) -> GateCheck:
    """Passes when the DataNode is live and In Service at the NameNode, with no block missing."""
    state, _entry = datanode_admin_state(info, host)
    missing = _int(fsn.get("MissingBlocks"))
    data = {"admin_state": state, "missing_blocks": missing,
            "under_replicated_blocks": _int(fsn.get("UnderReplicatedBlocks"))}
    if state != "In Service":
        return GateCheck(False, f"DataNode {host.name} In Service", f"admin state: {state}", data)
    if missing:
        return GateCheck(False, "no missing blocks", f"{missing} missing block(s)", data)
    return GateCheck(True, f"DataNode {host.name} In Service", "In Service, 0 missing blocks", data)


def yarn_node_state(nodes: list[dict[str, Any]], host: Host) -> str:
    """The RM's state of the NodeManager on `host` (/ws/v1/cluster/nodes entries; RUNNING wins over an
    older DECOMMISSIONED entry of the same host), or `unknown`."""
    states = [str(n.get("state")) for n in nodes
              if str(n.get("nodeHostName") or str(n.get("id", "")).rsplit(":", 1)[0]) in host.names]
    if "RUNNING" in states:
        return "RUNNING"
    return states[0] if states else "unknown"


def kafka_move_plan(topics: list[dict[str, Any]], leaving: int, remaining: list[int]
                    ) -> dict[tuple[str, int], list[int]]:
    """(topic, partition) -> new replica list for every partition with a replica on broker `leaving`:
    the broker replaced in place by the remaining broker with the fewest replicas that is not already a
    replica of it. Raises BadInput when a partition has more replicas than `remaining` brokers."""
    load = dict.fromkeys(remaining, 0)
    for topic in topics:
        for part in topic.get("partitions") or []:
            for b in part.get("replica_nodes", part.get("replicas")) or []:
                if b in load:
                    load[b] += 1
    plan: dict[tuple[str, int], list[int]] = {}
    for topic in sorted(topics, key=lambda t: str(t.get("name", t.get("topic")))):
        name = str(topic.get("name", topic.get("topic")))
        for part in sorted(topic.get("partitions") or [],
                           key=lambda p: _int(p.get("partition_index", p.get("partition")))):
            replicas = [int(b) for b in part.get("replica_nodes", part.get("replicas")) or []]
            if leaving not in replicas:
                continue
            choices = [b for b in remaining if b not in replicas]
            if not choices:
                index = part.get("partition_index", part.get("partition"))
                raise BadInput(f"topic {name!r} partition {index} "
                               f"has {len(replicas)} replicas, more than the {len(remaining)} broker(s) "
                               f"that would remain", fix="Add a broker first, or lower the topic's "
                               "replication factor (kafka-reassign-partitions).")
            new = min(choices, key=lambda b: (load[b], b))
            load[new] += 1
            plan[(name, _int(part.get("partition_index", part.get("partition"))))] = \
                [new if b == leaving else b for b in replicas]
    return plan


def kafka_max_replication(topics: list[dict[str, Any]]) -> tuple[int, str]:
    """(the highest replication factor of any partition, its topic) from describe_topics()."""
    best, which = 0, ""
    for topic in topics:
        for part in topic.get("partitions") or []:
            n = len(part.get("replica_nodes", part.get("replicas")) or [])
            if n > best:
                best, which = n, str(topic.get("name", topic.get("topic")))
    return best, which


def kafka_back_verdict(brokers: list[dict[str, Any]], topics: list[dict[str, Any]], expected: list[Host],
                       host: Host) -> GateCheck:
    """After a broker's start: the broker of `host` registered and not fenced (a stopped KRaft broker
    stays listed, fenced), then dayops.kafka_verdict (every broker registered, partitions in sync)."""
    from bigdata_admin.dayops import kafka_verdict

    mine = [b for b in brokers if str(b.get("host")) in host.names]
    if not mine or any(b.get("is_fenced") for b in mine):
        return GateCheck(False, f"broker on {host.name} unfenced",
                         "fenced (not started yet)" if mine else "not registered", {"brokers": len(brokers)})
    return kafka_verdict(brokers, topics, expected)


# --- report ----------------------------------------------------------------------------------------------

@dataclass
class ServiceStep:
    service: str
    ok: bool
    gate: str
    """The last check passed, or the one that stopped the operation."""
    detail: str
    seconds: float = 0.0
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class DecomReport:
    action: str
    """`decommission` or `recommission`."""
    host: str
    cluster: str
    inventory: str
    steps: list[ServiceStep] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    """Services not handled because an earlier one failed."""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.steps) and not self.pending

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "action": self.action, "host": self.host, "cluster": self.cluster,
                "inventory": self.inventory, "seconds": round(self.seconds, 2),
                "steps": [asdict(s) for s in self.steps], "pending": self.pending}


# --- plan and refusals -----------------------------------------------------------------------------------

@dataclass
class Facts:
    """What the refusals look at (filled from the live cluster, or by tests)."""

    hdfs_excluded: list[str] = field(default_factory=list)
    """Hosts already in the NameNodes' exclude file."""
    hdfs_replication: int = 0
    """max(dfs.replication, the highest file replication found)."""
    hdfs_replication_why: str = ""
    yarn_excluded: list[str] = field(default_factory=list)
    kafka_max_rf: int = 0
    kafka_max_rf_topic: str = ""
    unconfigured: list[str] = field(default_factory=list)
    """`host: property` for a master whose configuration names no exclude file (deployed before it)."""


def host_services(cluster: Cluster, host: Host) -> list[str]:
    """The decommissionable services `host` runs (deployed), in decommission order."""
    absent = deployment.not_deployed(cluster)
    return [s for s in DECOMMISSION_ORDER
            if host.in_group(WORKER_GROUPS[s]) and WORKER_GROUPS[s] not in absent]


def resolve(cluster: Cluster, host_name: str, services: Iterable[str]) -> tuple[Host, list[str]]:
    """(the host, the services to handle in decommission order). Raises BadInput for a host not in the
    inventory, an unknown service, a service the host does not run, or a host running none."""
    inv = deployment.inventory_arg(cluster.source)
    host = cluster.hosts.get(host_name)
    if host is None:
        raise BadInput(f"host {host_name!r} is not in the inventory {inv}",
                       fix=f"Use one of its hosts: {', '.join(cluster.hosts)}.")
    runs = host_services(cluster, host)
    wanted = list(dict.fromkeys(services))
    unknown = [s for s in wanted if s not in WORKER_GROUPS]
    if unknown:
        raise BadInput(f"cannot decommission service(s) {', '.join(unknown)}",
                       fix=f"Use --service with one of: {', '.join(DECOMMISSION_ORDER)}.")
    missing = [s for s in wanted if s not in runs]
    if missing:
        raise BadInput(f"{host_name} does not run {', '.join(f'{s} ({WORKER_GROUPS[s]})' for s in missing)}",
                       fix=f"Its decommissionable services: {', '.join(runs) or 'none'}; drop the others "
                           "from --service.")
    chosen = [s for s in DECOMMISSION_ORDER if s in (wanted or runs)]
    if not chosen:
        raise BadInput(f"{host_name} runs no DataNode, NodeManager, RegionServer or Kafka broker",
                       fix="Nothing to decommission on it.")
    return host, chosen


def refusals(cluster: Cluster, host: Host, services: list[str], facts: Facts) -> list[tuple[str, str]]:
    """(problem, fix) for every reason not to decommission `services` of `host` (empty: go ahead)."""
    out: list[tuple[str, str]] = []
    if facts.unconfigured:
        out.append((f"the configuration names no exclude file ({', '.join(facts.unconfigured)})",
                    f"Deploy hdfs and yarn again first (`bigdata-admin deploy -i "
                    f"{deployment.inventory_arg(cluster.source)} --tags hdfs,yarn`), which adds it."))
    if "hdfs" in services:
        remain = [h.name for h in cluster.hosts_in("hdfs_datanode")
                  if h.name != host.name and h.name not in facts.hdfs_excluded]
        if facts.hdfs_replication > len(remain):
            out.append((f"HDFS replication {facts.hdfs_replication} ({facts.hdfs_replication_why}) is "
                        f"above the {len(remain)} DataNode(s) that would remain in service "
                        f"({', '.join(remain) or 'none'})",
                        "Add a DataNode first, or lower the replication (hdfs_replication, "
                        "`hdfs dfs -setrep`)."))
    if "yarn" in services:
        remain = [h.name for h in cluster.hosts_in("yarn_nodemanager")
                  if h.name != host.name and h.name not in facts.yarn_excluded]
        if not remain:
            out.append((f"{host.name} runs the last NodeManager in service",
                        "Add a NodeManager first (yarn_nodemanager group, `deploy --limit`)."))
    if "hbase" in services:
        remain = [h.name for h in cluster.hosts_in("hbase_regionserver") if h.name != host.name]
        if not remain:
            out.append((f"{host.name} runs the last RegionServer",
                        "Add a RegionServer first (hbase_regionserver group, `deploy --limit`)."))
    if "kafka" in services:
        remain = [h.name for h in cluster.hosts_in("kafka_broker") if h.name != host.name]
        if facts.kafka_max_rf > len(remain):
            out.append((f"Kafka topic {facts.kafka_max_rf_topic!r} has replication factor "
                        f"{facts.kafka_max_rf}, "
                        f"above the {len(remain)} broker(s) that would remain",
                        "Add a broker first, or lower the topic's replication factor."))
        elif not remain:
            out.append((f"{host.name} runs the last Kafka broker", "Add a broker first."))
    return out


# --- the live cluster ------------------------------------------------------------------------------------

Runner = Callable[[Host, list[str], float], tuple[bool, str]]
"""(host, argv as root, timeout s) -> (ok, output): run one command on a host."""


def ssh_runner(host: Host, argv: list[str], timeout: float) -> tuple[bool, str]:
    """Run `argv` as root on `host` over SSH (health.remote)."""
    from bigdata_admin.health import remote

    res = remote.run(host, argv, timeout=timeout, become=True)
    text = (res.stdout + ("\n" if res.stdout and res.stderr else "") + res.stderr).strip()
    return res.ok, text


class Live:
    """Looks and actions on the real cluster; `run` runs commands on hosts (replaceable in tests)."""

    def __init__(self, cluster: Cluster, run: Runner = ssh_runner) -> None:
        self.cluster, self.run = cluster, run
        self.files = exclude_files(cluster)
        self.cli_dir = _literal(cluster, "hdfs_cli_dir", "/usr/local/bin")

    def must(self, host: Host, argv: list[str], timeout: float = 120.0) -> str:
        ok, out = self.run(host, argv, timeout)
        if not ok:
            raise RunFailed(f"on {host.name}: `{shlex.join(argv)}` failed: {out[-500:]}",
                            fix=f"See the daemon logs (`bigdata-admin logs -i "
                                f"{deployment.inventory_arg(self.cluster.source)}`).")
        return out

    def read_exclude(self, host: Host, path: str) -> list[str]:
        ok, out = self.run(host, ["cat", path], 30.0)
        return parse_exclude(out) if ok else []

    def write_exclude(self, host: Host, path: str, names: list[str]) -> None:
        body = render_exclude(names)
        self.must(host, ["sh", "-c", f"printf %s {shlex.quote(body)} > {shlex.quote(path)}.tmp && "
                                     f"chmod 0644 {shlex.quote(path)}.tmp && mv {shlex.quote(path)}.tmp "
                                     f"{shlex.quote(path)}"], 30.0)

    def as_user(self, user: str, *argv: str) -> list[str]:
        return ["runuser", "-u", user, "--", *argv]

    def unit(self, host: Host, group: str, verb: str) -> None:
        from bigdata_admin.services import BY_GROUP

        self.must(host, ["systemctl", verb, BY_GROUP[group].unit], 180.0)

    # HDFS
    def namenode_beans(self) -> tuple[dict[str, Any], dict[str, Any]]:
        from bigdata_admin.dayops import _active_namenode_beans

        return _active_namenode_beans(self.cluster)

    def datanode_check(self, host: Host) -> GateCheck:
        """The DataNode's own view: registered (block-pool actors RUNNING) with a block report sent
        since it started. (The NameNode lists a stopped DataNode as live until its heartbeat expires.)"""
        from bigdata_admin.dayops import _datanode_check

        return _datanode_check(self.cluster, host)

    # YARN
    def rm_nodes(self) -> list[dict[str, Any]]:
        from bigdata_admin.health.core import address, http_json, port

        rm = self.cluster.hosts_in("yarn_resourcemanager")[0]
        url = (f"http://{address(rm)}:{port(self.cluster, 'yarn_resourcemanager_http_port', rm)}"
               "/ws/v1/cluster/nodes?states=NEW,RUNNING,UNHEALTHY,DECOMMISSIONING,DECOMMISSIONED,LOST,SHUTDOWN")
        return list(((http_json(url).get("nodes") or {}).get("node")) or [])

    # HBase
    def regions_on(self, host: Host) -> int:
        from bigdata_admin.health.core import address, port
        from bigdata_admin.health.probes_hadoop import jmx

        beans = jmx(address(host), port(self.cluster, "hbase_regionserver_http_port", host),
                    "Hadoop:service=HBase,name=RegionServer,sub=Server")
        return _int(beans[0].get("regionCount"), -1) if beans else -1

    # Kafka
    def kafka_admin(self) -> Any:
        from kafka import KafkaAdminClient

        from bigdata_admin.health.core import TIMEOUT, kafka_bootstrap, kafka_timeouts

        return KafkaAdminClient(bootstrap_servers=kafka_bootstrap(self.cluster),
                                client_id="bigdata-admin-decom",
                                request_timeout_ms=int(TIMEOUT * 4000), **kafka_timeouts(KafkaAdminClient))

    def kafka_facts(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        admin = self.kafka_admin()
        try:
            return list(admin.describe_cluster().get("brokers") or []), list(admin.describe_topics())
        finally:
            admin.close()


def _broker_node(broker: dict[str, Any]) -> int:
    """A describe_cluster() broker's id (`broker_id` in kafka-python 3, `node_id` before); -1 if none."""
    for key in ("broker_id", "node_id", "nodeId"):
        if broker.get(key) is not None:
            return _int(broker.get(key), -1)
    return -1


def broker_id(brokers: list[dict[str, Any]], host: Host) -> int | None:
    """The id of the broker registered from `host` (describe_cluster brokers), or None."""
    for b in brokers:
        if str(b.get("host")) in host.names and _broker_node(b) >= 0:
            return _broker_node(b)
    return None


def highest_file_replication(cluster: Cluster, limit: int = FILE_SCAN_LIMIT) -> tuple[int, int]:
    """(the highest replication of a file, files looked at) over at most `limit` HDFS entries (WebHDFS,
    breadth first from /). (0, 0) when WebHDFS does not answer."""
    from bigdata_admin.clients import webhdfs_client

    try:
        client = webhdfs_client(cluster, timeout=10)
    except Exception:  # no WebHDFS: dfs.replication alone decides
        return 0, 0
    best, seen, queue = 0, 0, ["/"]
    while queue and seen < limit:
        folder = queue.pop(0)
        try:
            entries = client.list(folder, status=True)
        except Exception:  # a folder we may not list
            continue
        for name, st in entries:
            seen += 1
            if st.get("type") == "DIRECTORY":
                queue.append(f"{folder.rstrip('/')}/{name}")
            else:
                best = max(best, _int(st.get("replication")))
    return best, seen


def gather_facts(live: Live, host: Host, services: list[str]) -> Facts:
    """The Facts the refusals need, for the services being decommissioned."""
    cluster, facts = live.cluster, Facts()
    conf = hadoop_conf_dir(cluster)
    wants = {"hdfs": ("hdfs_namenode", "dfs.hosts.exclude", "hdfs-site.xml"),
             "yarn": ("yarn_resourcemanager", "yarn.resourcemanager.nodes.exclude-path", "yarn-site.xml")}
    for svc, (group, prop, site) in wants.items():
        if svc in services:
            for master in cluster.hosts_in(group):
                if not live.run(master, ["grep", "-q", f"<name>{prop}</name>", f"{conf}/{site}"], 30.0)[0]:
                    facts.unconfigured.append(f"{master.name}: {prop}")
    if "hdfs" in services:
        for nn in cluster.hosts_in("hdfs_namenode"):
            facts.hdfs_excluded += [h for h in live.read_exclude(nn, live.files["hdfs"])
                                    if h not in facts.hdfs_excluded and h != host.name]
        dfs_rep = _int(cluster.var("hdfs_replication"), 3)
        extra = cluster.var("hdfs_site_extra") or {}
        if isinstance(extra, dict) and "dfs.replication" in extra:
            dfs_rep = _int(extra["dfs.replication"], dfs_rep)
        file_rep, seen = highest_file_replication(cluster)
        facts.hdfs_replication = max(dfs_rep, file_rep)
        facts.hdfs_replication_why = (f"dfs.replication {dfs_rep}, highest file replication {file_rep} "
                                      f"among {seen} entries")
    if "yarn" in services:
        rm = cluster.hosts_in("yarn_resourcemanager")
        facts.yarn_excluded = [h for h in (live.read_exclude(rm[0], live.files["yarn"]) if rm else [])
                               if h != host.name]
    if "kafka" in services:
        _brokers, topics = live.kafka_facts()
        facts.kafka_max_rf, facts.kafka_max_rf_topic = kafka_max_replication(topics)
    return facts


# --- per service -----------------------------------------------------------------------------------------

def guarded(look: Callable[[], GateCheck], what: str) -> Callable[[], GateCheck]:
    """`look`, with any exception (a daemon still starting, a refused connection) turned into a GateCheck
    that did not pass."""
    def safe() -> GateCheck:
        try:
            return look()
        except Exception as exc:  # client libraries raise many types; all mean "not there yet"
            from bigdata_admin.health.core import reason

            return GateCheck(False, f"{what} answering", reason(exc))
    return safe


def _drained_then_stop(live: Live, host: Host, group: str, look: Callable[[], GateCheck], what: str,
                       timeout_s: float, interval_s: float) -> GateCheck:
    """Wait until `look` passes (exceptions count as not passed), then stop the host's `group` daemon;
    a wait that times out leaves the daemon running."""
    check = wait_gate(guarded(look, what), timeout_s, interval_s)[0]
    if check.ok:
        live.unit(host, group, "stop")
    return check


def _hdfs(live: Live, host: Host, decom: bool, timeout_s: float, interval_s: float) -> GateCheck:
    cluster = live.cluster
    nns = cluster.hosts_in("hdfs_namenode")
    for nn in nns:
        names = live.read_exclude(nn, live.files["hdfs"])
        names = [*names, host.name] if decom else [n for n in names if n not in host.names]
        live.write_exclude(nn, live.files["hdfs"], names)
    user = _literal(cluster, "hdfs_user", "hdfs")
    # In HA, dfsadmin -refreshNodes asks every NameNode of the nameservice.
    live.must(nns[0], live.as_user(user, f"{live.cli_dir}/hdfs", "dfsadmin", "-refreshNodes"))
    if not decom:
        live.unit(host, "hdfs_datanode", "start")

        def back() -> GateCheck:
            check = hdfs_in_service_verdict(*live.namenode_beans(), host)
            if check.ok:
                own = live.datanode_check(host)
                if not own.ok:
                    return GateCheck(False, own.gate, own.detail, check.data)
            return check

        return wait_gate(guarded(back, "HDFS"), timeout_s, interval_s)[0]
    return _drained_then_stop(live, host, "hdfs_datanode",
                              lambda: hdfs_decommissioned_verdict(*live.namenode_beans(), host), "HDFS",
                              timeout_s, interval_s)


def _yarn(live: Live, host: Host, decom: bool, timeout_s: float, interval_s: float) -> GateCheck:
    cluster = live.cluster
    rm = cluster.hosts_in("yarn_resourcemanager")[0]
    names = live.read_exclude(rm, live.files["yarn"])
    names = [*names, host.name] if decom else [n for n in names if n not in host.names]
    live.write_exclude(rm, live.files["yarn"], names)
    user = _literal(cluster, "hdfs_yarn_user", "yarn")
    yarn = f"{live.cli_dir}/yarn"

    def state(want: str) -> GateCheck:
        seen = yarn_node_state(live.rm_nodes(), host)
        return GateCheck(seen == want, f"NodeManager {host.name} {want}", f"ResourceManager: {seen}",
                         {"state": seen})

    if not decom:
        live.must(rm, live.as_user(user, yarn, "rmadmin", "-refreshNodes"))
        live.unit(host, "yarn_nodemanager", "start")
        return wait_gate(guarded(lambda: state("RUNNING"), "ResourceManager"), timeout_s, interval_s)[0]
    # Graceful: running containers may finish within the timeout; the client then forces it.
    graceful = max(1, int(timeout_s))
    live.must(rm, live.as_user(user, yarn, "rmadmin", "-refreshNodes", "-g", str(graceful), "-client"),
              timeout=graceful + 120.0)
    return _drained_then_stop(live, host, "yarn_nodemanager", lambda: state("DECOMMISSIONED"),
                              "ResourceManager", timeout_s, interval_s)


def _hbase(live: Live, host: Host, decom: bool, timeout_s: float, interval_s: float) -> GateCheck:
    cluster = live.cluster
    if not decom:
        from bigdata_admin.dayops import check_gate

        live.unit(host, "hbase_regionserver", "start")
        return wait_gate(lambda: check_gate(cluster, "hbase", host), timeout_s, interval_s)[0]
    user = _literal(cluster, "hbase_user", "hbase")
    cli = f"{_literal(cluster, 'hbase_cli_dir', '/usr/local/bin')}/hbase"
    port = _int(cluster.var("hbase_regionserver_port"), 16020)
    # RegionMover unloads to the other RegionServers (its file of moved regions goes to /tmp).
    live.must(host, live.as_user(user, cli, "regionmover", "-r", f"{host.name}:{port}", "-o", "unload",
                                 "-m", "4", "-f", f"/tmp/regionmover-{host.name}"), timeout=timeout_s + 60.0)

    def empty() -> GateCheck:
        n = live.regions_on(host)
        return GateCheck(n == 0, f"RegionServer {host.name} empty", f"{n} region(s) on it", {"regions": n})

    return _drained_then_stop(live, host, "hbase_regionserver", empty, "RegionServer", timeout_s, interval_s)


def _kafka(live: Live, host: Host, decom: bool, timeout_s: float, interval_s: float) -> GateCheck:
    from bigdata_admin.dayops import kafka_verdict

    cluster = live.cluster
    if not decom:
        live.unit(host, "kafka_broker", "start")
        expected = cluster.hosts_in("kafka_broker")
        return wait_gate(guarded(lambda: kafka_back_verdict(*live.kafka_facts(), expected, host), "Kafka"),
                         timeout_s, interval_s)[0]
    from kafka import TopicPartition

    brokers, topics = live.kafka_facts()
    leaving = broker_id(brokers, host)
    if leaving is None:
        raise RunFailed(f"no Kafka broker registered from {host.name}",
                        fix="Check `bigdata-admin status`: the broker is not running.")
    remaining = sorted(_broker_node(b) for b in brokers if broker_id([b], host) is None)
    plan = kafka_move_plan(topics, leaving, remaining)
    if plan:
        admin = live.kafka_admin()
        try:
            result = admin.alter_partition_reassignments(
                {TopicPartition(t, p): replicas for (t, p), replicas in plan.items()})
        finally:
            admin.close()
        bad = {str(tp): str(err) for tp, err in (result or {}).items() if err is not None}
        if bad:
            return GateCheck(False, "reassignment accepted",
                             "; ".join(f"{k}: {v}" for k, v in bad.items())[:300])

    def moved() -> GateCheck:
        admin = live.kafka_admin()
        try:
            pending = admin.list_partition_reassignments()
            topics_now = list(admin.describe_topics())
        finally:
            admin.close()
        left = [f"{t.get('name', t.get('topic'))}-{p.get('partition_index', p.get('partition'))}"
                for t in topics_now for p in t.get("partitions") or []
                if leaving in (p.get("replica_nodes", p.get("replicas")) or [])]
        if pending or left:
            return GateCheck(False, f"partitions moved off broker {leaving}",
                             f"{len(pending)} reassignment(s) pending, {len(left)} partition(s) still on it",
                             {"pending": len(pending), "left": len(left)})
        return kafka_verdict(brokers, topics_now, cluster.hosts_in("kafka_broker"))

    check = _drained_then_stop(live, host, "kafka_broker", moved, "Kafka", timeout_s, interval_s)
    if check.ok:
        check = GateCheck(True, f"broker {leaving} emptied", f"{len(plan)} partition replica(s) moved off, "
                          "every partition in sync; broker stopped", check.data)
    return check


HANDLERS: dict[str, Callable[[Live, Host, bool, float, float], GateCheck]] = {
    "hdfs": _hdfs, "yarn": _yarn, "hbase": _hbase, "kafka": _kafka}


def run(cluster: Cluster, host_name: str, services: Iterable[str] = (), *, decommission: bool = True,
        timeout_s: float = DEFAULT_TIMEOUT_S, live: Live | None = None, interval_s: float = INTERVAL_S,
        progress: Callable[[str], None] | None = None) -> DecomReport:
    """Decommission (or recommission) the services (all the host's decommissionable ones when empty) of
    `host_name`, one service after the other (decommission: hbase, kafka, yarn, hdfs; recommission: the
    reverse); each waits up to `timeout_s` seconds. Raises BadInput for a refusal (nothing was done);
    RunFailed when a command on a host fails. A wait not passed stops the rest: `report.ok` is False."""
    started = time.monotonic()
    host, chosen = resolve(cluster, host_name, services)
    live = live or Live(cluster)
    say = progress or (lambda _m: None)
    if decommission:
        say(f"checking that the rest of the cluster can hold {host.name}'s data")
        problems = refusals(cluster, host, chosen, gather_facts(live, host, chosen))
        if problems:
            raise BadInput("; ".join(p for p, _ in problems) + f": {host.name} stays in service",
                           fix=" ".join(dict.fromkeys(f for _, f in problems)))
    else:
        chosen = list(reversed(chosen))
    word = "decommission" if decommission else "recommission"
    report = DecomReport(word, host.name, cluster.name, str(cluster.source))
    for i, svc in enumerate(chosen):
        say(f"{svc} on {host.name}: {word}ing")
        t0 = time.monotonic()
        if not decommission:  # back in service from now on: status probes it again
            deployment.mark_decommissioned(cluster, WORKER_GROUPS[svc], host.name, False)
        check = HANDLERS[svc](live, host, decommission, timeout_s, interval_s)
        if decommission and check.ok:
            deployment.mark_decommissioned(cluster, WORKER_GROUPS[svc], host.name, True)
        report.steps.append(ServiceStep(svc, check.ok, check.gate, check.detail, time.monotonic() - t0,
                                        check.data))
        if not check.ok:
            report.pending = chosen[i + 1:]
            break
        say(f"{svc} on {host.name}: {check.detail} ({time.monotonic() - t0:.1f} s)")
    report.seconds = time.monotonic() - started
    return report
