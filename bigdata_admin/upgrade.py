"""Rolling upgrade within the compatibility matrix: `bigdata-admin upgrade -i INV [--service hdfs,kafka]`.

The inventory says which versions are wanted (`bigdata_versions`, raised by the user); the hosts say which
versions run (each Hadoop daemon's own report over HTTP, each Kafka node's open release directory over
SSH). Every requested component must move along a path of UPGRADE_PATHS (same major, newer, a release line
the table lists as a rolling-upgrade step) and its target must be in the Java matrix; anything else is
refused before a host is touched (BadInput, exit 2), naming the fix.

The upgrade itself is one Ansible run of playbooks/upgrade.yml (the plays of site.yml that have an upgrade
action) with `bigdata_action=upgrade`, tagged with the roles of the components that move (kolla-ansible
style: each role's tasks/upgrade.yml):

- hadoop -> hdfs (HDFS rolling upgrade: prepare, NameNode with `-rollingUpgrade started`, each DataNode
  shut down for upgrade and started on the new release, finalize), yarn (ResourceManager, then each
  NodeManager), and the roles running Hadoop's jars: hbase (its bundle carries the cluster's Hadoop client;
  the rebuilt bundle is installed and the daemons restarted one at a time), hive (restarted on the new
  installation);
- kafka -> kafka (each node in turn, waiting until no partition is under-replicated, then
  `kafka-features upgrade --release-version`).

Nothing formats storage; the old release directories stay on the nodes.

    plan = upgrade.make_plan(cluster, ["hdfs", "kafka"])      # reads the running versions
    report = upgrade.run(cluster, plan)                       # fetch, play, verify, record
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from bigdata_admin import deployment
from bigdata_admin.errors import BadInput, RunFailed
from bigdata_admin.inventory import Cluster

UPGRADE_PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    # Hadoop's compatibility guide: rolling upgrades within a major release, one minor line at a time.
    # 3.4 -> 3.5 verified on the lab (tests/integration/test_upgrade_lab.py).
    "hadoop": {"3.3": ("3.3", "3.4"), "3.4": ("3.4", "3.5"), "3.5": ("3.5",)},
    # Kafka's upgrade notes: a KRaft 4.x cluster upgrades to any later 4.x, one node at a time, then raises
    # metadata.version. 4.1 -> 4.2 verified on the lab.
    "kafka": {"4.0": ("4.0", "4.1", "4.2", "4.3", "4.4"), "4.1": ("4.1", "4.2", "4.3", "4.4"),
              "4.2": ("4.2", "4.3", "4.4"), "4.3": ("4.3", "4.4"), "4.4": ("4.4",)},
}
"""Component -> running release line (major.minor) -> the lines it may be rolled to."""

SERVICE_COMPONENT = {"hdfs": "hadoop", "yarn": "hadoop", "kafka": "kafka"}
"""Service (play tag) a user names -> the component whose version moves (HDFS and YARN share Hadoop)."""

COMPONENT_ROLES: dict[str, tuple[str, ...]] = {"hadoop": ("hdfs", "yarn"), "kafka": ("kafka",)}
"""Component -> the roles that run its release, upgraded together."""

FOLLOWERS: dict[str, tuple[str, ...]] = {"hadoop": ("hbase", "hive")}
"""Component -> roles that run its jars (HBase's bundle carries the cluster's Hadoop client, Hive runs on the
Hadoop installation): their upgrade action brings them onto the new release after it."""

VERSION_GROUPS: dict[str, tuple[str, ...]] = {
    "hadoop": ("hdfs_namenode", "hdfs_datanode", "yarn_resourcemanager", "yarn_nodemanager"),
    "kafka": ("kafka_controller", "kafka_broker"),
}
"""Component -> the inventory groups whose daemons report the running version."""

FOLLOWER_UNITS: dict[str, dict[str, str]] = {
    "hadoop": {"hive_metastore": "hive-metastore", "hive_server2": "hive-server2"},
}
"""Component -> group of a FOLLOWERS role -> its systemd unit, whose process tells the release of the
component's jars it runs on (read over SSH: the versioned jar it holds open), so that `upgrade` again
finishes a run that stopped before a follower was restarted. Hive's daemons run on the cluster's Hadoop
installation. HBase's are added by follower_units() where its bundle comes from Maven (it carries the
cluster's Hadoop client); the Apache tarball carries a Hadoop client of HBase's own release."""

HBASE_FOLLOWER_UNITS = {"hbase_master": "hbase-master", "hbase_regionserver": "hbase-regionserver",
                        "hbase_thrift": "hbase-thrift"}

HDFS_HA_UNITS: dict[str, tuple[str, str]] = {"hdfs_journalnode": ("hdfs_journalnode", "hdfs-journalnode"),
                                             "hdfs_zkfc": ("hdfs_namenode", "hdfs-zkfc")}
"""With NameNode HA (two NameNodes): label in `where` -> (inventory group, systemd unit) of the daemons with
no version report of their own (the JournalNodes, the failover controller beside each NameNode), read like
the followers' (the hadoop-common jar the process holds open)."""


