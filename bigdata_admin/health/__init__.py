"""Status probes and smoke tests.

Probes answer "is this service on this host healthy, and what does it report" (systemd state,
port, and a service-level check). Smoke tests prove a service works end to end through its real
client library. Both register themselves by decorator from the modules named in `PLUGIN_MODULES`;
`load_plugins()` imports them on first use so that the CLI starts fast.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bigdata_admin.inventory import Cluster, Host

PLUGIN_MODULES = (
    "bigdata_admin.health.probes_core",  # zookeeper, kafka, storm, redis, postgresql
    "bigdata_admin.health.probes_hadoop",  # hdfs, yarn, hbase
    "bigdata_admin.health.probes_sql",  # hive, impala, spark
    "bigdata_admin.health.smoke_core",
    "bigdata_admin.health.smoke_hadoop",
    "bigdata_admin.health.smoke_sql",
)


@dataclass
class ProbeResult:
    """What one probe found for one service on one host."""

    host: str
    group: str
    healthy: bool
    state: str
    """Short word for the table: e.g. `leader`, `follower`, `active`, `down`, `unreachable`."""
    detail: str = ""
    """One line a person reads: what was measured or what is wrong."""
    data: dict[str, Any] = field(default_factory=dict)
    """Structured facts for --json (e.g. live DataNodes, quorum size)."""


@dataclass
class SmokeResult:
    """The outcome of one smoke test."""

    name: str
    component: str
    passed: bool
    seconds: float
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)


ProbeFn = Callable[[Cluster, Host], ProbeResult]
SmokeFn = Callable[[Cluster], list[SmokeResult]]

PROBES: dict[str, ProbeFn] = {}
"""Inventory group -> probe run against each host of the group."""
SMOKE_TESTS: dict[str, SmokeFn] = {}
"""Component name (e.g. `zookeeper`, `hdfs`) -> smoke test run against the cluster."""


def probe(group: str) -> Callable[[ProbeFn], ProbeFn]:
    def register(fn: ProbeFn) -> ProbeFn:
        PROBES[group] = fn
        return fn

    return register


def smoke(component: str) -> Callable[[SmokeFn], SmokeFn]:
    def register(fn: SmokeFn) -> SmokeFn:
        SMOKE_TESTS[component] = fn
        return fn

    return register


def load_plugins() -> None:
    for name in PLUGIN_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
