"""Storm 2.8 for real on its own 3-host lab (`storm` lab, brought down at the end): the daemon bundle
(lib, lib-worker) and, where the Maven repository serves storm-webapp, the web bundle (lib-webapp,
public) fetched from the Maven repository, then `deploy -t common,java,zookeeper,storm
--skip-unavailable`; Nimbus and two Supervisors under the shared JVM unit, with the UI and the
logviewers when the web bundle was had; status healthy (Nimbus and supervisors checked through
ZooKeeper, not the UI); the smoke test submits a Flux topology of storm-client's test classes, sees it
ACTIVE with a worker assigned and running (`storm list`, ZooKeeper storms/ and assignments/; also
emitting through the UI's REST API when the UI is there), and kills it; every daemon logs to its file;
a second deploy changes nothing.

Without storm-webapp in the repository (Maven Central mirrors that lack it; a fresh artifact cache),
the web bundle's fetch fails naming scripts/storm-webapp-from-source, and the deploy reports group
storm_ui skipped with that reason while Nimbus and the supervisors deploy: that is what this test
checks then. `BIGDATA_TEST_STORM_WEBAPP=1` requires the web bundle (fails when it cannot be had).

Needs root and systemd-nspawn (the lab) and the Maven repository on the control host.
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
WEBAPP_REQUIRED = os.environ.get("BIGDATA_TEST_STORM_WEBAPP") == "1"


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
        fetch = _cli("artifacts", "fetch", "-i", str(inv), "storm", "--json")
        times["fetch"] = time.monotonic() - started
        results = {r["file"]: r for r in json.loads(fetch.stdout)["results"]}
        version = inventory.load(inv).version("storm")
        web = results[f"storm-webapp-{version}-maven.tar.gz"]
        others = [r for name, r in results.items() if name != web["file"]]
        assert all(r["ok"] for r in others), others
        if not web["ok"]:
            assert "scripts/storm-webapp-from-source" in web["message"], web
            assert not WEBAPP_REQUIRED, f"BIGDATA_TEST_STORM_WEBAPP=1 but: {web['message']}"
        started = time.monotonic()
        deploy = _cli("deploy", "-i", str(inv), "-t", TAGS, "--skip-unavailable", "--json")
        times["deploy"] = time.monotonic() - started
        yield {"inventory": inv, "deploy": deploy, "times": times, "lab": lb, "webapp": bool(web["ok"]),
               "webapp_file": web["file"]}
    finally:
        if os.environ.get("BIGDATA_LAB_KEEP") != "1":
            labmod.down(LAB)


def test_deploy_succeeds(storm_lab: dict[str, Any]) -> None:
    deploy = storm_lab["deploy"]
    assert deploy.returncode == 0, deploy.stdout[-4000:] + deploy.stderr[-2000:]
    skipped = {e["group"]: e for e in json.loads(deploy.stdout)["skipped"]}
    storm = {g: e for g, e in skipped.items() if g.startswith("storm")}
    if storm_lab["webapp"]:
        assert storm == {}, storm
    else:
        assert list(storm) == ["storm_ui"], "Nimbus and the supervisors deploy without the web bundle"
        ui = storm["storm_ui"]
        assert ui["service"] == "storm" and ui["files"] == [storm_lab["webapp_file"]], ui
        assert storm_lab["webapp_file"] in ui["reason"] and "artifacts fetch" in ui["fetch"], ui


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


def test_second_deploy_changes_nothing(storm_lab: dict[str, Any]) -> None:
    started = time.monotonic()
    again = _cli("deploy", "-i", str(storm_lab["inventory"]), "-t", TAGS, "--skip-unavailable", "--json")
    storm_lab["times"]["redeploy"] = time.monotonic() - started
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
    recap = json.loads(again.stdout)["recap"]
    assert {"h1", "h2", "h3"} <= set(recap), recap
    assert all(int(r["changed"]) == 0 for r in recap.values()), recap
