"""What runs where: the processes of each host, their ports, memory, versions, Java and web UIs.

`processes(cluster, host)` is the one place that turns inventory groups into processes; `check`
(ports, memory) and `plan` (tables, --json) both read it. Two groups sharing a systemd unit are
one process (Kafka broker + controller). Processes the inventory implies without a group of their
own are added: the SecondaryNameNode on the NameNode host without HA, a ZKFC beside each NameNode
with HA, and the worker slots a Storm supervisor starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bigdata_admin import services

if TYPE_CHECKING:
    from rich.console import RenderableType

    from bigdata_admin.inventory import Cluster, Host


@dataclass
class Process:
    name: str
    """Groups it serves, joined with `+`, or the implied process's name."""
    unit: str
    component: str
    groups: tuple[str, ...]
    ports: dict[str, tuple[str, Any]] = field(default_factory=dict)
    """Port name -> (variable, value as the inventory resolves it)."""
    memory: dict[str, Any] = field(default_factory=dict)
    """Memory variable -> value (MiB) it adds on its host."""
    multiplier: dict[str, int] = field(default_factory=dict)
    """Memory variable -> how many times it counts (Storm worker slots)."""
    ui: tuple[str, str] | None = None
    """(port name, path) of its web UI."""
    implied: bool = False
    uses_java: bool = True

    def memory_mb(self) -> int:
        """Total MiB; values that are not integers count as 0 (check reports them separately)."""
        total = 0
        for var, value in self.memory.items():
            if isinstance(value, int) and not isinstance(value, bool):
                total += value * self.multiplier.get(var, 1)
        return total

    def port_values(self) -> list[tuple[str, str, Any]]:
        """(port name, variable, value) for every port, lists (Storm slots) expanded."""
        out: list[tuple[str, str, Any]] = []
        for pname, (var, value) in self.ports.items():
            if isinstance(value, list):
                out += [(f"{pname}[{i}]", var, v) for i, v in enumerate(value)]
            else:
                out.append((pname, var, value))
        return out


def namenode_ha(cluster: Cluster) -> bool:
    return len(cluster.hosts_in("hdfs_namenode")) == 2


def processes(cluster: Cluster, host: Host) -> list[Process]:
    """The processes `host` runs, in registry order, implied ones included."""
    by_unit: dict[str, Process] = {}
    for svc in services.SERVICES:
        if not host.in_group(svc.group):
            continue
        proc = by_unit.get(svc.unit)
        if proc is None:
            proc = Process(name=svc.group, unit=svc.unit, component=svc.component, groups=(svc.group,),
                           uses_java=svc.uses_java)
            by_unit[svc.unit] = proc
        else:
            proc.name += f"+{svc.group}"
            proc.groups += (svc.group,)
        for pname, var in svc.ports.items():
            proc.ports.setdefault(pname, (var, host.var(var)))
        for var in svc.memory:
            proc.memory.setdefault(var, host.var(var))
        if svc.ui and proc.ui is None:
            proc.ui = (svc.ui, svc.ui_path)
    out = list(by_unit.values())

    if host.in_group("hdfs_namenode"):
        if namenode_ha(cluster):
            out.append(Process(
                name="hdfs_zkfc", unit="hdfs-zkfc", component="hadoop", groups=("hdfs_namenode",),
                ports={"rpc": ("hdfs_namenode_zkfc_port", host.var("hdfs_namenode_zkfc_port"))},
                memory={"hdfs_zkfc_heap_mb": host.var("hdfs_zkfc_heap_mb")}, implied=True))
        elif cluster.first("hdfs_namenode") is host:
            out.append(Process(
                name="hdfs_secondarynamenode", unit="hdfs-secondarynamenode", component="hadoop",
                groups=("hdfs_namenode",),
                ports={"http": ("hdfs_secondarynamenode_http_port",
                                host.var("hdfs_secondarynamenode_http_port"))},
                memory={"hdfs_secondarynamenode_heap_mb": host.var("hdfs_secondarynamenode_heap_mb")},
                ui=("http", "/"), implied=True))
    if host.in_group("storm_supervisor"):
        slots = host.var("storm_supervisor_slot_ports")
        nslots = len(slots) if isinstance(slots, list) else 0
        out.append(Process(
            name="storm_workers", unit="storm-supervisor", component="storm", groups=("storm_supervisor",),
            ports={"slot": ("storm_supervisor_slot_ports", slots)},
            memory={"storm_worker_heap_mb": host.var("storm_worker_heap_mb")},
            multiplier={"storm_worker_heap_mb": nslots}, implied=True))
    return out


