"""Core services for real on the main job's lab (session fixture `main_lab`, which deploys the whole
stack once): ZooKeeper (3-member ensemble), PostgreSQL and Redis are healthy with one ZooKeeper leader,
their smoke tests pass, their secrets are private and never logged, one ZooKeeper member down leaves
the quorum holding, and the CLI's status/smoke exit codes. That a second deploy changes nothing is
checked for the whole stack in test_main_job_lab.py. Kafka and Storm get a check-mode run of their
configuration on the `ci` lab's hosts."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from labtools import wait_healthy

from bigdata_admin import inventory, paths
from bigdata_admin.health import remote
from bigdata_admin.health.core import secrets_dir
from bigdata_admin.health.smoke_runner import run as run_smoke
from bigdata_admin.health.status import collect
from bigdata_admin.lab.labinventory import with_groups

pytestmark = [pytest.mark.integration, pytest.mark.lab]

CORE_GROUPS = ("zookeeper", "metastore_db", "redis")


def _lab_inventory_parts(lab: Any) -> tuple[dict[str, Any], Path]:
    inv = Path(lab.inventory)
    hosts_file = inv / "hosts.yml" if inv.is_dir() else inv
    return yaml.safe_load(hosts_file.read_text()), hosts_file.parent


def write_inventory(lab: Any, dest: Path, children: dict[str, list[str]]) -> Path:
    """An inventory of the lab's hosts (same connection vars and group_vars) with only `children`."""
    return with_groups(Path(lab.inventory), dest, children)