def follower_units(cluster: Cluster, component: str) -> dict[str, str]:
    """FOLLOWER_UNITS[component], with HBase's daemons for Hadoop when HBase is installed from Maven."""
    from bigdata_admin.catalog import install_source

    units = dict(FOLLOWER_UNITS.get(component, {}))
    if component == "hadoop" and install_source(cluster, "hbase") == "maven":
        units.update(HBASE_FOLLOWER_UNITS)
    return units

STOPPED = "stopped"
"""`where` value of a follower daemon that does not run: the upgrade action starts it on the new release."""

Action = Literal["upgrade", "current", "refused"]


def parse_version(text: str) -> tuple[int, int, int]:
    """`3.4.2` -> (3, 4, 2); a missing patch is 0. Raises ValueError for anything that is not N.N[.N]."""
    m = re.fullmatch(r"\s*(\d+)\.(\d+)(?:\.(\d+))?\s*", str(text))
    if not m:
        raise ValueError(f"{text!r} is not a version (N.N.N)")
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def release_line(text: str) -> str:
    """`3.4.2` -> `3.4`."""
    major, minor, _ = parse_version(text)
    return f"{major}.{minor}"


@dataclass
class PathVerdict:
    """What the upgrade does for one component."""

    component: str
    running: list[str]
    """Distinct versions the hosts run now (oldest first)."""
    target: str
    action: Action
    reason: str
    fix: str = ""
    where: dict[str, str] = field(default_factory=dict)
    """`group@host` -> the version it runs (or `unknown: why`)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def check_path(component: str, running: Iterable[str], target: str, *,
               java_major: int | None = None, finalizing: bool = False) -> PathVerdict:
    """Whether `component` may move from the `running` versions to `target` (pure).

    `finalizing`: an upgrade to `target` is still open on the cluster (HDFS rolling upgrade not finalized):
    a cluster already running `target` then still needs the upgrade action. Never raises: a version that
    does not parse is a refused verdict."""
    from bigdata_admin.catalog import java_support

    seen = sorted(set(running), key=lambda v: _sort_key(v))
    verdict = PathVerdict(component, seen, target, "refused", "")
    paths = UPGRADE_PATHS.get(component)
    if paths is None:
        verdict.reason = f"{component} has no rolling upgrade in this tool"
        verdict.fix = f"Upgradable: {', '.join(sorted(UPGRADE_PATHS))}."
        return verdict
    try:
        want = parse_version(target)
        have = [parse_version(v) for v in seen]
    except ValueError as exc:
        verdict.reason = str(exc)
        verdict.fix = f"Set bigdata_versions.{component} to a release number such as 3.5.0."
        return verdict
    if not have:
        verdict.reason = f"no host reports the {component} version it runs"
        verdict.fix = "Deploy it first, or start its daemons (see `bigdata-admin status`)."
        return verdict
    newest, oldest = max(have), min(have)
    if newest > want:
        verdict.reason = (f"bigdata_versions.{component} is {target}, older than the {_fmt(newest)} the "
                          "cluster runs: a downgrade, which this tool does not do (a finalized upgrade "
                          "cannot be rolled back)")
        verdict.fix = (f"Set bigdata_versions.{component} back to {_fmt(newest)} (or a newer release) in "
                       "the inventory.")
        return verdict
    if oldest[0] != want[0]:
        verdict.reason = (f"{component} {_fmt(oldest)} -> {target} crosses a major release, which is not a "
                          "rolling upgrade (the cluster must be stopped and upgraded as a whole)")
        verdict.fix = (f"Stay within {component} {oldest[0]}.x (e.g. the newest {oldest[0]}.{oldest[1]} or "
                       f"{oldest[0]}.{oldest[1] + 1} release).")
        return verdict
    from_line, to_line = f"{oldest[0]}.{oldest[1]}", f"{want[0]}.{want[1]}"
    allowed = paths.get(from_line)
    if allowed is None or to_line not in allowed:
        steps = ", ".join(allowed or ()) or "none known"
        verdict.reason = (f"{component} {_fmt(oldest)} -> {target}: no rolling-upgrade path from the "
                          f"{from_line} line to {to_line} in the upgrade table (from {from_line}: {steps})")
        verdict.fix = (f"Upgrade one step at a time (from {from_line} to one of: {steps}), setting "
                       f"bigdata_versions.{component} to each step in turn.")
        return verdict
    support = java_support(component, target)
    if support is None:
        verdict.reason = f"{component} {target} is not in the compatibility matrix (its Java is unknown)"
        verdict.fix = "Pick a release line the matrix knows (see `bigdata-admin check`)."
        return verdict
    if java_major is not None and java_major not in support[0] | support[1]:
        verdict.reason = (f"{component} {target} does not run on Java {java_major} (bigdata_java_for."
                          f"{component}); it runs on {', '.join(str(m) for m in sorted(support[0]))}")
        verdict.fix = f"Set bigdata_java_for.{component} to one of those first."
        return verdict
    if oldest == want and newest == want and not finalizing:
        verdict.action, verdict.reason = "current", f"every host runs {target}"
        return verdict
    verdict.action = "upgrade"
    if oldest == want:
        verdict.reason = f"every host runs {target}; the rolling upgrade is still to be finalized"
    elif len(have) > 1:
        verdict.reason = f"{', '.join(seen)} -> {target} (continuing: some hosts already run a newer release)"
    else:
        verdict.reason = f"{_fmt(oldest)} -> {target}"
    return verdict


def _fmt(v: tuple[int, ...]) -> str:
    return ".".join(str(n) for n in v)


def _sort_key(v: str) -> tuple[int, ...]:
    try:
        return parse_version(v)
    except ValueError:
        return (10**6,)


# --- what the hosts run ---------------------------------------------------------------------------------

def held_open(unit: str, pattern: str, when_stopped: str | None = None) -> str:
    """Shell (as root): the distinct `grep -o pattern` matches among the files systemd `unit`'s main process
    holds open, one a line. When the unit has no main process: `when_stopped` echoed (exit 0), or with None
    nothing printed and exit 1."""
    if "'" in pattern:
        raise ValueError(f"pattern {pattern!r} would break its single quotes")
    stopped = f"echo {when_stopped}" if when_stopped is not None else "false"
    return (f"pid=$(systemctl show -p MainPID --value {unit}); "
            "if [ -n \"$pid\" ] && [ \"$pid\" != 0 ]; then ls -l /proc/$pid/fd/ 2>/dev/null "
            f"| grep -o '{pattern}' | sort -u; else {stopped}; fi")


KAFKA_RELEASE_DIR = "/kafka-[0-9][^/]*/"
"""grep pattern of the Kafka release directories a node's process holds files open in (`/kafka-4.1.1/`)."""