def java_for(cluster: Cluster, host: Host, component: str) -> int | str | None:
    table = host.var("bigdata_java_for") or cluster.var("bigdata_java_for") or {}
    return table.get(component) if isinstance(table, dict) else None


# What Debian 12's packages run, for components installed from the OS packages (Debian bookworm:
# zookeeper 3.8.0-11, redis 7.0.15, postgresql 15). The catalog's version is not what runs then.
DEBIAN_PACKAGE_VERSIONS = {"zookeeper": "3.8.0", "redis": "7.0", "postgresql": "15"}
_PACKAGE_SWITCH = {"zookeeper": "zookeeper_install_method"}
"""Components that install from the OS packages only when this variable says `package`."""


def running_version(cluster: Cluster, host: Host, component: str) -> str | None:
    """The version that will run: Debian's package version for OS-package installs, else the catalog's."""
    switch = _PACKAGE_SWITCH.get(component)
    from_package = (component in DEBIAN_PACKAGE_VERSIONS
                    and (switch is None or host.var(switch, cluster.var(switch)) == "package"))
    if from_package:
        return f"{DEBIAN_PACKAGE_VERSIONS[component]} (Debian 12 package)"
    return cluster.version(component)


def build(cluster: Cluster) -> dict[str, Any]:
    """The plan as plain data (what `plan --json` prints)."""
    hosts: list[dict[str, Any]] = []
    for host in cluster.hosts.values():
        procs: list[dict[str, Any]] = []
        planned = 0
        for proc in processes(cluster, host):
            planned += proc.memory_mb()
            address = host.address or host.name
            ui_url = None
            if proc.ui:
                pvar = proc.ports.get(proc.ui[0])
                if pvar is not None:
                    ui_url = f"http://{address}:{pvar[1]}{proc.ui[1]}"
            procs.append({
                "name": proc.name,
                "groups": list(proc.groups),
                "unit": proc.unit,
                "component": proc.component,
                "version": running_version(cluster, host, proc.component),
                "java": java_for(cluster, host, proc.component) if proc.uses_java else None,
                "ports": {p: v for p, (_, v) in proc.ports.items()},
                "memory_mb": proc.memory_mb(),
                "ui": ui_url,
                "implied": proc.implied,
            })
        hosts.append({
            "host": host.name,
            "address": host.address,
            "groups": list(host.groups),
            "memory_mb": host.memory_mb,
            "planned_memory_mb": planned,
            "free_memory_mb": host.memory_mb - planned,
            "processes": procs,
        })
    return {
        "cluster": cluster.name,
        "inventory": str(cluster.source),
        "namenode_ha": namenode_ha(cluster),
        "versions": dict(cluster.var("bigdata_versions") or {}),
        "java_for": dict(cluster.var("bigdata_java_for") or {}),
        "hosts": hosts,
    }


def render(data: dict[str, Any]) -> list[RenderableType]:
    """Rich tables for a plan built by `build`: one summary, then one table per host."""
    from rich.markup import escape as esc
    from rich.table import Table

    out: list[RenderableType] = []
    summary = Table(title=esc(f"Cluster {data['cluster']} ({data['inventory']})"), title_justify="left")
    for col in ("host", "address", "services", "memory plan / host (MiB)"):
        summary.add_column(col)
    for h in data["hosts"]:
        over = h["free_memory_mb"] < 0
        mem = f"{h['planned_memory_mb']} / {h['memory_mb']}"
        summary.add_row(esc(h["host"]), esc(h["address"]) if h["address"] else "[red]none[/]",
                        esc(", ".join(p["name"] for p in h["processes"])) or "-",
                        f"[red]{mem}[/]" if over else mem)
    out.append(summary)
    for h in data["hosts"]:
        table = Table(title=esc(f"{h['host']} ({h['address'] or 'no address'})"), title_justify="left")
        table.add_column("process", no_wrap=True)
        for col in ("version", "java", "ports", "MiB"):
            table.add_column(col)
        table.add_column("web UI", overflow="fold")
        for p in h["processes"]:
            ports = "\n".join(f"{v} {k}" for k, v in p["ports"].items())
            name = f"{esc(p['name'])} [dim](implied)[/]" if p["implied"] else esc(p["name"])
            table.add_row(name, esc(p["version"] or "distro"),
                          str(p["java"]) if p["java"] is not None else "-",
                          esc(ports), str(p["memory_mb"]), esc(p["ui"] or ""))
        out.append(table)
    return out
