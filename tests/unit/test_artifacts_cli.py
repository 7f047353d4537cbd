"""The artifacts/deploy/runs verbs through CliRunner, on the paths that run no playbook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bigdata_admin.cli import app

cli = CliRunner()


@pytest.fixture(autouse=True)
def dirs(isolated_dirs: Path) -> Path:
    return isolated_dirs


def small_inventory(tmp_path: Path, **vars: object) -> Path:
    inv = tmp_path / "inv"
    (inv / "group_vars").mkdir(parents=True, exist_ok=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "hosts": {"n1": {"ansible_host": "127.0.0.1", "ansible_port": 1, "bigdata_host_memory_mb": 4096}},
        "children": {"zookeeper": {"hosts": {"n1": {}}}, "redis": {"hosts": {"n1": {}}}}}}))
    (inv / "group_vars" / "all.yml").write_text(yaml.safe_dump(vars))
    return inv


def test_artifacts_list_json(repo_root: Path) -> None:
    r = cli.invoke(app, ["artifacts", "list", "-i", str(repo_root / "inventories" / "classroom"), "--json"])
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    files = {a["filename"]: a for a in data["artifacts"]}
    hadoop = files["hadoop-3.4.2-maven.tar.gz"]
    assert hadoop["cached"] is False and hadoop["source"] == "maven" and hadoop["kind"] == "bundle"
    assert files["apache-hive-3.1.3-bin.tar.gz"]["algorithm"] == "sha256"
    assert files["impala-4.4.1-catalogd.tar"]["image"] == "apache/impala:4.4.1-catalogd"


def test_artifacts_list_human(repo_root: Path) -> None:
    r = cli.invoke(app, ["artifacts", "list", "-i", str(repo_root / "inventories" / "ha")])
    assert r.exit_code == 0
    assert "kafka-4.1.1-maven.tar.gz" in r.stdout and "bigdata-admin artifacts fetch -i" in r.stdout


def test_fetch_unknown_component_exit_2(tmp_path: Path) -> None:
    r = cli.invoke(app, ["artifacts", "fetch", "-i", str(small_inventory(tmp_path)), "hbase"])
    assert r.exit_code == 2
    assert "needs no artifact for hbase" in r.output and "zookeeper" in r.output


def test_fetch_impala_images_needs_a_registry(repo_root: Path) -> None:
    r = cli.invoke(app, ["artifacts", "fetch", "-i", str(repo_root / "inventories" / "classroom"), "impala",
                         "--json"])
    assert r.exit_code == 1
    results = json.loads(r.stdout)["results"]
    assert {x["action"] for x in results} == {"needs-registry"}
    assert "podman pull docker.io/apache/impala:4.4.1-statestored" in results[0]["message"]


def test_verify_empty_cache_exit_1(tmp_path: Path) -> None:
    r = cli.invoke(app, ["artifacts", "verify", "-i", str(small_inventory(tmp_path))])
    assert r.exit_code == 1 and "missing" in r.output


def test_missing_inventory_exit_2(tmp_path: Path) -> None:
    for args in (["artifacts", "list"], ["deploy"], ["stop"]):
        r = cli.invoke(app, [*args, "-i", str(tmp_path / "nope")])
        assert r.exit_code == 2, args
        assert "does not exist" in r.output


def test_deploy_invalid_inventory_exit_2_touches_nothing(tmp_path: Path, dirs: Path) -> None:
    inv = tmp_path / "bad"
    inv.mkdir()
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "hosts": {"a": {"ansible_host": "10.213.0.11"}, "b": {"ansible_host": "10.213.0.12"}},
        "children": {"zookeeper": {"hosts": {"a": {}, "b": {}}}}}}))
    r = cli.invoke(app, ["deploy", "-i", str(inv)])
    assert r.exit_code == 2
    assert "no host was touched" in r.output and "zookeeper" in r.output
    assert not (dirs / "state" / "runs").exists(), "no run was started"


def test_deploy_missing_artifacts_exit_2_names_files_and_command(tmp_path: Path, dirs: Path) -> None:
    inv = small_inventory(tmp_path, zookeeper_install_method="tarball")
    r = cli.invoke(app, ["deploy", "-i", str(inv)])
    assert r.exit_code == 2
    assert "apache-zookeeper-3.8.4-bin.tar.gz" in r.output
    assert f"bigdata-admin artifacts fetch -i {inv}" in r.output
    assert not (dirs / "state" / "runs").exists()
    r = cli.invoke(app, ["deploy", "-i", str(inv), "--json"])
    assert r.exit_code == 2 and json.loads(r.stdout)["missing"] == ["apache-zookeeper-3.8.4-bin.tar.gz"]
    # Deploying only redis needs no ZooKeeper tarball: the check follows --tags / --skip-tags.
    from bigdata_admin import artifacts, inventory

    cluster = inventory.load(inv)
    assert artifacts.deploy_artifacts(cluster, ["redis"]).missing == []
    assert artifacts.deploy_artifacts(cluster, [], ["zookeeper"]).missing == []


def test_deploy_bad_extra_vars_exit_2(tmp_path: Path) -> None:
    inv = small_inventory(tmp_path, zookeeper_install_method="package")
    r = cli.invoke(app, ["deploy", "-i", str(inv), "-e", "not-a-pair"])
    assert r.exit_code == 2 and "key=value" in r.output


def test_stop_unknown_service_suggests(tmp_path: Path) -> None:
    r = cli.invoke(app, ["stop", "-i", str(small_inventory(tmp_path)), "zookeper"])
    assert r.exit_code == 2 and "Did you mean 'zookeeper'" in r.output


def test_service_tags_map_groups_to_plays() -> None:
    from bigdata_admin.commands.runs import service_tags

    assert service_tags(["hdfs_namenode", "kafka,zookeeper", "metastore_db"]) == \
        ["hdfs", "kafka", "zookeeper", "postgresql"]


def test_runs_list_and_show_without_runs() -> None:
    r = cli.invoke(app, ["runs", "list"])
    assert r.exit_code == 0 and "no runs yet" in r.output
    r = cli.invoke(app, ["runs", "show", "last"])
    assert r.exit_code == 2 and "no runs recorded yet" in r.output


def test_serve_rejects_a_bad_port() -> None:
    r = cli.invoke(app, ["artifacts", "serve", "--port", "70000"])
    assert r.exit_code == 2 and "not a TCP port" in r.output


def test_java_overrides_drop_skipped_services(repo_root: Path) -> None:
    from bigdata_admin import artifacts, inventory

    cluster = inventory.load(repo_root / "inventories" / "classroom")
    plan = artifacts.deploy_artifacts(cluster, cache=Path("/nonexistent"))
    tags = {s.tag for s in plan.skipped}
    assert {"hdfs", "hive", "kafka", "impala"} <= tags
    hive = next(s for s in plan.skipped if s.tag == "hive")
    assert "OpenJDK8U-jdk_x64_linux_hotspot_8u442b06.tar.gz" in hive.files
    over = artifacts.java_overrides(cluster, [hive])
    if over:  # the java role's defaults are present
        assert "hive_metastore" not in over["java_group_components"]
        assert "zookeeper" in over["java_group_components"]
