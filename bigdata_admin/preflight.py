"""`check --hosts`: run the read-only preflight playbook and judge each host against the plan.

`playbooks/preflight.yml` gathers raw findings per host (OS, Python, sudo, memory, disk, listening
sockets, name resolution, clock, Java); `evaluate()` compares them with the plan and says, per
column, whether the host is fit. The findings are plain data, so `evaluate()` is tested on what a
real run returned.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bigdata_admin import plan

if TYPE_CHECKING:
    from rich.table import Table

    from bigdata_admin.inventory import Cluster, Host

REPORT_TASK = "Report the preflight findings"
SUPPORTED_OS = {"Debian": ("12",), "Ubuntu": ("22.04", "24.04")}
MIN_PYTHON = (3, 8)
MAX_CLOCK_OFFSET_S = 5.0
"""HBase refuses RegionServers more than 30 s off; Ansible's own latency is about 1 s."""

# Approximate space each component takes once installed (unpacked release, JDK, logs to start with),
# in MiB. The free space on the mount of bigdata_data_root must hold these plus a margin for data.
DISK_MB = {"hadoop": 1500, "hbase": 600, "hive": 800, "spark": 700, "kafka": 250, "storm": 400,
           "zookeeper": 100, "impala": 2500, "postgresql": 300, "redis": 50, "gpu": 4000}
JAVA_DISK_MB = 350
DATA_MARGIN_MB = 2048
COLUMNS = ("os", "python", "sudo", "memory", "disk", "ports", "names", "clock", "java")
HEADERS = {"memory": "memory MiB plan/host", "disk": "disk MiB free/need", "names": "name resolution",
           "clock": "clock offset"}


@dataclass
class Cell:
    ok: bool
    text: str
    fix: str = ""


@dataclass
class HostReport:
    host: str
    reachable: bool = True
    error: str = ""
    cells: dict[str, Cell] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.reachable and not self.error and all(c.ok for c in self.cells.values())


@dataclass
class Report:
    hosts: list[HostReport]

    @property
    def ok(self) -> bool:
        return all(h.ok for h in self.hosts)

    def failed_hosts(self) -> list[str]:
        return [h.host for h in self.hosts if not h.ok]

    def fixes(self) -> list[str]:
        out: list[str] = []
        for h in self.hosts:
            if h.error:
                out.append(f"{h.host}: {h.error}")
            for name, cell in h.cells.items():
                if not cell.ok and cell.fix:
                    out.append(f"{h.host} {name}: {cell.fix}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {h.host: {"ok": h.ok, "reachable": h.reachable, "error": h.error,
                         **{k: {"ok": c.ok, "text": c.text, "fix": c.fix} for k, c in h.cells.items()}}
                for h in self.hosts}


def units_by_host(cluster: Cluster) -> dict[str, list[str]]:
    """The systemd units the plan puts on each host (passed to the playbook)."""
    return {h.name: sorted({p.unit for p in plan.processes(cluster, h)}) for h in cluster.hosts.values()}


def listening_ports(proc_net_tcp: str) -> set[int]:
    """Ports in state LISTEN (0A) in the text of /proc/net/tcp and /proc/net/tcp6."""
    ports: set[int] = set()
    for line in proc_net_tcp.splitlines():
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A" and ":" in fields[1]:
            try:
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
            except ValueError:
                continue
    return ports


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _os(f: dict[str, Any]) -> Cell:
    name, version = str(f.get("os", "")), str(f.get("os_version", ""))
    text = f"{name} {version}".strip() or "unknown"
    supported = SUPPORTED_OS.get(name, ())
    if any(version == v or version.startswith(v + ".") for v in supported):
        return Cell(True, text)
    wanted = "; ".join(f"{k} {', '.join(v)}" for k, v in SUPPORTED_OS.items())
    return Cell(False, text, f"use a supported OS ({wanted})")


def _python(f: dict[str, Any]) -> Cell:
    version = str(f.get("python", ""))
    parts = tuple(_int(p) for p in version.split(".")[:2])
    if len(parts) == 2 and parts >= MIN_PYTHON:
        return Cell(True, version)
    return Cell(False, version or "none", f"install Python >= {'.'.join(map(str, MIN_PYTHON))} (python3)")


def _sudo(f: dict[str, Any]) -> Cell:
    if f.get("sudo") in (True, "True", "true"):
        return Cell(True, "yes")
    return Cell(False, "no", "let the Ansible user run sudo without a password "
                             "(e.g. `deploy ALL=(ALL) NOPASSWD: ALL` in /etc/sudoers.d/), or pass -K")


