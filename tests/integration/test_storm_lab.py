"""Storm 2.8 for real on the main job's lab (session fixture `main_lab`, which fetches and deploys
the whole stack once): the daemon bundle (lib, lib-worker) and, where the Maven repository serves
storm-webapp, the web bundle (lib-webapp, public); Nimbus and two Supervisors under the shared JVM
unit, with the UI and the logviewers when the web bundle was had; status healthy (Nimbus and
supervisors checked through ZooKeeper, not the UI); the smoke test submits a Flux topology of
storm-client's test classes, sees it ACTIVE with a worker assigned and running (`storm list`,
ZooKeeper storms/ and assignments/; also emitting through the UI's REST API when the UI is there),
and kills it; every daemon logs to its file. That a second deploy changes nothing is checked for the
whole stack in test_main_job_lab.py.

Without storm-webapp in the repository (Maven Central mirrors that lack it; a fresh artifact cache),
the web bundle cannot be had and the deploy reports group storm_ui skipped with that reason while
Nimbus and the supervisors deploy: that is what this test checks then. `BIGDATA_TEST_STORM_WEBAPP=1`
requires the web bundle (fails when it cannot be had).
"""

from __future__ import annotations

import os
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from bigdata_admin import inventory
from bigdata_admin.health import remote

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]

WEBAPP_REQUIRED = os.environ.get("BIGDATA_TEST_STORM_WEBAPP") == "1"


@pytest.fixture(scope="module")
def storm_lab(main_lab: dict[str, Any]) -> dict[str, Any]:
    from bigdata_admin import deployment

    assert main_lab["rc"] == 0, str(main_lab["out"])[-5000:]
    inv = Path(main_lab["inventory"])
    cluster = inventory.load(inv)
    absent = deployment.not_deployed(cluster)
    for group in ("storm_nimbus", "storm_supervisor"):
        assert group not in absent, f"{group}: {absent[group]}"
    webapp = "storm_ui" not in absent
    assert webapp or not WEBAPP_REQUIRED, f"BIGDATA_TEST_STORM_WEBAPP=1 but: {absent.get('storm_ui')}"
    return {"inventory": inv, "webapp": webapp, "absent": absent,
            "webapp_file": f"storm-webapp-{cluster.version('storm')}-maven.tar.gz"}


def test_storm_ui_is_deployed_or_skipped_with_the_reason(storm_lab: dict[str, Any]) -> None:
    if storm_lab["webapp"]:
        ui = inventory.load(storm_lab["inventory"]).first("storm_ui")
        assert ui is not None
        active = remote.run(ui, ["systemctl", "is-active", "storm-ui"], become=True)
        assert active.stdout.strip() == "active", active.stdout + active.stderr
        return
    why = storm_lab["absent"]["storm_ui"]
    assert storm_lab["webapp_file"] in why and "artifacts fetch" in why, why


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
    assert groups >= {"storm_nimbus", "storm_supervisor", "zookeeper"}, groups
    assert ("storm_ui" in groups) == storm_lab["webapp"], groups
    assert all(r.systemd == "active" and r.port_open is not False for r in report.rows)
    nimbus = [r for r in report.rows if r.group == "storm_nimbus"]
    assert [r.probe.state for r in nimbus if r.probe] == ["leader"], "registered in ZooKeeper, leader"
    sups = [r for r in report.rows if r.group == "storm_supervisor"]
    assert len(sups) == 2 and all(r.probe and r.probe.data["supervisor_id"] for r in sups)
    assert all(r.probe and r.probe.data["logviewer"] == storm_lab["webapp"] for r in sups)
    if not storm_lab["webapp"]:
        not_deployed = {g for gs in report.not_deployed.values() for g in gs}
        assert "storm_ui" in not_deployed, report.not_deployed
        why = next(w for w, gs in report.not_deployed.items() if "storm_ui" in gs)
        assert storm_lab["webapp_file"] in why, why


def test_smoke_submits_sees_active_and_kills_a_topology(storm_lab: dict[str, Any]) -> None:
    from bigdata_admin.health.smoke_runner import run as run_smoke

    cluster = inventory.load(storm_lab["inventory"])
    report = run_smoke(cluster, ["storm"])
    results = {r.name: r for r in report.results}
    assert report.passed, [(r.name, r.detail) for r in report.results if not r.passed]
    topo = results["storm topology submit/ACTIVE/kill (Flux)"]
    assert topo.data["status"] == "ACTIVE" and topo.data["workers"] >= 1, topo.data
    assert topo.data["assigned_to"] and set(topo.data["assigned_to"]) <= {"h2", "h3"}, topo.data
    if storm_lab["webapp"]:
        assert topo.data["emitted"] > 0, topo.data
    else:
        assert "emitted" not in topo.data, "no UI: not asked"
    nimbus = cluster.first("storm_nimbus")
    assert nimbus is not None
    listed = remote.run(nimbus, ["/usr/local/bin/storm", "list"], timeout=120)
    assert listed.rc == 0, listed.stderr[-1000:]
    assert topo.data["topology"] not in listed.stdout, "killed: no longer listed"


def test_ui_serves_its_web_assets_and_logviewer_answers(storm_lab: dict[str, Any]) -> None:
    cluster = inventory.load(storm_lab["inventory"])
    ui = cluster.first("storm_ui")
    assert ui is not None
    sup = cluster.hosts_in("storm_supervisor")[0]
    if not storm_lab["webapp"]:
        # Not deployed: no unit, and the daemon bundle has no web part on the nodes.
        for host, unit in ((ui, "storm-ui"), (sup, "storm-logviewer")):
            r = remote.run(host, ["systemctl", "cat", f"{unit}.service"], become=True)
            assert r.rc != 0, f"{host.name}: {unit} installed without the web bundle"
        home = f"{cluster.var('bigdata_install_root', '/opt/bigdata')}/storm"
        r = remote.run(sup, ["test", "-e", f"{home}/lib-webapp"], become=True)
        assert r.rc != 0, "lib-webapp/ without the web bundle"
        return
    base = f"http://{ui.address}:{cluster.var('storm_ui_port')}"
    with urllib.request.urlopen(base + "/index.html", timeout=30) as r:
        page = r.read().decode()
    assert "Storm" in page and "${packageTimestamp}" not in page
    with urllib.request.urlopen(base + "/js/script.js", timeout=30) as r:
        assert r.status == 200 and len(r.read()) > 1000
    url = (f"http://{sup.address}:{cluster.var('storm_logviewer_port')}"
           "/api/v1/daemonlog?file=supervisor.log&start=0&length=400")
    with urllib.request.urlopen(url, timeout=30) as r:
        page = r.read().decode()
    assert r.status == 200 and "supervisor.log - Storm Log Viewer" in page, page[:300]


def test_every_daemon_logs_to_its_file(storm_lab: dict[str, Any]) -> None:
    cluster = inventory.load(storm_lab["inventory"])
    log_dir = f"{cluster.var('bigdata_log_root', '/var/log/bigdata')}/storm"
    expected = {"storm_nimbus": ["nimbus.log"], "storm_supervisor": ["supervisor.log"]}
    if storm_lab["webapp"]:
        expected["storm_ui"] = ["ui.log"]
        expected["storm_supervisor"].append("logviewer.log")
    for group, files in expected.items():
        for host in cluster.hosts_in(group):
            for name in files:
                r = remote.run(host, ["test", "-s", f"{log_dir}/{name}"], become=True)
                assert r.rc == 0, f"{host.name}: {log_dir}/{name} missing or empty"
