"""What a deploy skips is absent for every role (the inventory view), and what it installed is recorded
so that status and smoke report the rest as not deployed (issue 16, items 1-3)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sitexml import parse_site

from bigdata_admin import deployment, inventory

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")

# What a lab without Apache's downloads skips (roles -> reason).
LAB_SKIPS = {r: f"missing {r} tarball" for r in ("hdfs", "yarn", "hbase", "hive", "kafka", "storm", "impala")}


@pytest.fixture(autouse=True)
def _state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGDATA_ADMIN_STATE_DIR", str(tmp_path / "state"))


@pytest.fixture
def no_gpu_role(monkeypatch: pytest.MonkeyPatch) -> str:
    """As before the GPU worker had a role: playbooks/services/gpu_worker.yml absent. Returns the reason."""
    real = deployment._has_play
    monkeypatch.setattr(deployment, "_has_play", lambda role: role != "gpu_worker" and real(role))
    return deployment.no_role()["gpu_worker"]


def test_groups_without_a_play_have_no_role(no_gpu_role: str) -> None:
    assert "no role deploys" in no_gpu_role and "gpu_worker.yml" in no_gpu_role
    assert set(deployment.no_role()) == {"gpu_worker"}


def test_absent_groups_add_dependents_and_groups_no_role_deploys(classroom: inventory.Cluster,
                                                                 no_gpu_role: str) -> None:
    absent = deployment.absent_groups(classroom, {"hdfs": "missing hadoop-3.3.6.tar.gz"})
    # HBase, Hive, Impala and YARN cannot run without HDFS: skipped with the reason.
    for g in ("hbase_master", "hbase_regionserver", "hbase_thrift", "hive_metastore", "hive_server2",
              "impala_daemon", "yarn_resourcemanager", "yarn_nodemanager"):
        assert "hdfs" in absent[g] and "skipped" in absent[g], g
    assert absent["hdfs_namenode"] == "missing hadoop-3.3.6.tar.gz"
    assert "no role deploys" in absent["gpu_worker"]
    # Spark, ZooKeeper, PostgreSQL and Redis do not need HDFS.
    for g in ("spark_master", "spark_thrift", "zookeeper", "metastore_db", "redis", "kafka_broker"):
        assert g not in absent


def test_absent_groups_without_skips_list_only_groups_no_role_deploys(classroom: inventory.Cluster,
                                                                      no_gpu_role: str) -> None:
    assert deployment.absent_groups(classroom, {}) == {"gpu_worker": no_gpu_role}


def test_view_drops_the_absent_groups_and_keeps_hosts_and_variables(classroom: inventory.Cluster) -> None:
    absent = deployment.absent_groups(classroom, LAB_SKIPS)
    view = inventory.load(deployment.write_view(classroom, absent))
    for g in absent:
        assert not view.has(g), g
    for g in ("zookeeper", "spark_master", "spark_worker", "spark_thrift", "redis", "metastore_db"):
        assert view.groups[g] == classroom.groups[g], g
    assert set(view.hosts) == set(classroom.hosts)
    for name, host in classroom.hosts.items():
        assert view.hosts[name].address == host.address
        assert view.hosts[name].var("bigdata_host_memory_mb") == host.var("bigdata_host_memory_mb")
    assert view.var("ansible_user") == classroom.var("ansible_user")


def test_view_keeps_hosts_declared_only_inside_an_absent_group(tmp_path: Path) -> None:
    data = {"all": {"children": {
        "zookeeper": {"hosts": {"a": {"ansible_host": "10.0.0.1"}}},
        "hive_metastore": {"hosts": {"b": {"ansible_host": "10.0.0.2"}}, "vars": {"x": 1}},
        "masters": {"children": {"hive_server2": {"hosts": {"b": None}},
                                 "spark_master": {"hosts": {"a": {}}}}},
    }}}
    out = deployment.view_data(data, {"hive_metastore", "hive_server2"})
    assert out["all"]["hosts"] == {"b": {"ansible_host": "10.0.0.2"}}
    assert out["all"]["children"]["hive_metastore"] == {}
    assert out["all"]["children"]["masters"]["children"]["hive_server2"] == {}
    assert out["all"]["children"]["masters"]["children"]["spark_master"] == {"hosts": {"a": {}}}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(out))
    cluster = inventory.load(path)
    assert cluster.hosts["b"].address == "10.0.0.2" and not cluster.has("hive_metastore")


def test_group_vars_directory_is_shared_with_the_view(tmp_path: Path) -> None:
    inv = tmp_path / "inv"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text("all:\n  hosts:\n    a: {ansible_host: 10.0.0.1}\n  children:\n"
                                   "    hive_metastore:\n      hosts: {a: {}}\n"
                                   "    redis:\n      hosts: {a: {}}\n")
    (inv / "group_vars" / "all.yml").write_text("bigdata_cluster_name: viewtest\nredis_port: 6390\n")
    cluster = inventory.load(inv)
    view = inventory.load(deployment.write_view(cluster, {"hive_metastore"}))
    assert view.name == "viewtest" and view.var("redis_port") == 6390
    assert not view.has("hive_metastore") and view.has("redis")


def test_record_reports_skipped_and_never_deployed_groups(classroom: inventory.Cluster,
                                                         no_gpu_role: str) -> None:
    assert deployment.not_deployed(classroom) == {"gpu_worker": no_gpu_role}
    absent = deployment.absent_groups(classroom, LAB_SKIPS)
    ran = deployment.deployed_groups(classroom, ["zookeeper", "spark"], [], absent)
    assert ran == ["zookeeper", "spark_master", "spark_worker", "spark_thrift"]
    deployment.record_deploy(classroom, ran, absent, "run-1")
    nd = deployment.not_deployed(classroom)
    assert "missing hive tarball" in nd["hive_metastore"] and nd["hive_metastore"].startswith("skipped")
    assert "never deployed" in nd["redis"] and "--tags redis" in nd["redis"]
    assert "no role deploys" in nd["gpu_worker"]
    for g in ran:
        assert g not in nd
    # A later deploy of Redis adds it; a later skip never hides what was deployed before.
    deployment.record_deploy(classroom, ["redis"], {"zookeeper": "skipped this time"}, "run-2")
    nd = deployment.not_deployed(classroom)
    assert "redis" not in nd and "zookeeper" not in nd


def test_a_tagged_deploy_keeps_what_earlier_deploys_skipped_absent(classroom: inventory.Cluster,
                                                                   no_gpu_role: str) -> None:
    """`deploy --tags spark` after a deploy that skipped Hive: the metastore stays out of Spark's view
    (the Thrift Server was pointed at a metastore that did not exist and crash-looped)."""
    absent = deployment.absent_groups(classroom, LAB_SKIPS)
    ran = deployment.deployed_groups(classroom, [], [], absent)
    deployment.record_deploy(classroom, ran, absent, "run-1")
    outside = deployment.outside_this_deploy(classroom, ["spark"], [])
    assert outside["hive_metastore"].startswith("skipped")
    assert "missing hive tarball" in outside["hive_metastore"]
    assert "spark_thrift" not in outside and "zookeeper" not in outside
    assert "gpu_worker" not in outside  # groups no role deploys are absent_groups()'s
    assert "hive_metastore" not in deployment.outside_this_deploy(classroom, ["hive"], [])
    assert deployment.outside_this_deploy(classroom, [], []) == {}


def test_status_and_smoke_leave_not_deployed_services_out_of_the_verdict(
        classroom: inventory.Cluster) -> None:
    from bigdata_admin.health import smoke_runner, status

    absent = {g: "skipped: missing files" for g in classroom.groups if g not in ("all",)}
    report = status.collect(classroom, probes=False, not_deployed=absent)
    assert report.rows == [] and report.healthy
    assert sorted(report.not_deployed["skipped: missing files"]) == sorted(
        g for g in classroom.groups if g != "all" and classroom.has(g) and g in deployment.services.BY_GROUP)
    smoke = smoke_runner.run(classroom, [], not_deployed=absent)
    assert smoke.results == [] and "zookeeper" in smoke.not_deployed["skipped: missing files"]


@pytest.mark.skipif(not ANSIBLE_PLAYBOOK.is_file(), reason="ansible-playbook is not installed")
def test_spark_thrift_uses_its_own_metastore_when_hive_and_hdfs_are_skipped(
        classroom: inventory.Cluster, tmp_path: Path) -> None:
    """The lab's case: Hive and HDFS skipped, the Spark play rendered on the deploy's inventory view."""
    view = deployment.write_view(classroom, deployment.absent_groups(classroom, LAB_SKIPS))
    files = tmp_path / "files"
    env = {**os.environ, "BIGDATA_ADMIN_STATE_DIR": str(tmp_path / "state"),
           "ANSIBLE_ROLES_PATH": str(REPO / "roles"), "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
           "ANSIBLE_NOCOLOR": "1"}
    proc = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(view), str(REPO / "playbooks" / "services" / "spark.yml"),
         "-e", "bigdata_action=render", "-e", f"bigdata_render_dir={files}",
         "-e", f"ansible_python_interpreter={sys.executable}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    thrift_host = classroom.groups["spark_thrift"][0]
    site = parse_site(files / thrift_host / "spark" / "hive-site.xml")
    assert site.get("hive.metastore.uris", "") == ""
    assert site["javax.jdo.option.ConnectionURL"].startswith("jdbc:derby:")
    rendered = "\n".join(p.read_text(errors="replace") for p in files.rglob("*") if p.is_file())
    assert "thrift://" not in rendered and "hdfs://" not in rendered
    assert "HADOOP_CONF_DIR" not in rendered


def test_deploy_lists_skipped_groups_runs_on_the_view_and_status_reports_them(
        tmp_path: Path, no_gpu_role: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real deploy run (its one host is unreachable, so no host is changed): ZooKeeper's tarball is
    missing and gpu_worker has no role; both are listed with the reason, the run's inventory is the view
    without them, and status reports them as not deployed instead of probing them."""
    import json

    from typer.testing import CliRunner

    from bigdata_admin.cli import app

    monkeypatch.setenv("BIGDATA_ADMIN_CACHE_DIR", str(tmp_path / "cache"))  # restored afterwards
    inv = tmp_path / "inv"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "hosts": {"n1": {"ansible_host": "127.0.0.1", "ansible_port": 1, "bigdata_host_memory_mb": 8192}},
        "children": {g: {"hosts": {"n1": {}}} for g in ("zookeeper", "redis", "gpu_worker")}}}))
    (inv / "group_vars" / "all.yml").write_text("zookeeper_install_method: tarball\n")
    cli = CliRunner()
    r = cli.invoke(app, ["deploy", "-i", str(inv), "--skip-unavailable", "--json"])
    out = json.loads(r.stdout)
    assert r.exit_code == 3, r.output
    skipped = {s["group"]: s for s in out["skipped"]}
    zk = skipped["zookeeper"]
    assert "apache-zookeeper" in zk["reason"] and zk["files"] == ["apache-zookeeper-3.8.4-bin.tar.gz"]
    assert zk["fetch"].startswith("bigdata-admin artifacts fetch -i ") and zk["service"] == "zookeeper"
    assert "no role deploys" in skipped["gpu_worker"]["reason"] and "files" not in skipped["gpu_worker"]
    run = json.loads((Path(out["run_dir"]) / "run.json").read_text())
    view = inventory.load(run["inventory"])
    assert not view.has("zookeeper") and not view.has("gpu_worker") and view.has("redis")

    r = cli.invoke(app, ["status", "-i", str(inv), "--json"])
    data = json.loads(r.stdout)
    assert {x["group"] for x in data["not_deployed"]} == {"zookeeper", "gpu_worker"}
    assert [s["service"] for s in data["services"]] == ["redis"]
    assert r.exit_code == 1  # redis was deployed (attempted) and is not running


