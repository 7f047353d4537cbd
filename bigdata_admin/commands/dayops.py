"""Day-2 verbs: `restart` (plain or `--rolling` with health gates), `destroy`, `logs`, `decommission`,
`recommission`. The work is in bigdata_admin.dayops and bigdata_admin.decommission."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape as esc

from bigdata_admin.commands.common import (
    InventoryOpt,
    JsonOpt,
    console,
    domain_errors,
    err_console,
    fail,
    print_json,
)
from bigdata_admin.commands.runs import (
    CheckOpt,
    ExtraOpt,
    LimitOpt,
    ServicesArg,
    VerboseOpt,
    _load_and_validate,
    operate,
    service_tags,
)

if TYPE_CHECKING:
    from bigdata_admin.dayops import RollReport
    from bigdata_admin.decommission import DecomReport
    from bigdata_admin.upgrade import UpgradePlan, UpgradeReport


def _render_roll(report: RollReport) -> None:
    from rich.table import Table

    if report.steps:
        table = Table(title=f"rolling restart of cluster {report.cluster}", title_justify="left")
        for col in ("Service", "Host", "Restart s", "Gate s", "Gate", "Detail"):
            table.add_column(col, overflow="fold")
        for s in report.steps:
            style = "green" if s.ok else "bold red"
            table.add_row(esc(s.role), esc(s.host), f"{s.restart_s:.1f}", f"{s.gate_s:.1f}",
                          f"[{style}]{esc(s.gate)}[/]", esc(s.detail))
        console.print(table)
    if report.ok:
        console.print(f"[bold green]rolling restart done: {len(report.steps)} host restart(s) passed their "
                      f"health gates ({report.seconds:.1f} s)[/]")
        return
    failed = report.failed
    if report.precheck is not None:
        where = f"before the roll: gate '{report.precheck.gate}' not passed ({report.precheck.detail})"
    elif failed is not None:
        where = f"at {failed.host} ({failed.role}): gate '{failed.gate}' not passed ({failed.detail})"
    else:  # pragma: no cover - a report that is not ok has a precheck or a failed step
        where = "unexpectedly"
    pending = ", ".join(f"{r} on {h}" for r, h in report.pending) or "none"
    err_console.print(f"[bold red]error:[/] rolling restart stopped {esc(where)}; "
                      f"not restarted: {esc(pending)}", highlight=False)
    err_console.print(f"[bold]next:[/] {esc(report.next_step())}", highlight=False)


def restart(
    inventory: InventoryOpt,
    services: ServicesArg = None,
    rolling: Annotated[bool, typer.Option(
        "--rolling", help="One host at a time, each passing the service's health gate (NameNode out of safe "
        "mode and DataNodes live; RegionServers registered and no regions in transition; Kafka in-sync "
        "replicas complete) before the next; a failed gate stops the roll.")] = False,
    gate_timeout: Annotated[float, typer.Option(
        "--gate-timeout", metavar="SECONDS", min=1,
        help="With --rolling: how long one host may take to pass its gate.")] = 300.0,
    wait_replication: Annotated[bool, typer.Option(
        "--wait-replication", help="With --rolling: after each HDFS host also wait until under-replicated "
        "blocks are back to their count before the roll (a transfer scheduled to a restarting DataNode is "
        "retried only after dfs.namenode.reconstruction.pending.timeout-sec, 5 min by default).")] = False,
    limit: LimitOpt = None,
    check: CheckOpt = False,
    extra_vars: ExtraOpt = None,
    verbose: VerboseOpt = 0,
    json_out: JsonOpt = False,
) -> None:
    """Restart services in dependency order. Plain: the roles' restart action (one node at a time, each
    waited for until it listens). --rolling: health-gated, one host at a time; exit 1 when a gate fails."""
    if not rolling:
        operate("restart", inventory, services, limit=limit, check=check, extra_vars=extra_vars,
                verbose=verbose, json_out=json_out)
        return
    if check or extra_vars:
        fail("--rolling cannot be combined with --check or --extra-vars",
             "Drop --rolling for a check-mode restart, or drop --check/--extra-vars.")
    from bigdata_admin import dayops

    cluster = _load_and_validate(inventory, json_out)
    with domain_errors():
        roles = service_tags(services or [])
        hosts = [h.strip() for h in (limit or "").split(",") if h.strip()]
        unknown = [h for h in hosts if h not in cluster.hosts]
        if unknown:
            fail(f"--limit names unknown host(s): {', '.join(unknown)}",
                 "With --rolling, --limit takes host names separated by commas: "
                 f"{', '.join(cluster.hosts)}.")
        say = None if json_out else (lambda m: err_console.print(f"[dim]{esc(m)}[/]", highlight=False))
        report = dayops.rolling_restart(cluster, roles, limit=hosts, gate_timeout_s=gate_timeout,
                                        wait_replication=wait_replication, progress=say)
    if json_out:
        print_json(report.as_dict())
    else:
        _render_roll(report)
    raise typer.Exit(0 if report.ok else 1)


def destroy(
    inventory: InventoryOpt,
    confirmed: Annotated[bool, typer.Option(
        "--yes-i-really-really-mean-it", help="Confirm that every service of the inventory is to be removed.")
    ] = False,
    purge_data: Annotated[bool, typer.Option(
        "--purge-data", help="Also delete the data directories (HDFS blocks and metadata, Kafka logs, "
        "ZooKeeper snapshots, databases). Without it they stay and a new deploy finds them.")] = False,
    verbose: VerboseOpt = 0,
    json_out: JsonOpt = False,
) -> None:
    """Stop and remove every service of the cluster (units, installs, configuration, logs) on every host;
    the data directories stay unless --purge-data. Nothing of the stack is left running."""
    from bigdata_admin import dayops
    from bigdata_admin.commands.runs import _finish

    cluster = _load_and_validate(inventory, json_out)
    if not confirmed:
        what = "and DELETES THEIR DATA " if purge_data else ""
        fail(f"destroy removes every service of cluster {cluster.name} from {len(cluster.hosts)} host(s) "
             f"{what}and needs an explicit confirmation; nothing was touched",
             f"Run it again with {dayops.CONFIRM_FLAG} if you really mean it"
             + ("" if purge_data else " (data directories are kept unless --purge-data)") + ".")
    with domain_errors():
        result = dayops.destroy(cluster, purge_data=purge_data, verbosity=verbose, show_progress=not json_out)
    _finish(result, json_out, {"purged_data": purge_data})


def logs(
    inventory: InventoryOpt,
    services: ServicesArg = None,
    since: Annotated[str | None, typer.Option(
        "--since", help="Only what was written since: a span back from now (30m, 2h, 1d) or an ISO time "
        "(2026-11-30T10:00, UTC).")] = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Archive path (default: under the state directory's logs/).",
        show_default=False)] = None,
    json_out: JsonOpt = False,
) -> None:
    """The daemons' log files and systemd journal from every host running the services (all when none),
    in one tar.gz archive on this host; prints its path. Exit 1 when a host's logs did not come back."""
    from bigdata_admin import dayops

    cluster = _load_and_validate(inventory, json_out)
    with domain_errors():
        roles = service_tags(services or [])
        when = dayops.parse_since(since)
        report = dayops.collect_logs(cluster, roles, since=when, output=output, show_progress=not json_out)
    if json_out:
        print_json(report.as_dict())
    else:
        for host, c in report.hosts.items():
            console.print(esc(f"  {host}: {c['files']} file(s), {c['bytes'] / 2**20:.1f} MiB"),
                          highlight=False)
        for host in report.missing:
            err_console.print(f"[red]  {esc(host)}: no logs came back[/] (see `bigdata-admin runs show "
                              f"{esc(report.run_id)}`)", highlight=False)
        console.print(esc(f"archive: {report.archive}") + (esc(f" (since {when})") if when else ""),
                      highlight=False)
    raise typer.Exit(1 if report.missing else 0)


