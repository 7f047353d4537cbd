"""`bigdata-admin lab ...` (local test clusters) and `bigdata-admin exec` (ad-hoc commands on hosts)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from bigdata_admin.commands.common import JsonOpt, console, err_console, print_json

lab_app = typer.Typer(
    name="lab",
    help="Local lab: real multi-host test clusters on this machine (systemd-nspawn hosts, root needed).",
    no_args_is_help=True,
)

NameOpt = Annotated[str, typer.Option("--name", "-n", help="Lab name (several labs can run side by side).")]


def _log(message: str) -> None:
    err_console.print(f"[dim]{message}[/]", highlight=False)


@lab_app.command("up")
def up(
    nodes: Annotated[int, typer.Option("--nodes", help="Number of hosts (1: all on one; 3: classroom).")] = 3,
    name: NameOpt = "dev",
    rebuild_image: Annotated[bool, typer.Option("--rebuild-image",
                                                help="Build the Debian base image again.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Boot the lab's hosts and write its inventory (idempotent: again changes nothing)."""
    from bigdata_admin import lab

    started = time.monotonic()
    lb = lab.up(name=name, nodes=nodes, rebuild_image=rebuild_image, log=_log)
    elapsed = time.monotonic() - started
    if json_out:
        print_json({"name": lb.name, "inventory": str(lb.inventory), "hosts": lb.hosts,
                    "control_address": lb.gateway, "artifact_url": lb.artifact_url,
                    "apt_proxy": lb.proxy_url, "changed": lb.changed, "seconds": round(elapsed, 2)})
        return
    for line in lb.changed:
        console.print(f"  [green]+[/] {line}", highlight=False)
    verdict = "up" if lb.changed else "already up, nothing changed"
    console.print(f"lab [bold]{lb.name}[/] {verdict} ({elapsed:.1f} s): "
                  + ", ".join(f"{h} {a}" for h, a in lb.hosts.items()), highlight=False)
    console.print(f"inventory: {lb.inventory}\n"
                  f"next: bigdata-admin check -i {lb.inventory}  |  "
                  f"bigdata-admin lab ssh h1 --name {lb.name}",
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
    table = Table(title=f"lab {data['name']} ({data['subnet']}, bridge {data['bridge']})")
    for col in ("host", "address", "state", "processes", "memory (PSS)"):
        table.add_column(col)
    for h in data["hosts"]:
        colour = {"ssh": "green", "booting": "yellow"}.get(h["state"], "red")
        table.add_row(h["host"], h["address"], f"[{colour}]{h['state']}[/]", str(h["processes"]),
                      f"{h['memory_pss_mib']} MiB")
    console.print(table)
    relay = data["relay"]
    console.print(f"relay: {'running' if relay['running'] else '[red]stopped[/]'}  apt proxy "
                  f"{relay['apt_proxy']}  artifacts {relay['artifacts']}\ninventory: {data['inventory']}",
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
        console.print(f"{item['name']}: {item['running']}/{item['nodes']} running, {item['subnet']}, "
                      f"inventory {item['inventory']}", highlight=False)


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
    json_out: JsonOpt = False,
) -> None:
    """Stop a lab and remove what it made (processes, mounts, namespaces, bridge, cgroups, relay)."""
    from bigdata_admin import lab

    started = time.monotonic()
    done = lab.down(name, keep_state=keep_state)
    elapsed = time.monotonic() - started
    if json_out:
        print_json({"name": name, "done": done, "seconds": round(elapsed, 2)})
        return
    if not done:
        console.print(f"no lab named {name!r}: nothing to do")
        return
    for line in done:
        console.print(f"  [red]-[/] {line}", highlight=False)
    console.print(f"lab [bold]{name}[/] down ({elapsed:.1f} s)", highlight=False)


@lab_app.command("run")
def run_main(
    nodes: Annotated[int, typer.Option("--nodes", help="Number of hosts.")] = 3,
    name: NameOpt = "dev",
    down_after: Annotated[bool, typer.Option("--down", help="Bring the lab down at the end.")] = False,
) -> None:
    """The whole job on the lab: up, fetch the artifacts that can be had, deploy every service whose
    artifacts are available (the others are listed as skipped, with the reason and the fetch command),
    then status and smoke tests."""
    import subprocess
    import sys

    from bigdata_admin import lab

    started = time.monotonic()
    lb = lab.up(name=name, nodes=nodes, log=_log)
    console.print(f"[bold]lab {lb.name}[/] up ({time.monotonic() - started:.1f} s): "
                  + ", ".join(f"{h} {a}" for h, a in lb.hosts.items()), highlight=False)
    inv = str(lb.inventory)
    # Fetch what can be had (files that cannot are reported, and deploy skips their services).
    steps = [("fetch", ["artifacts", "fetch", "-i", inv]),
             ("deploy", ["deploy", "-i", inv, "--skip-unavailable"]), ("status", ["status", "-i", inv]),
             ("smoke", ["smoke", "-i", inv])]
    results: list[tuple[str, int, float]] = []
    for label, args in steps:
        console.rule(f"bigdata-admin {' '.join(args)}")
        t0 = time.monotonic()
        rc = subprocess.run([sys.executable, "-m", "bigdata_admin", *args], check=False).returncode
        results.append((label, rc, time.monotonic() - t0))
    if down_after:
        lab.down(name)
    console.rule("summary")
    for label, rc, secs in results:
        colour = "green" if rc == 0 else "red"
        console.print(f"  {label:<7} [{colour}]exit {rc}[/]  {secs:.0f} s", highlight=False)
    console.print(f"inventory: {inv}" + ("  (lab brought down)" if down_after else
                                          f"  (`bigdata-admin lab down --name {name}` when done)"),
                  highlight=False)
    worst = next((rc for label, rc, _ in results if rc != 0 and label != "fetch"), 0)
    if worst:
        raise typer.Exit(worst)


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
