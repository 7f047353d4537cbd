"""Day-2 operations: health-gated rolling restart, `destroy`, and collecting the daemons' logs.

Rolling restart (`restart SERVICE... --rolling`): services in the order of playbooks/site.yml, and
within a service one host at a time (masters before workers: JournalNodes, NameNodes, DataNodes;
HBase master, RegionServers; Kafka controllers, brokers). Each host is restarted through its role's
`restart` action (an Ansible run limited to that host and tagged with the service) and then must pass
the service's health gate before the next host goes down:

- hdfs: the active NameNode out of safe mode, every DataNode live (the restarted one registered
  again with a fresh heartbeat and a full block report sent), 0 missing blocks; with wait_replication
  also under-replicated blocks no more than before the roll;
- hbase: an active master, every RegionServer registered, 0 regions in transition;
- kafka: every broker registered and every partition's in-sync replicas complete;
- zookeeper: the member serving, a leader with every member in sync;
- others: the `status` probes of the role's groups on that host healthy.

A gate not passed within its timeout stops the roll; the report names the host, the gate and what
it saw. Nothing here prints: the CLI renders the reports.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from bigdata_admin import deployment, paths, services
from bigdata_admin.errors import BadInput
from bigdata_admin.inventory import Cluster, Host

GATE_TIMEOUT_S = 300.0
"""Default seconds a host may take to pass its gate after its restart."""
GATE_INTERVAL_S = 3.0
"""Seconds between two looks at a gate."""
HEARTBEAT_FRESH_S = 30
"""A DataNode whose last heartbeat at the NameNode is older than this is not back yet (seconds)."""

ROLL_GROUP_ORDER: dict[str, tuple[str, ...]] = {
    "hdfs": ("hdfs_journalnode", "hdfs_namenode", "hdfs_datanode"),
    "hbase": ("hbase_master", "hbase_regionserver", "hbase_thrift"),
    "kafka": ("kafka_controller", "kafka_broker"),
    "yarn": ("yarn_resourcemanager", "yarn_nodemanager"),
    "storm": ("storm_nimbus", "storm_supervisor", "storm_ui"),
}
"""Role -> its groups in the order their hosts restart (masters first); others: services.SERVICES order."""


# --- order ---------------------------------------------------------------------------------------------

def service_order(playbook: str = "site") -> list[str]:
    """The service plays (roles) of playbooks/PLAYBOOK.yml in the order it runs them: the roles of the
    `services/ROLE.yml` imports, without the host-wide `common` and `java` plays."""
    import yaml

    text = (paths.playbooks_dir() / f"{playbook}.yml").read_text(encoding="utf-8")
    out: list[str] = []
    for play in yaml.safe_load(text) or []:
        target = str(play.get("ansible.builtin.import_playbook", ""))
        if target.startswith("services/"):
            role = Path(target).stem
            if role not in ("common", "java"):
                out.append(role)
    return out


def deployed_roles(cluster: Cluster) -> list[str]:
    """Roles (site.yml order) with at least one inventory group that has hosts and was deployed."""
    absent = deployment.not_deployed(cluster)
    return [role for role in service_order()
            if any(cluster.has(g) and g not in absent for g in deployment.groups_of_role(role))]


def roll_groups(role: str) -> list[str]:
    """The role's inventory groups in restart order."""
    own = deployment.groups_of_role(role)
    first = [g for g in ROLL_GROUP_ORDER.get(role, ()) if g in own]
    return first + [g for g in own if g not in first]


