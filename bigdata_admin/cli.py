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
    quiet_client_logs()


def quiet_client_logs() -> None:
    """Keep client libraries' log records (Thrift's `Could not connect to any of [...]`, kazoo's and
    kafka-python's retries) off stderr: what failed is in each verb's own verdict. Python prints
    records of loggers without handlers to stderr; a do-nothing handler on the root stops that."""
    import logging

    root = logging.getLogger()
    if not any(isinstance(h, logging.NullHandler) for h in root.handlers):
        root.addHandler(logging.NullHandler())


def _register() -> None:
    from bigdata_admin.commands import artifacts, classroom, dayops, lab, ops, pilot, runs, scale, topology

    for module in (topology, runs, dayops, scale, artifacts, ops):
        module.register(app)
    lab.register(app)
    classroom.register(app)
    pilot.register(app)


def reflow(text: str | None) -> str | None:
    """Help text whose paragraphs wrap to the terminal: the line breaks inside each paragraph of a
    docstring become spaces (rich keeps them, breaking lines mid-sentence); blank lines stay."""
    if not text:
        return text
    import inspect

    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in p.splitlines() if line.strip()) for p in paragraphs)


def _reflow_help(typer_app: typer.Typer) -> None:
    """Reflow the help of every command and group below `typer_app` (see `reflow`)."""
    for command in typer_app.registered_commands:
        if command.help:
            command.help = reflow(command.help)
        elif command.callback is not None and command.callback.__doc__:
            command.help = reflow(command.callback.__doc__)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            info = group.typer_instance.info
            if isinstance(info.help, str):
                info.help = reflow(info.help)
            _reflow_help(group.typer_instance)


_register()
_reflow_help(app)


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
