"""A problem found in an inventory or a plan, naming where it is and how to fix it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    severity: Severity
    where: str
    """The group, host or setting concerned, e.g. `group zookeeper` or `host node2`."""
    message: str
    fix: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]