def kafka_version_from_dirs(text: str) -> str | None:
    """held_open("kafka", KAFKA_RELEASE_DIR, STOPPED)'s output (`/kafka-4.1.1/` lines) -> the version, None
    when none or several (or when it printed STOPPED)."""
    found = sorted(set(re.findall(r"/kafka-(\d+\.\d+(?:\.\d+)?)/", text)))
    return found[0] if len(found) == 1 else None


HADOOP_COMMON_JAR = "hadoop-common-[0-9][^ /]*[.]jar"
"""grep pattern of the hadoop-common jars a daemon holds open (`hadoop-common-3.4.2.jar`)."""


def hadoop_version_from_jars(text: str) -> str | None:
    """held_open(unit, HADOOP_COMMON_JAR, STOPPED)'s output -> the Hadoop version (`hadoop-common-3.4.2.jar`
    -> 3.4.2), STOPPED when the daemon does not run, None when it holds no hadoop-common jar or several
    versions."""
    if text.strip() == STOPPED:
        return STOPPED
    found = sorted(set(re.findall(r"hadoop-common-(\d+\.\d+(?:\.\d+)?)\.jar", text)))
    return found[0] if len(found) == 1 else None


def running_versions(cluster: Cluster, component: str) -> tuple[dict[str, str], bool]:
    """(`group@host` -> version it runs, or `unknown: why`; whether an upgrade is still open on the cluster).

    Hadoop: each daemon's own report (NameNode and DataNode JMX, ResourceManager and NodeManager REST),
    `open` when the NameNode reports a rolling upgrade not yet finalized; each Hive (and Maven-installed
    HBase) daemon (follower_units), and with NameNode HA each JournalNode and failover controller
    (HDFS_HA_UNITS), the version of the hadoop-common jar it holds open, or STOPPED (over SSH, with sudo).
    Kafka: the release directory each node's process holds open (over SSH, with sudo)."""
    from bigdata_admin import health
    from bigdata_admin.health.remote import run as remote_run

    out: dict[str, str] = {}
    still_open = False
    absent = deployment.not_deployed(cluster)
    if component == "hadoop":
        health.load_plugins()
        for group in VERSION_GROUPS["hadoop"]:
            if group in absent:
                continue
            for host in cluster.hosts_in(group):
                res = health.PROBES[group](cluster, host)
                version = str((res.data or {}).get("version") or "").split(",")[0].strip()
                out[f"{group}@{host.name}"] = version if version else f"unknown: {res.state} ({res.detail})"
        by_jar = {group: (group, unit) for group, unit in follower_units(cluster, "hadoop").items()}
        if len(cluster.hosts_in("hdfs_namenode")) > 1:
            by_jar.update(HDFS_HA_UNITS)
        for label, (group, unit) in by_jar.items():
            if group in absent or not cluster.has(group):
                continue
            for host in cluster.hosts_in(group):
                answer = remote_run(host, ["sh", "-c", held_open(unit, HADOOP_COMMON_JAR, STOPPED)],
                                    timeout=20, become=True)
                found = hadoop_version_from_jars(answer.stdout) if answer.ok else None
                why = (f"{unit} holds no single hadoop-common jar open" if answer.ok
                       else (answer.stderr or "unreachable"))
                out[f"{label}@{host.name}"] = found or f"unknown: {why}"
        still_open = _hdfs_upgrade_open(cluster)
    elif component == "kafka":
        seen: set[str] = set()
        for group in VERSION_GROUPS["kafka"]:
            if group in absent:
                continue
            for host in cluster.hosts_in(group):
                if host.name in seen:
                    continue
                seen.add(host.name)
                answer = remote_run(host, ["sh", "-c", held_open("kafka", KAFKA_RELEASE_DIR, STOPPED)],
                                    timeout=20, become=True)
                found = kafka_version_from_dirs(answer.stdout) if answer.ok else None
                if not answer.ok:
                    why = answer.stderr.strip() or "unreachable"
                elif answer.stdout.strip() == STOPPED:
                    why = "the kafka unit is not running"
                else:
                    why = "no running Kafka release found"
                out[f"kafka@{host.name}"] = found or f"unknown: {why}"
    else:
        raise BadInput(f"no way to read the running version of {component}")
    return out, still_open


