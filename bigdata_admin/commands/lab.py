"""`bigdata-admin lab ...` (local test clusters) and `bigdata-admin exec` (ad-hoc commands on hosts)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape as esc

from bigdata_admin.commands.common import JsonOpt, console, err_console, print_json

lab_app = typer.Typer(
    name="lab",
    help="Local lab: real multi-host test clusters on this machine (systemd-nspawn hosts, root needed).",
    no_args_is_help=True,
)

NameOpt = Annotated[str, typer.Option("--name", "-n", help="Lab name (several labs can run side by side).")]


def _log(message: str) -> None:
    err_console.print(f"[dim]{esc(message)}[/]", highlight=False)


STATUS_SETTLE_S = 120
"""Seconds `lab run` gives services that are not healthy yet before its status verdict."""


@lab_app.command("up")
def up(
    nodes: Annotated[int | None, typer.Option(
        "--nodes", help="Number of hosts (1: all on one; 3: classroom; default 3, or 5 for --template ha, "
        "which takes 3 or 4 in a compact layout; "
        "an existing lab keeps its count). More than a running lab has adds hosts, in no inventory group "
        "(then `scale-out`); a lab never shrinks.",
        show_default=False)] = None,
    name: NameOpt = "dev",
    template: Annotated[str, typer.Option(
        "--template", help="Layout: classroom, or ha (2 NameNodes with JournalNodes and failover "
                           "controllers, dedicated Kafka controllers, like inventories/ha).")] = "classroom",
    rebuild_image: Annotated[bool, typer.Option("--rebuild-image",
                                                help="Build the Debian base image again.")] = False,
    students: Annotated[int | None, typer.Option(
        "--students", min=1, help="Practice classroom: N one-host labs NAME-s1..NAME-sN and a roster for "
        "`classroom create` (the memory budget is checked first).", show_default=False)] = None,
    profile: Annotated[str, typer.Option(
        "--profile", help="With --students: the classroom profile the budget and roster are sized for "
        "(slim, as `classroom create`, or mini).")] = "slim",
    json_out: JsonOpt = False,
) -> None:
    """Boot the lab's hosts and write its inventory (idempotent: again changes nothing)."""
    from bigdata_admin import lab
    from bigdata_admin.lab.model import HA_FULL_NODES

    started = time.monotonic()
    if students is not None:
        _up_students(name, students, profile, rebuild_image, json_out)
        return
    existing = lab.get(name) if nodes is None else None
    count = nodes if nodes is not None else (
        existing.state.nodes if existing is not None else (HA_FULL_NODES if template == "ha" else 3))
    lb = lab.up(name=name, nodes=count, rebuild_image=rebuild_image, log=_log, template=template)
    elapsed = time.monotonic() - started
    if json_out:
        print_json({"name": lb.name, "inventory": str(lb.inventory), "hosts": lb.hosts,
                    "control_address": lb.gateway, "artifact_url": lb.artifact_url,
                    "apt_proxy": lb.proxy_url, "changed": lb.changed, "seconds": round(elapsed, 2)})
        return
    for line in lb.changed:
        console.print(f"  [green]+[/] {esc(line)}", highlight=False)
    verdict = "up" if lb.changed else "already up, nothing changed"
    console.print(f"lab [bold]{esc(lb.name)}[/] {verdict} ({elapsed:.1f} s): "
                  + esc(", ".join(f"{h} {a}" for h, a in lb.hosts.items())), highlight=False)
    console.print(esc(f"inventory: {lb.inventory}\n"
                      f"next: bigdata-admin check -i {lb.inventory}  |  "
                      f"bigdata-admin lab ssh h1 --name {lb.name}"),
                  highlight=False)


