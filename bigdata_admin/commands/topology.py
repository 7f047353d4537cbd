"""Topology verbs: `init`, `check` (and `check --hosts`), `plan`."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

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


class Template(StrEnum):
    single_node = "single-node"
    classroom = "classroom"
    ha = "ha"


def init(
    directory: Annotated[Path, typer.Argument(help="Directory to write the inventory into.",
                                              show_default=False)],
    template: Annotated[Template, typer.Option("--template", "-t",
                                               help="Which shipped inventory to start from.")]
    = Template.classroom,
    force: Annotated[bool, typer.Option("--force",
                                        help="Overwrite an existing inventory in DIRECTORY.")] = False,
) -> None:
    """Write a ready inventory (hosts.yml + group_vars/all.yml) from a template."""
    from bigdata_admin import topology

    with domain_errors():
        written = topology.init_inventory(directory, template.value, force=force)
    console.print(f"wrote the [bold]{template.value}[/] inventory to {esc(str(directory))}:", highlight=False)
    for path in written:
        console.print(f"  {esc(str(path))}", highlight=False)
    console.print(esc(f"next: edit it, then `bigdata-admin check -i {directory}` and "
                      f"`bigdata-admin plan -i {directory}`"), highlight=False)


def check(
    inventory: InventoryOpt,
    json_out: JsonOpt = False,
    hosts: Annotated[bool, typer.Option(
        "--hosts", help="Also log in to every host (read-only preflight): OS, Python, sudo, memory, disk, "
        "ports, name resolution, clock, Java.")] = False,
) -> None:
    """Validate the inventory without touching any host; exit 0 when clean, 2 on problems.

    With --hosts, then log in to every host read-only and compare it with the plan; exit 1 when a
    host is unfit or unreachable.
    """
    from bigdata_admin import inventory as inv
    from bigdata_admin import problems as pr
    from bigdata_admin.validate import validate

    with domain_errors():
        cluster = inv.load(inventory)
    found = validate(cluster)
    errors = pr.errors(found)
    if not json_out:
        _print_problems(cluster.name, str(inventory), len(cluster.hosts), found)
    if not hosts or errors:
        if json_out:
            print_json({"inventory": str(inventory), "ok": not errors,
                        "problems": [p.as_dict() for p in found]})
        if errors:
            raise typer.Exit(2)
        return
    from bigdata_admin import preflight

    with domain_errors():
        report = preflight.run(cluster, show_progress=not json_out)
    if json_out:
        print_json({"inventory": str(inventory), "ok": report.ok,
                    "problems": [p.as_dict() for p in found], "hosts": report.as_dict()})
    else:
        console.print(preflight.render(report))
        if not report.ok:
            err_console.print(f"[bold red]preflight failed[/] on {esc(', '.join(report.failed_hosts()))}",
                              highlight=False)
            for line in report.fixes():
                err_console.print(f"[bold]fix:[/] {esc(line)}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


def _print_problems(name: str, source: str, nhosts: int, found: list) -> None:
    if not found:
        console.print(f"[green]ok[/] cluster {esc(name)} ({esc(source)}): {nhosts} host(s), no problem found",
                      highlight=False)
        return
    nerr = sum(p.severity == "error" for p in found)
    out = err_console if nerr else console
    for p in found:
        colour = "red" if p.severity == "error" else "yellow"
        out.print(f"[bold {colour}]{p.severity}[/] [bold]{esc(p.where)}[/]: {esc(p.message)}",
                  highlight=False)
        out.print(f"  [bold]fix:[/] {esc(p.fix)}", highlight=False)
    verdict = "[red]invalid[/]" if nerr else "[green]ok[/]"
    out.print(f"{verdict} cluster {esc(name)} ({esc(source)}): {nerr} error(s), "
              f"{len(found) - nerr} warning(s)", highlight=False)


def plan(inventory: InventoryOpt, json_out: JsonOpt = False) -> None:
    """Show what runs where: services per host, ports, heaps, versions, Java, web UIs.

    Exit 2, listing the same problems as `check`, when the inventory is invalid."""
    from bigdata_admin import inventory as inv
    from bigdata_admin import plan as planning
    from bigdata_admin import problems as pr
    from bigdata_admin.validate import validate

    with domain_errors():
        cluster = inv.load(inventory)
    data = planning.build(cluster)
    found = validate(cluster)
    data["problems"] = [p.as_dict() for p in found]
    data["ok"] = not pr.errors(found)
    if json_out:
        print_json(data)
    else:
        for table in planning.render(data):
            console.print(table)
        if found:
            _print_problems(cluster.name, str(inventory), len(cluster.hosts), found)
    if pr.errors(found):
        raise typer.Exit(2)


def register(app: typer.Typer) -> None:
    """Add this module's verbs to `app`."""
    app.command("init")(init)
    app.command("check")(check)
    app.command("plan")(plan)

