"""Domain errors. The CLI turns each into a clean message and an exit code."""

from __future__ import annotations


class BigdataAdminError(Exception):
    """Base class; `exit_code` is what the CLI exits with."""

    exit_code = 1

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


class BadInput(BigdataAdminError):
    """The user's input (inventory, options, files) is wrong. Nothing was changed."""

    exit_code = 2


class NeedsRoot(BadInput):
    """The operation needs root privileges."""


class RunFailed(BigdataAdminError):
    """An Ansible run or a remote operation failed on at least one host."""

    exit_code = 1