def _up_students(name: str, students: int, profile: str, rebuild_image: bool, json_out: bool) -> None:
    """`lab up --students N`: N one-host labs for a practice classroom, after a memory budget check."""
    from bigdata_admin import classroom, lab
    from bigdata_admin.commands.common import domain_errors, fail
    from bigdata_admin.lab import model
    from bigdata_admin.lab.util import lab_root

    if profile not in classroom.PROFILES:
        fail(f"unknown profile {profile!r}", f"Use one of: {', '.join(classroom.PROFILES)}.")
    names = [f"{name}-s{i}" for i in range(1, students + 1)]
    with domain_errors():
        for n in names:
            model.check_name(n)
        new = [n for n in names if lab.get(n) is None]
        classroom.check_lab_budget(len(new), profile, classroom.available_memory_mb()) if new else None
    started = time.monotonic()
    rows: list[tuple[str, str, str]] = []
    for i, n in enumerate(names, start=1):
        with domain_errors():
            lb = lab.up(name=n, nodes=1, rebuild_image=rebuild_image and i == 1, log=_log)
        rows.append((f"student{i}", n, next(iter(lb.hosts.values()))))
        if not json_out:
            console.print(f"  lab [bold]{esc(n)}[/] up: {esc(rows[-1][2])}", highlight=False)
    need = classroom.lab_student_need_mb(profile)
    roster = classroom.write_lab_roster(lab_root() / "classrooms" / f"{name}-roster.csv", rows, need)
    if json_out:
        print_json({"labs": names, "roster": str(roster), "memory_mb_each": need,
                    "seconds": round(time.monotonic() - started, 1)})
        return
    console.print(esc(f"{students} student lab(s) up ({need} MiB each); roster: {roster}\n"
                      f"next: bigdata-admin classroom create --roster {roster} --dir CLASSDIR "
                      f"--profile {profile}"),
                  highlight=False)


@lab_app.command("status")
def status(name: NameOpt = "dev", json_out: JsonOpt = False) -> None:
    """Hosts, addresses, state and memory of a lab."""
    from rich.table import Table

    from bigdata_admin import lab

    data = lab.status(name)
    if json_out:
        print_json(data)
        return
    table = Table(title=esc(f"lab {data['name']} ({data['subnet']}, bridge {data['bridge']})"))
    for col in ("host", "address", "state", "processes", "memory (PSS)"):
        table.add_column(col)
    for h in data["hosts"]:
        colour = {"ssh": "green", "booting": "yellow"}.get(h["state"], "red")
        table.add_row(esc(h["host"]), esc(h["address"]), f"[{colour}]{esc(h['state'])}[/]",
                      str(h["processes"]),
                      f"{h['memory_pss_mib']} MiB")
    console.print(table)
    relay = data["relay"]
    console.print(f"relay: {'running' if relay['running'] else '[red]stopped[/]'}  apt proxy "
                  + esc(f"{relay['apt_proxy']}  artifacts {relay['artifacts']}\n"
                        f"inventory: {data['inventory']}"),
                  highlight=False)


@lab_app.command("list")
def list_(json_out: JsonOpt = False) -> None:
    """Labs recorded on this machine."""
    from bigdata_admin import lab

    labs = lab.list_labs()
    if json_out:
        print_json(labs)
        return
    if not labs:
        console.print("no labs; create one with `bigdata-admin lab up`")
    for item in labs:
        console.print(esc(f"{item['name']}: {item['running']}/{item['nodes']} running, {item['subnet']}, "
                          f"inventory {item['inventory']}"), highlight=False)


