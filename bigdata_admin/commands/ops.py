"""Verbs of this area are registered here once they work."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's verbs to `app`."""