def roll_plan(cluster: Cluster, roles: Iterable[str], limit: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(role, host) steps of a rolling restart: roles in site.yml order, each host once per role in
    its first group's order. `limit`: only these host names (empty: all). Undeployed groups are left out."""
    wanted = set(limit)
    absent = deployment.not_deployed(cluster)
    out_of_service = deployment.decommissioned(cluster)
    order = service_order()
    steps: list[tuple[str, str]] = []
    for role in sorted(set(roles), key=lambda r: order.index(r) if r in order else len(order)):
        seen: list[str] = []
        for group in roll_groups(role):
            if group in absent:
                continue
            for host in cluster.hosts_in(group):
                if host.name in out_of_service.get(group, {}):
                    continue  # decommissioned: a restart would bring it back
                if host.name not in seen and (not wanted or host.name in wanted):
                    seen.append(host.name)
        steps += [(role, h) for h in seen]
    return steps


# --- gates: pure verdicts ------------------------------------------------------------------------------

@dataclass
class GateCheck:
    """One look at a health gate."""

    ok: bool
    gate: str
    """Which gate: e.g. `NameNode out of safe mode`."""
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _json_field(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value or "{}")
    except (TypeError, ValueError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def live_datanode(live_nodes: dict[str, Any], host: Host) -> dict[str, Any] | None:
    """The NameNode's LiveNodes entry (NameNodeInfo bean) of the DataNode on `host`, or None.
    Keys are `name:port`; `xferaddr` is `address:port`."""
    names = host.names
    for key, entry in live_nodes.items():
        entry = entry if isinstance(entry, dict) else {}
        if key.rsplit(":", 1)[0] in names or str(entry.get("xferaddr", "")).rsplit(":", 1)[0] in names:
            return entry
    return None


def hdfs_verdict(info: dict[str, Any], fsn: dict[str, Any], datanodes: list[Host],
                 restarted_dn: Host | None, baseline_under: int,
                 fresh_s: int = HEARTBEAT_FRESH_S) -> GateCheck:
    """HDFS gate from the active NameNode's NameNodeInfo and FSNamesystem(State) beans.

    Passes when out of safe mode, every DataNode of `datanodes` is in LiveNodes (the restarted one with
    a heartbeat under `fresh_s` seconds old and not dead), no block is missing and under-replicated
    blocks are at most `baseline_under` (their count before the roll; a huge number turns that off).
    """
    safemode = str(info.get("Safemode") or "").strip()
    live = _json_field(info.get("LiveNodes"))
    missing = _int(fsn.get("MissingBlocks"))
    under = _int(fsn.get("UnderReplicatedBlocks"))
    data = {"safemode": bool(safemode), "live_datanodes": len(live), "expected_datanodes": len(datanodes),
            "missing_blocks": missing, "under_replicated_blocks": under, "baseline_under": baseline_under}
    if not info:
        return GateCheck(False, "NameNode answering", "no NameNodeInfo bean (still starting?)", data)
    if safemode:
        return GateCheck(False, "NameNode out of safe mode", safemode[:200], data)
    absent = [dn.name for dn in datanodes if live_datanode(live, dn) is None]
    if absent:
        return GateCheck(False, "DataNodes live", f"not live at the NameNode: {', '.join(absent)} "
                         f"({len(live)}/{len(datanodes)} live)", data)
    if restarted_dn is not None:
        entry = live_datanode(live, restarted_dn) or {}
        contact = _int(entry.get("lastContact"), 10**6)
        if contact > fresh_s:
            return GateCheck(False, f"DataNode {restarted_dn.name} live",
                             f"last heartbeat {contact} s ago", data)
    if missing:
        return GateCheck(False, "no missing blocks", f"{missing} missing block(s)", data)
    if under > baseline_under:
        return GateCheck(False, "blocks re-replicated",
                         f"{under} under-replicated block(s), {baseline_under} before the roll", data)
    return GateCheck(True, "hdfs healthy", f"out of safe mode, {len(live)}/{len(datanodes)} DataNodes live, "
                     f"0 missing, {under} under-replicated blocks", data)


def datanode_verdict(host: str, info: dict[str, Any], uptime_ms: int) -> GateCheck:
    """A restarted DataNode's own view (its DataNodeInfo bean and JVM uptime): every block-pool actor
    RUNNING and a full block report sent since the process started, so the NameNode knows its replicas
    before the next DataNode goes down."""
    raw = info.get("BPServiceActorInfo") or "[]"
    try:
        actors = json.loads(raw) if isinstance(raw, str) else list(raw)
    except ValueError:
        actors = []
    data = {"actors": len(actors), "uptime_s": uptime_ms // 1000}
    if not actors:
        return GateCheck(False, f"DataNode {host} registered", "no block-pool actor yet", data)
    for actor in actors:
        if actor.get("ActorState") != "RUNNING":
            return GateCheck(False, f"DataNode {host} registered",
                             f"actor for {actor.get('NamenodeAddress')}: {actor.get('ActorState')}", data)
        last = _int(actor.get("LastBlockReport"), 10**9)
        if last * 1000 >= uptime_ms:
            return GateCheck(False, f"DataNode {host} block report sent",
                             f"no block report to {actor.get('NamenodeAddress')} since it started", data)
    return GateCheck(True, f"DataNode {host} registered", "block report sent", data)


def hbase_live_regionservers(server: dict[str, Any]) -> list[str]:
    """Host names of the live RegionServers in the active master's Master,sub=Server bean
    (`tag.liveRegionServers`: `host,port,startcode` entries separated by `;`)."""
    text = str(server.get("tag.liveRegionServers") or "")
    return [entry.split(",", 1)[0] for entry in text.split(";") if entry.strip()]


def hbase_verdict(server: dict[str, Any], assignment: dict[str, Any], expected_rs: int,
                  restarted_rs: Host | None) -> GateCheck:
    """HBase gate from the active master's `Master,sub=Server` and `Master,sub=AssignmentManager`
    beans: every RegionServer registered (the restarted one among them), 0 regions in transition."""
    live = _int(server.get("numRegionServers"))
    rit = _int(assignment.get("ritCount"), -1)
    data = {"live_regionservers": live, "expected_regionservers": expected_rs, "regions_in_transition": rit}
    if not server or str(server.get("tag.isActiveMaster", "false")).lower() != "true":
        return GateCheck(False, "an active HBase master", "no active master answers yet", data)
    if live < expected_rs:
        return GateCheck(False, "RegionServers registered", f"{live}/{expected_rs} RegionServers live", data)
    listed = hbase_live_regionservers(server)
    if restarted_rs is not None and listed and not restarted_rs.names & set(listed):
        return GateCheck(False, f"RegionServer {restarted_rs.name} registered",
                         f"live: {', '.join(listed)}", data)
    if rit != 0:
        return GateCheck(False, "no regions in transition",
                         "no AssignmentManager bean yet" if rit < 0 else f"{rit} region(s) in transition",
                         data)
    return GateCheck(True, "hbase healthy",
                     f"{live}/{expected_rs} RegionServers live, 0 regions in transition", data)


def kafka_verdict(brokers: list[dict[str, Any]], topics: list[dict[str, Any]],
                  expected: list[Host]) -> GateCheck:
    """Kafka gate from describe_cluster()'s brokers and describe_topics(): every broker of `expected`
    registered, every partition led and its in-sync replicas complete."""
    hosts = {str(b.get("host")) for b in brokers}
    missing = [h.name for h in expected if not h.names & hosts]
    lagging: list[str] = []
    partitions = 0
    for topic in topics:
        name = topic.get("name", topic.get("topic"))
        for part in topic.get("partitions") or []:
            partitions += 1
            # kafka-python 3 names the fields as the protocol does; 2.x used the short names.
            replicas = set(part.get("replica_nodes", part.get("replicas")) or [])
            isr = set(part.get("isr_nodes", part.get("isr")) or [])
            leader = _int(part.get("leader_id", part.get("leader")), -1)
            if leader < 0 or not replicas <= isr:
                lagging.append(f"{name}-{part.get('partition_index', part.get('partition'))}")
    data = {"brokers": len(brokers), "expected_brokers": len(expected), "partitions": partitions,
            "under_replicated_partitions": len(lagging)}
    if missing:
        return GateCheck(False, "brokers registered", f"not registered: {', '.join(missing)}", data)
    if lagging:
        shown = ", ".join(sorted(lagging)[:5]) + (" ..." if len(lagging) > 5 else "")
        return GateCheck(False, "in-sync replicas complete",
                         f"{len(lagging)}/{partitions} partition(s) under-replicated: {shown}", data)
    return GateCheck(True, "kafka healthy", f"{len(brokers)} brokers, {partitions} partitions fully in sync",
                     data)


def zookeeper_verdict(modes: dict[str, str], synced_followers: int | None) -> GateCheck:
    """ZooKeeper gate from each member's mode (`leader`, `follower`, `down`, ...) and the leader's
    `zk_synced_followers`: every member serving, one leader, every follower in sync."""
    data = {"modes": modes, "synced_followers": synced_followers}
    down = [h for h, m in modes.items() if m not in ("leader", "follower", "standalone", "observer")]
    if down:
        return GateCheck(False, "every member serving", ", ".join(f"{h}: {modes[h]}" for h in down), data)
    leaders = [h for h, m in modes.items() if m in ("leader", "standalone")]
    if len(leaders) != 1:
        return GateCheck(False, "one leader", f"{len(leaders)} leaders", data)
    followers = sum(1 for m in modes.values() if m == "follower")
    if modes[leaders[0]] == "leader" and (synced_followers or 0) < followers:
        return GateCheck(False, "followers in sync", f"{synced_followers}/{followers} followers in sync",
                         data)
    return GateCheck(True, "zookeeper healthy", f"leader {leaders[0]}, {followers} follower(s) in sync", data)


# --- gates: facts from the live cluster ----------------------------------------------------------------

def _active_namenode_beans(cluster: Cluster) -> tuple[dict[str, Any], dict[str, Any]]:
    """(NameNodeInfo, FSNamesystem+FSNamesystemState) of the active NameNode; ({}, {}) when none answers."""
    from bigdata_admin.health.core import address, port
    from bigdata_admin.health.probes_hadoop import jmx, named

    for nn in cluster.hosts_in("hdfs_namenode"):
        try:
            beans = jmx(address(nn), port(cluster, "hdfs_namenode_http_port", nn),
                        "Hadoop:service=NameNode,name=*")
        except (OSError, ValueError):
            continue
        status = named(beans, "Hadoop:service=NameNode,name=NameNodeStatus")
        if status and status.get("State") not in (None, "active"):
            continue
        fsn = {**named(beans, "Hadoop:service=NameNode,name=FSNamesystemState"),
               **named(beans, "Hadoop:service=NameNode,name=FSNamesystem")}
        return named(beans, "Hadoop:service=NameNode,name=NameNodeInfo"), fsn
    return {}, {}


def hdfs_under_replicated(cluster: Cluster) -> int:
    """Under-replicated blocks the active NameNode reports now (0 when none answers)."""
    return _int(_active_namenode_beans(cluster)[1].get("UnderReplicatedBlocks"))


def _datanode_check(cluster: Cluster, host: Host) -> GateCheck:
    from bigdata_admin.health.core import address, port
    from bigdata_admin.health.probes_hadoop import jmx

    addr, http_port = address(host), port(cluster, "hdfs_datanode_http_port", host)
    info = jmx(addr, http_port, "Hadoop:service=DataNode,name=DataNodeInfo")
    runtime = jmx(addr, http_port, "java.lang:type=Runtime")
    uptime = _int(runtime[0].get("Uptime")) if runtime else 0
    return datanode_verdict(host.name, info[0] if info else {}, uptime)


def _hbase_master_beans(cluster: Cluster) -> tuple[dict[str, Any], dict[str, Any]]:
    from bigdata_admin.health.core import address, port
    from bigdata_admin.health.probes_hadoop import jmx

    for master in cluster.hosts_in("hbase_master"):
        addr, http_port = address(master), port(cluster, "hbase_master_http_port", master)
        try:
            server = jmx(addr, http_port, "Hadoop:service=HBase,name=Master,sub=Server")
            if not server or str(server[0].get("tag.isActiveMaster", "false")).lower() != "true":
                continue
            am = jmx(addr, http_port, "Hadoop:service=HBase,name=Master,sub=AssignmentManager")
        except (OSError, ValueError):
            continue
        return server[0], (am[0] if am else {})
    return {}, {}


def _kafka_facts(cluster: Cluster) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    from kafka import KafkaAdminClient

    from bigdata_admin.health.core import TIMEOUT, kafka_bootstrap, kafka_timeouts

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap(cluster), client_id="bigdata-admin-roll",
                             request_timeout_ms=int(TIMEOUT * 2000), **kafka_timeouts(KafkaAdminClient))
    try:
        brokers = list(admin.describe_cluster().get("brokers") or [])
        topics = list(admin.describe_topics())
    finally:
        admin.close()
    return brokers, topics


def _zookeeper_facts(cluster: Cluster) -> tuple[dict[str, str], int | None]:
    from bigdata_admin.health.probes_core import zookeeper

    modes: dict[str, str] = {}
    synced: int | None = None
    for member in cluster.hosts_in("zookeeper"):
        res = zookeeper(cluster, member)
        modes[member.name] = res.state if res.healthy else f"{res.state} ({res.detail})"
        if res.state == "leader":
            synced = res.data.get("synced_followers")
    return modes, synced


def _probe_gate(cluster: Cluster, role: str, host: Host | None) -> GateCheck:
    """Fallback gate: the `status` probes of the role's groups on `host` (all hosts when None)."""
    from bigdata_admin import health
    from bigdata_admin.health.core import port, port_open

    health.load_plugins()
    bad: list[str] = []
    for group in deployment.groups_of_role(role):
        for h in cluster.hosts_in(group):
            if host is not None and h.name != host.name:
                continue
            fn = health.PROBES.get(group)
            if fn is not None:
                res = fn(cluster, h)
                if not res.healthy:
                    bad.append(f"{group} on {h.name}: {res.state} ({res.detail})")
                continue
            svc = services.BY_GROUP[group]
            for name, var in svc.ports.items():
                if name in svc.optional_ports:
                    continue
                if not port_open(h.address or h.name, port(cluster, var, h)):
                    bad.append(f"{group} on {h.name}: port {name} closed")
    if bad:
        return GateCheck(False, f"{role} probes healthy", "; ".join(bad))
    return GateCheck(True, f"{role} probes healthy", "every probe healthy")


def check_gate(cluster: Cluster, role: str, host: Host | None, baseline_under: int = 0) -> GateCheck:
    """One look at the health gate of `role` after `host` restarted (None: the whole service, before a
    roll). Never raises for a service problem: a failed look is a GateCheck that did not pass."""
    try:
        if role == "hdfs":
            info, fsn = _active_namenode_beans(cluster)
            dns = cluster.hosts_in("hdfs_datanode")
            restarted = host if host is not None and host.in_group("hdfs_datanode") else None
            verdict = hdfs_verdict(info, fsn, dns, restarted, baseline_under)
            if verdict.ok and restarted is not None:
                dn = _datanode_check(cluster, restarted)
                if not dn.ok:
                    return GateCheck(False, dn.gate, dn.detail, verdict.data)
            if verdict.ok and host is not None and host.in_group("hdfs_journalnode"):
                return _probe_gate_group(cluster, "hdfs_journalnode", host, verdict)
            return verdict
        if role == "hbase":
            server, am = _hbase_master_beans(cluster)
            restarted = host if host is not None and host.in_group("hbase_regionserver") else None
            verdict = hbase_verdict(server, am, len(cluster.hosts_in("hbase_regionserver")), restarted)
            if verdict.ok and host is not None and host.in_group("hbase_thrift"):
                return _probe_gate_group(cluster, "hbase_thrift", host, verdict)
            return verdict
        if role == "kafka":
            brokers, topics = _kafka_facts(cluster)
            return kafka_verdict(brokers, topics, cluster.hosts_in("kafka_broker"))
        if role == "zookeeper":
            return zookeeper_verdict(*_zookeeper_facts(cluster))
        return _probe_gate(cluster, role, host)
    except Exception as exc:  # client libraries raise many types; all mean "not healthy yet"
        from bigdata_admin.health.core import reason

        return GateCheck(False, f"{role} answering", reason(exc))


def _probe_gate_group(cluster: Cluster, group: str, host: Host, passed: GateCheck) -> GateCheck:
    from bigdata_admin import health

    health.load_plugins()
    fn = health.PROBES.get(group)
    if fn is None:
        return passed
    res = fn(cluster, host)
    if not res.healthy:
        return GateCheck(False, f"{group} on {host.name} healthy", f"{res.state}: {res.detail}", passed.data)
    return passed


def wait_gate(look: Callable[[], GateCheck], timeout_s: float, interval_s: float = GATE_INTERVAL_S,
              clock: Callable[[], float] = time.monotonic,
              sleep: Callable[[float], None] = time.sleep) -> tuple[GateCheck, float]:
    """Look at a gate until it passes or `timeout_s` seconds went by: (the last look, seconds waited)."""
    started = clock()
    while True:
        check = look()
        waited = clock() - started
        if check.ok or waited >= timeout_s:
            return check, waited
        sleep(min(interval_s, max(0.0, timeout_s - waited)))


# --- rolling restart -----------------------------------------------------------------------------------

@dataclass
class RollStep:
    role: str
    host: str
    ok: bool
    gate: str
    """The gate passed last, or the one that stopped the roll (`restart` when the restart failed)."""
    detail: str
    restart_s: float = 0.0
    gate_s: float = 0.0
    run_id: str | None = None


@dataclass
class RollReport:
    cluster: str
    inventory: str
    steps: list[RollStep] = field(default_factory=list)
    pending: list[tuple[str, str]] = field(default_factory=list)
    """(role, host) steps not run because the roll stopped."""
    seconds: float = 0.0
    precheck: GateCheck | None = None
    """The failed gate that kept the roll from starting (None when it started)."""

    @property
    def ok(self) -> bool:
        return self.precheck is None and all(s.ok for s in self.steps) and not self.pending

    @property
    def failed(self) -> RollStep | None:
        return next((s for s in self.steps if not s.ok), None)

    def next_step(self) -> str:
        """What a person does next after a stopped roll (one sentence)."""
        inv = deployment.inventory_arg(self.inventory)
        if self.precheck is not None:
            return (f"The service was not healthy before the roll; see `bigdata-admin status -i {inv}` and "
                    "fix it first (nothing was restarted).")
        failed = self.failed
        if failed is None:
            return ""
        rest = [h for r, h in self.pending if r == failed.role]
        again = (f"then continue with `bigdata-admin restart -i {inv} {failed.role} --rolling --limit "
                 f"{','.join([failed.host, *rest])}`")
        return (f"See `bigdata-admin status -i {inv}` and the daemon's log on {failed.host} "
                f"(`bigdata-admin logs -i {inv} {failed.role}`); when it is healthy, {again}.")

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "cluster": self.cluster, "inventory": self.inventory,
                "seconds": round(self.seconds, 2), "steps": [asdict(s) for s in self.steps],
                "pending": [{"service": r, "host": h} for r, h in self.pending],
                "precheck": asdict(self.precheck) if self.precheck else None,
                "next": self.next_step() or None}


RestartFn = Callable[[str, str], tuple[bool, str, str | None]]
"""(role, host) -> (ok, detail, run id): restart one role's daemons on one host."""
GateFn = Callable[[str, Host | None, int], GateCheck]
"""(role, host or None, baseline under-replicated) -> one look at the gate."""


def ansible_restarter(cluster: Cluster) -> RestartFn:
    """Restart through the roles' `restart` action, one Ansible run per (role, host), on the inventory the
    roles saw at deploy time (groups not deployed left out)."""
    from bigdata_admin import runner

    absent = deployment.not_deployed(cluster)
    inv = deployment.write_view(cluster, absent) if absent else cluster.source

    def restart(role: str, host: str) -> tuple[bool, str, str | None]:
        result = runner.run_playbook("site", Path(inv), extravars={"bigdata_action": "restart"}, limit=host,
                                     tags=[role], label="restart", show_progress=False)
        if result.ok:
            return True, "restarted", result.run_dir.name
        why = "; ".join(f"{f.task}: {f.message}" for f in result.failures[:2]) or result.status
        return False, why, result.run_dir.name

    return restart


def rolling_restart(cluster: Cluster, roles: Iterable[str], *, limit: Iterable[str] = (),
                    gate_timeout_s: float = GATE_TIMEOUT_S, wait_replication: bool = False,
                    restart: RestartFn | None = None,
                    gate: GateFn | None = None, progress: Callable[[str], None] | None = None,
                    interval_s: float = GATE_INTERVAL_S) -> RollReport:
    """Restart `roles` (all deployed ones when empty) one host at a time, each host gated.

    Before a role's first host the role's gate must pass (waited up to `gate_timeout_s`); else nothing of
    it is restarted. `wait_replication`: HDFS hosts also wait until under-replicated blocks are back to
    their count before the roll (a replication the NameNode scheduled to a DataNode while it restarted
    is retried only after dfs.namenode.reconstruction.pending.timeout-sec, 5 min by default).
    Raises BadInput for a role that is unknown or not deployed, or a limit naming no host of them.
    Returns the report; `report.ok` is False when a gate or a restart failed.
    """
    started = time.monotonic()
    known = deployed_roles(cluster)
    chosen = list(roles) or known
    not_here = [r for r in chosen if r not in known]
    if not_here:
        raise BadInput(f"not deployed on this inventory: {', '.join(not_here)}",
                       fix=f"Deployed services: {', '.join(known) or 'none'}.")
    steps = roll_plan(cluster, chosen, limit)
    if not steps:
        raise BadInput("--limit names no host of these services",
                       fix="Use host names of the services' groups in the inventory.")
    restart = restart or ansible_restarter(cluster)
    gate = gate or (lambda role, host, base: check_gate(cluster, role, host, base))
    say = progress or (lambda _m: None)
    report = RollReport(cluster.name, str(cluster.source))
    baselines: dict[str, int] = {}
    for i, (role, host_name) in enumerate(steps):
        if role not in baselines:
            say(f"{role}: checking it is healthy before the roll")
            pre, _ = wait_gate(partial(gate, role, None, 10**9), gate_timeout_s, interval_s)
            if not pre.ok:
                report.precheck = GateCheck(False, f"{role}: {pre.gate}", pre.detail, pre.data)
                report.pending = steps[i:]
                break
            # Under-replicated blocks before the roll (HDFS): with wait_replication no more are allowed.
            baselines[role] = _int(pre.data.get("under_replicated_blocks")) if wait_replication else 10**9
        host = cluster.hosts[host_name]
        say(f"{role} on {host_name}: restarting")
        t0 = time.monotonic()
        ok, detail, run_id = restart(role, host_name)
        restart_s = time.monotonic() - t0
        if not ok:
            report.steps.append(RollStep(role, host_name, False, "restart", detail, restart_s, 0.0, run_id))
            report.pending = steps[i + 1:]
            break
        say(f"{role} on {host_name}: restarted in {restart_s:.1f} s; waiting for the health gate")
        check, waited = wait_gate(partial(gate, role, host, baselines[role]), gate_timeout_s, interval_s)
        report.steps.append(RollStep(role, host_name, check.ok, check.gate, check.detail, restart_s, waited,
                                     run_id))
        if not check.ok:
            report.pending = steps[i + 1:]
            break
        say(f"{role} on {host_name}: healthy after {waited:.1f} s ({check.detail})")
    report.seconds = time.monotonic() - started
    return report



# --- destroy -------------------------------------------------------------------------------------------

CONFIRM_FLAG = "--yes-i-really-really-mean-it"
"""The flag `destroy` demands (as kolla-ansible's destroy does)."""


def destroy(cluster: Cluster, *, purge_data: bool = False, verbosity: int = 0,
            show_progress: bool = False) -> Any:
    """Stop and remove every service of the inventory (playbooks/destroy.yml: units, installs, config
    and log roots); the data directories stay unless `purge_data`. Returns the runner.RunResult; on
    success the deploy record marks every group destroyed (a new deploy finds the kept data)."""
    from bigdata_admin import runner

    absent = deployment.not_deployed(cluster)
    inv = deployment.write_view(cluster, absent) if absent else cluster.source
    result = runner.run_playbook("destroy", Path(inv), verbosity=verbosity, label="destroy",
                                 extravars={"bigdata_action": "destroy", "bigdata_purge_data": purge_data},
                                 show_progress=show_progress)
    if result.ok:
        deployment.record_destroy(cluster, result.run_dir.name, purge_data)
    return result


# --- logs ----------------------------------------------------------------------------------------------

LOG_DIRS: dict[str, tuple[str, ...]] = {
    "zookeeper": ("zookeeper",), "hdfs": ("hadoop",), "yarn": ("hadoop", "yarn"), "hbase": ("hbase",),
    "kafka": ("kafka",), "storm": ("storm",), "hive": ("hive",), "spark": ("spark",), "impala": ("impala",),
    "redis": ("/var/log/redis",), "postgresql": ("/var/log/postgresql",), "gpu_worker": ("gpu_worker",),
}
"""Role -> its log folders: names under bigdata_log_root, or absolute paths (OS packages' own)."""


def parse_since(value: str | None, now: Any = None) -> str | None:
    """`--since` -> a UTC time GNU find and journalctl read (`2026-11-30 10:00:00 UTC`), or None.

    Accepts a span back from now (`90s`, `30m`, `2h`, `1d`) or an ISO date/time (`2026-11-30`,
    `2026-11-30T10:00`, taken as UTC without a zone). Raises BadInput for anything else."""
    import re
    from datetime import UTC, datetime, timedelta

    if value is None or not value.strip():
        return None
    now = now or datetime.now(UTC)
    text = value.strip()
    span = re.fullmatch(r"(\d+)\s*([smhd])", text)
    if span:
        unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[span.group(2)]
        when = now - timedelta(**{unit: int(span.group(1))})
    else:
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise BadInput(f"--since {value!r} is neither a span nor a date",
                           fix="Use a span back from now (30m, 2h, 1d) or an ISO time (2026-11-30T10:00).",
                           ) from None
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
    return when.strftime("%Y-%m-%d %H:%M:%S UTC")


def logs_plan(cluster: Cluster, roles: Iterable[str]) -> dict[str, dict[str, list[str]]]:
    """host -> {"paths": log folders, "units": systemd units} for the roles (all the inventory's when
    empty); hosts without any of them are left out."""
    log_root = str(cluster.var("bigdata_log_root", "/var/log/bigdata"))
    wanted = set(roles)
    plan: dict[str, dict[str, list[str]]] = {}
    for svc in services.SERVICES:
        if wanted and svc.role not in wanted:
            continue
        dirs = [d if d.startswith("/") else f"{log_root}/{d}" for d in LOG_DIRS.get(svc.role, ())]
        for host in cluster.hosts_in(svc.group):
            entry = plan.setdefault(host.name, {"paths": [], "units": []})
            entry["paths"] += [d for d in dirs if d not in entry["paths"]]
            if svc.unit not in entry["units"]:
                entry["units"].append(svc.unit)
    return {h: plan[h] for h in cluster.hosts if h in plan}


@dataclass
class LogsReport:
    archive: Path
    hosts: dict[str, dict[str, int]]
    """host -> {"files": log files and journals, "bytes": their size unpacked}."""
    since: str | None
    services: list[str]
    run_id: str
    missing: list[str] = field(default_factory=list)
    """Planned hosts whose logs did not come back (unreachable, failed)."""

    def as_dict(self) -> dict[str, Any]:
        return {"archive": str(self.archive), "hosts": self.hosts, "since": self.since,
                "services": self.services, "run": self.run_id, "missing": self.missing,
                "ok": not self.missing}


def merge_archives(parts: dict[str, Path], dest: Path, top: str) -> dict[str, dict[str, int]]:
    """Pack the per-host tar.gz `parts` (host -> file) into one tar.gz at `dest` under the folder `top`.
    Returns host -> {"files", "bytes"}. Members are copied as regular files and folders only."""
    import tarfile

    counts: dict[str, dict[str, int]] = {}
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(dest, "w:gz") as out:
        for host, part in parts.items():
            files = size = 0
            with tarfile.open(part, "r:gz") as src:
                for member in src:
                    if not (member.isfile() or member.isdir()) or member.name.startswith(("/", "..")) \
                            or "/../" in member.name:
                        continue
                    data = src.extractfile(member) if member.isfile() else None
                    member.name = f"{top}/{member.name}"
                    out.addfile(member, data)
                    if member.isfile():
                        files, size = files + 1, size + member.size
            counts[host] = {"files": files, "bytes": size}
    return counts


def collect_logs(cluster: Cluster, roles: Iterable[str] = (), *, since: str | None = None,
                 output: Path | None = None, show_progress: bool = False) -> LogsReport:
    """Every planned host's daemon log files and journal into one tar.gz on this host (playbooks/logs.yml).

    `since`: parse_since's form. `output`: the archive's path (default: <state dir>/logs/
    <cluster>-<UTC time>.tar.gz). Raises BadInput when no host runs the roles, RunFailed when no host's
    logs came back."""
    import tempfile
    from datetime import UTC, datetime

    from bigdata_admin import runner
    from bigdata_admin.errors import RunFailed

    chosen = list(roles)
    plan = logs_plan(cluster, chosen)
    if not plan:
        raise BadInput(f"no host of the inventory runs {', '.join(chosen) or 'any service'}",
                       fix="Name a service of the inventory (see `bigdata-admin status`).")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    top = f"{cluster.name}-logs-{stamp}"
    dest = output or paths.state_dir() / "logs" / f"{top}.tar.gz"
    with tempfile.TemporaryDirectory(prefix="bigdata-logs-") as tmp:
        result = runner.run_playbook("logs", cluster.source, limit=",".join(plan), label="logs",
                                     show_progress=show_progress,
                                     extravars={"bigdata_logs_plan": plan, "bigdata_logs_since": since or "",
                                                "bigdata_logs_dest": tmp})
        parts = {h: Path(tmp) / f"{h}.tar.gz" for h in plan if (Path(tmp) / f"{h}.tar.gz").is_file()}
        if not parts:
            why = "; ".join(f"{f.host}: {f.message}" for f in result.failures[:3]) or result.status
            raise RunFailed(f"no host's logs came back ({why})",
                            fix=f"See `bigdata-admin runs show {result.run_dir.name}`.")
        counts = merge_archives(parts, Path(dest), top)
    return LogsReport(Path(dest), counts, since, chosen, result.run_dir.name,
                      [h for h in plan if h not in parts])


# --- deploy --resume -----------------------------------------------------------------------------------

def play_roles(playbook: str = "site") -> dict[str, str]:
    """Play name (as Ansible reports it, e.g. `HDFS`) -> role/tag, for the `services/ROLE.yml` plays that
    playbooks/PLAYBOOK.yml imports."""
    import yaml

    out: dict[str, str] = {}
    text = (paths.playbooks_dir() / f"{playbook}.yml").read_text(encoding="utf-8")
    for entry in yaml.safe_load(text) or []:
        target = str(entry.get("ansible.builtin.import_playbook", ""))
        if not target.startswith("services/"):
            continue
        plays = yaml.safe_load((paths.playbooks_dir() / target).read_text(encoding="utf-8")) or []
        for play in plays:
            if play.get("name"):
                out[str(play["name"])] = Path(target).stem
    return out


@dataclass
class ResumePlan:
    run_id: str
    """The failed deploy run resumed."""
    failed_play: str
    tags: list[str]
    """The play tags to run now: the failed service's and every later one of the failed run."""
    skip_tags: list[str]


def resume_plan(cluster: Cluster) -> ResumePlan | None:
    """Where `deploy --resume` continues: the inventory's newest recorded deploy, from its failed play on
    (with that run's tags and skip-tags). None when that deploy succeeded. Raises BadInput when no deploy
    of this inventory is recorded, its run was pruned, or it failed before a service play."""
    from bigdata_admin import runner

    inv = deployment.inventory_arg(cluster.source)
    record = deployment.load_record(cluster) or {}
    runs = sorted({str(g.get("run")) for g in (record.get("groups") or {}).values() if g.get("run")})
    if not runs:
        raise BadInput("no deploy of this inventory is recorded, so there is nothing to resume",
                       fix=f"Run `bigdata-admin deploy -i {inv}`.")
    info = runner.find_run(runs[-1])
    if int(info.get("rc", 1)) == 0:
        return None
    failed = [f for f in info.get("failures") or [] if f.get("play")]
    by_play = play_roles()
    order = ["common", "java", *service_order()]
    role = by_play.get(str(failed[0]["play"])) if failed else None
    if role is None:
        where = f"in play {failed[0]['play']!r}" if failed else "without naming its play"
        raise BadInput(f"the last deploy ({info['id']}) failed {where}, before any service play",
                       fix=f"Fix what `bigdata-admin runs show {info['id']}` reports, then run "
                           f"`bigdata-admin deploy -i {inv}` again.")
    wanted, skipped = list(info.get("tags") or []), list(info.get("skip_tags") or [])
    tags = [t for t in order[order.index(role):]
            if (not wanted or t in wanted or "all" in wanted) and t not in skipped]
    return ResumePlan(str(info["id"]), str(failed[0]["play"]), tags, skipped)