@lab_app.command("ssh", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def ssh(
    ctx: typer.Context,
    host: Annotated[str, typer.Argument(help="Host name (h1, h2, ...).")],
    name: NameOpt = "dev",
) -> None:
    """Open a shell on a lab host as `deploy` (or run `-- CMD`)."""
    from bigdata_admin import lab
    from bigdata_admin.errors import BadInput
    from bigdata_admin.lab.util import require_root

    require_root("`lab ssh`")
    lb = lab.get(name)
    if lb is None:
        raise BadInput(f"there is no lab named {name!r}",
                       fix="Create it: `bigdata-admin lab up --name NAME`.")
    if host not in lb.hosts:
        raise BadInput(f"lab {name!r} has no host {host!r}", fix=f"Use one of {', '.join(lb.hosts)}.")
    argv = lb.ssh_command(host, *ctx.args)
    if not ctx.args:
        argv.insert(1, "-t")
    os.execvp(argv[0], argv)


@lab_app.command("down")
def down(
    name: NameOpt = "dev",
    keep_state: Annotated[bool, typer.Option("--keep-state", help="Keep the hosts' disks.")] = False,
    students: Annotated[bool, typer.Option(
        "--students", help="The practice classroom's labs instead: every NAME-sN that `lab up --students` "
        "made, and its roster.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Stop a lab and remove what it made (processes, mounts, namespaces, bridge, cgroups, relay).

    Says what it keeps for the next lab (the base image, the package cache, the artifact cache) and
    how to remove it."""
    from bigdata_admin import lab

    if students:
        _down_students(name, keep_state, json_out)
        return
    started = time.monotonic()
    forget = deploy_record_forgetter(name)
    done = lab.down(name, keep_state=keep_state)
    forget()
    elapsed = time.monotonic() - started
    kept = kept_after_down(name, keep_state)
    if json_out:
        print_json({"name": name, "done": done, "seconds": round(elapsed, 2), "kept": kept})
        return
    if not done:
        console.print(esc(f"no lab named {name!r}: nothing to do"), highlight=False)
        return
    for line in done:
        console.print(f"  [red]-[/] {esc(line)}", highlight=False)
    console.print(f"lab [bold]{esc(name)}[/] down ({elapsed:.1f} s)", highlight=False)
    for item in kept:
        console.print(esc(f"  kept {item['what']}: {item['path']} (remove: {item['remove']})"),
                      highlight=False)


def student_labs(name: str) -> list[str]:
    """The labs `lab up --students N --name NAME` made: NAME-s1, NAME-s2, ... that exist, by number."""
    import re

    from bigdata_admin import lab

    pattern = re.compile(re.escape(name) + r"-s([0-9]+)")
    found = [(int(m.group(1)), str(row["name"])) for row in lab.list_labs()
             if (m := pattern.fullmatch(str(row["name"])))]
    return [n for _, n in sorted(found)]


def _down_students(name: str, keep_state: bool, json_out: bool) -> None:
    """`lab down --students`: every student lab of the practice classroom NAME, then its roster."""
    from bigdata_admin import lab
    from bigdata_admin.lab.util import lab_root

    started = time.monotonic()
    names = student_labs(name)
    for n in names:
        forget = deploy_record_forgetter(n)
        lab.down(n, keep_state=keep_state)
        forget()
        if not json_out:
            console.print(f"  [red]-[/] lab {esc(n)}", highlight=False)
    roster = lab_root() / "classrooms" / f"{name}-roster.csv"
    had_roster = roster.is_file()
    roster.unlink(missing_ok=True)
    elapsed = time.monotonic() - started
    if json_out:
        print_json({"name": name, "labs": names, "roster_removed": had_roster, "seconds": round(elapsed, 2)})
        return
    if not names and not had_roster:
        console.print(esc(f"no student labs named {name}-sN: nothing to do"), highlight=False)
        return
    console.print(esc(f"{len(names)} student lab(s) of {name!r} down ({elapsed:.1f} s)"
                      + (f"; roster {roster} removed" if had_roster else "")), highlight=False)


def deploy_record_forgetter(name: str) -> Callable[[], None]:
    """A callable dropping the deploy record of a lab's inventory (call it once its hosts are gone)."""
    from bigdata_admin import deployment, lab
    from bigdata_admin import inventory as inv_mod
    from bigdata_admin.errors import BigdataAdminError

    try:
        lb = lab.get(name)
        cluster = inv_mod.load(lb.inventory) if lb is not None else None
    except (BigdataAdminError, OSError):
        cluster = None
    return (lambda: deployment.forget(cluster)) if cluster is not None else (lambda: None)


def kept_after_down(name: str, keep_state: bool) -> list[dict[str, str]]:
    """What `lab down` leaves on this machine for the next lab, each with the command removing it."""
    from bigdata_admin import paths
    from bigdata_admin.lab.image import images_dir
    from bigdata_admin.lab.util import lab_root

    items = [("the base image(s) new labs boot from", images_dir()),
             ("the relay's package cache", lab_root() / "apt-cache"),
             ("the artifact cache", paths.cache_dir())]
    if keep_state:
        items.insert(0, ("the hosts' disks (--keep-state)", lab_root() / "labs" / name))
    return [{"what": what, "path": str(path), "remove": f"sudo rm -rf {path}"}
            for what, path in items if path.exists()]


@lab_app.command("run")
def run_main(
    nodes: Annotated[int, typer.Option("--nodes", help="Number of hosts.")] = 3,
    name: NameOpt = "dev",
    down_after: Annotated[bool, typer.Option("--down", help="Bring the lab down at the end.")] = False,
) -> None:
    """The whole job on the lab: up, fetch the artifacts that can be had, deploy every service whose
    artifacts are available (the others are listed as skipped, with the reason and the fetch command),
    then status and smoke tests. Ends with one table of services: deployed or skipped (and why),
    healthy, smoke-tested. Exit 0 when every deployed service is healthy and passes its smoke tests."""
    import subprocess
    import sys

    from bigdata_admin import deployment, lab
    from bigdata_admin import inventory as inv_mod
    from bigdata_admin.commands.ops import _smoke_renderable, status_renderable
    from bigdata_admin.health import smoke_runner
    from bigdata_admin.health.status import collect

    started = time.monotonic()
    lb = lab.up(name=name, nodes=nodes, log=_log)
    console.print(f"[bold]lab {esc(lb.name)}[/] up ({time.monotonic() - started:.1f} s): "
                  + esc(", ".join(f"{h} {a}" for h, a in lb.hosts.items())), highlight=False)
    inv = str(lb.inventory)
    # Fetch what can be had (files that cannot are reported, and deploy skips their services).
    steps = [("fetch", ["artifacts", "fetch", "-i", inv]),
             ("deploy", ["deploy", "-i", inv, "--skip-unavailable"])]
    results: list[tuple[str, int, float]] = []
    for label, args in steps:
        console.rule(esc(f"bigdata-admin {' '.join(args)}"))
        t0 = time.monotonic()
        rc = subprocess.run([sys.executable, "-m", "bigdata_admin", *args], check=False).returncode
        results.append((label, rc, time.monotonic() - t0))
    cluster = inv_mod.load(inv)
    absent = deployment.not_deployed(cluster)
    console.rule(esc(f"bigdata-admin status -i {inv}"))
    t0 = time.monotonic()
    report = collect(cluster, not_deployed=absent)
    # Daemons a deploy just (re)started may still be settling (a DataNode's first block report,
    # a NodeManager registering): give the unhealthy ones a while before the verdict.
    settle_until = time.monotonic() + STATUS_SETTLE_S
    while not report.healthy and time.monotonic() < settle_until:
        console.print(esc(f"waiting for {len(report.unhealthy)} service(s) to settle: "
                          + ", ".join(f"{r.group} on {r.host}" for r in report.unhealthy)), highlight=False)
        time.sleep(10)
        report = collect(cluster, not_deployed=absent)
    console.print(status_renderable(report))
    results.append(("status", 0 if report.healthy else 1, time.monotonic() - t0))
    console.rule(esc(f"bigdata-admin smoke -i {inv}"))
    t0 = time.monotonic()
    smoke = smoke_runner.run(cluster, [], not_deployed=absent)
    console.print(_smoke_renderable(smoke))
    results.append(("smoke", 0 if smoke.passed else 1, time.monotonic() - t0))
    pilot_report: str | None = None
    missing = pilot_missing(cluster, absent)
    if not smoke.passed:
        console.print("[yellow]pilot: not run (smoke tests failed)[/]", highlight=False)
    elif missing:
        console.print(esc(f"pilot: skipped, the lab lacks {missing}"), highlight=False)
    else:
        # The pilot on real data: what the main job shows a new user (marts on the Spark Thrift Server:
        # MapReduce on this lab's YARN takes 15-20 minutes for them).
        from bigdata_admin import paths

        work = paths.state_dir() / "pilot" / f"lab-{name}"
        args = ["pilot", "run", "-i", inv, *PILOT_ARGS, "--data", str(work / "data"),
                "--report", str(work / "report")]
        console.rule(esc(f"bigdata-admin {' '.join(args)}"))
        t0 = time.monotonic()
        rc = subprocess.run([sys.executable, "-m", "bigdata_admin", *args], check=False).returncode
        results.append(("pilot", rc, time.monotonic() - t0))
        index = work / "report" / "index.html"
        pilot_report = str(index) if rc == 0 and index.is_file() else None
    if down_after:
        lab.down(name)
    console.rule("summary")
    console.print(services_table(cluster, report, smoke, absent))
    console.print("  ".join(f"{label} [{'green' if rc == 0 else 'red'}]exit {rc}[/] {secs:.0f} s"
                            for label, rc, secs in results), highlight=False)
    if pilot_report:
        console.print(f"[green]pilot report[/] {esc(pilot_report)}", highlight=False)
    console.print(esc(f"inventory: {inv}") + ("  (lab brought down)" if down_after else
                                               esc(f"  (`bigdata-admin lab down --name {name}` when done)")),
                  highlight=False)
    worst = next((rc for label, rc, _ in results if rc != 0 and label != "fetch"), 0)
    if worst:
        raise typer.Exit(worst)


PILOT_ARGS = ("--day", "20200321", "--cars", "20", "--hours", "1", "--engine", "spark",
              "--incidents", "20000")
"""`pilot run` in the main job: a small day (20 cars, 36,000 driving records, 20,000 accident-risk rows)
through every step."""
PILOT_GROUPS = (("hdfs_namenode", "HDFS"), ("kafka_broker", "Kafka"), ("storm_nimbus", "Storm"),
                ("storm_supervisor", "Storm supervisors"), ("hbase_thrift", "HBase's Thrift server"),
                ("redis", "Redis"), ("spark_thrift", "the Spark Thrift Server"))


def pilot_missing(cluster: Any, absent: dict[str, str]) -> str:
    """What the main job's `pilot run` needs and the lab lacks or skipped ("" when nothing)."""
    gone = [f"{what} ({absent[g]})" if g in absent else f"{what} (no {g} host)"
            for g, what in PILOT_GROUPS if not cluster.has(g) or g in absent]
    return "; ".join(gone)


def services_table(cluster: Any, report: Any, smoke: Any, absent: dict[str, str]) -> Any:
    """The closing table of `lab run`: per service deployed / skipped and why / healthy / smoke."""
    from rich.table import Table
    from rich.text import Text

    from bigdata_admin.health.summary import summarize

    table = Table(title=f"services of {esc(cluster.name)}", title_justify="left")
    for col in ("service", "hosts", "deployed", "healthy", "smoke", "detail"):
        table.add_column(col, overflow="fold")
    for row in summarize(cluster, report, smoke, absent):
        if not row["deployed"]:
            table.add_row(Text(row["service"]), Text(", ".join(row["hosts"])),
                          Text("skipped", style="yellow"), "-", "-", Text(row["reason"], style="yellow"))
            continue
        healthy = (Text("-", style="dim") if row["healthy"] is None else
                   Text("yes", style="green") if row["healthy"] else Text("NO", style="bold red"))
        smoke_cell = Text(row["smoke"], style={"pass": "green", "FAIL": "bold red"}.get(row["smoke"], "dim"))
        table.add_row(Text(row["service"]), Text(", ".join(row["hosts"])), Text("yes", style="green"),
                      healthy, smoke_cell, Text(row["detail"]))
    return table


def exec_(
    inventory: Annotated[Path, typer.Option("--inventory", "-i", help="Inventory directory or file.",
                                            show_default=False)],
    command: Annotated[list[str], typer.Argument(help="The command (after `--`).", show_default=False)],
    group: Annotated[str | None, typer.Option("--group", "-g", help="Run on this group's hosts.")] = None,
    limit: Annotated[str | None, typer.Option("--limit", "-l",
                                              help="Comma-separated host names.")] = None,
    sudo: Annotated[bool, typer.Option("--sudo", help="Run it with sudo.")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Seconds per host.")] = 120.0,
    json_out: JsonOpt = False,
) -> None:
    """Run an ad-hoc command on hosts of an inventory over SSH, in parallel."""
    from bigdata_admin import remote

    results = remote.run_on(inventory, " ".join(command), group=group, limit=limit, sudo=sudo,
                            timeout=timeout)
    if json_out:
        print_json([r.as_dict() for r in results])
    else:
        remote.print_results(results, console)
    if any(not r.ok for r in results):
        raise typer.Exit(1)


def relay(
    bind: Annotated[str, typer.Option("--bind", help="Address of this (control) host the nodes reach.",
                                      show_default=False)],
    allow: Annotated[list[str] | None, typer.Option(
        "--allow", help="Mirror host name to relay (repeat; default: the Debian mirror of this host's "
                        "apt sources).")] = None,
    proxy_port: Annotated[int, typer.Option("--proxy-port", help="apt proxy port.")] = 3142,
    artifact_port: Annotated[int, typer.Option("--artifact-port", help="Artifact cache port.")] = 8765,
    apt_cache: Annotated[Path | None, typer.Option("--apt-cache", help="Package cache directory "
                                                   "(default: <state dir>/lab/apt-cache).")] = None,
) -> None:
    """Serve an offline cluster from this control host (foreground): an apt proxy for OS packages
    (nodes: `Acquire::http::Proxy "http://BIND:3142";`) and the artifact cache over HTTP (inventory:
    `bigdata_artifact_base_url: http://BIND:8765`). `lab up` starts one per lab by itself."""
    from urllib.parse import urlsplit

    from bigdata_admin import paths
    from bigdata_admin.errors import BadInput
    from bigdata_admin.lab import image
    from bigdata_admin.lab import relay as relay_mod
    from bigdata_admin.lab.util import lab_root

    hosts = allow or [urlsplit(image.host_mirror()).hostname or "deb.debian.org"]
    try:
        relay_mod.serve(bind, proxy_port, artifact_port, hosts, apt_cache or lab_root() / "apt-cache",
                        paths.cache_dir())
    except OSError as exc:
        raise BadInput(f"cannot listen on {bind} ports {proxy_port}/{artifact_port}: {exc.strerror}",
                       fix="Use an address of this host (`ip -4 addr`) and free ports.") from exc


def register(app: typer.Typer) -> None:
    """Add this module's verbs to `app`."""
    app.add_typer(lab_app)
    app.command("relay")(relay)
    app.command("exec", help="Run an ad-hoc command on hosts of an inventory over SSH, in parallel "
                "(`bigdata-admin exec -i INV --group zookeeper -- uptime`).")(exec_)
