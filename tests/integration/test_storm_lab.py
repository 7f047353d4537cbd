"""Storm 2.8 for real on its own 3-host lab (`storm` lab, brought down at the end): the bundle laid
out as Storm's release (lib, lib-worker, lib-webapp, public) fetched from the Maven repository, then
`deploy -t common,java,zookeeper,storm`; Nimbus, two Supervisors with logviewers and the UI under the
shared JVM unit; status healthy; the smoke test submits a Flux topology of storm-client's test
classes, sees it ACTIVE and emitting through the UI's REST API and in `storm list`, and kills it;
the UI serves its web assets; every daemon logs to its file; a second deploy changes nothing.

Needs root and systemd-nspawn (the lab), Maven Central on the control host, and storm-webapp in the
Maven repository (where the repository lacks it: scripts/storm-webapp-from-source, else the test
fails at the fetch, naming that script).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bigdata_admin import inventory
from bigdata_admin.health import remote

pytestmark = [
    pytest.mark.integration, pytest.mark.lab, pytest.mark.slow,
    # Not yet confirmed green on a lab when its session ended (the machine was too loaded): runs
    # with BIGDATA_TEST_STORM_LAB=1 until it has passed once; then this gate goes.
    pytest.mark.skipif(os.environ.get("BIGDATA_TEST_STORM_LAB") != "1",
                       reason="not yet passed on a lab: set BIGDATA_TEST_STORM_LAB=1 to run it"),
]

LAB = os.environ.get("BIGDATA_STORM_LAB_NAME", "storm")
TAGS = "common,java,zookeeper,storm"


def _cli(*args: str, timeout: float = 2400) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bigdata_admin", *args], capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def storm_lab() -> Iterator[dict[str, Any]]:
    from conftest import _lab_skip_reason  # tests/integration/conftest.py (rootdir-relative import)

    from bigdata_admin import lab as labmod

    reason = _lab_skip_reason()
    if reason:
        pytest.skip(reason)
    up = _cli("lab", "up", "--name", LAB, timeout=600)
    assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
    lb = labmod.get(LAB)
    assert lb is not None
    inv = Path(lb.inventory)
    times: dict[str, float] = {}
    try:
        started = time.monotonic()
        fetch = _cli("artifacts", "fetch", "-i", str(inv), "storm")
        times["fetch"] = time.monotonic() - started
        assert fetch.returncode == 0, fetch.stdout[-3000:] + fetch.stderr[-2000:]
        started = time.monotonic()
        deploy = _cli("deploy", "-i", str(inv), "-t", TAGS, "--skip-unavailable")
        times["deploy"] = time.monotonic() - started
        yield {"inventory": inv, "deploy": deploy, "times": times, "lab": lb}
    finally:
        if os.environ.get("BIGDATA_LAB_KEEP") != "1":
            labmod.down(LAB)


def test_deploy_succeeds(storm_lab: dict[str, Any]) -> None:
    deploy = storm_lab["deploy"]
    assert deploy.returncode == 0, deploy.stdout[-4000:] + deploy.stderr[-2000:]


def test_status_is_healthy(storm_lab: dict[str, Any]) -> None:
    from bigdata_admin.health.status import collect

    cluster = inventory.load(storm_lab["inventory"])
    deadline = time.monotonic() + 120
    report = collect(cluster)
    while not report.healthy and time.monotonic() < deadline:
        time.sleep(3)
        report = collect(cluster)
    assert report.healthy, [(r.host, r.group, r.problem) for r in report.unhealthy]
    groups = {r.group for r in report.rows}
    assert groups >= {"storm_nimbus", "storm_supervisor", "storm_ui", "zookeeper"}, groups
    assert all(r.systemd == "active" and r.port_open for r in report.rows)


def test_smoke_submits_sees_active_and_kills_a_topology(storm_lab: dict[str, Any]) -> None:
    from bigdata_admin.health.smoke_runner import run as run_smoke

    cluster = inventory.load(storm_lab["inventory"])
    report = run_smoke(cluster, ["storm"])
    results = {r.name: r for r in report.results}
    assert report.passed, [(r.name, r.detail) for r in report.results if not r.passed]
    topo = results["storm topology submit/ACTIVE/kill (Flux)"]
    assert topo.data["status"] == "ACTIVE" and topo.data["emitted"] > 0, topo.data
    nimbus = cluster.first("storm_nimbus")
    assert nimbus is not None
    listed = remote.run(nimbus, ["/usr/local/bin/storm", "list"], timeout=120)
    assert listed.rc == 0, listed.stderr[-1000:]
    assert topo.data["topology"] not in listed.stdout, "killed: no longer listed"


def test_ui_serves_its_web_assets_and_logviewer_answers(storm_lab: dict[str, Any]) -> None:
    cluster = inventory.load(storm_lab["inventory"])
    ui = cluster.first("storm_ui")
    assert ui is not None
    base = f"http://{ui.address}:{cluster.var('storm_ui_port')}"
    with urllib.request.urlopen(base + "/index.html", timeout=30) as r:
        page = r.read().decode()
    assert "Storm" in page and "${packageTimestamp}" not in page
    with urllib.request.urlopen(base + "/js/script.js", timeout=30) as r:
        assert r.status == 200 and len(r.read()) > 1000
    sup = cluster.hosts_in("storm_supervisor")[0]
    url = (f"http://{sup.address}:{cluster.var('storm_logviewer_port')}"
           "/api/v1/daemonlog?file=supervisor.log&start=0&length=400")
    with urllib.request.urlopen(url, timeout=30) as r:
        page = r.read().decode()
    assert r.status == 200 and "supervisor.log - Storm Log Viewer" in page, page[:300]


def test_every_daemon_logs_to_its_file(storm_lab: dict[str, Any]) -> None:
    cluster = inventory.load(storm_lab["inventory"])
    log_dir = f"{cluster.var('bigdata_log_root', '/var/log/bigdata')}/storm"
    expected = {"storm_nimbus": ["nimbus.log"], "storm_ui": ["ui.log"],
                "storm_supervisor": ["supervisor.log", "logviewer.log"]}
    for group, files in expected.items():
        for host in cluster.hosts_in(group):
            for name in files:
                r = remote.run(host, ["test", "-s", f"{log_dir}/{name}"], become=True)
                assert r.rc == 0, f"{host.name}: {log_dir}/{name} missing or empty"


def test_second_deploy_changes_nothing(storm_lab: dict[str, Any]) -> None:
    started = time.monotonic()
    again = _cli("deploy", "-i", str(storm_lab["inventory"]), "-t", TAGS, "--skip-unavailable", "--json")
    storm_lab["times"]["redeploy"] = time.monotonic() - started
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
    recap = json.loads(again.stdout)["recap"]
    assert {"h1", "h2", "h3"} <= set(recap), recap
    assert all(int(r["changed"]) == 0 for r in recap.values()), recap