def _space(f: dict[str, Any]) -> tuple[int, int, str]:
    """(MemTotal MiB, free KiB on the data root's filesystem, its mount point) from the findings."""
    lines = [str(x).split() for x in f.get("space") or []]
    total = _int(lines[0][0]) if lines and lines[0] else 0
    if len(lines) > 1 and len(lines[1]) == 2:
        return total, _int(lines[1][0], -1), lines[1][1]
    return total, -1, ""


def _memory(f: dict[str, Any], host: Host, planned: int) -> Cell:
    total, _, _ = _space(f)
    text = f"{planned}/{total}"
    if planned > total:
        return Cell(False, text, f"the plan needs {planned} MiB but the host has {total} MiB: lower heaps or "
                                 "move services (see `bigdata-admin plan`)")
    declared = host.memory_mb
    if declared > total:
        return Cell(False, text, f"bigdata_host_memory_mb is {declared} but the host has {total} MiB: "
                                 "set it to what the host really offers")
    return Cell(True, text)


def disk_needed(cluster: Cluster, host: Host) -> int:
    procs = plan.processes(cluster, host)
    components = {p.component for p in procs}
    javas = {plan.java_for(cluster, host, p.component) for p in procs if p.uses_java}
    return DATA_MARGIN_MB + sum(DISK_MB.get(c, 0) for c in components) + JAVA_DISK_MB * len(javas - {None})


def _disk(f: dict[str, Any], cluster: Cluster, host: Host) -> Cell:
    root = str(f.get("data_root") or host.var("bigdata_data_root") or "/")
    _, avail_kib, best = _space(f)
    need = _int(host.var("bigdata_preflight_min_free_disk_mb"), 0) or disk_needed(cluster, host)
    if avail_kib < 0:
        return Cell(False, "unknown", f"could not measure the free space under {root} (df)")
    free = avail_kib // 1024
    text = f"{free}/{need} ({best})"
    if free < need:
        return Cell(False, text, f"free {need - free} MiB more on {best} (holds {root})")
    return Cell(True, text)


def _ports(f: dict[str, Any], cluster: Cluster, host: Host) -> Cell:
    listening = listening_ports(str(f.get("sockets", "")))
    active_lines = [str(x) for x in f.get("active") or []]
    units = [str(u) for u in f.get("units") or []]
    active = {u for u, state in zip(units, active_lines, strict=False) if state.strip() == "active"}
    taken: list[str] = []
    for proc in plan.processes(cluster, host):
        if proc.unit in active:
            continue  # our own service already runs there
        for _pname, _var, value in proc.port_values():
            if isinstance(value, int) and value in listening:
                taken.append(f"{value} ({proc.name})")
    if taken:
        return Cell(False, "taken: " + ", ".join(taken),
                    "stop what listens on " + ", ".join(t.split()[0] for t in taken)
                    + " or change the port variables in the inventory")
    return Cell(True, f"free ({len(active)} ours running)" if active else "free")


def _clock(f: dict[str, Any]) -> tuple[Cell, float | None]:
    parts = str(f.get("clock", "")).split()
    try:
        control, remote = float(parts[0]), float(parts[1])
    except (IndexError, ValueError):
        return Cell(False, "unknown", "install coreutils `date`; could not read the clock"), None
    offset = remote - control
    text = f"{offset:+.1f} s"
    if abs(offset) > MAX_CLOCK_OFFSET_S:
        fix = "synchronise the clocks (install and enable chrony or systemd-timesyncd)"
        return Cell(False, text, fix), offset
    return Cell(True, text), offset


def _java(f: dict[str, Any]) -> Cell:
    found = [str(x) for x in f.get("java") or []]
    if not found:
        return Cell(True, "none yet (deploy installs it)")
    versions = sorted({line.split('"')[1].split(".")[0] if '"' in line else line.split()[-1]
                       for line in found})
    return Cell(True, ", ".join(versions))


