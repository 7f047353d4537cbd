"""Scale out: a host added to the inventory joins the running cluster (issue 15 item 2).

Like kubespray's scale.yml or Ambari's "add host": put the new host into worker groups of the
inventory, then `scale-out HOST` (library: `run`):

1. `plan`: the host must be in the inventory, in at least one worker group of a deployed service and
   in no master group (BadInput otherwise: exit 2, nothing touched);
2. every host's /etc/hosts block lists the new host (the common role's `etc_hosts` action on all
   hosts): a NameNode refuses a DataNode whose address it cannot resolve to a name;
3. `site.yml` limited to the host, with the plays of common, java and its services only: the roles
   need nothing from the hosts outside the limit but inventory variables, their stored Kafka cluster id
   and node ids (read by delegation), and write the masters' host lists (HBase's regionservers) by
   delegation. No master daemon restarts: the NameNode and ResourceManager use no include list
   (`dfs.hosts`, `yarn.resourcemanager.nodes.include-path`), so they admit a registering worker, the
   HMaster a RegionServer, the KRaft controllers a broker formatted with the cluster's id, Nimbus a
   supervisor registered in ZooKeeper;
4. `verify`: waits until each master sees the new worker: the active NameNode lists its DataNode In
   Service, the ResourceManager its NodeManager RUNNING, the active HMaster its RegionServer live, the
   KRaft metadata a registered broker on it (describe_cluster), Storm a supervisor of it in ZooKeeper.

    report = scaleout.run(inventory.load("inv"), "h4", progress=print)
    report.ok, report.as_dict()
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bigdata_admin import deployment
from bigdata_admin.dayops import GateCheck, hbase_live_regionservers, wait_gate
from bigdata_admin.errors import BadInput
from bigdata_admin.inventory import Cluster, Host
from bigdata_admin.services import BY_GROUP, GROUPS

WORKER_GROUPS: dict[str, str] = {
    "hdfs_datanode": "hdfs", "yarn_nodemanager": "yarn", "hbase_regionserver": "hbase",
    "kafka_broker": "kafka", "storm_supervisor": "storm", "spark_worker": "spark", "impala_daemon": "impala"}
"""Worker group -> its role (play tag): the groups a host added by scale-out may join."""
VERIFIED: dict[str, str] = {
    "hdfs_datanode": "NameNode lists the DataNode In Service",
    "yarn_nodemanager": "ResourceManager lists the NodeManager RUNNING",
    "hbase_regionserver": "active HMaster lists the RegionServer live",
    "kafka_broker": "broker registered in the KRaft metadata",
    "storm_supervisor": "supervisor registered in Storm's ZooKeeper state",
}
"""Worker groups whose master is asked whether it sees the new worker -> what is waited for."""
HOST_PLAYS = ("common", "java")
"""Host-wide plays a new host gets before its services."""
DEFAULT_TIMEOUT_S = 300.0
"""Seconds each master may take to see the new worker."""
INTERVAL_S = 3.0


@dataclass
class ScalePlan:
    host: Host
    groups: list[str]
    """Worker groups the host joins (their services are deployed on the cluster)."""
    tags: list[str]
    """Play tags of the limited deploy: common, java, then the services in site.yml order."""
    skipped: dict[str, str] = field(default_factory=dict)
    """Worker groups of the host whose service the cluster does not run -> why (left out)."""


def plan(cluster: Cluster, host_name: str) -> ScalePlan:
    """What scale-out does for `host_name`. Raises BadInput (nothing touched) for a host not in the
    inventory, in a master group, in no worker group, or whose worker services none is deployed."""
    from bigdata_admin.dayops import service_order

    inv = deployment.inventory_arg(cluster.source)
    host = cluster.hosts.get(host_name)
    if host is None:
        raise BadInput(f"host {host_name!r} is not in the inventory {inv}",
                       fix=f"Add it under all.hosts (with ansible_host) and into worker groups "
                           f"({', '.join(WORKER_GROUPS)}) first; its hosts now: {', '.join(cluster.hosts)}.")
    contract = [g for g in host.groups if g in GROUPS]
    masters = [g for g in contract if g not in WORKER_GROUPS]
    if masters:
        raise BadInput(f"{host_name} is in group(s) {', '.join(masters)}, which scale-out does not add: it "
                       "adds worker hosts only",
                       fix=f"Take {host_name} out of {', '.join(masters)}, or deploy the whole cluster "
                           f"(`bigdata-admin deploy -i {inv}`), which configures every master for it.")
    workers = [g for g in contract if g in WORKER_GROUPS]
    if not workers:
        raise BadInput(f"{host_name} is in no worker group",
                       fix=f"Put it into worker groups in the inventory's hosts.yml "
                           f"({', '.join(WORKER_GROUPS)}), then run "
                           f"`bigdata-admin scale-out -i {inv} {host_name}` again.")
    absent = deployment.not_deployed(cluster)
    joined = [g for g in workers if g not in absent]
    skipped = {g: absent[g] for g in workers if g in absent}
    if not joined:
        why = "; ".join(f"{g}: {r}" for g, r in skipped.items())
        raise BadInput(f"none of {host_name}'s worker services runs on the cluster ({why})",
                       fix=f"Deploy the cluster first (`bigdata-admin deploy -i {inv}`).")
    roles = {WORKER_GROUPS[g] for g in joined}
    tags = [*HOST_PLAYS, *(r for r in service_order() if r in roles)]
    return ScalePlan(host, joined, tags, skipped)


# --- what the masters see ----------------------------------------------------------------------------------

def hdfs_verdict(info: dict[str, Any], host: Host) -> GateCheck:
    """The active NameNode (its NameNodeInfo bean) lists the DataNode on `host` In Service."""
    from bigdata_admin.decommission import datanode_admin_state

    gate = VERIFIED["hdfs_datanode"]
    if not info:
        return GateCheck(False, gate, "no active NameNode answered")
    state, _entry = datanode_admin_state(info, host)
    return GateCheck(state == "In Service", gate, f"NameNode: {state}", {"admin_state": state})


def yarn_verdict(nodes: list[dict[str, Any]], host: Host) -> GateCheck:
    from bigdata_admin.decommission import yarn_node_state

    state = yarn_node_state(nodes, host)
    return GateCheck(state == "RUNNING", VERIFIED["yarn_nodemanager"], f"ResourceManager: {state}",
                     {"state": state})


def hbase_verdict(server: dict[str, Any], host: Host) -> GateCheck:
    gate = VERIFIED["hbase_regionserver"]
    if not server:
        return GateCheck(False, gate, "no active HMaster answered")
    live = hbase_live_regionservers(server)
    seen = bool(set(live) & host.names)
    return GateCheck(seen, gate, f"live RegionServers: {', '.join(live) or 'none'}", {"live": live})


def kafka_verdict(brokers: list[dict[str, Any]], host: Host) -> GateCheck:
    from bigdata_admin.decommission import broker_id

    node = broker_id(brokers, host)
    hosts = sorted(str(b.get("host")) for b in brokers)
    detail = f"broker id {node}" if node is not None else f"registered brokers: {', '.join(hosts) or 'none'}"
    return GateCheck(node is not None, VERIFIED["kafka_broker"], detail, {"broker_id": node})


def storm_verdict(state: Any, host: Host) -> GateCheck:
    sid = state.supervisor_on(host.names)
    detail = f"supervisor {sid}" if sid else f"{len(state.supervisors)} supervisor(s), none of {host.name}"
    return GateCheck(sid is not None, VERIFIED["storm_supervisor"], detail, {"supervisor_id": sid})


def _look(cluster: Cluster, group: str, host: Host) -> Callable[[], GateCheck]:
    """One look at whether the master of `group` sees `host`; a look that raises does not pass."""

    def look() -> GateCheck:
        try:
            if group == "hdfs_datanode":
                from bigdata_admin.dayops import _active_namenode_beans

                return hdfs_verdict(_active_namenode_beans(cluster)[0], host)
            if group == "yarn_nodemanager":
                from bigdata_admin.decommission import Live

                return yarn_verdict(Live(cluster).rm_nodes(), host)
            if group == "hbase_regionserver":
                from bigdata_admin.dayops import _hbase_master_beans

                return hbase_verdict(_hbase_master_beans(cluster)[0], host)
            if group == "kafka_broker":
                from bigdata_admin.dayops import _kafka_facts

                return kafka_verdict(_kafka_facts(cluster)[0], host)
            from bigdata_admin.health import storm_zk

            return storm_verdict(storm_zk.read(cluster), host)
        except Exception as exc:  # a master not answering yet is one more look, not an error
            return GateCheck(False, VERIFIED[group], f"{type(exc).__name__}: {str(exc)[:200]}")

    return look


@dataclass
class Seen:
    """Whether one master sees the new worker."""

    group: str
    service: str
    ok: bool
    gate: str
    detail: str
    seconds: float


def verify(cluster: Cluster, host: Host, groups: list[str], *, timeout_s: float = DEFAULT_TIMEOUT_S,
           interval_s: float = INTERVAL_S, progress: Callable[[str], None] = lambda _: None,
           looks: dict[str, Callable[[], GateCheck]] | None = None) -> list[Seen]:
    """For each of `groups` that has a master check (VERIFIED), wait up to `timeout_s` s until its
    master sees `host`. `looks` (group -> look) replaces the live looks in tests."""
    out: list[Seen] = []
    for group in groups:
        if group not in VERIFIED:
            continue
        look = (looks or {}).get(group) or _look(cluster, group, host)
        check, waited = wait_gate(look, timeout_s, interval_s)
        out.append(Seen(group, BY_GROUP[group].role, check.ok, check.gate, check.detail, round(waited, 1)))
        progress(f"{group}: {'seen' if check.ok else 'NOT seen'} ({check.detail}, {waited:.1f} s)")
    return out


# --- the whole scale-out -----------------------------------------------------------------------------------

@dataclass
class ScaleReport:
    host: str
    groups: list[str]
    tags: list[str]
    skipped: dict[str, str]
    absent: dict[str, str] = field(default_factory=dict)
    """Inventory groups left out of the roles' view (not deployed on the cluster) -> why."""
    etc_hosts: Any = None
    """The runner.RunResult of the /etc/hosts run on every host (None when not run)."""
    deploy: Any = None
    """The runner.RunResult of the limited deploy (None when not run)."""
    seen: list[Seen] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    """Step -> seconds (etc_hosts, deploy, verify)."""

    @property
    def failed_run(self) -> Any:
        for res in (self.etc_hosts, self.deploy):
            if res is not None and res.rc != 0:
                return res
        return None

    @property
    def ok(self) -> bool:
        return self.failed_run is None and self.deploy is not None and all(s.ok for s in self.seen)

    def as_dict(self) -> dict[str, Any]:
        def run(res: Any) -> dict[str, Any] | None:
            return None if res is None else {"rc": res.rc, "run": Path(res.run_dir).name,
                                             "seconds": round(res.elapsed_s, 1)}

        return {"ok": self.ok, "host": self.host, "groups": self.groups, "tags": self.tags,
                "skipped": self.skipped, "absent": self.absent, "etc_hosts": run(self.etc_hosts),
                "deploy": run(self.deploy), "seen": [asdict(s) for s in self.seen],
                "seconds": {k: round(v, 1) for k, v in self.seconds.items()}}