DecomServiceOpt = Annotated[list[str] | None, typer.Option(
    "--service", "-s", metavar="SERVICE", help="hdfs, yarn, hbase or kafka (repeat, or separate with "
    "commas); default: every one of them the host runs.", show_default=False)]
DecomTimeoutOpt = Annotated[float, typer.Option(
    "--timeout", metavar="SECONDS", min=1, help="How long each service may take (block re-replication, "
    "region moves, partition reassignment; for YARN also the graceful decommission timeout).")]


def _render_decom(report: DecomReport) -> None:
    from rich.table import Table

    if report.steps:
        table = Table(title=f"{report.action} of {report.host} (cluster {report.cluster})",
                      title_justify="left")
        for col in ("Service", "Seconds", "Check", "Detail"):
            table.add_column(col, overflow="fold")
        for s in report.steps:
            style = "green" if s.ok else "bold red"
            table.add_row(esc(s.service), f"{s.seconds:.1f}", f"[{style}]{esc(s.gate)}[/]", esc(s.detail))
        console.print(table)
    if report.ok:
        console.print(f"[bold green]{report.action} of {esc(report.host)} done: "
                      f"{esc(', '.join(s.service for s in report.steps))} ({report.seconds:.1f} s)[/]")
        return
    failed = next(s for s in report.steps if not s.ok)
    err_console.print(f"[bold red]error:[/] {esc(report.action)} of {esc(report.host)} stopped at "
                      f"{esc(failed.service)}: '{esc(failed.gate)}' not reached ({esc(failed.detail)}); "
                      f"not done: {esc(', '.join(report.pending) or 'none')}", highlight=False)
    err_console.print(f"[bold]next:[/] see `bigdata-admin status` and `bigdata-admin logs "
                      f"{esc(failed.service)}`; running the same command again continues (each step is "
                      "repeatable)", highlight=False)


