"""The `bigdata-admin` command line: a thin layer over the library."""

from __future__ import annotations

from typing import Annotated

import typer

from bigdata_admin import __version__
from bigdata_admin.commands import common

app = typer.Typer(
    name="bigdata-admin",
    help="Deploy and operate a Hadoop-stack cluster (HDFS, HBase, Hive, Impala, Kafka, Storm, "
    "ZooKeeper, Spark) with Ansible, prove it works, and run the smart-car pilot on it.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"bigdata-admin {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version and exit.")
    ] = False,
) -> None:
    """Deploy and operate a Hadoop-stack cluster with Ansible."""


def _register() -> None:
    from bigdata_admin.commands import artifacts, lab, ops, pilot, runs, topology

    for module in (topology, runs, artifacts, ops):
        module.register(app)
    lab.register(app)
    pilot.register(app)


_register()


def main() -> None:
    """Entry point: run the app, turning domain errors into clean exits."""
    from bigdata_admin.errors import BigdataAdminError

    try:
        app()
    except BigdataAdminError as exc:
        common.print_error(exc.message, exc.fix)
        raise SystemExit(exc.exit_code) from None
    except KeyboardInterrupt:
        common.err_console.print("[yellow]interrupted[/]")
        raise SystemExit(130) from None
