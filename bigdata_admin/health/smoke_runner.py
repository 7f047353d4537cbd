"""`smoke`: run the registered smoke tests of the services present in an inventory, in parallel.

    report = run(cluster, ["zookeeper", "redis"])   # [] or None: every component present
    report.passed, report.results, report.skipped, report.as_dict()
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bigdata_admin import services
from bigdata_admin.errors import BadInput
from bigdata_admin.health import SMOKE_TESTS, SmokeResult, load_plugins
from bigdata_admin.inventory import Cluster

ALIASES = {"metastore_db": "postgresql", "postgres": "postgresql", "hdfs": "hdfs", "yarn": "yarn"}


@dataclass
class SmokeReport:
    cluster: str
    results: list[SmokeResult]
    skipped: dict[str, str] = field(default_factory=dict)
    """Component -> why it was not tested."""
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "passed": self.passed, "seconds": round(self.seconds, 3),
                "results": [{"name": r.name, "component": r.component, "passed": r.passed,
                             "seconds": r.seconds, "detail": r.detail, "data": r.data} for r in self.results],
                "skipped": self.skipped}


def components_present(cluster: Cluster) -> list[str]:
    """Smoke-test names whose service has hosts in this inventory, in registry order."""
    present: list[str] = []
    for svc in services.SERVICES:
        if not cluster.has(svc.group):
            continue
        for name in (svc.group, svc.role, svc.component):
            if name in SMOKE_TESTS and name not in present:
                present.append(name)
                break
    return present


def resolve(cluster: Cluster, names: list[str] | None) -> tuple[list[str], dict[str, str]]:
    """Which smoke tests to run for the requested names (components, roles or groups)."""
    load_plugins()
    present = components_present(cluster)
    if not names:
        return present, {}
    chosen: list[str] = []
    skipped: dict[str, str] = {}
    known = set(SMOKE_TESTS) | set(services.GROUPS) | set(services.COMPONENTS) | set(ALIASES)
    for raw in names:
        name = ALIASES.get(raw, raw)
        if name in services.BY_GROUP:
            svc = services.BY_GROUP[name]
            name = next((n for n in (svc.role, svc.component) if n in SMOKE_TESTS), svc.component)
        if raw not in known and name not in known:
            raise BadInput(f"unknown service {raw!r}",
                           fix=f"Use one of: {', '.join(sorted(SMOKE_TESTS))} (or an inventory group name).")
        if name not in SMOKE_TESTS:
            skipped[raw] = "no smoke test is registered for it"
        elif name not in present:
            skipped[raw] = "not in this inventory"
        elif name not in chosen:
            chosen.append(name)
    return chosen, skipped


def run(cluster: Cluster, names: list[str] | None = None) -> SmokeReport:
    start = time.monotonic()
    chosen, skipped = resolve(cluster, names)

    def one(name: str) -> list[SmokeResult]:
        t0 = time.monotonic()
        try:
            return SMOKE_TESTS[name](cluster)
        except Exception as exc:  # a crashing test is a failed test, not a crashed run
            return [SmokeResult(name, name, False, round(time.monotonic() - t0, 3),
                                f"{type(exc).__name__}: {exc}")]

    results: list[SmokeResult] = []
    if chosen:
        with ThreadPoolExecutor(max_workers=len(chosen), thread_name_prefix="smoke") as pool:
            for batch in pool.map(one, chosen):
                results.extend(batch)
    return SmokeReport(cluster.name, results, skipped, time.monotonic() - start)
