"""Options, output helpers and error handling shared by every verb."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

console = Console()
err_console = Console(stderr=True)

InventoryOpt = Annotated[
    Path,
    typer.Option("--inventory", "-i", help="Inventory directory (hosts.yml + group_vars/) or file.",
                 show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON instead of tables.")]


def print_json(data: Any) -> None:
    """Write JSON to stdout, plain (no colour, no wrapping) so scripts can parse it."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    sys.stdout.flush()


def print_error(message: str, fix: str | None = None) -> None:
    """`error: MESSAGE` and `fix: FIX` on stderr; both are plain text (never read as markup)."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    if fix:
        err_console.print(f"[bold]fix:[/] {escape(fix)}", highlight=False)


def fail(message: str, fix: str | None = None, code: int = 2) -> NoReturn:
    """Print an error naming the problem (and the fix) and exit with `code`."""
    print_error(message, fix)
    raise typer.Exit(code)


@contextmanager
def domain_errors() -> Iterator[None]:
    """Turn the library's errors into the message + fix + exit code (also under CliRunner)."""
    from bigdata_admin.errors import BigdataAdminError

    try:
        yield
    except BigdataAdminError as exc:
        fail(exc.message, exc.fix, exc.exit_code)