def _hdfs_upgrade_open(cluster: Cluster) -> bool:
    """Whether a NameNode reports a rolling upgrade not yet finalized (NameNodeInfo.RollingUpgradeStatus)."""
    from bigdata_admin.health.probes_hadoop import namenode_infos

    for _nn, info in namenode_infos(cluster):
        status = info.get("RollingUpgradeStatus")
        if status and not (isinstance(status, dict) and status.get("finalizeTime")):
            return True
    return False


# --- plan -----------------------------------------------------------------------------------------------

@dataclass
class UpgradePlan:
    cluster: str
    inventory: str
    verdicts: list[PathVerdict]
    roles: list[str]
    """Play tags of the Ansible run of playbooks/upgrade.yml (site.yml order), bigdata_action=upgrade."""

    @property
    def refused(self) -> list[PathVerdict]:
        return [v for v in self.verdicts if v.action == "refused"]

    @property
    def moving(self) -> list[PathVerdict]:
        return [v for v in self.verdicts if v.action == "upgrade"]

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "inventory": self.inventory,
                "components": [v.as_dict() for v in self.verdicts], "roles": self.roles}


def components_for(services: Iterable[str]) -> list[str]:
    """Services or components named by the user -> components (UPGRADE_PATHS order). Raises BadInput."""
    out: list[str] = []
    for name in services:
        key = name.strip().lower()
        comp = SERVICE_COMPONENT.get(key) or (key if key in UPGRADE_PATHS else None)
        if comp is None:
            raise BadInput(f"no rolling upgrade for {name!r}",
                           fix=f"Name one of: {', '.join(sorted(SERVICE_COMPONENT))} (or hadoop).")
        if comp not in out:
            out.append(comp)
    return [c for c in UPGRADE_PATHS if c in out]