def _decom(decommission: bool, host: str, inventory: Path, services: list[str] | None, timeout: float,
           json_out: bool) -> None:
    from bigdata_admin import decommission as decom

    cluster = _load_and_validate(inventory, json_out)
    with domain_errors():
        chosen = [p.strip().lower() for item in services or [] for p in item.split(",") if p.strip()]
        say = None if json_out else (lambda m: err_console.print(f"[dim]{esc(m)}[/]", highlight=False))
        report = decom.run(cluster, host, chosen, decommission=decommission, timeout_s=timeout, progress=say)
    if json_out:
        print_json(report.as_dict())
    else:
        _render_decom(report)
    raise typer.Exit(0 if report.ok else 1)


def decommission(
    host: Annotated[str, typer.Argument(help="The inventory host to take out of service.",
                                        show_default=False)],
    inventory: InventoryOpt,
    services: DecomServiceOpt = None,
    timeout: DecomTimeoutOpt = 600.0,
    json_out: JsonOpt = False,
) -> None:
    """Take HOST's DataNode, NodeManager, RegionServer and Kafka broker out of service without losing data:
    regions unloaded, partitions reassigned, YARN graceful decommission, HDFS blocks re-replicated
    (Decommissioned, 0 missing and 0 under-replicated blocks); then each daemon stops. Refuses (exit 2,
    nothing done) when the rest cannot hold the data; exit 1 when a wait times out."""
    _decom(True, host, inventory, services, timeout, json_out)


def recommission(
    host: Annotated[str, typer.Argument(help="The decommissioned inventory host.", show_default=False)],
    inventory: InventoryOpt,
    services: DecomServiceOpt = None,
    timeout: DecomTimeoutOpt = 600.0,
    json_out: JsonOpt = False,
) -> None:
    """Put HOST back in service: out of the exclude files, nodes refreshed, daemons started, each waited
    for (DataNode In Service, NodeManager RUNNING, RegionServer registered, broker in sync)."""
    _decom(False, host, inventory, services, timeout, json_out)


def _render_upgrade_plan(plan: UpgradePlan) -> None:
    from rich.table import Table

    from bigdata_admin.upgrade import describe_where

    table = Table(title=f"upgrade of cluster {plan.cluster}", title_justify="left")
    for col in ("Component", "Runs now", "Target", "Verdict", "Why"):
        table.add_column(col, overflow="fold")
    for v in plan.verdicts:
        style = {"upgrade": "yellow", "current": "green"}.get(v.action, "bold red")
        table.add_row(esc(v.component), esc(describe_where(v.where) or ", ".join(v.running)), esc(v.target),
                      f"[{style}]{esc(v.action)}[/]", esc(v.reason))
    console.print(table)
    if plan.moving:
        console.print(esc(f"roles (bigdata_action=upgrade, one Ansible run): {', '.join(plan.roles)}"),
                      highlight=False)