def test_fix_hints_name_the_inventory_and_deploy_what_was_never_installed(
        classroom: inventory.Cluster) -> None:
    from bigdata_admin import clients

    inv = str(classroom.source)
    # No deploy recorded: start it, in the inventory the user passed.
    assert deployment.start_hint(classroom, "hdfs") == f"start it (`bigdata-admin start -i {inv} hdfs`)"
    deployment.record_deploy(classroom, ["zookeeper"], deployment.absent_groups(classroom, LAB_SKIPS))
    hint = deployment.start_hint(classroom, "hdfs")
    assert f"bigdata-admin deploy -i {inv} --tags hdfs" in hint and "not deployed" in hint
    assert deployment.status_hint(inv) == f"`bigdata-admin status -i {inv}`"
    # The NameNode of the classroom inventory does not answer here: the fix is the deploy, not a start.
    with pytest.raises(clients.ClientError) as err:
        clients.active_namenode(classroom, timeout=0.5)
    assert "INV " not in (err.value.fix or "") and f"deploy -i {inv} --tags hdfs" in (err.value.fix or "")
    refused = ConnectionRefusedError(111, "Connection refused")
    thrift = clients.explain_thrift_error(refused, classroom, "x:9090")
    assert f"-i {inv}" in (thrift.fix or "") and "INV " not in (thrift.fix or "")


def test_sql_connect_errors_name_the_inventory(tmp_path: Path) -> None:
    import socket

    from bigdata_admin import sqlclient

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(sqlclient.SqlConnectError) as err:
        sqlclient.hs2_connect("127.0.0.1", port, "NONE", "u", inventory="inventories/lab-dev")
    assert "`bigdata-admin status -i inventories/lab-dev`" in (err.value.fix or "")
    assert "Errno" not in err.value.message
