"""Generic operations verbs: `status` and `smoke`. The work is in bigdata_admin.health."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated

import typer

from bigdata_admin.commands.common import InventoryOpt, JsonOpt, console, fail, print_json

if TYPE_CHECKING:
    from rich.console import RenderableType

    from bigdata_admin.health.smoke_runner import SmokeReport
    from bigdata_admin.health.status import StatusReport
    from bigdata_admin.inventory import Cluster


def _load(inventory: str) -> Cluster:
    from bigdata_admin import inventory as inv
    from bigdata_admin.errors import BigdataAdminError

    try:
        return inv.load(inventory)
    except BigdataAdminError as exc:
        fail(exc.message, exc.fix, exc.exit_code)


_STATE_STYLE = {"active": "green", "inactive": "yellow", "failed": "red", "unreachable": "red"}


def status_renderable(report: StatusReport) -> RenderableType:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"cluster {report.cluster}", title_justify="left", expand=False)
    for col in ("Host", "Service", "systemd", "Port", "Probe", "Detail"):
        table.add_column(col, overflow="fold")
    for row in report.rows:
        systemd = Text(row.systemd, style=_STATE_STYLE.get(row.systemd, "yellow"))
        if row.port is None:
            port = Text("-")
        elif row.port_open:
            port = Text(f"{row.port} open", style="green")
        else:
            port = Text(f"{row.port} closed", style="red")
        if row.probe is None:
            probe, detail = Text("-", style="dim"), Text("no service probe", style="dim")
        else:
            probe = Text(row.probe.state, style="green" if row.probe.healthy else "red")
            detail = Text(row.probe.detail)
        table.add_row(Text(row.host), Text(row.group), systemd, port, probe, detail)
    lines: list[RenderableType] = [table] if report.rows else []
    for summary in report.summaries:
        lines.append(Text(summary, style="bold green" if "holding" in summary else "bold red"))
    if report.versions:
        lines.append(Text("versions the daemons report: " + "; ".join(
            f"{c} {', '.join(v)}" for c, v in report.versions.items()), style="dim"))
    lines += _not_deployed_lines(report.not_deployed)
    lines += [Text(f"decommissioned: {d['service']} on {d['host']} since {d['since']} (not probed; "
                   f"`bigdata-admin recommission {d['host']}` brings it back)", style="yellow")
              for d in report.decommissioned]
    bad = report.unhealthy
    verdict = (Text(f"all {len(report.rows)} deployed services healthy ({report.seconds:.1f} s)",
                    style="bold green") if report.rows and not bad else
               Text("no deployed service to probe", style="yellow") if not report.rows else
               Text(f"{len(bad)} of {len(report.rows)} services unhealthy: "
                    + "; ".join(f"{r.group} on {r.host} ({r.problem})" for r in bad)
                    + f" ({report.seconds:.1f} s)", style="bold red"))
    lines.append(verdict)
    return Group(*lines)


def _not_deployed_lines(not_deployed: dict[str, list[str]]) -> list[RenderableType]:
    """`not deployed: g1, g2 (reason)` lines, one per reason; outside the verdict."""
    from rich.text import Text

    return [Text(f"not deployed: {', '.join(groups)} ({why})", style="yellow")
            for why, groups in not_deployed.items()]


def status(
    inventory: InventoryOpt,
    json_out: JsonOpt = False,
    watch: Annotated[float | None, typer.Option(
        "--watch", "-w", metavar="SECONDS", min=0.5,
        help="Refresh every SECONDS in place until Ctrl-C.")] = None,
    service: Annotated[list[str] | None, typer.Option(
        "--service", "-s", help="Only these inventory groups (repeatable).")] = None,
) -> None:
    """Per host and service: systemd state, port and a service probe. Exit 0 only when all are healthy."""
    from bigdata_admin import services
    from bigdata_admin.health.status import collect

    cluster = _load(str(inventory))
    groups = list(service or [])
    unknown = [g for g in groups if g not in services.GROUPS]
    if unknown:
        fail(f"unknown service group(s): {', '.join(unknown)}",
             f"Use inventory group names: {', '.join(services.GROUPS)}.")
    if not any(cluster.has(g) for g in (groups or services.GROUPS)):
        fail(f"inventory {inventory} has no hosts in any service group",
             "Put hosts under the service groups (see `bigdata-admin check`).")
    if watch is None:
        report = collect(cluster, groups=groups or None)
        if json_out:
            print_json(report.as_dict())
        else:
            console.print(status_renderable(report))
        raise typer.Exit(0 if report.healthy else 1)

    from rich.live import Live

    report = collect(cluster, groups=groups or None)
    try:
        if json_out:
            while True:
                print_json(report.as_dict())
                time.sleep(watch)
                report = collect(cluster, groups=groups or None)
        with Live(status_renderable(report), console=console, refresh_per_second=4, screen=False) as live:
            while True:
                time.sleep(watch)
                report = collect(cluster, groups=groups or None)
                live.update(status_renderable(report))
    except KeyboardInterrupt:
        pass
    raise typer.Exit(0 if report.healthy else 1)


def _smoke_renderable(report: SmokeReport) -> RenderableType:
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"smoke tests on cluster {report.cluster}", title_justify="left")
    for col in ("Test", "Result", "Seconds", "Detail"):
        table.add_column(col, overflow="fold")
    for r in report.results:
        table.add_row(Text(r.name), Text("pass" if r.passed else "FAIL",
                                         style="green" if r.passed else "bold red"),
                      f"{r.seconds:.2f}", Text(r.detail))
    lines: list[RenderableType] = [table] if report.results else []
    for name, why in report.skipped.items():
        lines.append(Text(f"skipped {name}: {why}", style="yellow"))
    lines += _not_deployed_lines(report.not_deployed)
    failed = [r for r in report.results if not r.passed]
    if not report.results:
        why = " (nothing deployed to test)" if report.not_deployed else ""
        lines.append(Text(f"no smoke test ran{why}", style="yellow"))
    elif failed:
        lines.append(Text(f"{len(failed)} of {len(report.results)} smoke tests failed", style="bold red"))
    else:
        lines.append(Text(f"all {len(report.results)} smoke tests passed ({report.seconds:.1f} s)",
                          style="bold green"))
    return Group(*lines)


def smoke(
    inventory: InventoryOpt,
    service: Annotated[list[str] | None, typer.Argument(
        help="Services to test (component or group names, e.g. zookeeper kafka redis postgresql); "
        "default: every service of the inventory that has a smoke test.", show_default=False)] = None,
    json_out: JsonOpt = False,
) -> None:
    """Prove services work end to end through their real clients. Exit 1 when any test fails."""
    from bigdata_admin.errors import BigdataAdminError
    from bigdata_admin.health.smoke_runner import run

    cluster = _load(str(inventory))
    try:
        report = run(cluster, list(service or []))
    except BigdataAdminError as exc:
        fail(exc.message, exc.fix, exc.exit_code)
    if json_out:
        print_json(report.as_dict())
    else:
        console.print(_smoke_renderable(report))
    raise typer.Exit(0 if report.passed and (report.results or report.not_deployed) else 1)


def register(app: typer.Typer) -> None:
    """Add this module's verbs to `app`."""
    app.command("status")(status)
    app.command("smoke")(smoke)
