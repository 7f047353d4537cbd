"""What people see: text in brackets printed whole, plan's exit code and versions, lab's closing table
and what `lab down` keeps (issue 16, items 7-10)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from rich.console import Console
from typer.testing import CliRunner

from bigdata_admin import inventory, runner
from bigdata_admin.cli import app

cli = CliRunner()
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGDATA_ADMIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("BIGDATA_ADMIN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "250")


def test_error_message_with_brackets_is_printed_whole() -> None:
    r = cli.invoke(app, ["status", "-i", str(REPO / "inventories" / "classroom"),
                         "--service", "bigdata-admin[clients]"])
    assert r.exit_code == 2
    assert "bigdata-admin[clients]" in r.output


def test_fix_line_with_brackets_is_printed_whole() -> None:
    from bigdata_admin.commands import common

    console = Console(record=True, width=200)
    common.err_console, saved = console, common.err_console
    try:
        common.print_error("the clients are missing [bold]x[/]", "pip install 'bigdata-admin[clients]'")
    finally:
        common.err_console = saved
    text = console.export_text()
    assert "pip install 'bigdata-admin[clients]'" in text and "[bold]x[/]" in text


def test_ansible_failure_output_with_brackets_is_printed_whole(tmp_path: Path) -> None:
    result = runner.RunResult(
        rc=1, status="failed", recap={"h[1]": runner.HostRecap(failed=1)},
        failures=[runner.Failure("h[1]", "Install [red]pkgs[/]", "E: Unable to locate package foo[bar]")],
        run_dir=tmp_path / "run[1]", label="deploy", playbook="site.yml")
    console = Console(record=True, width=200)
    runner.render(result, console)
    text = console.export_text()
    for part in ("h[1]", "Install [red]pkgs[/]", "foo[bar]", "run[1]"):
        assert part in text, part


def _invalid_inventory(tmp_path: Path) -> Path:
    inv = tmp_path / "bad"
    inv.mkdir()
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "hosts": {"a": {"ansible_host": "10.0.0.1"}, "b": {"ansible_host": "10.0.0.2"}},
        "children": {"zookeeper": {"hosts": {"a": {}, "b": {}}}}}}))
    return inv


def test_plan_on_an_invalid_inventory_exits_2_with_the_problems_check_finds(tmp_path: Path) -> None:
    inv = _invalid_inventory(tmp_path)
    check = cli.invoke(app, ["check", "-i", str(inv), "--json"])
    plan = cli.invoke(app, ["plan", "-i", str(inv), "--json"])
    assert check.exit_code == plan.exit_code == 2
    assert json.loads(plan.stdout)["problems"] == json.loads(check.stdout)["problems"]
    assert json.loads(plan.stdout)["ok"] is False
    human = cli.invoke(app, ["plan", "-i", str(inv)])
    assert human.exit_code == 2 and "odd number" in human.output


def test_plan_shows_the_version_that_runs_for_os_packages(tmp_path: Path) -> None:
    from bigdata_admin import plan

    cluster = inventory.load(REPO / "inventories" / "classroom")
    host = cluster.hosts["node1"]
    host.vars["zookeeper_install_method"] = "package"
    assert plan.running_version(cluster, host, "zookeeper") == "3.8.0 (Debian 12 package)"
    host.vars["zookeeper_install_method"] = "tarball"
    assert plan.running_version(cluster, host, "zookeeper") == cluster.version("zookeeper")
    assert "Debian 12 package" in str(plan.running_version(cluster, host, "redis"))


def test_lab_closing_table_lists_deployed_skipped_and_health() -> None:
    from bigdata_admin.commands.lab import services_table
    from bigdata_admin.health import SmokeResult
    from bigdata_admin.health.smoke_runner import SmokeReport
    from bigdata_admin.health.status import ServiceStatus, StatusReport

    cluster = inventory.load(REPO / "inventories" / "classroom")
    rows = [ServiceStatus("node1", "redis", "redis-server", "active", "redis", 6379, True),
            ServiceStatus("node1", "spark_thrift", "spark-thrift", "failed", "thrift", 10015, False)]
    report = StatusReport(cluster.name, rows)
    smoke = SmokeReport(cluster.name, [SmokeResult("redis set/get", "redis", True, 0.1, "")])
    absent = {g: "missing hive [tarball]" for g in ("hive_metastore", "hive_server2")}
    console = Console(record=True, width=250)
    console.print(services_table(cluster, report, smoke, absent))
    lines = console.export_text().splitlines()
    hive = next(line for line in lines if "hive_metastore" in line)
    assert "skipped" in hive and "missing hive [tarball]" in hive
    redis = next(line for line in lines if line.lstrip("│ ").startswith("redis"))
    assert "yes" in redis and "pass" in redis
    thrift = next(line for line in lines if "spark_thrift" in line)
    assert "NO" in thrift and "spark-thrift is failed" in thrift


def test_lab_down_says_what_it_keeps(tmp_path: Path) -> None:
    from bigdata_admin.commands.lab import kept_after_down
    from bigdata_admin.lab.image import images_dir
    from bigdata_admin.lab.util import lab_root

    images_dir().mkdir(parents=True)
    (lab_root() / "apt-cache").mkdir()
    kept = kept_after_down("dev", keep_state=False)
    assert [k["path"] for k in kept] == [str(images_dir()), str(lab_root() / "apt-cache")]
    assert all(k["remove"] == f"sudo rm -rf {k['path']}" for k in kept)
