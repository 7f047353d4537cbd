"""Check a cluster's topology before anything touches a host.

`validate(cluster)` applies every rule and returns ALL problems at once, each naming the group or
host concerned and the fix. The CLI (`bigdata-admin check`), `deploy` and the Ansible validate play
(`playbooks/validate.yml`, through its action plugin) run these same rules.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from bigdata_admin import choices, nodeids, plan, services
from bigdata_admin.inventory import Cluster
from bigdata_admin.problems import Problem

# Groups Ansible itself defines.
BUILTIN_GROUPS = frozenset({"all", "ungrouped"})


def _err(where: str, message: str, fix: str) -> Problem:
    return Problem("error", where, message, fix)


def _warn(where: str, message: str, fix: str) -> Problem:
    return Problem("warning", where, message, fix)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _count(cluster: Cluster, group: str) -> int:
    return len(cluster.hosts_in(group))


def _any(cluster: Cluster, groups: Iterable[str]) -> list[str]:
    return [g for g in groups if cluster.has(g)]


# --------------------------------------------------------------------------------------------- groups

def _group_names(cluster: Cluster) -> list[Problem]:
    known = set(services.GROUPS)
    problems: list[Problem] = []
    parents: dict[str, set[str]] = {}
    for parent, kids in cluster.children.items():
        for kid in kids:
            parents.setdefault(kid, set()).add(parent)

    def holds_contract(group: str, seen: frozenset[str] = frozenset()) -> bool:
        """True when `group` is nested (at any depth) under a contract group, or holds one."""
        for p in parents.get(group, ()):
            if p in BUILTIN_GROUPS:
                continue
            if p in known or (p not in seen and holds_contract(p, seen | {group})):
                return True
        return any(k in known for k in cluster.children.get(group, ()))

    for group in cluster.groups:
        if group in known or group in BUILTIN_GROUPS:
            continue
        if holds_contract(group):
            continue  # an aggregation group (like `masters` under `zookeeper.children`)
        close = difflib.get_close_matches(group, sorted(known), n=1, cutoff=0.75)
        if close:
            problems.append(_err(
                f"group {group}", f"unknown group {group!r}: did you mean {close[0]!r}?",
                f"Rename the group to {close[0]!r} in the inventory."))
        else:
            problems.append(_err(
                f"group {group}",
                f"unknown group {group!r}: bigdata-admin deploys nothing for it",
                "Use one of the contract groups (" + ", ".join(services.GROUPS) + "), or nest it under "
                "a contract group's `children:` if it only gathers hosts."))
    return problems


def _addresses(cluster: Cluster) -> list[Problem]:
    problems = []
    for host in cluster.hosts.values():
        if not host.address:
            problems.append(_err(
                f"host {host.name}", f"host {host.name!r} has no address",
                f"Give it `ansible_host: <IP or DNS name>` (or `ansible_connection: local` for the "
                f"control host) under `all.hosts.{host.name}`."))
    return problems


# -------------------------------------------------------------------------------------------- types

def _types(cluster: Cluster) -> list[Problem]:
    """Ports, memory figures and counts must be integers; report each bad value once."""
    port_vars: set[str] = {"hdfs_namenode_zkfc_port", "hdfs_secondarynamenode_http_port"}
    mem_vars: set[str] = {"hdfs_zkfc_heap_mb", "hdfs_secondarynamenode_heap_mb", "storm_worker_heap_mb",
                          "bigdata_host_memory_mb"}
    for svc in services.SERVICES:
        port_vars.update(svc.ports.values())
        mem_vars.update(svc.memory)
    bad: dict[tuple[str, str, str], list[str]] = {}

    def note(var: str, value: Any, want: str, host: str) -> None:
        bad.setdefault((var, repr(value), want), []).append(host)

    for host in cluster.hosts.values():
        for var in sorted(port_vars):
            value = host.var(var)
            if value is None:
                continue
            if not _is_int(value) or not 1 <= value <= 65535:
                note(var, value, "a port number (an integer from 1 to 65535)", host.name)
        slots = host.var("storm_supervisor_slot_ports")
        if slots is not None and (not isinstance(slots, list)
                                  or not all(_is_int(s) and 1 <= s <= 65535 for s in slots)):
            note("storm_supervisor_slot_ports", slots, "a list of port numbers", host.name)
        for var in sorted(mem_vars):
            value = host.var(var)
            if value is None:
                continue
            if not _is_int(value) or value < 0:
                note(var, value, "a whole number of MiB", host.name)
    rep = cluster.var("hdfs_replication")
    if rep is not None and (not _is_int(rep) or rep < 1):
        bad.setdefault(("hdfs_replication", repr(rep), "an integer >= 1"), []).append("all")

    problems = []
    for (var, value, want), hosts in bad.items():
        if hosts == ["all"]:
            where = "the cluster variables"
        else:
            where = f"host {hosts[0]}" if len(hosts) == 1 else "hosts " + ", ".join(hosts)
        problems.append(_err(
            f"variable {var}", f"{var} is {value} on {where}: it must be {want}",
            f"Set {var} to {want} (unquoted in YAML) in group_vars/all.yml or the host's vars; "
            f"on the command line pass JSON: -e '{{\"{var}\": ...}}'."))
    return problems


def _where(hosts: list[str]) -> str:
    return f"host {hosts[0]}" if len(hosts) == 1 else "hosts " + ", ".join(hosts)


def _choices(cluster: Cluster) -> list[Problem]:
    """Enumerated variables (bigdata_admin.choices.CHOICES) hold one of their allowed values."""
    bad: dict[tuple[str, str], list[str]] = {}
    sources = [(h.name, h.vars) for h in cluster.hosts.values()] or [("all", cluster.vars)]
    for name, values in sources:
        for var, allowed in choices.enumerated(values).items():
            value = values.get(var)
            if value is not None and value not in allowed:
                bad.setdefault((var, repr(value)), []).append(name)
    problems = []
    for (var, value), hosts in bad.items():
        allowed = choices.allowed(var) or ()
        cluster_wide = repr(cluster.var(var)) == value and len(hosts) == len(sources)
        where = "in the cluster variables (group_vars/all)" if cluster_wide else f"on {_where(hosts)}"
        problems.append(_err(
            f"variable {var}",
            f"{var} is {value} {where}: allowed values are {', '.join(allowed)}",
            f"Set {var} to one of {', '.join(allowed)} (exactly so spelled) where it is set "
            "(group_vars, host_vars or -e)."))
    return problems


def _rendered(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _extra_settings(cluster: Cluster) -> list[Problem]:
    """`*_extra` dictionaries must not contradict the first-class variable that owns a key."""
    bad: dict[tuple[str, str, str], list[str]] = {}
    for host in cluster.hosts.values():
        extra_vars = set(choices.OWNED_KEYS) | set(choices.FIXED_KEYS) | set(choices.ENUMERATED_KEYS)
        for extra_var in sorted(extra_vars):
            extra = host.var(extra_var)
            if not isinstance(extra, dict):
                continue
            for key, value in extra.items():
                key = str(key)
                if isinstance(value, str) and "{{" in value:
                    continue  # templated: resolved on the node only
                owned = choices.OWNED_KEYS.get(extra_var, {}).get(key)
                fixed = choices.FIXED_KEYS.get(extra_var, {}).get(key)
                allowed = choices.ENUMERATED_KEYS.get(extra_var, {}).get(key)
                if owned is not None:
                    var, render = owned
                    first = host.var(var)
                    if isinstance(first, str) and "{{" in first:
                        continue
                    if first is None:
                        msg = (f"{extra_var} sets {key}={_rendered(value)!r}, which bigdata-admin computes; "
                               f"clients would not know it")
                        fix = f"Remove {key} from {extra_var} and set {var} instead."
                    elif render(first) != _rendered(value):
                        msg = (f"{extra_var} sets {key}={_rendered(value)!r} but {var} is {first!r} "
                               f"(which renders {key}={render(first)!r}); clients follow {var}")
                        fix = f"Remove {key} from {extra_var} and set {var} to the value you want."
                    else:
                        continue
                elif fixed is not None:
                    msg = f"{extra_var} sets {key}, which is computed from {fixed}"
                    fix = f"Remove {key} from {extra_var}; change {fixed} instead."
                elif allowed is not None and _rendered(value) not in allowed:
                    msg = (f"{extra_var} sets {key}={_rendered(value)!r}: allowed values are "
                           f"{', '.join(allowed)}")
                    fix = f"Set {key} in {extra_var} to one of {', '.join(allowed)}."
                else:
                    continue
                bad.setdefault((f"variable {extra_var}", msg, fix), []).append(host.name)
    return [_err(where, f"{msg} (on {_where(hosts)})", fix) for (where, msg, fix), hosts in bad.items()]


# ----------------------------------------------------------------------------------- service rules

def _zookeeper(cluster: Cluster) -> list[Problem]:
    n = _count(cluster, "zookeeper")
    if n and n % 2 == 0:
        return [_err("group zookeeper",
                     f"the ZooKeeper ensemble has {n} members; it needs an odd number",
                     f"Use {n - 1} or {n + 1} hosts in group zookeeper (a quorum of an even ensemble "
                     "tolerates no more failures than one member fewer).")]
    return []


def _node_ids(cluster: Cluster) -> list[Problem]:
    """Explicit ZooKeeper myids and Kafka node.ids: whole numbers in range, one per node."""
    problems: list[Problem] = []
    kafka_hosts = list(dict.fromkeys(cluster.groups.get("kafka_controller", [])
                                     + cluster.groups.get("kafka_broker", [])))
    for kind, members in ((nodeids.ZOOKEEPER, cluster.groups.get("zookeeper", [])),
                          (nodeids.KAFKA, kafka_hosts)):
        explicit = {h: cluster.hosts[h].var(kind.variable) for h in members if h in cluster.hosts}
        for p in nodeids.explicit_problems(kind, explicit):
            problems.append(_err(f"variable {kind.variable}", p.message, p.fix))
    return problems


def _hdfs(cluster: Cluster) -> list[Problem]:
    problems: list[Problem] = []
    nn, dn, jn = (_count(cluster, g) for g in ("hdfs_namenode", "hdfs_datanode", "hdfs_journalnode"))
    users = _any(cluster, ("hdfs_datanode", "hdfs_journalnode", "yarn_resourcemanager", "yarn_nodemanager",
                           "hbase_master", "hbase_regionserver", "hive_metastore", "hive_server2",
                           "impala_daemon"))
    if nn == 0:
        if users:
            problems.append(_err("group hdfs_namenode", "no NameNode, but " + ", ".join(users)
                                 + " need HDFS", "Put one host (or two for HA) in group hdfs_namenode."))
        return problems
    if nn == 1:
        if jn:
            problems.append(_warn("group hdfs_journalnode",
                                  f"{jn} JournalNode(s) without NameNode HA: they will not be used",
                                  "Add a second NameNode for HA, or empty group hdfs_journalnode."))
    elif nn == 2:
        if jn < 3 or jn % 2 == 0:
            problems.append(_err("group hdfs_journalnode",
                                 f"NameNode HA needs an odd number >= 3 of JournalNodes; there are {jn}",
                                 "Put 3 (or 5) hosts in group hdfs_journalnode."))
        if not cluster.has("zookeeper"):
            problems.append(_err("group zookeeper",
                                 "NameNode HA needs ZooKeeper for automatic failover (ZKFC); there is none",
                                 "Put 3 hosts in group zookeeper."))
    else:
        problems.append(_err("group hdfs_namenode",
                             f"{nn} NameNodes: bigdata-admin deploys one, or exactly two with HA",
                             "Keep one host in group hdfs_namenode, or two together with 3 JournalNodes "
                             "and ZooKeeper."))
    if dn == 0:
        problems.append(_err("group hdfs_datanode", "HDFS has no DataNode",
                             "Put at least one host in group hdfs_datanode."))
    rep = cluster.var("hdfs_replication")
    if dn and _is_int(rep) and rep > dn:
        problems.append(_err("variable hdfs_replication",
                             f"hdfs_replication is {rep} but there are only {dn} DataNode(s): every block "
                             "would stay under-replicated",
                             f"Set hdfs_replication: {dn} in group_vars/all.yml, or add DataNodes."))
    return problems


def _yarn(cluster: Cluster) -> list[Problem]:
    problems = []
    rm, nm = _count(cluster, "yarn_resourcemanager"), _count(cluster, "yarn_nodemanager")
    if nm and not rm:
        problems.append(_err("group yarn_resourcemanager", "YARN NodeManagers without a ResourceManager",
                             "Put one host in group yarn_resourcemanager."))
    if rm > 1:
        problems.append(_err("group yarn_resourcemanager",
                             f"{rm} ResourceManagers: bigdata-admin deploys exactly one",
                             "Keep one host in group yarn_resourcemanager."))
    if rm and not nm:
        problems.append(_warn("group yarn_nodemanager", "a ResourceManager without NodeManagers runs nothing",
                              "Put the worker hosts in group yarn_nodemanager."))
    return problems


def _hbase(cluster: Cluster) -> list[Problem]:
    problems = []
    hb = _any(cluster, ("hbase_master", "hbase_regionserver", "hbase_thrift"))
    if hb:
        if not cluster.has("hdfs_namenode"):
            problems.append(_err("group hdfs_namenode", "HBase needs HDFS; there is no NameNode",
                                 "Add group hdfs_namenode (and hdfs_datanode), or remove the HBase groups."))
        if not cluster.has("zookeeper"):
            problems.append(_err("group zookeeper", "HBase needs ZooKeeper; group zookeeper is empty",
                                 "Put 1 or 3 hosts in group zookeeper."))
        if not cluster.has("hbase_master"):
            problems.append(_err("group hbase_master", "HBase has no master",
                                 "Put one host (two for a backup master) in group hbase_master."))
        if not cluster.has("hbase_regionserver"):
            problems.append(_err("group hbase_regionserver", "HBase has no RegionServer",
                                 "Put the worker hosts in group hbase_regionserver."))
    return problems


def _hive(cluster: Cluster) -> list[Problem]:
    problems = []
    if _any(cluster, ("hive_metastore", "hive_server2")):
        if not cluster.has("metastore_db"):
            problems.append(_err("group metastore_db",
                                 "Hive needs a database for its metastore; group metastore_db is empty",
                                 "Put one host (usually the hive_metastore host) in group metastore_db."))
        if not cluster.has("hdfs_namenode"):
            problems.append(_err("group hdfs_namenode",
                                 "Hive keeps its warehouse on HDFS; there is no NameNode",
                                 "Add group hdfs_namenode and hdfs_datanode."))
    if cluster.has("hive_server2") and not cluster.has("hive_metastore"):
        problems.append(_err("group hive_metastore", "HiveServer2 without a Hive metastore",
                             "Put one host in group hive_metastore."))
    if _count(cluster, "metastore_db") > 1:
        n = _count(cluster, "metastore_db")
        problems.append(_err("group metastore_db",
                             f"{n} hosts in metastore_db: the metastore uses one PostgreSQL server",
                             "Keep one host in group metastore_db."))
    return problems


def _impala(cluster: Cluster) -> list[Problem]:
    problems: list[Problem] = []
    if not _any(cluster, ("impala_statestore", "impala_catalog", "impala_daemon")):
        return problems
    if not cluster.has("hive_metastore"):
        problems.append(_err("group hive_metastore", "Impala needs the Hive metastore; there is none",
                             "Put one host in group hive_metastore (and metastore_db)."))
    if not cluster.has("hdfs_namenode"):
        problems.append(_err("group hdfs_namenode", "Impala needs HDFS; there is no NameNode",
                             "Add group hdfs_namenode and hdfs_datanode."))
    for group, what in (("impala_statestore", "statestore"), ("impala_catalog", "catalog server")):
        n = _count(cluster, group)
        if n != 1:
            problems.append(_err(f"group {group}", f"Impala needs exactly one {what}; group {group} has {n}",
                                 f"Put one host in group {group}."))
    if not cluster.has("impala_daemon"):
        problems.append(_err("group impala_daemon", "Impala has no impalad",
                             "Put the DataNode hosts in group impala_daemon."))
    datanodes = set(cluster.groups.get("hdfs_datanode", []))
    for host in cluster.hosts_in("impala_daemon"):
        if host.name not in datanodes:
            problems.append(_warn(f"host {host.name}",
                                  f"impalad on {host.name} is not on a DataNode: its reads are all remote",
                                  f"Add {host.name} to group hdfs_datanode, or move the impalad "
                                  "to a DataNode."))
    return problems


def _kafka(cluster: Cluster) -> list[Problem]:
    problems: list[Problem] = []
    ctl, brk = _count(cluster, "kafka_controller"), _count(cluster, "kafka_broker")
    if not (ctl or brk):
        return problems
    if ctl == 0:
        problems.append(_err("group kafka_controller", "Kafka (KRaft) needs controllers; there are none",
                             "Put 1 or 3 hosts in group kafka_controller."))
    elif ctl % 2 == 0:
        problems.append(_err("group kafka_controller",
                             f"{ctl} KRaft controllers: the quorum needs an odd number",
                             f"Use {ctl - 1} or {ctl + 1} hosts in group kafka_controller."))
    if brk == 0:
        problems.append(_err("group kafka_broker", "Kafka has controllers but no broker",
                             "Put at least one host in group kafka_broker."))
    return problems


def _storm(cluster: Cluster) -> list[Problem]:
    problems: list[Problem] = []
    if not _any(cluster, ("storm_nimbus", "storm_supervisor", "storm_ui")):
        return problems
    if not cluster.has("zookeeper"):
        problems.append(_err("group zookeeper", "Storm needs ZooKeeper; group zookeeper is empty",
                             "Put 1 or 3 hosts in group zookeeper."))
    n = _count(cluster, "storm_nimbus")
    if n != 1:
        problems.append(_err("group storm_nimbus",
                             f"Storm needs exactly one Nimbus; group storm_nimbus has {n}",
                             "Put one host in group storm_nimbus (supervisors keep running topologies "
                             "while it restarts)."))
    if not cluster.has("storm_supervisor"):
        problems.append(_warn("group storm_supervisor", "Storm has no supervisor: topologies cannot run",
                              "Put the worker hosts in group storm_supervisor."))
    return problems


def _spark(cluster: Cluster) -> list[Problem]:
    problems = []
    m = _count(cluster, "spark_master")
    if cluster.has("spark_worker") and m == 0:
        problems.append(_err("group spark_master", "Spark workers without a Spark master",
                             "Put one host in group spark_master."))
    if m > 1:
        problems.append(_err("group spark_master", f"{m} Spark masters: bigdata-admin deploys exactly one",
                             "Keep one host in group spark_master."))
    return problems


def _gpu(cluster: Cluster) -> list[Problem]:
    if cluster.has("gpu_worker"):
        return []
    return [_warn("group gpu_worker", "no host in group gpu_worker: the pilot trains its models on CPU",
                  "Put the host with the NVIDIA GPU in group gpu_worker.")]


# ------------------------------------------------------------------------------------ ports, memory

def _ports(cluster: Cluster) -> list[Problem]:
    problems = []
    for host in cluster.hosts.values():
        seen: dict[int, tuple[str, str]] = {}
        for proc in plan.processes(cluster, host):
            for _pname, var, value in proc.port_values():
                if not _is_int(value):
                    continue  # reported by the type rule
                other = seen.get(value)
                if other is None:
                    seen[value] = (proc.name, var)
                elif other[0] != proc.name:
                    problems.append(_err(
                        f"host {host.name}",
                        f"port {value} is used twice on {host.name}: by {other[0]} ({other[1]}) "
                        f"and by {proc.name} ({var})",
                        f"Set {var} (or {other[1]}) to a free port, or move one of the services to "
                        "another host."))
                elif other[1] != var:
                    problems.append(_err(
                        f"host {host.name}",
                        f"port {value} is used twice by {proc.name} on {host.name} ({other[1]} and {var})",
                        f"Give {var} a port of its own."))
    return problems


def _memory(cluster: Cluster) -> list[Problem]:
    problems = []
    for host in cluster.hosts.values():
        declared = host.var("bigdata_host_memory_mb")
        if not _is_int(declared):
            continue  # reported by the type rule
        procs = plan.processes(cluster, host)
        total = sum(p.memory_mb() for p in procs)
        if total > declared:
            parts = sorted(((p.memory_mb(), p.name) for p in procs if p.memory_mb()), reverse=True)
            listing = ", ".join(f"{name} {mb}" for mb, name in parts)
            problems.append(_err(
                f"host {host.name}",
                f"{host.name} needs {total} MiB but declares bigdata_host_memory_mb: {declared} "
                f"({total - declared} MiB over): {listing}",
                f"Lower the heaps of those services (e.g. in group_vars/all.yml), move services to other "
                f"hosts, or raise bigdata_host_memory_mb of {host.name} if it really has more memory."))
    return problems


def _versions(cluster: Cluster) -> list[Problem]:
    try:
        from bigdata_admin.catalog import compatibility_problems
    except ImportError:
        return []
    return list(compatibility_problems(cluster))


RULES = (_group_names, _addresses, _types, _choices, _extra_settings, _zookeeper, _node_ids, _hdfs, _yarn,
         _hbase, _hive, _impala, _kafka, _storm, _spark, _gpu, _ports, _memory, _versions)


def validate(cluster: Cluster) -> list[Problem]:
    """Every problem of `cluster`, errors first, each naming where it is and the fix."""
    problems: list[Problem] = []
    if not cluster.hosts:
        problems.append(_err("inventory", f"{cluster.source} declares no host",
                             "Add hosts under `all.hosts` and put them in the contract groups."))
    for rule in RULES:
        problems.extend(rule(cluster))
    return sorted(problems, key=lambda p: p.severity != "error")


def cluster_from_ansible(groups: dict[str, list[str]], hostvars: dict[str, dict[str, Any]], source: str,
                         children: dict[str, list[str]] | None = None) -> Cluster:
    """Build the cluster model from what an Ansible play sees (`groups`, `hostvars`).

    Used by the validate play's action plugin so that `deploy` checks the inventory Ansible really
    loaded (extra vars included) with the same rules as `bigdata-admin check`. Cluster-wide variables
    are the role defaults overlaid with the values every host shares.
    """
    from pathlib import Path

    from bigdata_admin.inventory import Host, role_defaults

    host_groups: dict[str, list[str]] = {h: [] for h in hostvars}
    for group, members in groups.items():
        for h in members:
            if group not in BUILTIN_GROUPS and h in host_groups:
                host_groups[h].append(group)
    defaults = role_defaults()
    hosts = {name: Host(name, {**defaults, **hv}, host_groups.get(name, [])) for name, hv in hostvars.items()}
    shared: dict[str, Any] = dict(defaults)
    if hostvars:
        first, *rest = hostvars.values()
        for key, value in first.items():
            if all(key in other and other[key] == value for other in rest):
                shared[key] = value
    return Cluster(source=Path(source), hosts=hosts,
                   groups={g: list(m) for g, m in groups.items() if g != "ungrouped"},
                   vars=shared, children=dict(children or {}))