def _render_upgrade(report: UpgradeReport) -> None:
    from rich.table import Table

    if report.fetched:
        console.print(esc(f"fetched: {', '.join(report.fetched)}"), highlight=False)
    if report.after:
        table = Table(title="after the upgrade", title_justify="left")
        for col in ("Component", "Daemon", "Runs"):
            table.add_column(col)
        for comp, where in report.after.items():
            for daemon, version in where.items():
                table.add_row(esc(comp), esc(daemon), esc(version))
        console.print(table)
    took = ", ".join(f"{k} {v:.0f} s" for k, v in report.seconds.items())
    if report.ok:
        done = ", ".join(f"{v.component} {v.target}" for v in report.plan.moving) or "nothing to upgrade"
        console.print(f"[bold green]upgrade done: {esc(done)}[/] ({esc(took)})")
        return
    err_console.print(f"[bold red]error:[/] upgrade stopped: {esc('; '.join(report.problems))}",
                      highlight=False)
    err_console.print(f"[bold]next:[/] see `bigdata-admin runs show {esc(report.run_id or 'last')}` and "
                      "`bigdata-admin status`; running the same upgrade again continues it (each step is "
                      "repeatable)", highlight=False)


def upgrade(
    inventory: InventoryOpt,
    services: Annotated[list[str] | None, typer.Option(
        "--service", "-s", metavar="SERVICE", help="hdfs, yarn (both move Hadoop) or kafka (repeat, or "
        "separate with commas); default: every deployed one.", show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show what runs now, the targets and the verdicts; touch nothing.")] = False,
    verbose: VerboseOpt = 0,
    json_out: JsonOpt = False,
) -> None:
    """Roll the cluster to the versions the inventory names (raise bigdata_versions first): HDFS by its
    rolling upgrade (prepare, JournalNodes, NameNodes standby first, each DataNode, finalize), YARN one
    daemon at a time, Kafka one node at a time then its metadata.version; HBase and Hive follow Hadoop.
    Refuses (exit 2, nothing done) a downgrade, a major jump or a path the upgrade table lacks; exit 1 when
    the run fails, which stops it on every host at the failed step (running it again continues)."""
    from bigdata_admin import upgrade as up

    cluster = _load_and_validate(inventory, json_out)
    with domain_errors():
        chosen = [p.strip() for item in services or [] for p in item.split(",") if p.strip()]
        plan = up.make_plan(cluster, chosen)
    if not json_out:
        _render_upgrade_plan(plan)
    if plan.refused:
        err = up.refusal(plan)
        if json_out:
            print_json({"ok": False, "rc": 2, "error": err.message, "fix": err.fix, **plan.as_dict()})
            raise typer.Exit(2)
        fail(err.message, err.fix)
    if dry_run or not plan.moving:
        if json_out:
            print_json({"ok": True, "rc": 0, "dry_run": dry_run, **plan.as_dict()})
        elif not plan.moving:
            console.print("[green]nothing to upgrade: every host runs the inventory's versions[/]")
        raise typer.Exit(0)
    say = None if json_out else (lambda m: err_console.print(f"[dim]{esc(m)}[/]", highlight=False))
    with domain_errors():
        report = up.run(cluster, plan, verbosity=verbose, show_progress=not json_out, progress=say)
    if json_out:
        print_json({**report.as_dict(), "rc": 0 if report.ok else 1})
    else:
        _render_upgrade(report)
    raise typer.Exit(0 if report.ok else 1)


def register(app: typer.Typer) -> None:
    """Add this module's verbs to `app`."""
    app.command("upgrade")(upgrade)
    app.command("restart")(restart)
    app.command("destroy")(destroy)
    app.command("logs")(logs)
    app.command("decommission")(decommission)
    app.command("recommission")(recommission)
