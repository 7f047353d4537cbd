"""`smoke`: run the registered smoke tests of the services present in an inventory, in parallel.

    report = run(cluster, ["zookeeper", "redis"])   # [] or None: every component present
    report.passed, report.results, report.skipped, report.as_dict()
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
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
    not_deployed: dict[str, list[str]] = field(default_factory=dict)
    """Reason -> smoke tests not run because no deploy installed their service (outside the verdict)."""

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    def as_dict(self) -> dict[str, Any]:
        return {"cluster": self.cluster, "passed": self.passed, "seconds": round(self.seconds, 3),
                "results": [{"name": r.name, "component": r.component, "passed": r.passed,
                             "seconds": r.seconds, "detail": r.detail, "data": r.data} for r in self.results],
                "skipped": self.skipped,
                "not_deployed": [{"test": n, "reason": why}
                                 for why, ns in self.not_deployed.items() for n in ns]}


def test_groups(name: str) -> list[str]:
    """The inventory groups a smoke test exercises (those whose group, role or component is `name`)."""
    return [s.group for s in services.SERVICES if name in (s.group, s.role, s.component)]


def components_present(cluster: Cluster, absent: Iterable[str] = ()) -> list[str]:
    """Smoke-test names whose service has hosts in this inventory (and not in `absent`), in order."""
    present: list[str] = []
    gone = set(absent)
    for svc in services.SERVICES:
        if not cluster.has(svc.group) or svc.group in gone:
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


def _not_deployed(chosen: list[str], absent: Mapping[str, str], cluster: Cluster
                  ) -> tuple[list[str], dict[str, list[str]]]:
    """Split `chosen` into the tests to run and reason -> tests whose every group is not deployed."""
    keep: list[str] = []
    out: dict[str, list[str]] = {}
    for name in chosen:
        groups = [g for g in test_groups(name) if cluster.has(g)]
        if groups and all(g in absent for g in groups):
            out.setdefault(absent[groups[0]], []).append(name)
        else:
            keep.append(name)
    return keep, out


def run(cluster: Cluster, names: list[str] | None = None,
        not_deployed: Mapping[str, str] | None = None) -> SmokeReport:
    """Run the chosen smoke tests (default: every one whose service is deployed).

    `not_deployed` (group -> reason; default: the inventory's deploy record) names the services
    that no deploy installed: their tests are reported as not deployed, not run.
    """
    from bigdata_admin import deployment

    start = time.monotonic()
    chosen, skipped = resolve(cluster, names)
    absent = deployment.not_deployed(cluster) if not_deployed is None else dict(not_deployed)
    chosen, gone = _not_deployed(chosen, absent, cluster)

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
    return SmokeReport(cluster.name, results, skipped, time.monotonic() - start, gone)
