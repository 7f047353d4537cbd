"""`classroom` verbs: one cluster per student. The work is in bigdata_admin.classroom."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape as esc

from bigdata_admin.commands.common import JsonOpt, console, domain_errors, err_console, fail, print_json

classroom_app = typer.Typer(help="Classroom mode: one instructor, one cluster per student (create, check, "
                                 "deploy, status, reset, destroy).", no_args_is_help=True)

DirOpt = Annotated[Path, typer.Option("--dir", "-d", help="The classroom directory (what `create` wrote).",
                                      show_default=False)]
StudentsOpt = Annotated[list[str] | None, typer.Option("--student", "-s",
                                                       help="Only these students (repeatable).")]


class Template(StrEnum):
    single_node = "single-node"
    classroom = "classroom"


class Profile(StrEnum):
    slim = "slim"
    mini = "mini"


@classroom_app.command("create")
def create(
    roster: Annotated[Path, typer.Option("--roster", "-r",
                                         help="CSV: student,memory_mb[,host,address,ssh_user,"
                                         "ssh_key,lab] (header first).", show_default=False)],
    directory: DirOpt,
    template: Annotated[Template | None, typer.Option(
        "--template", "-t", help="Every student gets this shipped inventory's layout.")] = None,
    profile: Annotated[Profile | None, typer.Option(
        "--profile", "-p", help="One host per student: slim (ZooKeeper, HDFS, YARN, Hive, Kafka) or mini "
        "(without Hive). Default: slim when no --template.")] = None,
    hosts_file: Annotated[Path | None, typer.Option(
        "--hosts-file", help="/etc/hosts-style file giving the addresses of the roster's host names.")] \
        = None,
    address_range: Annotated[str | None, typer.Option(
        "--address-range",
        help="Hand out addresses from CIDR (10.0.0.0/24) or START-END to rows without one.")]
    = None,
    force: Annotated[bool, typer.Option("--force", help="Write over an existing classroom in DIR.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Write one inventory per student under DIR/students from a template or profile.

    The roster is checked whole first: duplicate students, overlapping addresses, too little memory or
    missing columns exit 2 naming the rows, and nothing is written."""
    from bigdata_admin import classroom

    with domain_errors():
        rows = classroom.read_roster(roster)
        made = classroom.create(rows, directory, profile=profile.value if profile else None,
                                template=template.value if template else None, hosts_file=hosts_file,
                                address_range=address_range, force=force)
    if json_out:
        print_json({"dir": str(directory), "students": [m.as_dict() for m in made]})
        return
    for m in made:
        console.print(esc(f"  {m.student}: {m.inventory} ("
                          + ", ".join(f"{h} {a}" for h, a in m.hosts.items()) + f", {m.memory_mb} MiB)"),
                      highlight=False)
    console.print(f"[green]wrote {len(made)} student inventories[/] to {esc(str(directory))}",
                  highlight=False)
    console.print(esc(f"next: bigdata-admin classroom check --dir {directory}  |  "
                      f"bigdata-admin classroom deploy --dir {directory} --parallel 3"), highlight=False)


@classroom_app.command("check")
def check(directory: DirOpt, json_out: JsonOpt = False) -> None:
    """Validate every student's inventory (the `check` rules, no host touched) with one summary table.
    Exit 2 when any has an error."""
    from rich.table import Table
    from rich.text import Text

    from bigdata_admin import classroom

    with domain_errors():
        rows = classroom.check(directory)
    bad = [r for r in rows if not r.ok]
    if json_out:
        print_json({"ok": not bad, "students": [r.as_dict() for r in rows]})
    else:
        table = Table(title=f"classroom {directory}", title_justify="left")
        for col in ("Student", "Hosts", "Result", "Problems"):
            table.add_column(col, overflow="fold")
        for r in rows:
            result = Text("ok", style="green") if r.ok and not r.warnings else \
                Text(f"{len(r.warnings)} warning(s)", style="yellow") if r.ok else \
                Text(f"{len(r.errors)} error(s)", style="bold red")
            table.add_row(Text(r.student), str(r.hosts), result, Text("\n".join(r.errors + r.warnings)))
        console.print(table)
        console.print(Text(f"{len(rows) - len(bad)} of {len(rows)} inventories valid",
                           style="bold red" if bad else "bold green"))
    if bad:
        raise typer.Exit(2)


