"""`upgrade` without a cluster (issue 15 item 5): version parsing, the upgrade-path verdicts (newer, same
major, a step of the table, Java), the plan against a fake version reader (roles in site.yml order, HBase
and Hive following Hadoop), the deploy record's versions, and the CLI's exit codes on bad input."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bigdata_admin import deployment, inventory
from bigdata_admin import upgrade as up
from bigdata_admin.cli import app
from bigdata_admin.errors import BadInput

REPO = Path(__file__).resolve().parents[2]
CLASSROOM = REPO / "inventories" / "classroom"  # node1 masters; node2, node3 workers; Hive 3.1.3


pytestmark = pytest.mark.usefixtures("isolated_dirs")  # state and cache under tmp_path


def _inventory(tmp_path: Path, **versions: str) -> Path:
    """The classroom inventory with bigdata_versions entries replaced (the whole dict, as Ansible does)."""
    dest = tmp_path / "inv"
    shutil.copytree(CLASSROOM, dest)
    all_yml = dest / "group_vars" / "all.yml"
    text = all_yml.read_text()
    for comp, version in versions.items():
        text, n = re.subn(rf'(?m)^(  {comp}: )"[^"]*"', rf'\g<1>"{version}"', text)
        assert n == 1, comp
    all_yml.write_text(text)
    return dest


def _reader(versions: dict[str, dict[str, str]], still_open: bool = False) -> up.VersionReader:
    def read(_cluster: inventory.Cluster, component: str) -> tuple[dict[str, str], bool]:
        return dict(versions.get(component, {})), still_open
    return read


RUNNING = {"hadoop": {"hdfs_namenode@node1": "3.4.2", "hdfs_datanode@node2": "3.4.2",
                      "yarn_nodemanager@node3": "3.4.2"},
           "kafka": {"kafka@node1": "4.1.1", "kafka@node2": "4.1.1", "kafka@node3": "4.1.1"}}


# --- versions and paths -----------------------------------------------------------------------------------

def test_parse_version_and_release_line() -> None:
    assert up.parse_version("3.4.2") == (3, 4, 2)
    assert up.parse_version("4.2") == (4, 2, 0)
    assert up.release_line("3.5.0") == "3.5"
    for bad in ("3.x", "", "3.4.2-SNAPSHOT", "latest"):
        with pytest.raises(ValueError):
            up.parse_version(bad)


@pytest.mark.parametrize(("component", "running", "target", "action", "words"), [
    ("hadoop", ["3.4.2"], "3.5.0", "upgrade", ["3.4.2 -> 3.5.0"]),
    ("hadoop", ["3.4.2"], "3.4.3", "upgrade", ["3.4.2 -> 3.4.3"]),
    ("kafka", ["4.1.1"], "4.2.2", "upgrade", ["4.1.1 -> 4.2.2"]),
    ("kafka", ["4.1.1", "4.2.2"], "4.2.2", "upgrade", ["continuing"]),
    ("hadoop", ["3.5.0"], "3.5.0", "current", ["every host runs 3.5.0"]),
    ("hadoop", ["3.5.0"], "3.4.2", "refused", ["downgrade", "set bigdata_versions.hadoop back to 3.5.0"]),
    ("kafka", ["4.2.2"], "4.1.1", "refused", ["downgrade"]),
    ("kafka", ["3.9.1"], "4.1.1", "refused", ["crosses a major release", "within kafka 3.x"]),
    ("hadoop", ["3.4.2"], "4.0.0", "refused", ["crosses a major release"]),
    ("hadoop", ["3.3.6"], "3.5.0", "refused", ["no rolling-upgrade path from the 3.3 line to 3.5",
                                               "one step at a time", "3.3, 3.4"]),
    ("hadoop", ["3.4.2"], "3.6.0", "refused", ["no rolling-upgrade path"]),
    ("hadoop", ["3.4.2"], "3.5", "upgrade", []),
    ("hadoop", ["3.4.2"], "three", "refused", ["not a version", "bigdata_versions.hadoop"]),
    ("hadoop", [], "3.5.0", "refused", ["no host reports"]),
    ("zookeeper", ["3.8.4"], "3.9.3", "refused", ["no rolling upgrade in this tool", "hadoop, kafka"]),
])
def test_check_path(component: str, running: list[str], target: str, action: str, words: list[str]) -> None:
    verdict = up.check_path(component, running, target)
    assert verdict.action == action, verdict
    text = f"{verdict.reason} {verdict.fix}".lower()
    assert all(w.lower() in text for w in words), text


def test_check_path_refuses_a_target_that_does_not_run_on_the_inventorys_java() -> None:
    verdict = up.check_path("hadoop", ["3.4.2"], "3.5.0", java_major=11)
    assert verdict.action == "refused"
    assert "does not run on Java 11" in verdict.reason and "17" in verdict.reason
    assert up.check_path("hadoop", ["3.4.2"], "3.5.0", java_major=17).action == "upgrade"


def test_an_unfinalized_upgrade_on_the_target_still_needs_the_upgrade_action() -> None:
    verdict = up.check_path("hadoop", ["3.5.0"], "3.5.0", finalizing=True)
    assert verdict.action == "upgrade" and "finalized" in verdict.reason


def test_kafka_version_from_the_open_release_directory() -> None:
    assert up.kafka_version_from_dirs("/kafka-4.1.1/\n") == "4.1.1"
    assert up.kafka_version_from_dirs("/kafka-4.2.2/\n/kafka-4.2.2/\n") == "4.2.2"
    assert up.kafka_version_from_dirs("") is None
    assert up.kafka_version_from_dirs("/kafka-4.1.1/\n/kafka-4.2.2/\n") is None  # mid-restart: unknown


def test_hadoop_version_from_the_open_hadoop_common_jar() -> None:
    assert up.hadoop_version_from_jars("hadoop-common-3.4.2.jar\n") == "3.4.2"
    assert up.hadoop_version_from_jars("stopped\n") == up.STOPPED
    assert up.hadoop_version_from_jars("") is None  # runs, but on no hadoop-common jar: unknown
    assert up.hadoop_version_from_jars("hadoop-common-3.4.2.jar\nhadoop-common-3.5.0.jar\n") is None


def _held_open_on_this_host(tmp_path: Path, command: str,
                            main_pids: Mapping[str, int | str]) -> tuple[int, str]:
    """Run a held_open command here, its `systemctl` reporting main_pids (unit -> MainPID; 0 for others)."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    cases = "".join(f"  {unit}) echo {pid} ;;\n" for unit, pid in main_pids.items())
    fake = bindir / "systemctl"
    fake.write_text("#!/bin/sh\n# systemctl show -p MainPID --value UNIT\n"
                    f'case "$5" in\n{cases}  *) echo 0 ;;\nesac\n')
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["sh", "-c", command], capture_output=True, text=True, env=env, timeout=10)
    return proc.returncode, proc.stdout


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc/PID/fd")
def test_held_open_reads_the_versioned_files_the_units_process_holds_open(tmp_path: Path) -> None:
    files = [tmp_path / "kafka-4.1.1" / "libs" / "kafka-clients.jar",
             tmp_path / "hadoop-3.4.2" / "share" / "hadoop-common-3.4.2.jar",
             tmp_path / "hadoop-3.4.2" / "share" / "guava.jar"]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("")
    with files[0].open() as a, files[1].open() as b, files[2].open() as c:
        daemon = subprocess.Popen(["sleep", "60"], stdin=a, stdout=b, stderr=c)
    try:
        pids = {"kafka": daemon.pid, "hive-metastore": daemon.pid}
        rc, out = _held_open_on_this_host(tmp_path, up.held_open("kafka", up.KAFKA_RELEASE_DIR), pids)
        assert (rc, out) == (0, "/kafka-4.1.1/\n")
        assert up.kafka_version_from_dirs(out) == "4.1.1"
        command = up.held_open("hive-metastore", up.HADOOP_COMMON_JAR, up.STOPPED)
        rc, out = _held_open_on_this_host(tmp_path, command, pids)
        assert (rc, out) == (0, "hadoop-common-3.4.2.jar\n")
        assert up.hadoop_version_from_jars(out) == "3.4.2"
        # Another unit's process (MainPID 0 here) is not read: the unit name reaches systemctl.
        rc, out = _held_open_on_this_host(tmp_path, up.held_open("hive-server2", up.HADOOP_COMMON_JAR,
                                                                 up.STOPPED), pids)
        assert (rc, out) == (0, "stopped\n")
    finally:
        daemon.kill()
        daemon.wait()