def deployed_components(cluster: Cluster) -> list[str]:
    """Upgradable components with at least one deployed group in the inventory."""
    absent = deployment.not_deployed(cluster)
    return [c for c in UPGRADE_PATHS
            if any(cluster.has(g) and g not in absent for g in VERSION_GROUPS[c])]


def plan_roles(cluster: Cluster, moving: Iterable[str]) -> list[str]:
    """The play tags of an upgrade of the `moving` components, in playbooks/upgrade.yml's order (site.yml's):
    their roles and the deployed follower roles (FOLLOWERS)."""
    from bigdata_admin.dayops import deployed_roles, service_order

    deployed = set(deployed_roles(cluster))
    wanted: set[str] = set()
    for comp in moving:
        wanted |= set(COMPONENT_ROLES[comp]) | set(FOLLOWERS.get(comp, ()))
    return [r for r in service_order("upgrade") if r in wanted and r in deployed]


VersionReader = Callable[[Cluster, str], tuple[dict[str, str], bool]]


def make_plan(cluster: Cluster, services: Iterable[str] = (), *,
              read: VersionReader | None = None) -> UpgradePlan:
    """What `upgrade` would do: per component the running versions, the target and the verdict.

    `services`: hdfs, yarn, kafka or hadoop (empty: every deployed upgradable component). Raises BadInput
    for an unknown or undeployed service. Refusals are verdicts (see `UpgradePlan.refused`)."""
    read = read or running_versions
    wanted = components_for(services) if services else deployed_components(cluster)
    deployed = deployed_components(cluster)
    missing = [c for c in wanted if c not in deployed]
    if missing:
        raise BadInput(f"not deployed on this inventory: {', '.join(missing)}",
                       fix=f"Deployed and upgradable: {', '.join(deployed) or 'none'}.")
    if not wanted:
        raise BadInput("nothing upgradable is deployed on this inventory",
                       fix=f"Upgradable: {', '.join(sorted(SERVICE_COMPONENT))}; deploy them first.")
    verdicts: list[PathVerdict] = []
    java_for = cluster.var("bigdata_java_for") or {}
    for comp in wanted:
        target = cluster.version(comp) or ""
        where, still_open = read(cluster, comp)
        versions = [v for v in where.values() if not v.startswith("unknown") and v != STOPPED]
        stopped = [k for k, v in where.items() if v == STOPPED]
        unknown = {k: v for k, v in where.items() if v.startswith("unknown")}
        raw = java_for.get(comp)
        try:
            java = int(raw) if raw is not None else None
        except (TypeError, ValueError):
            java = None
        verdict = check_path(comp, versions, target, java_major=java, finalizing=still_open or bool(stopped))
        verdict.where = where
        if stopped and verdict.action == "upgrade" and not still_open and set(versions) == {target}:
            # A follower left down by an upgrade that failed (e.g. a Hive daemon that did not come back).
            verdict.reason = (f"every running daemon runs {target}; {', '.join(stopped)} not running: "
                              "started on it")
        if unknown and verdict.action != "refused":
            verdict.action = "refused"
            verdict.reason = ("cannot tell what runs on "
                              + "; ".join(f"{k} ({v[9:]})" for k, v in unknown.items())
                              + ": every daemon must run before a rolling upgrade")
            verdict.fix = ("Start it (`bigdata-admin start`) and check `bigdata-admin status`, then run "
                           "upgrade again.")
        verdicts.append(verdict)
    moving = [v.component for v in verdicts if v.action == "upgrade"]
    return UpgradePlan(cluster.name, str(cluster.source), verdicts, plan_roles(cluster, moving))


# --- run ------------------------------------------------------------------------------------------------