def _names(findings: dict[str, dict[str, Any]], cluster: Cluster) -> dict[str, Cell]:
    """Every host must resolve every cluster host's name alike, to its inventory address."""
    answers: dict[str, dict[str, str]] = {}
    for host, f in findings.items():
        seen: dict[str, str] = {}
        for line in f.get("names") or []:
            parts = str(line).split()
            if parts:
                seen.setdefault(parts[0], parts[1] if len(parts) > 1 else "")
        answers[host] = seen
    cells: dict[str, Cell] = {}
    for host, seen in answers.items():
        bad: list[str] = []
        for name, h in cluster.hosts.items():
            got = seen.get(name)
            if got is None:
                continue
            want = h.address or ""
            try:
                ipaddress.ip_address(want)
            except ValueError:
                want = ""  # a DNS name: only compare across hosts
            others = {answers[o].get(name) for o in answers if answers[o].get(name) is not None}
            if not got:
                bad.append(f"{name} unresolved")
            elif want and got != want:
                bad.append(f"{name} -> {got} (inventory {want})")
            elif len(others) > 1 and not want:
                bad.append(f"{name} -> {got} (others differ)")
        own = cluster.hosts.get(host)
        own_addr = own.address if own else None
        hostname = str(findings[host].get("hostname", ""))
        got_own = seen.get(hostname, "")
        if own_addr and got_own and hostname not in cluster.hosts and own_addr != "127.0.0.1":
            try:
                if ipaddress.ip_address(got_own).is_loopback:
                    bad.append(f"own name {hostname} -> {got_own}")
            except ValueError:
                pass
        if bad:
            cells[host] = Cell(False, "; ".join(bad),
                               "make /etc/hosts (or DNS) map every cluster host name to its inventory "
                               "address on every host, and not this host's name to 127.0.1.1")
        else:
            cells[host] = Cell(True, f"{len(cluster.hosts)} consistent")
    return cells


def evaluate(cluster: Cluster, findings: dict[str, dict[str, Any]],
             errors: dict[str, str] | None = None, unreachable: frozenset[str] = frozenset()) -> Report:
    """Judge each host's findings against the plan; hosts without findings carry their error."""
    errors = errors or {}
    names = _names(findings, cluster)
    reports: list[HostReport] = []
    for host in cluster.hosts.values():
        f = findings.get(host.name)
        if f is None:
            msg = errors.get(host.name, "no findings came back")
            reports.append(HostReport(host.name, reachable=host.name not in unreachable, error=msg))
            continue
        planned = sum(p.memory_mb() for p in plan.processes(cluster, host))
        clock, _ = _clock(f)
        reports.append(HostReport(host.name, cells={
            "os": _os(f), "python": _python(f), "sudo": _sudo(f), "memory": _memory(f, host, planned),
            "disk": _disk(f, cluster, host), "ports": _ports(f, cluster, host),
            "names": names[host.name], "clock": clock, "java": _java(f)}))
    return Report(reports)


def run(cluster: Cluster, *, show_progress: bool = True) -> Report:
    """Run playbooks/preflight.yml on every host of `cluster` (read-only) and evaluate it."""
    from bigdata_admin import paths
    from bigdata_admin.runner import run_playbook

    result = run_playbook(paths.playbook("preflight"), cluster.source,
                          extravars={"bigdata_preflight_units": units_by_host(cluster)},
                          label="preflight", show_progress=show_progress)
    per_host = result.task_results.get(REPORT_TASK, {})
    findings = {h: dict(r.get("msg") or {}) for h, r in per_host.items() if isinstance(r.get("msg"), dict)}
    errors: dict[str, str] = {}
    for failure in result.failures:
        errors.setdefault(str(failure.host), f"{failure.task}: {failure.message}")
    unreachable = frozenset(h for h, recap in result.recap.items() if recap.unreachable)
    for host in unreachable:
        errors.setdefault(host, "unreachable")
    return evaluate(cluster, findings, errors, unreachable)


def render(report: Report) -> Table:
    from rich.markup import escape as esc
    from rich.table import Table

    table = Table(title="Preflight (read-only)", title_justify="left")
    table.add_column("host", no_wrap=True)
    for col in COLUMNS:
        table.add_column(HEADERS.get(col, col), overflow="fold")
    for h in report.hosts:
        if h.error:
            state = "unreachable" if not h.reachable else "failed"
            table.add_row(f"[red]{esc(h.host)}[/]", f"[red]{state}[/]", *["-"] * (len(COLUMNS) - 1))
            continue
        cells = [f"[green]{esc(c.text)}[/]" if c.ok else f"[red]{esc(c.text)}[/]" for c in
                 (h.cells[k] for k in COLUMNS)]
        table.add_row(esc(h.host) if h.ok else f"[red]{esc(h.host)}[/]", *cells)
    return table
