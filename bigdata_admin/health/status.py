"""`status`: per host and service, the systemd state, the port and a service-level probe.

Everything runs in parallel threads with short timeouts: one SSH round trip per host for all its
units, one TCP connect per service port, one probe per (service, host). A service without a
registered probe shows systemd state and port only.

    report = collect(inventory.load(path))
    report.healthy, report.rows, report.summaries, report.as_dict()
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bigdata_admin import services
from bigdata_admin.health import PROBES, ProbeResult, load_plugins
from bigdata_admin.health.core import port_open, quorum_size, says_no_answer
from bigdata_admin.health.remote import unit_states
from bigdata_admin.inventory import Cluster, Host


@dataclass
class ServiceStatus:
    host: str
    group: str
    unit: str
    systemd: str
    port_name: str | None
    port: int | None
    port_open: bool | None
    probe: ProbeResult | None = None

    @property
    def healthy(self) -> bool:
        return (self.systemd == "active" and self.port_open is not False
                and (self.probe is None or self.probe.healthy))

    @property
    def problem(self) -> str:
        """What is wrong, in a few words ('' when healthy)."""
        if self.systemd != "active":
            return f"unit {self.unit} is {self.systemd}"
        if self.port_open is False:
            return f"port {self.port} closed"
        if self.probe is not None and not self.probe.healthy:
            return self.probe.detail or self.probe.state
        return ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "host": self.host, "service": self.group, "unit": self.unit, "systemd": self.systemd,
            "port": self.port, "port_name": self.port_name, "port_open": self.port_open,
            "probe": None if self.probe is None else {
                "healthy": self.probe.healthy, "state": self.probe.state, "detail": self.probe.detail,
                "data": self.probe.data},
            "healthy": self.healthy,
        }


@dataclass
class StatusReport:
    cluster: str
    rows: list[ServiceStatus]
    summaries: list[str] = field(default_factory=list)
    seconds: float = 0.0
    not_deployed: dict[str, list[str]] = field(default_factory=dict)
    """Reason -> inventory groups that no deploy installed; not probed and outside the verdict."""
    decommissioned: list[dict[str, str]] = field(default_factory=list)
    """{"host", "service" (inventory group), "since" (ISO 8601)} of daemons `decommission` took out of
    service; not probed and outside the verdict."""

    @property
    def versions(self) -> dict[str, list[str]]:
        """Component -> the versions its daemons report (probes that read one: Hadoop's, ZooKeeper's, ...)."""
        from bigdata_admin.services import BY_GROUP

        out: dict[str, set[str]] = {}
        for r in self.rows:
            data = (r.probe.data or {}) if r.probe else {}
            version = str(data.get("version") or "").split(",")[0].strip()
            if version and r.group in BY_GROUP:
                out.setdefault(BY_GROUP[r.group].component, set()).add(version)
        return {c: sorted(v) for c, v in sorted(out.items())}

    @property
    def healthy(self) -> bool:
        return all(r.healthy for r in self.rows)

    @property
    def unhealthy(self) -> list[ServiceStatus]:
        return [r for r in self.rows if not r.healthy]

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "healthy": self.healthy, "seconds": round(self.seconds, 3),
                "services": [r.as_dict() for r in self.rows], "summaries": self.summaries,
                "versions": self.versions,
                "not_deployed": [{"group": g, "reason": why}
                                 for why, gs in self.not_deployed.items() for g in gs],
                "decommissioned": self.decommissioned}


def _primary_port(cluster: Cluster, host: Host, svc: services.Service) -> tuple[str | None, int | None]:
    for name, var in svc.ports.items():
        if name in svc.optional_ports:
            continue
        value = host.var(var, cluster.var(var))
        if value is not None:
            try:
                return name, int(value)
            except (TypeError, ValueError):
                return name, None
    return None, None


PROBE_ATTEMPTS = 3
"""Tries of a probe whose daemon accepted the connection and did not answer in time (a JVM in a long
GC pause, or a host busy with a deploy, answers a few seconds later); any other verdict is final."""
RETRY_PAUSE_S = 1.0
"""Seconds between two tries of a probe that got no answer in time."""


def _safe_probe(cluster: Cluster, host: Host, group: str) -> ProbeResult:
    """The probe's verdict; a timeout is tried again (`PROBE_ATTEMPTS` in all), and a probe that
    answered late says in its data after how many tries (`attempts`)."""
    for attempt in range(1, PROBE_ATTEMPTS + 1):
        try:
            result = PROBES[group](cluster, host)
        except Exception as exc:  # a broken probe must not hide the other rows
            return ProbeResult(host.name, group, False, "error", f"probe failed: {type(exc).__name__}: {exc}")
        if result.healthy or not says_no_answer(result.detail) or attempt == PROBE_ATTEMPTS:
            break
        time.sleep(RETRY_PAUSE_S)
    if attempt > 1:
        result.data = {**result.data, "attempts": attempt}
    return result


def _summaries(cluster: Cluster, rows: list[ServiceStatus]) -> list[str]:
    out: list[str] = []
    zk = [r for r in rows if r.group == "zookeeper"]
    if len(zk) > 1:
        serving = [r for r in zk if r.probe is not None and r.probe.healthy]
        down = [r.host for r in zk if r not in serving]
        need = quorum_size(len(zk))
        holding = len(serving) >= need
        leader = next((r.host for r in serving if r.probe and r.probe.state == "leader"), None)
        word = "holding" if holding else "LOST"
        line = (f"ZooKeeper quorum {word}: {len(serving)}/{len(zk)} members serving "
                f"(needs {need}), leader {leader or 'none'}")
        if down:
            line += f"; not serving: {', '.join(down)}"
        out.append(line)
    ctl = [r for r in rows if r.group == "kafka_controller"]
    if ctl:
        up = [r for r in ctl if r.healthy]
        need = quorum_size(len(ctl))
        out.append(f"Kafka KRaft quorum {'holding' if len(up) >= need else 'LOST'}: {len(up)}/{len(ctl)} "
                   f"controllers up (needs {need})")
    return out


def collect(cluster: Cluster, *, groups: list[str] | None = None, probes: bool = True,
            not_deployed: Mapping[str, str] | None = None) -> StatusReport:
    """Probe every deployed service of the inventory (or only `groups`) on every host that runs it.

    `not_deployed` (group -> reason; default: what the deploy record of the inventory says, see
    `bigdata_admin.deployment.not_deployed`) lists groups that are reported, not probed.
    """
    from bigdata_admin import deployment

    start = time.monotonic()
    if probes:
        load_plugins()
    absent = deployment.not_deployed(cluster) if not_deployed is None else dict(not_deployed)
    out_of_service = deployment.decommissioned(cluster)
    skipped: dict[str, list[str]] = {}
    decommissioned: list[dict[str, str]] = []
    targets: list[tuple[Host, services.Service]] = []
    for group in services.GROUPS:
        if groups and group not in groups:
            continue
        if group in absent:
            if cluster.has(group):
                skipped.setdefault(absent[group], []).append(group)
            continue
        for host in cluster.hosts_in(group):
            if host.name in out_of_service.get(group, {}):
                decommissioned.append({"host": host.name, "service": group,
                                       "since": out_of_service[group][host.name]})
                continue
            targets.append((host, services.service(group)))

    units_by_host: dict[str, list[str]] = {}
    for host, svc in targets:
        units = units_by_host.setdefault(host.name, [])
        if svc.unit not in units:
            units.append(svc.unit)

    workers = max(4, min(64, len(targets) * 2 + len(units_by_host)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="status") as pool:
        unit_futs = {name: pool.submit(unit_states, cluster.hosts[name], units)
                     for name, units in units_by_host.items()}
        port_futs: list[tuple[str | None, int | None, Future[bool] | None]] = []
        probe_futs: list[Future[ProbeResult] | None] = []
        for host, svc in targets:
            pname, pnum = _primary_port(cluster, host, svc)
            addr = host.address or host.name
            port_futs.append((pname, pnum, pool.submit(port_open, addr, pnum) if pnum else None))
            probe_futs.append(pool.submit(_safe_probe, cluster, host, svc.group)
                              if probes and svc.group in PROBES else None)
        rows: list[ServiceStatus] = []
        for (host, svc), (pname, pnum, pfut), prfut in zip(targets, port_futs, probe_futs, strict=True):
            states = unit_futs[host.name].result()
            rows.append(ServiceStatus(
                host=host.name, group=svc.group, unit=svc.unit, systemd=states.get(svc.unit, "unknown"),
                port_name=pname, port=pnum, port_open=pfut.result() if pfut else None,
                probe=prfut.result() if prfut else None))
    rows.sort(key=lambda r: (r.host, services.GROUPS.index(r.group)))
    return StatusReport(cluster.name, rows, _summaries(cluster, rows), time.monotonic() - start, skipped,
                        decommissioned)
