"""Ansible runs: `deploy`, `stop`, `start`, `restart`, and `runs list|show` (past runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

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

LimitOpt = Annotated[str | None, typer.Option("--limit", "-l",
                                              help="Only these hosts or groups (Ansible pattern).")]
TagsOpt = Annotated[list[str] | None, typer.Option(
    "--tags", "-t", help="Only plays/tasks with these tags (service names such as zookeeper, hdfs, kafka). "
    "Repeatable or comma-separated.")]
SkipTagsOpt = Annotated[list[str] | None, typer.Option("--skip-tags", help="Skip these tags. Repeatable or "
                                                       "comma-separated.")]
CheckOpt = Annotated[bool, typer.Option("--check", "-C", help="Dry run: report what would change.")]
DiffOpt = Annotated[bool, typer.Option("--diff", "-D", help="Show the differences in changed files.")]
ExtraOpt = Annotated[list[str] | None, typer.Option("--extra-vars", "-e", help="Extra variables: key=value, "
                                                    "@file.yml or a JSON mapping. Repeatable.")]
VerboseOpt = Annotated[int, typer.Option("--verbose", "-v", count=True, help="More Ansible output in the log "
                                         "(-v, -vv, -vvv).")]



def _split(values: list[str] | None) -> list[str]:
    out: list[str] = []
    for v in values or []:
        out += [p.strip() for p in v.split(",") if p.strip()]
    return out


def _load_and_validate(inventory: Path, json_out: bool) -> Any:
    """The cluster, or exit 2 listing every problem of the inventory (nothing touched)."""
    from bigdata_admin import inventory as inv
    from bigdata_admin.problems import errors
    from bigdata_admin.validate import validate

    with domain_errors():
        cluster = inv.load(inventory)
    problems = errors(validate(cluster))
    if problems:
        if json_out:
            print_json({"ok": False, "rc": 2, "problems": [p.as_dict() for p in problems]})
        else:
            err_console.print(f"[bold red]error:[/] the inventory {esc(str(inventory))} has {len(problems)} "
                              "problem(s); no host was touched", highlight=False)
            for p in problems:
                err_console.print(f"  [red]✗[/] [bold]{esc(p.where)}[/]: {esc(p.message)}", highlight=False)
                err_console.print(f"      fix: {esc(p.fix)}", highlight=False)
        raise typer.Exit(2)
    return cluster


def _finish(result: Any, json_out: bool, extra: dict[str, Any] | None = None) -> None:
    from bigdata_admin import runner

    if json_out:
        print_json({**result.as_dict(), "ok": result.rc == 0, **(extra or {})})
    else:
        runner.render(result, console)
    raise typer.Exit(result.rc)


def _run(playbook: str, inventory: Path, *, label: str, extravars: dict[str, Any], limit: str | None,
         tags: list[str], skip_tags: list[str], check: bool, diff: bool, verbose: int, json_out: bool,
         extra: dict[str, Any] | None = None) -> None:
    from bigdata_admin import runner

    with domain_errors():
        result = runner.run_playbook(playbook, inventory, extravars=extravars, limit=limit,
                                     tags=tags or None, skip_tags=skip_tags or None, check=check, diff=diff,
                                     verbosity=verbose, label=label, show_progress=not json_out)
    _finish(result, json_out, extra)


def deploy(
    inventory: InventoryOpt,
    limit: LimitOpt = None,
    tags: TagsOpt = None,
    skip_tags: SkipTagsOpt = None,
    check: CheckOpt = False,
    diff: DiffOpt = False,
    extra_vars: ExtraOpt = None,
    verbose: VerboseOpt = 0,
    skip_unavailable: Annotated[bool, typer.Option(
        "--skip-unavailable", help="Skip the services whose artifacts are not in the cache (listed with the "
        "fetch command) instead of failing.")] = False,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the inventory's last deploy that failed: from the failed service's play "
        "on, with that run's tags (`runs show` says what ran).")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Deploy the cluster: validate, check the artifact cache, then run playbooks/site.yml.

    Skipped services (missing artifacts with --skip-unavailable, groups no role deploys yet, and
    services needing a skipped one) are listed with the reason and left out of the inventory the
    roles see, so nothing is configured against them.
    """
    from bigdata_admin import artifacts, deployment, runner

    cluster = _load_and_validate(inventory, json_out)
    with domain_errors():
        extravars = runner.parse_extravars(extra_vars or [])
    tag_list, skip_list = _split(tags), _split(skip_tags)
    if resume:
        if tag_list or skip_list:
            fail("--resume takes the tags of the deploy it continues; it cannot be combined with --tags or "
                 "--skip-tags", "Drop --tags/--skip-tags, or drop --resume for a new deploy.")
        from bigdata_admin import dayops

        with domain_errors():
            resumed = dayops.resume_plan(cluster)
        if resumed is None:
            if json_out:
                print_json({"ok": True, "rc": 0, "resumed": None, "message": "nothing to resume"})
            else:
                console.print("nothing to resume: the last deploy of this inventory succeeded")
            raise typer.Exit(0)
        tag_list, skip_list = resumed.tags, resumed.skip_tags
        if not json_out:
            err_console.print(esc(f"resuming deploy {resumed.run_id} from play {resumed.failed_play!r}: "
                                  f"tags {','.join(tag_list)}"), highlight=False)
    with domain_errors():
        plan = artifacts.deploy_artifacts(cluster, tag_list, skip_list)
    if plan.missing and not skip_unavailable:
        files = ", ".join(a.filename for a in plan.missing)
        message = (f"{len(plan.missing)} artifact(s) this deploy needs are not in the cache "
                   f"(no host was touched): {files}")
        if json_out:
            print_json({"ok": False, "rc": 2, "missing": [a.filename for a in plan.missing],
                        "fetch": plan.fetch_command})
            raise typer.Exit(2)
        fail(message, f"Run `{plan.fetch_command}` (or deploy with --skip-unavailable).")
    skipped = plan.skipped if skip_unavailable else []
    # A role skipped whole leaves the play out; groups left out of a role that still runs (storm_ui
    # without Storm's web bundle) are only absent from the inventory view.
    skip_list = list(dict.fromkeys([*skip_list, *(s.tag for s in skipped if s.whole)]))
    absent = deployment.absent_groups(cluster, plan.skipped_tags if skipped else {},
                                      plan.skipped_groups if skipped else {})
    # Not deployed before and not part of this deploy: absent for the roles too, not re-recorded.
    earlier = deployment.outside_this_deploy(cluster, tag_list, skip_list)
    absent_view = {**earlier, **absent}
    if skipped:
        extravars = {**artifacts.java_overrides(cluster, skipped), **extravars}
    if absent_view and not json_out:
        err_console.print(f"[yellow]skipping {len(absent_view)} inventory group(s); the other services are "
                          "configured as if they were absent:[/]")
        for group, why in absent_view.items():
            err_console.print(f"  [bold]{esc(group)}[/]: {esc(why)}", highlight=False)
    run_inventory = inventory
    if absent_view:
        with domain_errors():
            run_inventory = deployment.write_view(cluster, absent_view)
    with domain_errors():
        result = runner.run_playbook("site", run_inventory, extravars=extravars, limit=limit,
                                     tags=tag_list or None, skip_tags=skip_list or None, check=check,
                                     diff=diff, verbosity=verbose, label="deploy", show_progress=not json_out)
    if not check and result.rc != runner.RC_BAD_INPUT:
        ran = deployment.deployed_groups(cluster, tag_list, skip_list, absent_view)
        deployment.record_deploy(cluster, ran, absent, result.run_dir.name)
    _finish(result, json_out, {"skipped": _skipped_json(absent_view, skipped)})