@pytest.mark.parametrize("main_pid", [0, ""])
def test_held_open_for_a_stopped_unit(tmp_path: Path, main_pid: int | str) -> None:
    pids = {"kafka": main_pid, "hive-metastore": main_pid}
    # Hive's followers: `stopped`, exit 0 (the upgrade action starts them on the new release).
    command = up.held_open("hive-metastore", up.HADOOP_COMMON_JAR, up.STOPPED)
    rc, out = _held_open_on_this_host(tmp_path, command, pids)
    assert (rc, out) == (0, "stopped\n") and up.hadoop_version_from_jars(out) == up.STOPPED
    # Kafka: nothing, exit 1 (the node's version is unknown).
    assert _held_open_on_this_host(tmp_path, up.held_open("kafka", up.KAFKA_RELEASE_DIR), pids) == (1, "")


def test_held_open_refuses_a_pattern_that_breaks_its_quotes() -> None:
    with pytest.raises(ValueError, match="quotes"):
        up.held_open("kafka", "it's")


def test_a_stopped_kafka_node_is_reported_as_stopped_not_unreachable(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from bigdata_admin.health import remote

    cluster = inventory.load(_inventory(tmp_path, hadoop="3.5.0", kafka="4.2.2"))
    hosts = sorted({h.name for g in up.VERSION_GROUPS["kafka"] for h in cluster.hosts_in(g)})
    assert len(hosts) >= 2
    stopped_host = hosts[0]

    def fake_run(host: inventory.Host, argv: list[str], **_kw: object) -> remote.RemoteResult:
        # The builder's own shell, answered as a node would: stopped on the first host, 4.1.1 on the others.
        assert argv[:2] == ["sh", "-c"] and argv[2] == up.held_open("kafka", up.KAFKA_RELEASE_DIR, up.STOPPED)
        out = up.STOPPED + "\n" if host.name == stopped_host else "/kafka-4.1.1/\n"
        return remote.RemoteResult(host.name, 0, out, "")

    monkeypatch.setattr(remote, "run", fake_run)
    where, still_open = up.running_versions(cluster, "kafka")
    assert not still_open
    assert where[f"kafka@{stopped_host}"] == "unknown: the kafka unit is not running"
    assert {v for k, v in where.items() if k != f"kafka@{stopped_host}"} == {"4.1.1"}


def test_hbase_follows_hadoop_only_where_its_bundle_carries_the_clusters_hadoop(tmp_path: Path) -> None:
    inv = _inventory(tmp_path, hadoop="3.5.0")
    maven = up.follower_units(inventory.load(inv), "hadoop")
    assert maven["hbase_regionserver"] == "hbase-regionserver" and maven["hive_metastore"] == "hive-metastore"
    all_yml = inv / "group_vars" / "all.yml"
    all_yml.write_text(all_yml.read_text() + "hbase_install_source: apache\n")
    apache = up.follower_units(inventory.load(inv), "hadoop")
    assert not set(apache) & set(up.HBASE_FOLLOWER_UNITS) and "hive_server2" in apache
    assert up.follower_units(inventory.load(inv), "kafka") == {}


def test_a_regionserver_left_on_the_old_hadoop_client_makes_hadoop_upgradable_again(tmp_path: Path) -> None:
    # `upgrade` stopped after HBase's new bundle was unpacked and before its restart: HDFS and YARN report
    # the target, the RegionServer still holds hadoop-common-3.4.2.jar open.
    cluster = inventory.load(_inventory(tmp_path, hadoop="3.5.0"))
    running = {"hadoop": {"hdfs_namenode@node1": "3.5.0", "hdfs_datanode@node2": "3.5.0",
                          "hbase_regionserver@node2": "3.4.2"}}
    plan = up.make_plan(cluster, ["hdfs"], read=_reader(running))
    assert [(v.component, v.action) for v in plan.verdicts] == [("hadoop", "upgrade")]
    assert "hbase" in plan.roles


# --- plan -------------------------------------------------------------------------------------------------

def test_plan_moves_hadoop_and_kafka_with_hbase_and_hive_following_hadoop(tmp_path: Path) -> None:
    cluster = inventory.load(_inventory(tmp_path, hadoop="3.5.0", kafka="4.2.2"))
    plan = up.make_plan(cluster, [], read=_reader(RUNNING))
    assert [(v.component, v.action) for v in plan.verdicts] == [("hadoop", "upgrade"), ("kafka", "upgrade")]
    assert plan.roles == ["hdfs", "yarn", "hbase", "kafka", "hive"]  # site.yml order
    assert plan.verdicts[0].where == RUNNING["hadoop"]


def test_plan_for_kafka_alone_runs_only_the_kafka_role(tmp_path: Path) -> None:
    cluster = inventory.load(_inventory(tmp_path, hadoop="3.5.0", kafka="4.2.2"))
    plan = up.make_plan(cluster, ["kafka"], read=_reader(RUNNING))
    assert [v.component for v in plan.verdicts] == ["kafka"] and plan.roles == ["kafka"]
    assert up.make_plan(cluster, ["yarn"], read=_reader(RUNNING)).roles == ["hdfs", "yarn", "hbase", "hive"]


def test_plan_with_nothing_to_do_runs_no_role(tmp_path: Path) -> None:
    cluster = inventory.load(CLASSROOM)
    plan = up.make_plan(cluster, ["hdfs", "kafka"], read=_reader(RUNNING))
    assert [v.action for v in plan.verdicts] == ["current", "current"] and plan.roles == []


def test_plan_refuses_when_a_daemon_cannot_tell_its_version(tmp_path: Path) -> None:
    cluster = inventory.load(_inventory(tmp_path, hadoop="3.5.0"))
    running = {"hadoop": {**RUNNING["hadoop"], "hdfs_datanode@node3": "unknown: down (connection refused)"}}
    plan = up.make_plan(cluster, ["hdfs"], read=_reader(running))
    assert plan.refused and "hdfs_datanode@node3 (down (connection refused))" in plan.refused[0].reason
    err = up.refusal(plan)
    assert "no host was touched" in err.message and "bigdata-admin start" in (err.fix or "")


def test_plan_upgrades_an_ha_pair_until_every_journalnode_and_controller_moved(tmp_path: Path) -> None:
    dest = tmp_path / "ha"
    shutil.copytree(REPO / "inventories" / "ha", dest)
    all_yml = dest / "group_vars" / "all.yml"
    data = yaml.safe_load(all_yml.read_text()) or {}
    versions = data.get("bigdata_versions") or inventory.role_defaults()["bigdata_versions"]
    data["bigdata_versions"] = {**versions, "hadoop": "3.5.0"}
    all_yml.write_text(yaml.safe_dump(data))
    cluster = inventory.load(dest)
    assert len(cluster.hosts_in("hdfs_namenode")) == 2
    before = {"hdfs_namenode@nn1": "3.4.2", "hdfs_journalnode@jn1": "3.4.2", "hdfs_zkfc@nn1": "3.4.2"}
    assert [v.action for v in up.make_plan(cluster, ["hdfs"], read=_reader({"hadoop": before})).verdicts] \
        == ["upgrade"]
    # A run that stopped after the NameNodes, before the last failover controller, is carried on.
    partway = {**before, "hdfs_namenode@nn1": "3.5.0", "hdfs_journalnode@jn1": "3.5.0"}
    assert [v.action for v in up.make_plan(cluster, ["hdfs"], read=_reader({"hadoop": partway})).verdicts] \
        == ["upgrade"]
    done = {k: "3.5.0" for k in before}
    assert [v.action for v in up.make_plan(cluster, ["hdfs"], read=_reader({"hadoop": done})).verdicts] \
        == ["current"]


DONE = {"hdfs_namenode@node1": "3.5.0", "hdfs_datanode@node2": "3.5.0", "yarn_nodemanager@node3": "3.5.0"}


@pytest.mark.parametrize(("hive", "action", "words"), [
    # The rehearsal's failure: HDFS and YARN on 3.5.0, Hive's daemons still on 3.4.2's jars (or down).
    ({"hive_metastore@node1": "3.4.2", "hive_server2@node1": "3.4.2"}, "upgrade", ["continuing"]),
    ({"hive_metastore@node1": up.STOPPED, "hive_server2@node1": "3.5.0"}, "upgrade",
     ["hive_metastore@node1 not running"]),
    ({"hive_metastore@node1": "3.5.0", "hive_server2@node1": "3.5.0"}, "current", ["every host runs 3.5.0"]),
])
def test_upgrade_again_finishes_hive_left_behind_by_a_failed_run(tmp_path: Path, hive: dict[str, str],
                                                                 action: str, words: list[str]) -> None:
    cluster = inventory.load(_inventory(tmp_path, hadoop="3.5.0"))
    plan = up.make_plan(cluster, ["hdfs"], read=_reader({"hadoop": {**DONE, **hive}}))
    verdict = plan.verdicts[0]
    assert verdict.action == action and all(w in verdict.reason for w in words), verdict
    assert ("hive" in plan.roles) == (action == "upgrade")


@pytest.mark.parametrize(("services", "words"), [
    (["spark"], ["no rolling upgrade for 'spark'", "hdfs, kafka, yarn"]),
    (["hbase"], ["no rolling upgrade for 'hbase'"]),
])
def test_plan_refuses_services_without_an_upgrade(services: list[str], words: list[str]) -> None:
    with pytest.raises(BadInput) as err:
        up.make_plan(inventory.load(CLASSROOM), services, read=_reader(RUNNING))
    text = f"{err.value} {err.value.fix}"
    assert all(w in text for w in words), text


def test_run_refuses_before_touching_anything(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bigdata_admin import runner

    def boom(*_a: object, **_k: object) -> None:
        raise AssertionError("no playbook may run on a refused plan")

    monkeypatch.setattr(runner, "run_playbook", boom)
    cluster = inventory.load(_inventory(tmp_path, kafka="4.0.0"))
    plan = up.make_plan(cluster, ["kafka"], read=_reader(RUNNING))
    with pytest.raises(BadInput, match="downgrade"):
        up.run(cluster, plan, read=_reader(RUNNING))


# --- deploy record ----------------------------------------------------------------------------------------

def test_the_deploy_record_keeps_the_versions_deploy_and_upgrade_wrote(tmp_path: Path) -> None:
    cluster = inventory.load(CLASSROOM)
    deployment.record_deploy(cluster, ["hdfs_namenode", "hdfs_datanode", "kafka_broker"], {}, "run-1")
    assert deployment.recorded_versions(cluster) == {"hadoop": "3.4.2", "kafka": "4.1.1"}
    deployment.record_versions(cluster, {"hadoop": "3.5.0"}, "run-2")
    deployment.record_deploy(cluster, ["zookeeper"], {}, "run-3")  # another deploy keeps them
    assert deployment.recorded_versions(cluster) == {"hadoop": "3.5.0", "kafka": "4.1.1",
                                                     "zookeeper": "3.8.4"}
    record = json.loads(deployment.record_path(cluster).read_text())
    assert record["versions"]["hadoop"]["run"] == "run-2"
    assert record["groups"]["zookeeper"]["state"] == "deployed"


# --- CLI --------------------------------------------------------------------------------------------------

def _fake_reader(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(up, "running_versions", _reader(RUNNING))


@pytest.mark.parametrize(("versions", "args", "needles"), [
    ({"hadoop": "3.4.0"}, ["-s", "hdfs"], ["downgrade", "fix:", "back to 3.4.2"]),
    ({"kafka": "5.0.0"}, ["-s", "kafka"], ["crosses a major release"]),
    ({}, ["-s", "spark"], ["no rolling upgrade for 'spark'"]),
])
def test_cli_refusals_exit_2_without_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 versions: dict[str, str], args: list[str],
                                                 needles: list[str]) -> None:
    _fake_reader(monkeypatch)
    res = CliRunner().invoke(app, ["upgrade", "-i", str(_inventory(tmp_path, **versions)), *args])
    assert res.exit_code == 2, res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "Traceback" not in res.output
    assert all(n in res.output for n in needles), res.output


def test_cli_refusal_as_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_reader(monkeypatch)
    res = CliRunner().invoke(app, ["upgrade", "-i", str(_inventory(tmp_path, kafka="4.0.1")), "--json"])
    assert res.exit_code == 2
    data = json.loads(res.stdout)
    assert data["ok"] is False and "downgrade" in data["error"]
    assert {c["component"]: c["action"] for c in data["components"]} == {"hadoop": "current",
                                                                         "kafka": "refused"}


def test_cli_dry_run_shows_the_plan_and_touches_nothing(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from bigdata_admin import runner

    _fake_reader(monkeypatch)
    monkeypatch.setattr(runner, "run_playbook", lambda *_a, **_k: pytest.fail("dry run ran a playbook"))
    res = CliRunner().invoke(app, ["upgrade", "-i", str(_inventory(tmp_path, hadoop="3.5.0", kafka="4.2.2")),
                                   "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "3.4.2 -> 3.5.0" in res.output and "4.1.1 -> 4.2.2" in res.output
    assert "hdfs, yarn, hbase, kafka, hive" in res.output


def test_cli_bad_inventory_exits_2(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["upgrade", "-i", str(tmp_path / "nope")])
    assert res.exit_code == 2 and "Traceback" not in res.output


def test_status_lists_the_versions_the_daemons_report() -> None:
    from bigdata_admin.health import ProbeResult
    from bigdata_admin.health.status import ServiceStatus, StatusReport

    def row(host: str, group: str, version: str | None) -> ServiceStatus:
        data = {"version": version} if version else {}
        return ServiceStatus(host, group, group, "active", None, None, None,
                             ProbeResult(host, group, True, "running", "", data))

    report = StatusReport("t", [row("h1", "hdfs_namenode", "3.5.0, r0123"),
                                row("h2", "hdfs_datanode", "3.4.2"),
                                row("h1", "kafka_broker", None), row("h1", "zookeeper", "3.8.4")])
    assert report.versions == {"hadoop": ["3.4.2", "3.5.0"], "zookeeper": ["3.8.4"]}
    assert report.as_dict()["versions"] == report.versions


def test_the_namenode_drop_in_repeats_the_units_command_with_rolling_upgrade_started(tmp_path: Path) -> None:
    """roles/hdfs/files/hdfs-rolling-upgrade reads ExecStart (continuation lines joined) from the unit the
    jvm-daemon template writes."""
    module = _load_script(REPO / "roles" / "hdfs" / "files" / "hdfs-rolling-upgrade", "hdfs_rolling_upgrade")
    (tmp_path / "hdfs-namenode.service").write_text(
        "[Service]\nUser=hdfs\nExecStart=/opt/java/17/bin/java \\\n    -Xmx512m \\\n    -Dproc_namenode \\\n"
        "    -cp /etc/hadoop:/opt/bigdata/hadoop-current/lib/* \\\n"
        "    org.apache.hadoop.hdfs.server.namenode.NameNode\n\nRestart=on-failure\n")
    module.UNIT_DIR = str(tmp_path)
    assert module._exec_start("hdfs-namenode") == (
        "/opt/java/17/bin/java -Xmx512m -Dproc_namenode -cp /etc/hadoop:/opt/bigdata/hadoop-current/lib/* "
        "org.apache.hadoop.hdfs.server.namenode.NameNode")


def _link_jars(dest: Path, src: Path, *exclude: str) -> str:
    import subprocess

    script = REPO / "roles" / "hive" / "files" / "link-jars"
    res = subprocess.run(["bash", str(script), str(dest), str(src), *exclude], capture_output=True, text=True,
                         check=True)
    return res.stdout


def test_hive_hadoop_lib_follows_hadoop_current_to_the_new_releases_jars(tmp_path: Path) -> None:
    """hadoop-lib/ links go through hadoop-current, but name versioned jars: once the link moves to 3.5.0
    they dangle (the rehearsal's NoClassDefFoundError) until link-jars runs again, as the upgrade now does."""
    for version in ("3.4.2", "3.5.0"):
        lib = tmp_path / f"hadoop-{version}" / "lib"
        lib.mkdir(parents=True)
        for jar in (f"hadoop-common-{version}.jar", "guava-27.0-jre.jar", "slf4j-reload4j-1.7.36.jar"):
            (lib / jar).write_text(jar)
    current = tmp_path / "hadoop-current"
    current.symlink_to(tmp_path / "hadoop-3.4.2")
    dest = tmp_path / "hive" / "hadoop-lib"
    assert _link_jars(dest, current / "lib", "slf4j-reload4j-*.jar").strip() == "changed"
    assert sorted(p.name for p in dest.iterdir()) == ["guava-27.0-jre.jar", "hadoop-common-3.4.2.jar"]

    current.unlink()
    current.symlink_to(tmp_path / "hadoop-3.5.0")
    assert not (dest / "hadoop-common-3.4.2.jar").exists()  # dangling
    assert _link_jars(dest, current / "lib", "slf4j-reload4j-*.jar").strip() == "changed"
    assert sorted(p.name for p in dest.iterdir()) == ["guava-27.0-jre.jar", "hadoop-common-3.5.0.jar"]
    assert all(p.exists() for p in dest.iterdir())
    assert (dest / "hadoop-common-3.5.0.jar").read_text() == "hadoop-common-3.5.0.jar"
    assert _link_jars(dest, current / "lib", "slf4j-reload4j-*.jar") == ""  # again: nothing to change


def test_hives_upgrade_relinks_hadoop_lib_before_it_restarts_the_daemons() -> None:
    import yaml

    tasks = yaml.safe_load((REPO / "roles" / "hive" / "tasks" / "upgrade.yml").read_text())
    files = [t.get("ansible.builtin.include_tasks") or (t.get("ansible.builtin.include_role") or {}).get(
        "tasks_from") for t in tasks]
    assert files.index("install") < files.index("link_hadoop.yml") < files.index("restart.yml")
    install = yaml.safe_load((REPO / "roles" / "hive" / "tasks" / "install.yml").read_text())
    assert any(t.get("ansible.builtin.include_tasks") == "link_hadoop.yml" for t in install)


def _load_script(path: Path, name: str) -> Any:
    import importlib.machinery
    import importlib.util

    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_a_restarted_journalnode_is_ready_once_the_active_namenode_writes_to_it_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """roles/hdfs/files/hdfs-daemon-ready journalnode against stand-in JMX answers: it rolls the edit log
    even when the NameNode has not noticed the restart yet, and waits while a JournalNode is out of sync."""
    ready = _load_script(REPO / "roles" / "hdfs" / "files" / "hdfs-daemon-ready", "hdfs_daemon_ready")
    in_sync = ("Writing segment beginning at txid 41. \n10.0.0.1:8485 (Written txid 44), "
               "10.0.0.2:8485 (Written txid 44), 10.0.0.3:8485 (Written txid 44)")
    behind = in_sync.replace("10.0.0.2:8485 (Written txid 44)",
                             "10.0.0.2:8485 (Written txid 40) (will try to re-sync on next segment)")
    answers: dict[str, Any] = {"stream": behind, "rolls": 0}

    def beans(address: str, query: str) -> list[dict[str, Any]]:
        if "JournalNode" in query:
            return [{"JournalsStatus": '{"ns1": {}}'}]
        if address == "nn1:9870":
            return [{"NameJournalStatus": json.dumps([{"manager": "QJM to [10.0.0.1:8485]",
                                                       "stream": "open for read"}])}]
        return [{"NameJournalStatus": json.dumps([{"manager": "QJM to [10.0.0.1:8485, 10.0.0.2:8485]",
                                                   "stream": answers["stream"]}])}]

    def roll() -> None:
        answers["rolls"] += 1
        return None

    monkeypatch.setattr(ready, "beans", beans)
    monkeypatch.setattr(ready, "_roll_edits", roll)
    monkeypatch.setenv("HDFS_NAMENODE_HTTP", "nn1:9870,nn2:9870")
    state: dict[str, float] = {}
    problem = ready.journalnode("10.0.0.2:8480", state)
    assert problem is not None and "re-sync" in problem and answers["rolls"] == 1
    assert ready.journalnode("10.0.0.2:8480", state) is not None and answers["rolls"] == 1  # not again yet
    answers["stream"] = in_sync
    assert ready.journalnode("10.0.0.2:8480", state) is None
    # Nothing out of sync yet (the NameNode has not written since the restart): it still rolls once.
    answers["rolls"] = 0
    assert ready.journalnode("10.0.0.2:8480", {}) is None and answers["rolls"] == 1
    # No NameNode writes the edit log (both standby, or down): nothing to rejoin, no roll.
    monkeypatch.setenv("HDFS_NAMENODE_HTTP", "nn1:9870")
    answers["rolls"] = 0
    assert ready.journalnode("10.0.0.2:8480", {}) is None and answers["rolls"] == 0


def test_finalize_waits_until_the_standby_has_read_the_finalize(monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    """roles/hdfs/files/hdfs-daemon-ready namenode-finalized (hdfs-rolling-upgrade finalize's wait) against
    stand-in answers: a standby reports the upgrade open (finalizeTime 0) until it tails the segment holding
    the finalize, so the check rolls the edit log and waits; it gives up naming the NameNode after TIMEOUT."""
    ready = _load_script(REPO / "roles" / "hdfs" / "files" / "hdfs-daemon-ready", "hdfs_daemon_ready")
    seen: dict[str, Any] = {"status": {"startTime": 1, "finalizeTime": 0}, "asked": 0, "rolls": 0}

    def beans(address: str, query: str) -> list[dict[str, Any]]:
        assert address == "nn1:9870" and "NameNodeInfo" in query
        seen["asked"] += 1
        if seen["asked"] >= 3:
            seen["status"] = None  # tailed: the standby's NameNodeInfo no longer shows the upgrade
        return [{"RollingUpgradeStatus": seen["status"]}]

    def roll() -> None:
        seen["rolls"] += 1

    monkeypatch.setattr(ready, "beans", beans)
    monkeypatch.setattr(ready, "_roll_edits", roll)
    clock = [0.0]
    monkeypatch.setattr(ready.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(ready.time, "sleep", lambda s: clock.__setitem__(0, clock[0] + s))
    monkeypatch.setattr("sys.argv", ["hdfs-daemon-ready", "namenode-finalized", "nn1:9870", "60"])
    assert ready.main() == 0
    assert seen["rolls"] >= 1 and seen["asked"] == 3

    seen.update(status={"startTime": 1, "finalizeTime": 0}, asked=-10**9)
    monkeypatch.setattr("sys.argv", ["hdfs-daemon-ready", "namenode-finalized", "nn1:9870", "30"])
    capsys.readouterr()
    assert ready.main() == 1
    err = capsys.readouterr().err
    assert "nn1:9870" in err and "still reports the rolling upgrade open" in err
    seen["status"] = {"startTime": 1, "finalizeTime": 1796290000000}
    assert ready.namenode_finalized("nn1:9870", {}) is None