def _view(cluster: Cluster, tags: list[str], host_groups: list[str]
          ) -> tuple[Path, dict[str, str], dict[str, Any]]:
    """(inventory the roles see, groups absent from it -> why, extra vars) for a deploy with `tags`,
    as `deploy --skip-unavailable` makes them, but refusing (BadInput) when an artifact the new host's
    own services need is missing."""
    from bigdata_admin import artifacts

    arts = artifacts.deploy_artifacts(cluster, tags, [])
    needed = [s for s in arts.skipped if set(s.groups) & set(host_groups) or s.tag in HOST_PLAYS]
    if needed:
        files = sorted({f for s in needed for f in s.files})
        raise BadInput(f"{len(files)} artifact(s) the new host needs are not in the cache (no host was "
                       f"touched): {', '.join(files)}",
                       fix=f"Run `{arts.fetch_command}`.")
    absent = deployment.absent_groups(cluster, arts.skipped_tags, arts.skipped_groups) if arts.skipped else {}
    view = {**deployment.outside_this_deploy(cluster, tags, []), **absent}
    extravars = artifacts.java_overrides(cluster, arts.skipped) if arts.skipped else {}
    run_inventory = deployment.write_view(cluster, view) if view else Path(cluster.source)
    return run_inventory, view, extravars