@pytest.fixture(scope="module")
def core_inventory(main_lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The main lab's hosts with only the core groups, as the main inventory places them."""
    assert main_lab["rc"] == 0, str(main_lab["out"])[-5000:]
    main_inv = Path(main_lab["inventory"])
    cluster = inventory.load(main_inv)
    groups = {g: [h.name for h in cluster.hosts_in(g)] for g in CORE_GROUPS}
    assert all(groups.values()), groups
    return with_groups(main_inv, tmp_path_factory.mktemp("core-inv"), groups)


@pytest.fixture(scope="module")
def first_deploy(main_lab: dict[str, Any]) -> Any:
    """The main job's deploy run (the newest `deploy` run when the fixture first ran)."""
    from bigdata_admin.runner import list_runs, result_from_record

    lab_name = Path(main_lab["inventory"]).name  # lab-main; deploys run on its view lab-main-<digest>
    deploys = [r for r in list_runs() if r.get("label") == "deploy" and lab_name in str(r.get("inventory"))]
    assert deploys, f"no deploy run recorded for {lab_name}"
    return result_from_record(deploys[0])


def _failures(result: Any) -> str:
    return "\n".join(f"{f.host} | {f.task} | {f.message}" for f in result.failures)


def test_secrets_are_private_and_never_logged(first_deploy: Any, core_inventory: Path) -> None:
    cluster = inventory.load(core_inventory)
    sdir = secrets_dir(cluster)
    assert sdir.stat().st_mode & 0o777 == 0o700
    for name in ("redis_password", "metastore_db_password"):
        secret = sdir / name
        assert secret.stat().st_mode & 0o777 == 0o600
        value = secret.read_text().strip()
        assert len(value) >= 16
        for log in first_deploy.run_dir.rglob("*"):
            if log.is_file() and log.stat().st_size < 50_000_000:
                assert value not in log.read_text(errors="replace"), f"{name} leaked into {log}"


def _wait_healthy(inv: Path, timeout: float = 60) -> Any:
    return wait_healthy(inventory.load(inv), timeout, interval=2)


def test_status_is_healthy_with_one_leader(first_deploy: Any, core_inventory: Path) -> None:
    assert first_deploy.rc == 0
    report = _wait_healthy(core_inventory)
    assert report.healthy, [(r.host, r.group, r.problem) for r in report.unhealthy]
    modes = sorted(r.probe.state for r in report.rows if r.group == "zookeeper" and r.probe)
    assert modes == ["follower", "follower", "leader"]
    assert {r.group for r in report.rows} == {"zookeeper", "metastore_db", "redis"}
    assert all(r.systemd == "active" and r.port_open for r in report.rows)
    assert any(s.startswith("ZooKeeper quorum holding: 3/3") for s in report.summaries)


def test_smoke_passes(first_deploy: Any, core_inventory: Path) -> None:
    assert first_deploy.rc == 0
    report = run_smoke(inventory.load(core_inventory))
    assert report.passed, [(r.name, r.detail) for r in report.results if not r.passed]
    assert {r.component for r in report.results} == {"zookeeper", "redis", "postgresql"}
    assert len([r for r in report.results if r.name.startswith("zookeeper znode via")]) == 3


@pytest.fixture
def one_member_stopped(core_inventory: Path) -> Iterator[str]:
    cluster = inventory.load(core_inventory)
    victim = cluster.hosts_in("zookeeper")[-1]
    result = remote.run(victim, ["systemctl", "stop", "zookeeper"], become=True, timeout=60)
    assert result.ok, result.stderr
    try:
        yield victim.name
    finally:
        started = remote.run(victim, ["systemctl", "start", "zookeeper"], become=True, timeout=60)
        assert started.ok, started.stderr
        assert _wait_healthy(core_inventory, timeout=90).healthy


def test_one_zookeeper_member_down_keeps_the_quorum(first_deploy: Any, core_inventory: Path,
                                                    one_member_stopped: str) -> None:
    assert first_deploy.rc == 0
    cluster = inventory.load(core_inventory)
    # Stopping the leader makes the others elect a new one: give the ensemble time to settle.
    deadline = time.monotonic() + 60
    report = collect(cluster)
    while len(report.unhealthy) > 1 and time.monotonic() < deadline:
        time.sleep(2)
        report = collect(cluster)
    assert not report.healthy
    assert [(r.host, r.group) for r in report.unhealthy] == [(one_member_stopped, "zookeeper")]
    assert report.unhealthy[0].systemd == "inactive"
    summary = next(s for s in report.summaries if s.startswith("ZooKeeper quorum"))
    assert summary.startswith("ZooKeeper quorum holding: 2/3"), summary
    assert one_member_stopped in summary
    smoke = run_smoke(cluster, ["zookeeper"])
    assert smoke.passed, [(r.name, r.detail) for r in smoke.results]
    quorum = next(r for r in smoke.results if r.name == "zookeeper quorum")
    assert one_member_stopped in quorum.detail


def test_cli_status_and_smoke_exit_codes(first_deploy: Any, core_inventory: Path) -> None:
    import json

    from typer.testing import CliRunner

    from bigdata_admin.cli import app

    assert first_deploy.rc == 0
    assert _wait_healthy(core_inventory, timeout=60).healthy
    runner = CliRunner()
    out = runner.invoke(app, ["status", "-i", str(core_inventory), "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.output)
    assert doc["healthy"] is True and len(doc["services"]) == 5
    out = runner.invoke(app, ["smoke", "-i", str(core_inventory), "redis", "postgresql"])
    assert out.exit_code == 0, out.output
    assert "all 2 smoke tests passed" in out.output
    out = runner.invoke(app, ["smoke", "-i", str(core_inventory), "nosuch"])
    assert out.exit_code == 2
    assert "unknown service" in out.output


def test_kafka_and_storm_check_mode_on_lab_hosts(lab: Any, tmp_path: Path) -> None:
    """Kafka (combined KRaft on 3 hosts) and Storm roles in check mode on the lab: their
    configuration action runs against real hosts without changing them (release tarballs cannot
    be fetched here, so the install action is not part of this run)."""
    from bigdata_admin.runner import run_playbook

    data, _ = _lab_inventory_parts(lab)
    hosts = list(data["all"]["hosts"])
    inv = write_inventory(lab, tmp_path / "inv", {
        "zookeeper": hosts[:3], "kafka_controller": hosts[:3], "kafka_broker": hosts[:3],
        "storm_nimbus": [hosts[0]], "storm_ui": [hosts[0]], "storm_supervisor": hosts[1:3]})
    for play in ("kafka", "storm"):
        result = run_playbook(paths.playbooks_dir() / "services" / f"{play}.yml", inv, check=True, diff=True,
                              extravars={"bigdata_action": "config"}, label=f"test-core-{play}-check",
                              show_progress=False)
        assert result.rc == 0, _failures(result)
        assert all(r.changed > 0 for r in result.recap.values()), "check mode shows the files it would write"
    # Nothing was written: check mode left the hosts alone.
    first = inventory.load(inv).hosts[hosts[0]]
    probe = remote.run(first, ["test", "-e", "/etc/bigdata/kafka/server.properties"])
    assert probe.rc == 1
