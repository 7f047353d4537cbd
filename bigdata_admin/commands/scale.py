"""`scale-out HOST`: a host added to the inventory's worker groups joins the running cluster. The work is in
bigdata_admin.scaleout."""

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
    print_json,
)
from bigdata_admin.commands.runs import ExtraOpt, VerboseOpt, _load_and_validate

if TYPE_CHECKING:
    from bigdata_admin.scaleout import ScaleReport


def _render(report: ScaleReport) -> None:
    from rich.table import Table

    from bigdata_admin import runner

    for group, why in report.skipped.items():
        err_console.print(f"[yellow]not joining {esc(group)}:[/] {esc(why)}", highlight=False)
    failed = report.failed_run
    if failed is not None:
        runner.render(failed, console)
        run_id = Path(failed.run_dir).name
        err_console.print(f"[bold red]error:[/] scale-out of {esc(report.host)} stopped in the "
                          f"{esc(failed.label)} run (`bigdata-admin runs show {esc(run_id)}`); "
                          "the same command again continues (every step is repeatable)", highlight=False)
        return
    if report.deploy is not None:
        runner.render(report.deploy, console)
    if report.seen:
        table = Table(title=f"masters seeing {report.host}", title_justify="left")
        for col in ("Service", "Group", "Seen", "Seconds", "Detail"):
            table.add_column(col, overflow="fold")
        for s in report.seen:
            mark = "[green]yes[/]" if s.ok else "[bold red]NO[/]"
            table.add_row(esc(s.service), esc(s.group), mark, f"{s.seconds:.1f}",
                          esc(f"{s.gate}: {s.detail}"))
        console.print(table)
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items())
    if report.ok:
        console.print(f"[bold green]{esc(report.host)} joined: {esc(', '.join(report.groups))}[/] "
                      f"({esc(steps)})", highlight=False)
    else:
        missing = ", ".join(s.group for s in report.seen if not s.ok)
        err_console.print(f"[bold red]error:[/] deployed, but not seen by the master(s) of {esc(missing)} in "
                          f"time; see `bigdata-admin status` and `bigdata-admin logs`", highlight=False)


def scale_out(
    host: Annotated[str, typer.Argument(help="The inventory host to add (already in worker groups).",
                                        show_default=False)],
    inventory: InventoryOpt,
    timeout: Annotated[float, typer.Option(
        "--timeout", metavar="SECONDS", min=1, help="How long each master may take to see the new worker.")]
    = 300.0,
    extra_vars: ExtraOpt = None,
    verbose: VerboseOpt = 0,
    json_out: JsonOpt = False,
) -> None:
    """Add HOST, placed in worker groups of the inventory (hdfs_datanode, yarn_nodemanager,
    hbase_regionserver, kafka_broker, storm_supervisor, spark_worker, impala_daemon), to the running
    cluster: /etc/hosts of every host, then a deploy limited to HOST (common, java, its services); no
    master restarts. Then waits until each master sees it: the NameNode's DataNode In Service, the
    ResourceManager's NodeManager RUNNING, the HMaster's RegionServer live, the broker in the KRaft
    metadata, the supervisor in Storm's ZooKeeper state. Exit 2 (nothing touched) for a host not in the
    inventory, in a master group or in no worker group; 1 when a run fails (3: a host unreachable) or a
    master does not see it."""
    from bigdata_admin import runner, scaleout

    cluster = _load_and_validate(inventory, json_out)
    with domain_errors():
        extravars = runner.parse_extravars(extra_vars or [])
        say = None if json_out else (lambda m: err_console.print(f"[dim]{esc(m)}[/]", highlight=False))
        report = scaleout.run(cluster, host, timeout_s=timeout, extravars=extravars, verbosity=verbose,
                              show_progress=not json_out, progress=say or (lambda _: None))
    if json_out:
        print_json(report.as_dict())
    else:
        _render(report)
    failed = report.failed_run
    raise typer.Exit(failed.rc if failed is not None else (0 if report.ok else 1))


def register(app: typer.Typer) -> None:
    """Add this module's verbs to `app`."""
    app.command("scale-out")(scale_out)