def run(cluster: Cluster, host_name: str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
        interval_s: float = INTERVAL_S, extravars: dict[str, Any] | None = None, verbosity: int = 0,
        show_progress: bool = False, progress: Callable[[str], None] = lambda _: None) -> ScaleReport:
    """Scale out to `host_name` (see the module doc). Raises BadInput before touching any host; a failed
    Ansible run stops there (report.failed_run), a master not seeing the worker in `timeout_s` s is a
    report that is not ok."""
    from bigdata_admin import paths, runner
    from bigdata_admin.problems import errors
    from bigdata_admin.validate import validate

    # site.yml's validate play runs on the control host, which a --limit leaves out: validate here.
    problems = errors(validate(cluster))
    if problems:
        raise BadInput(f"the inventory has {len(problems)} problem(s): "
                       + "; ".join(f"{p.where}: {p.message}" for p in problems),
                       fix=f"Fix them (`bigdata-admin check -i {deployment.inventory_arg(cluster.source)}` "
                           "lists each with its fix); no host was touched.")
    p = plan(cluster, host_name)
    run_inventory, absent, view_vars = _view(cluster, p.tags, p.groups)
    report = ScaleReport(p.host.name, p.groups, p.tags, p.skipped, absent)
    started = time.monotonic()
    progress(f"/etc/hosts of every host: adding {p.host.name}")
    report.etc_hosts = runner.run_playbook(paths.playbook("services/common"), run_inventory,
                                           extravars={**(extravars or {}), "bigdata_action": "etc_hosts"},
                                           verbosity=verbosity, label="scale-out-hosts",
                                           show_progress=show_progress)
    report.seconds["etc_hosts"] = time.monotonic() - started
    if report.etc_hosts.rc != 0:
        return report
    started = time.monotonic()
    progress(f"deploy --limit {p.host.name} --tags {','.join(p.tags)}")
    report.deploy = runner.run_playbook("site", run_inventory, extravars={**view_vars, **(extravars or {})},
                                        limit=p.host.name, tags=p.tags, verbosity=verbosity,
                                        label="scale-out", show_progress=show_progress)
    report.seconds["deploy"] = time.monotonic() - started
    if report.deploy.rc != runner.RC_BAD_INPUT:
        deployment.record_deploy(cluster, deployment.deployed_groups(cluster, p.tags, [], absent), {},
                                 report.deploy.run_dir.name)
    if report.deploy.rc != 0:
        return report
    started = time.monotonic()
    report.seen = verify(cluster, p.host, p.groups, timeout_s=timeout_s, interval_s=interval_s,
                         progress=progress)
    report.seconds["verify"] = time.monotonic() - started
    return report