def _skipped_json(absent: dict[str, str], skipped: list[Any]) -> list[dict[str, Any]]:
    """One entry per skipped inventory group: group, service (play tag) and reason; for a service
    skipped for missing artifacts also the files and the command fetching them."""
    from bigdata_admin.services import BY_GROUP

    by_tag = {s.tag: s for s in skipped if s.whole}
    by_group = {g: s for s in skipped if not s.whole for g in s.groups}
    out: list[dict[str, Any]] = []
    for group, why in absent.items():
        tag = BY_GROUP[group].role if group in BY_GROUP else group
        entry: dict[str, Any] = {"group": group, "service": tag, "reason": why}
        cause = by_group.get(group) or by_tag.get(tag)
        if cause is not None:
            entry.update(reason=cause.reason, files=cause.files, fetch=cause.fetch_command)
        out.append(entry)
    return out


def service_tags(names: list[str]) -> list[str]:
    """Service names (play tags such as zookeeper, hdfs, hive) or inventory groups -> play tags."""
    from difflib import get_close_matches

    from bigdata_admin.errors import BadInput
    from bigdata_admin.services import BY_GROUP, SERVICES

    known = {s.role for s in SERVICES}
    tags: list[str] = []
    for name in _split(names):
        key = name.strip().lower().replace("-", "_")
        if key in known:
            tag = key
        elif key in BY_GROUP:
            tag = BY_GROUP[key].role
        else:
            close = get_close_matches(key, sorted(known | set(BY_GROUP)), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise BadInput(f"unknown service {name!r}.{hint}",
                           fix=f"Use one of: {', '.join(sorted(known))} (or an inventory group name).")
        if tag not in tags:
            tags.append(tag)
    return tags


ServicesArg = Annotated[list[str] | None, typer.Argument(
    help="Services to act on (zookeeper, hdfs, yarn, hbase, hive, kafka, storm, spark, redis, ...) "
         "or their inventory groups; all when none.", show_default=False)]


def operate(action: str, inventory: Path, services: list[str] | None, *, limit: str | None, check: bool,
            extra_vars: list[str] | None, verbose: int, json_out: bool) -> None:
    """Run the roles' `action` (stop, start, restart) for the services named (all when none); exits."""
    from bigdata_admin import runner

    _load_and_validate(inventory, json_out)
    with domain_errors():
        extravars = runner.parse_extravars(extra_vars or [])
        tags = service_tags(services or [])
    extravars["bigdata_action"] = action
    # stop.yml has the service plays in reverse order (HBase before HDFS before ZooKeeper).
    _run("stop" if action == "stop" else "site", inventory, label=action, extravars=extravars,
         limit=limit, tags=tags, skip_tags=[], check=check, diff=False, verbose=verbose,
         json_out=json_out)


def _operate(action: str) -> Any:
    def command(
        inventory: InventoryOpt,
        services: ServicesArg = None,
        limit: LimitOpt = None,
        check: CheckOpt = False,
        extra_vars: ExtraOpt = None,
        verbose: VerboseOpt = 0,
        json_out: JsonOpt = False,
    ) -> None:
        operate(action, inventory, services, limit=limit, check=check, extra_vars=extra_vars,
                verbose=verbose, json_out=json_out)

    command.__doc__ = {
        "stop": "Stop services (all, or those named) in reverse dependency order through the roles' stop "
                "action.",
        "start": "Start services (all, or those named) in dependency order through the roles' start action.",
    }[action]
    command.__name__ = action
    return command


runs_app = typer.Typer(help="Past Ansible runs: their recap and full log.", no_args_is_help=True)


@runs_app.command("list")
def runs_list(json_out: JsonOpt = False) -> None:
    """List past runs, newest first (the last 20 are kept)."""
    from rich.table import Table

    from bigdata_admin import runner

    runs = runner.list_runs()
    if json_out:
        print_json(runs)
        return
    if not runs:
        console.print("no runs yet")
        return
    table = Table()
    for col in ("id", "status", "rc", "playbook", "hosts", "failed", "elapsed"):
        table.add_column(col)
    for r in runs:
        recap = r.get("recap") or {}
        failed = sum(1 for h in recap.values() if h.get("failed") or h.get("unreachable"))
        style = "green" if r.get("rc") == 0 else ("yellow" if r.get("status") == "running" else "red")
        table.add_row(esc(r["id"]), esc(str(r.get("status", ""))), str(r.get("rc", "")),
                      esc(Path(r.get("playbook", "")).name), str(len(recap)), str(failed),
                      f"{r.get('elapsed_s', '')}", style=style)
    console.print(table)


@runs_app.command("show")
def runs_show(
    run_id: Annotated[str, typer.Argument(help="Run id (or a unique prefix, or `last`).",
                                          show_default=False)],
    log: Annotated[bool, typer.Option("--log", help="Print the full Ansible log.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Show one run: what ran, the recap per host, failed tasks, and where its log is."""
    from bigdata_admin import runner

    with domain_errors():
        info = runner.find_run(run_id)
    if json_out:
        print_json(info)
        return
    if log:
        typer.echo(Path(info["log"]).read_text(errors="replace") if Path(info["log"]).is_file() else "")
        return
    result = runner.result_from_record(info)
    console.print(f"run [bold]{esc(info['id'])}[/]: "
                  + esc(f"{info.get('label')} of {info.get('playbook')} on "
                        f"{info.get('inventory')} (started {info.get('started')})"), highlight=False)
    opts = {k: info.get(k) for k in ("limit", "tags", "skip_tags", "check", "diff") if info.get(k)}
    if opts:
        console.print(esc(f"options: {opts}"), highlight=False)
    if result.plays:
        first = result.failures[0].play if result.failures else ""
        stopped = f" (failed in {first})" if first else ""
        console.print(esc(f"plays that ran: {', '.join(dict.fromkeys(result.plays))}{stopped}"),
                      highlight=False)
    runner.render(result, console)


def register(app: typer.Typer) -> None:
    """Add this module's verbs to `app`."""
    app.command("deploy")(deploy)
    for action in ("stop", "start"):
        app.command(action)(_operate(action))
    app.add_typer(runs_app, name="runs")
