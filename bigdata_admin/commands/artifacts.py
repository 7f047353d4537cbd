"""`artifacts list|fetch|verify|serve`: the release files cache on the control host."""

from __future__ import annotations

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

app = typer.Typer(help="Release files for the cluster: what it needs, fetch (offline first), verify, serve.",
                  no_args_is_help=True)

ComponentsArg = Annotated[list[str] | None, typer.Argument(
    help="Only these components (hadoop, zookeeper, hbase, hive, kafka, storm, spark, java, ...) or file "
         "names; all the inventory needs when none.", show_default=False)]



def _cluster(inventory: Any) -> Any:
    from bigdata_admin import inventory as inv

    with domain_errors():
        return inv.load(inventory)


def _size(n: int | None) -> str:
    if n is None:
        return ""
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


@app.command("list")
def list_(inventory: InventoryOpt, json_out: JsonOpt = False) -> None:
    """What this inventory needs: file, version, cached?, verified? (exit 0 even when some are missing)."""
    from rich.table import Table

    from bigdata_admin import artifacts, catalog, paths

    cluster = _cluster(inventory)
    with domain_errors():
        states = artifacts.states(catalog.artifacts_for(cluster))
    if json_out:
        print_json({"cache": str(paths.cache_dir()), "artifacts": [s.as_dict() for s in states]})
        return
    table = Table(title=esc(f"artifacts for {cluster.name} (cache {paths.cache_dir()})"))
    for col in ("component", "version", "file", "source", "cached", "verified", "size"):
        table.add_column(col, overflow="fold", no_wrap=(col != "file"))
    for s in states:
        a = s.artifact
        size = s.path.stat().st_size if s.cached else None
        table.add_row(esc(a.component), esc(a.version), esc(a.filename), esc(a.source),
                      "yes" if s.cached else "[red]no[/]",
                      "yes" if s.verified else "[red]no[/]", _size(size))
    console.print(table)
    todo = [s for s in states if not s.verified]
    if todo:
        console.print(esc(f"{len(todo)} missing or unverified: run "
                          f"`{artifacts.fetch_command(cluster)}`"), highlight=False)
    for s in states:
        if s.note:
            console.print(esc(f"  {s.artifact.filename}: {s.note}"), highlight=False)


def _print_outcomes(outcomes: list[Any], json_out: bool, noted: bool = False) -> None:
    """One line per file. `noted`: the live fetch already printed why each source failed, so a
    failed file's line says so instead of repeating every reason."""
    if json_out:
        print_json({"ok": all(o.ok for o in outcomes), "results": [o.as_dict() for o in outcomes]})
        return
    marks = {True: "[green]✓[/]", False: "[red]✗[/]"}
    for o in outcomes:
        if noted and o.action == "failed" and o.artifact.kind != "bundle":  # bundles: mvn noted nothing
            message = "every source failed (the reasons are above)"
        else:
            message = o.message if o.message and (not o.ok or o.action != "fetched") else ""
        console.print(f"{marks[o.ok]} {esc(o.artifact.filename)}: {esc(o.action)}"
                      + (f" — {esc(message)}" if message else ""), highlight=False, soft_wrap=True)


@app.command("fetch")
def fetch(
    inventory: InventoryOpt,
    components: ComponentsArg = None,
    json_out: JsonOpt = False,
    timeout: Annotated[float, typer.Option("--timeout", help="Network timeout per request (s).")] = 60.0,
) -> None:
    """Download what the inventory needs into the cache, once, resuming partial downloads, and verify it
    against the published checksum (mirror first, then the Apache archive). Exit 1 when a file failed."""
    from bigdata_admin import artifacts, paths

    cluster = _cluster(inventory)
    reporter: Any = artifacts.NullReporter() if json_out else artifacts.RichReporter()
    with domain_errors():
        if isinstance(reporter, artifacts.RichReporter):
            with reporter:
                outcomes = artifacts.fetch(cluster, components, reporter=reporter, timeout=timeout)
        else:
            outcomes = artifacts.fetch(cluster, components, reporter=reporter, timeout=timeout)
    _print_outcomes(outcomes, json_out, noted=not json_out)
    if not json_out:
        console.print(esc(f"cache: {paths.cache_dir()}"), highlight=False)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(1)


@app.command("verify")
def verify(inventory: InventoryOpt, components: ComponentsArg = None, json_out: JsonOpt = False) -> None:
    """Re-hash every cached file against its checksum and update manifest.json. Exit 1 on a bad or
    missing file."""
    from bigdata_admin import artifacts

    cluster = _cluster(inventory)
    with domain_errors():
        outcomes = artifacts.verify(cluster, components)
    _print_outcomes(outcomes, json_out)
    if not all(o.ok for o in outcomes):
        if not json_out:
            err_console.print(esc(f"fix: run `{artifacts.fetch_command(cluster)}`"), highlight=False)
        raise typer.Exit(1)


@app.command("serve")
def serve(
    bind: Annotated[str, typer.Option("--bind", help="Address to listen on (e.g. the lab bridge address).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="TCP port.")] = 8765,
) -> None:
    """Serve the cache read-only over HTTP so nodes of an offline cluster can download from it
    (set bigdata_artifact_base_url to the URL printed). Ctrl-C stops it."""
    from bigdata_admin import artifacts, paths

    if not 0 < port < 65536:
        fail(f"--port {port} is not a TCP port", "Pick a port between 1 and 65535.")
    with domain_errors():
        server = artifacts.make_server(bind, port)
    console.print(esc(f"serving {paths.cache_dir()} at {server.url} (read-only); "
                      f"set bigdata_artifact_base_url: {server.url}"), highlight=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def register(root: typer.Typer) -> None:
    """Add this module's verbs to `root`."""
    root.add_typer(app, name="artifacts")