@classroom_app.command("deploy")
def deploy(
    directory: DirOpt,
    parallel: Annotated[int, typer.Option("--parallel", "-P", min=1, help="Students deployed at once.")] = 2,
    resume: Annotated[bool, typer.Option("--resume", help="Only the students whose last deploy failed (or "
                                         "who have none).")] = False,
    student: StudentsOpt = None,
    serve: Annotated[str | None, typer.Option(
        "--serve", metavar="ADDR[:PORT]", help="Serve the control host's artifact cache at ADDR (an address "
        "the students' hosts reach) for all deploys, instead of each host reading its inventory's source.")]
    = None,
    skip_unavailable: Annotated[bool, typer.Option(
        "--skip-unavailable", help="Pass --skip-unavailable to every deploy.")] = False,
    fetch: Annotated[bool, typer.Option(
        "--fetch", help="First fetch what any student lacks into the shared cache, each file once.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Deploy every student's cluster with bounded parallelism: one line per student, failures collected.

    The artifact cache is checked once for all students first (missing files: exit 2 with the fetch
    command, fetched once into the shared cache). Exit 1 when any deploy failed; `--resume` reruns
    only those."""
    from bigdata_admin import classroom

    with domain_errors():
        students = classroom.load(directory)
        if fetch:
            got, failures = classroom.fetch_missing(directory)
            if not json_out:
                console.print(esc(f"fetched {len(got)} artifact(s) once for all students"
                                  + (f": {', '.join(got)}" if got else "")), highlight=False)
                for line in failures:
                    err_console.print(f"[red]fetch failed[/] {esc(line)}", highlight=False)
        missing, commands = classroom.missing_artifacts(directory)
    if missing and not skip_unavailable:
        if json_out:
            print_json({"ok": False, "rc": 2, "missing": missing, "fetch": commands})
            raise typer.Exit(2)
        fail(f"{len(missing)} artifact(s) the students' deploys need are not in the cache (no host was "
             f"touched): {', '.join(missing)}", "Fetch them once for everyone: " + " && ".join(commands)
             + " (or add --skip-unavailable).")
    started = time.monotonic()
    total = len(students)

    def on_start(name: str) -> None:
        if not json_out:
            console.print(f"[dim]{time.monotonic() - started:6.0f}s[/] {esc(name)}: deploying",
                          highlight=False)

    def on_done(r: classroom.DeployResult) -> None:
        if json_out:
            return
        mark = "[green]ok[/]" if r.ok else f"[bold red]FAILED[/] (rc {r.rc})"
        tail = "" if r.ok else f": {esc(r.summary)} (log {esc(str(r.log))})"
        console.print(f"[dim]{time.monotonic() - started:6.0f}s[/] {esc(r.student)}: {mark} in "
                      f"{r.seconds:.0f} s{tail}", highlight=False)

    extra = ["--skip-unavailable"] if skip_unavailable else []
    with domain_errors(), classroom.artifact_server(serve) as serve_args:
        results = classroom.deploy(directory, parallel=parallel, resume=resume, students=student or [],
                                   extra_args=[*extra, *serve_args], on_start=on_start, on_done=on_done)
    failed = [r for r in results if not r.ok]
    elapsed = time.monotonic() - started
    if json_out:
        print_json({"ok": not failed, "seconds": round(elapsed, 1), "parallel": parallel,
                    "students": [r.as_dict() for r in results]})
    elif not results:
        console.print("nothing to deploy" + (" (no failed student to resume)" if resume else ""))
    elif failed:
        err_console.print(f"[bold red]{len(failed)} of {len(results)} deploy(s) failed[/] "
                          f"({elapsed:.0f} s, {total} student(s) in the classroom):", highlight=False)
        for r in failed:
            err_console.print(f"  {esc(r.student)}: {esc(r.summary)}", highlight=False)
        err_console.print(esc("fix: look at the logs, then "
                              f"`bigdata-admin classroom deploy --dir {directory} "
                              "--resume`"), highlight=False)
    else:
        console.print(f"[bold green]all {len(results)} deploy(s) ok[/] in {elapsed:.0f} s "
                      f"(--parallel {parallel})", highlight=False)
    raise typer.Exit(1 if failed else 0)


@classroom_app.command("status")
def status(
    directory: DirOpt,
    json_out: JsonOpt = False,
    html_file: Annotated[Path | None, typer.Option(
        "--html", metavar="FILE",
        help="Also write one self-contained HTML page of the grid (for a projector).")]
    = None,
    watch: Annotated[float | None, typer.Option(
        "--watch", "-w", metavar="SECONDS", min=1.0,
        help="Probe again every SECONDS until Ctrl-C (the HTML page "
        "reloads itself as often).")] = None,
    student: StudentsOpt = None,
) -> None:
    """A grid of students x services: healthy, down or not deployed. Exit 0 only when all are healthy."""
    from bigdata_admin import classroom

    def once() -> classroom.ClassroomStatus:
        with domain_errors():
            st = classroom.status(directory, student or [])
        if html_file is not None:
            classroom.write_html(html_file, st, refresh_s=watch)
        return st

    st = once()
    if watch is None:
        if json_out:
            print_json(st.as_dict())
        else:
            console.print(classroom.render_rich(st))
            if html_file is not None:
                console.print(esc(f"wrote {html_file}"), highlight=False)
        raise typer.Exit(0 if st.healthy else 1)
    from rich.live import Live

    try:
        if json_out:
            while True:
                print_json(st.as_dict())
                time.sleep(watch)
                st = once()
        with Live(classroom.render_rich(st), console=console, refresh_per_second=2) as live:
            while True:
                time.sleep(watch)
                st = once()
                live.update(classroom.render_rich(st))
    except KeyboardInterrupt:
        pass
    raise typer.Exit(0 if st.healthy else 1)


@classroom_app.command("reset")
def reset(
    student: Annotated[str, typer.Argument(help="The student whose cluster to reset.", show_default=False)],
    directory: DirOpt,
    yes: Annotated[bool, typer.Option("--yes", help="Confirm: the student's pilot data is deleted.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Wipe the pilot's data (HDFS /pilot-pjt, Hive smartcar tables, Kafka SmartCar-Topic, HBase
    DriverCarInfo) and restart the student's services, keeping the installation. Needs --yes."""
    from bigdata_admin import classroom

    if not yes:
        fail(f"reset deletes {student}'s pilot data", f"Add --yes: bigdata-admin classroom reset {student} "
             f"--dir {directory} --yes")

    def log(message: str) -> None:
        if not json_out:
            console.print(f"[dim]{esc(message)}[/]", highlight=False)

    with domain_errors():
        result = classroom.reset(directory, student, log)
    if json_out:
        print_json(result.as_dict())
    else:
        for step in result.steps:
            mark = "[red]✗[/]" if "failed" in step else "[green]✓[/]"
            console.print(f"  {mark} {esc(step)}", highlight=False)
        verdict = "[bold green]reset[/]" if result.ok else "[bold red]reset incomplete[/]"
        console.print(f"{verdict} {esc(result.student)} in {result.seconds:.0f} s", highlight=False)
    raise typer.Exit(0 if result.ok else 1)


DESTROY_FLAG = "--yes-stop-every-student-cluster"


@classroom_app.command("destroy")
def destroy(
    directory: DirOpt,
    confirm: Annotated[bool, typer.Option(DESTROY_FLAG,
                                          help="Confirm: every student's services are removed.")] = False,
    student: StudentsOpt = None,
    purge_data: Annotated[bool, typer.Option("--purge-data", help="Delete the data directories too.")]
    = False,
    json_out: JsonOpt = False,
) -> None:
    """Remove every service of every student's cluster (`bigdata-admin destroy` on each: data kept
    unless --purge-data); the hosts stay."""
    from bigdata_admin import classroom

    if not confirm:
        fail("destroy stops every student's cluster", f"Add {DESTROY_FLAG} to confirm.")
    with domain_errors():
        results = classroom.destroy(directory, student or [], purge_data=purge_data)
    if json_out:
        print_json({"ok": all(r.ok for r in results), "students": [r.as_dict() for r in results]})
    else:
        for r in results:
            console.print(f"  {esc(r.student)}: {esc('; '.join(r.steps))}", highlight=False)
    raise typer.Exit(0 if all(r.ok for r in results) else 1)


def register(app: typer.Typer) -> None:
    """Add the `classroom` group to `app`."""
    app.add_typer(classroom_app, name="classroom")
