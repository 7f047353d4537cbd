"""`init`, `check`, `plan` through the CLI (typer's CliRunner): exit codes, messages, --json."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bigdata_admin.cli import app

ENV = {"COLUMNS": "250", "NO_COLOR": "1"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _flat(text: str) -> str:
    return " ".join(text.split())


def _bad_inventory(repo_root: Path, tmp_path: Path) -> Path:
    inv = tmp_path / "bad"
    shutil.copytree(repo_root / "inventories" / "classroom", inv)
    hosts = (inv / "hosts.yml").read_text()
    hosts = hosts.replace("    hbase_thrift:", "    hbase_thirft:")
    hosts = hosts.replace("zookeeper:\n      hosts: {node1: {}, node2: {}, node3: {}}",
                          "zookeeper:\n      hosts: {node1: {}, node2: {}}")
    (inv / "hosts.yml").write_text(hosts)
    return inv


# The one warning a shipped inventory may carry: Impala (built for a Hive 3.1 metastore) beside the
# default Hive 4 (classroom pins Hive 3.1.3 on Java 8 and has none).
IMPALA_HIVE4 = "Impala 4.4.1 is built for a Hive 3.1.x metastore"


def _known_warnings_only(problems: list[dict[str, str]]) -> bool:
    return all(p["severity"] == "warning" and p["where"] == "setting bigdata_versions.hive"
               and p["message"].startswith(IMPALA_HIVE4) and "3.1.3" in p["fix"] for p in problems)


@pytest.mark.parametrize("name", ["single-node", "classroom", "ha"])
def test_check_clean_inventories_exit_0(runner: CliRunner, repo_root: Path, name: str) -> None:
    inv = str(repo_root / "inventories" / name)
    result = runner.invoke(app, ["check", "-i", inv], env=ENV)
    assert result.exit_code == 0, result.output
    data = json.loads(runner.invoke(app, ["check", "-i", inv, "--json"], env=ENV).stdout)
    assert _known_warnings_only(data["problems"]), data["problems"]
    if name == "classroom":
        assert "no problem found" in result.output


def test_check_bad_inventory_exit_2_names_problem_and_fix(runner: CliRunner, repo_root: Path,
                                                          tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "-i", str(_bad_inventory(repo_root, tmp_path))], env=ENV)
    assert result.exit_code == 2
    out = _flat(result.output)
    assert "group hbase_thirft" in out and "did you mean 'hbase_thrift'" in out
    assert "group zookeeper" in out and "odd number" in out
    assert "fix: Rename the group to 'hbase_thrift'" in out
    assert "2 error(s)" in out


def test_check_json(runner: CliRunner, repo_root: Path, tmp_path: Path) -> None:
    ok = runner.invoke(app, ["check", "-i", str(repo_root / "inventories" / "classroom"), "--json"], env=ENV)
    assert ok.exit_code == 0
    assert json.loads(ok.stdout) == {"inventory": str(repo_root / "inventories" / "classroom"), "ok": True,
                                     "problems": []}
    bad = runner.invoke(app, ["check", "-i", str(_bad_inventory(repo_root, tmp_path)), "--json"], env=ENV)
    assert bad.exit_code == 2
    data = json.loads(bad.stdout)
    assert data["ok"] is False
    assert {p["where"] for p in data["problems"]} == {"group hbase_thirft", "group zookeeper"}
    assert all(p["fix"] and p["message"] and p["severity"] == "error" for p in data["problems"])


def test_check_missing_inventory_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["check", "-i", str(tmp_path / "nope")], env=ENV)
    assert result.exit_code == 2
    out = _flat(result.output)
    assert "does not exist" in out and "fix:" in out


def test_check_warnings_still_exit_0(runner: CliRunner, repo_root: Path, tmp_path: Path) -> None:
    inv = tmp_path / "nogpu"
    shutil.copytree(repo_root / "inventories" / "classroom", inv)
    hosts = (inv / "hosts.yml").read_text().replace("    gpu_worker:\n      hosts: {node3: {}}\n", "")
    (inv / "hosts.yml").write_text(hosts)
    result = runner.invoke(app, ["check", "-i", str(inv)], env=ENV)
    assert result.exit_code == 0, result.output
    assert "warning group gpu_worker" in _flat(result.output)


def test_plan_tables_and_json(runner: CliRunner, repo_root: Path) -> None:
    inv = str(repo_root / "inventories" / "ha")
    result = runner.invoke(app, ["plan", "-i", inv], env=ENV)
    assert result.exit_code == 0, result.output
    assert "master1" in result.output and "hdfs_zkfc" in result.output
    data = json.loads(runner.invoke(app, ["plan", "-i", inv, "--json"], env=ENV).stdout)
    assert data["namenode_ha"] is True and _known_warnings_only(data["problems"])
    assert {h["host"] for h in data["hosts"]} == {"master1", "master2", "master3", "worker1", "worker2",
                                                  "worker3", "gpu1"}


def test_init_writes_then_refuses_then_force(runner: CliRunner, repo_root: Path, tmp_path: Path) -> None:
    target = tmp_path / "mycluster"
    first = runner.invoke(app, ["init", str(target), "--template", "classroom"], env=ENV)
    assert first.exit_code == 0, first.output
    assert (target / "hosts.yml").read_text() == (repo_root / "inventories/classroom/hosts.yml").read_text()
    assert (target / "group_vars" / "all.yml").is_file()
    assert runner.invoke(app, ["check", "-i", str(target)], env=ENV).exit_code == 0

    (target / "hosts.yml").write_text((target / "hosts.yml").read_text() + "# my edit\n")
    again = runner.invoke(app, ["init", str(target), "--template", "ha"], env=ENV)
    assert again.exit_code == 2
    out = _flat(again.output)
    assert "already holds an inventory" in out and "--force" in out
    assert (target / "hosts.yml").read_text().endswith("# my edit\n")  # untouched

    forced = runner.invoke(app, ["init", str(target), "--template", "ha", "--force"], env=ENV)
    assert forced.exit_code == 0
    assert (target / "hosts.yml").read_text() == (repo_root / "inventories/ha/hosts.yml").read_text()


def test_init_unknown_template_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", str(tmp_path / "x"), "--template", "huge"], env=ENV)
    assert result.exit_code == 2
    assert not (tmp_path / "x").exists()


def test_init_onto_a_file_exit_2(runner: CliRunner, tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    result = runner.invoke(app, ["init", str(f), "--template", "single-node"], env=ENV)
    assert result.exit_code == 2 and "not a directory" in _flat(result.output)