@dataclass
class UpgradeReport:
    plan: UpgradePlan
    ok: bool = False
    run_id: str | None = None
    fetched: list[str] = field(default_factory=list)
    after: dict[str, dict[str, str]] = field(default_factory=dict)
    """Component -> `group@host` -> version, read after the run."""
    problems: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    """Step -> seconds: fetch, play, verify."""

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "run": self.run_id, "fetched": self.fetched, "after": self.after,
                "problems": self.problems, "seconds": self.seconds, **self.plan.as_dict()}


def refusal(plan: UpgradePlan) -> BadInput:
    """One BadInput naming every refused component and its fix."""
    parts = [f"{v.component}: {v.reason}" for v in plan.refused]
    fixes = [f"{v.component}: {v.fix}" for v in plan.refused if v.fix]
    return BadInput("upgrade refused, no host was touched: " + "; ".join(parts), fix=" ".join(fixes) or None)


def run(cluster: Cluster, plan: UpgradePlan, *, verbosity: int = 0, show_progress: bool = False,
        progress: Callable[[str], None] | None = None, read: VersionReader | None = None) -> UpgradeReport:
    """Carry out `plan`: fetch the artifacts the new versions need, run the upgrade play, read the versions
    again and record them. Raises BadInput (nothing done) when the plan refuses a component, RunFailed when
    an artifact cannot be fetched. Returns the report; `ok` is False when the play failed or a daemon does
    not run its target afterwards."""
    from bigdata_admin import artifacts, runner

    say = progress or (lambda _m: None)
    read = read or running_versions
    if plan.refused:
        raise refusal(plan)
    report = UpgradeReport(plan)
    moving = plan.moving
    if not moving:
        report.ok = True
        return report
    t0 = time.monotonic()
    absent = deployment.not_deployed(cluster)
    needed = artifacts.deploy_artifacts(cluster, plan.roles, [])
    if needed.missing:
        comps = sorted({a.component for a in needed.missing})
        say(f"fetching {', '.join(a.filename for a in needed.missing)}")
        outcomes = artifacts.fetch(cluster, comps)
        bad = [o for o in outcomes if not o.ok and o.artifact in needed.missing]
        if bad:
            raise RunFailed("cannot fetch what the upgrade needs: "
                            + "; ".join(f"{o.artifact.filename}: {(o.message.splitlines() or [o.action])[0]}"
                                        for o in bad),
                            fix=f"Run `{artifacts.fetch_command(cluster, [o.artifact for o in bad])}` and "
                                "look at its message; nothing on the hosts was changed.")
        report.fetched = [o.artifact.filename for o in outcomes if o.action == "fetched"]
    report.seconds["fetch"] = round(time.monotonic() - t0, 1)
    inv = deployment.write_view(cluster, absent) if absent else cluster.source
    say(f"upgrading {', '.join(f'{v.component} {v.reason}' for v in moving)}: roles {', '.join(plan.roles)}")
    t1 = time.monotonic()
    result = runner.run_playbook("upgrade", Path(inv), extravars={"bigdata_action": "upgrade"},
                                 tags=plan.roles, verbosity=verbosity, label="upgrade",
                                 show_progress=show_progress)
    report.seconds["play"] = round(time.monotonic() - t1, 1)
    report.run_id = result.run_dir.name
    if not result.ok:
        failed = [f"{f.host}: {f.task}: {f.message}" for f in result.failures[:5]]
        report.problems += failed or [f"the Ansible run ended {result.status}"]
        return report
    t2 = time.monotonic()
    for verdict in moving:
        where, still_open = read(cluster, verdict.component)
        report.after[verdict.component] = where
        off = {k: v for k, v in where.items() if v != verdict.target}
        if off:
            report.problems.append(f"{verdict.component}: not on {verdict.target}: "
                                   + ", ".join(f"{k} runs {v}" for k, v in off.items()))
        if still_open:
            report.problems.append(f"{verdict.component}: the rolling upgrade is not finalized")
    report.seconds["verify"] = round(time.monotonic() - t2, 1)
    report.ok = not report.problems
    if report.ok:
        deployment.record_versions(cluster, {v.component: v.target for v in moving}, report.run_id or "")
    return report


def describe_where(where: Mapping[str, str]) -> str:
    """`group@host` -> version, grouped by version: `3.4.2 on hdfs_namenode@h1, ...`."""
    by: dict[str, list[str]] = {}
    for k, v in where.items():
        by.setdefault(v, []).append(k)
    return "; ".join(f"{v} on {', '.join(ks)}" for v, ks in by.items())

