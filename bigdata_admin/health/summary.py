"""One line per service of an inventory: deployed or skipped (and why), healthy, smoke-tested.

    rows = summarize(cluster, status_report, smoke_report, not_deployed)
    rows[0] == {"service": "zookeeper", "hosts": ["h1", "h2", "h3"], "deployed": True,
                "reason": "", "healthy": True, "smoke": "pass", "detail": ""}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bigdata_admin import services
from bigdata_admin.health.smoke_runner import SmokeReport, test_groups
from bigdata_admin.health.status import StatusReport
from bigdata_admin.inventory import Cluster


def summarize(cluster: Cluster, status: StatusReport, smoke: SmokeReport | None,
              not_deployed: Mapping[str, str]) -> list[dict[str, Any]]:
    """Per inventory group with hosts: deployed (else the reason), healthy (None: not probed), smoke
    ("pass", "FAIL", or "-" when no smoke test covers it)."""
    rows: list[dict[str, Any]] = []
    for svc in services.SERVICES:
        if not cluster.has(svc.group):
            continue
        hosts = [h.name for h in cluster.hosts_in(svc.group)]
        if svc.group in not_deployed:
            rows.append({"service": svc.group, "hosts": hosts, "deployed": False,
                         "reason": not_deployed[svc.group], "healthy": None, "smoke": "-", "detail": ""})
            continue
        mine = [r for r in status.rows if r.group == svc.group]
        bad = [r for r in mine if not r.healthy]
        smoke_state = "-"
        if smoke is not None:
            tests = [r for r in smoke.results if svc.group in test_groups(r.component)]
            if tests:
                smoke_state = "pass" if all(t.passed for t in tests) else "FAIL"
        rows.append({"service": svc.group, "hosts": hosts, "deployed": True, "reason": "",
                     "healthy": not bad if mine else None, "smoke": smoke_state,
                     "detail": "; ".join(f"{r.host}: {r.problem}" for r in bad)})
    return rows
