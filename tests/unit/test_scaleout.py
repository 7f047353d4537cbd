"""Scale-out without a cluster (issue 15 item 2): which hosts may join and with which plays, the verdicts
on the masters' answers, the control flow against fake Ansible runs (the /etc/hosts run on every host,
then the deploy limited to the host, then the masters' looks) and the CLI's exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bigdata_admin import deployment, inventory, paths, scaleout
from bigdata_admin.cli import app
from bigdata_admin.dayops import GateCheck
from bigdata_admin.errors import BadInput

REPO = Path(__file__).resolve().parents[2]
CLASSROOM = REPO / "inventories" / "classroom"  # node1 masters; node2, node3 workers
JOINS = ["hdfs_datanode", "yarn_nodemanager", "hbase_regionserver", "kafka_broker", "storm_supervisor"]


pytestmark = pytest.mark.usefixtures("isolated_dirs")  # state and cache under tmp_path


def grown(tmp_path: Path, groups: list[str], host: str = "node4") -> Path:
    """A copy of the classroom inventory with `host` added under all.hosts and into `groups`."""
    inv = tmp_path / "inv"
    shutil.copytree(CLASSROOM, inv)
    data = yaml.safe_load((inv / "hosts.yml").read_text())
    data["all"]["hosts"][host] = {"ansible_host": "192.168.56.14", "bigdata_host_memory_mb": 8192}
    for g in groups:
        data["all"]["children"].setdefault(g, {"hosts": {}})["hosts"][host] = {}
    (inv / "hosts.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    return inv


# --- plan ----------------------------------------------------------------------------------------------

def test_plan_joins_every_worker_group_with_common_java_and_services_in_site_order(tmp_path: Path) -> None:
    cluster = inventory.load(grown(tmp_path, list(reversed(JOINS))))
    p = scaleout.plan(cluster, "node4")
    assert sorted(p.groups) == sorted(JOINS) and p.skipped == {}
    assert p.tags == ["common", "java", "hdfs", "yarn", "hbase", "kafka", "storm"]


def test_plan_leaves_out_a_service_the_cluster_does_not_run(tmp_path: Path) -> None:
    cluster = inventory.load(grown(tmp_path, JOINS))
    deployment.record_deploy(cluster, [g for g in cluster.groups if g != "storm_supervisor"],
                             {"storm_supervisor": "missing storm-2.8.3-maven.tar.gz"})
    p = scaleout.plan(cluster, "node4")
    assert "storm_supervisor" not in p.groups and "storm" not in p.tags
    assert "missing storm" in p.skipped["storm_supervisor"]


@pytest.mark.parametrize(("host", "groups", "words"), [
    ("node9", JOINS, ["node9", "not in the inventory", "node1, node2, node3, node4"]),
    ("node1", [], ["node1 is in group(s)", "hdfs_namenode", "worker hosts only", "deploy -i"]),
    ("node4", ["kafka_controller", "kafka_broker"], ["kafka_controller", "worker hosts only"]),
    ("node4", [], ["node4 is in no worker group", "hdfs_datanode", "scale-out -i"]),
])
def test_plan_refuses_unknown_master_or_groupless_hosts(tmp_path: Path, host: str, groups: list[str],
                                                        words: list[str]) -> None:
    cluster = inventory.load(grown(tmp_path, groups))
    with pytest.raises(BadInput) as err:
        scaleout.plan(cluster, host)
    text = f"{err.value.message} {err.value.fix}"
    assert all(w in text for w in words), text


def test_plan_refuses_a_host_whose_services_none_runs(tmp_path: Path) -> None:
    cluster = inventory.load(grown(tmp_path, ["storm_supervisor"]))
    deployment.record_deploy(cluster, ["hdfs_namenode"], {"storm_supervisor": "missing storm bundle"})
    with pytest.raises(BadInput) as err:
        scaleout.plan(cluster, "node4")
    assert "none of node4's worker services runs" in err.value.message
    assert "missing storm bundle" in err.value.message


# --- verdicts --------------------------------------------------------------------------------------------

def _host(name: str = "node4", address: str = "192.168.56.14") -> inventory.Host:
    return inventory.Host(name, {"ansible_host": address}, [])


def test_hdfs_verdict_wants_the_datanode_in_service() -> None:
    live = {"node4:9866": {"adminState": "In Service", "xferaddr": "192.168.56.14:9866"}}
    ok = scaleout.hdfs_verdict({"LiveNodes": json.dumps(live), "DeadNodes": "{}"}, _host())
    assert ok.ok and "In Service" in ok.detail
    other = scaleout.hdfs_verdict({"LiveNodes": json.dumps({"node2:9866": {"adminState": "In Service"}}),
                                   "DeadNodes": "{}"}, _host())
    assert not other.ok and "unknown" in other.detail
    decom = scaleout.hdfs_verdict({"LiveNodes": json.dumps(
        {"node4:9866": {"adminState": "Decommissioned"}}), "DeadNodes": "{}"}, _host())
    assert not decom.ok and "Decommissioned" in decom.detail
    assert not scaleout.hdfs_verdict({}, _host()).ok


def test_yarn_kafka_hbase_storm_verdicts() -> None:
    host = _host()
    assert scaleout.yarn_verdict([{"nodeHostName": "node4", "state": "RUNNING"}], host).ok
    assert not scaleout.yarn_verdict([{"nodeHostName": "node2", "state": "RUNNING"}], host).ok
    assert scaleout.kafka_verdict([{"host": "192.168.56.14", "broker_id": 4}], host).data["broker_id"] == 4
    missing = scaleout.kafka_verdict([{"host": "192.168.56.12", "broker_id": 2}], host)
    assert not missing.ok and "192.168.56.12" in missing.detail
    server = {"tag.liveRegionServers": "node2,16020,1700000000000;node4,16020,1700000000001"}
    assert scaleout.hbase_live_regionservers(server) == ["node2", "node4"]
    assert scaleout.hbase_verdict(server, host).ok
    assert not scaleout.hbase_verdict({"tag.liveRegionServers": "node2,16020,1"}, host).ok
    assert not scaleout.hbase_verdict({}, host).ok
    state = SimpleNamespace(supervisors={"s-1": b""}, supervisor_on=lambda names: "s-1" if "node4" in names
                            else None)
    assert scaleout.storm_verdict(state, host).ok
    assert not scaleout.storm_verdict(state, _host("node5", "192.168.56.15")).ok


def test_verify_waits_for_each_master_and_skips_groups_without_a_master_check() -> None:
    looks = iter([False, False, True])

    def slow() -> GateCheck:
        return GateCheck(next(looks), "seen", "look")

    def never() -> GateCheck:
        return GateCheck(False, "seen", "not yet")

    said: list[str] = []
    seen = scaleout.verify(None, _host(), ["hdfs_datanode", "spark_worker", "kafka_broker"],  # type: ignore[arg-type]
                           timeout_s=0.05, interval_s=0.001, progress=said.append,
                           looks={"hdfs_datanode": slow, "kafka_broker": never})
    assert [(s.group, s.service, s.ok) for s in seen] == [("hdfs_datanode", "hdfs", True),
                                                          ("kafka_broker", "kafka", False)]
    assert "kafka_broker: NOT seen (not yet" in said[-1]


# --- the flow against fake runs --------------------------------------------------------------------------

class FakeRuns:
    def __init__(self, tmp_path: Path, rcs: list[int]) -> None:
        self.calls: list[dict[str, Any]] = []
        self.rcs, self.tmp = list(rcs), tmp_path

    def __call__(self, playbook: str, inventory: Path, **kw: Any) -> Any:
        self.calls.append({"playbook": playbook, "inventory": inventory, **kw})
        run_dir = self.tmp / f"run-{len(self.calls)}"
        run_dir.mkdir()
        from bigdata_admin.runner import RunResult

        rc = self.rcs.pop(0)
        return RunResult(rc=rc, status="successful" if rc == 0 else "failed", recap={}, failures=[],
                         run_dir=run_dir, label=str(kw.get("label")), playbook=playbook, elapsed_s=1.0)


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from bigdata_admin import runner

    runs = FakeRuns(tmp_path, [0, 0])
    seen: list[str] = []
    monkeypatch.setattr(runner, "run_playbook", runs)
    monkeypatch.setattr(scaleout, "_view", lambda cluster, tags, groups: (Path(cluster.source), {}, {}))

    def verify(cluster: Any, host: Any, groups: list[str], **kw: Any) -> list[scaleout.Seen]:
        return [scaleout.Seen(g, g.split("_")[0], g not in seen, "gate", "detail", 0.1)
                for g in groups if g in scaleout.VERIFIED]

    monkeypatch.setattr(scaleout, "verify", verify)
    return {"runs": runs, "not_seen": seen}


def test_run_refreshes_etc_hosts_everywhere_then_deploys_only_the_host(tmp_path: Path,
                                                                      fakes: dict[str, Any]) -> None:
    cluster = inventory.load(grown(tmp_path, JOINS))
    report = scaleout.run(cluster, "node4")
    assert report.ok, report.as_dict()
    hosts_run, deploy_run = fakes["runs"].calls
    assert hosts_run["playbook"] == paths.playbook("services/common") and hosts_run["playbook"].is_file()
    assert hosts_run.get("limit") is None
    assert hosts_run["extravars"]["bigdata_action"] == "etc_hosts"
    assert deploy_run["playbook"] == "site" and deploy_run["limit"] == "node4"
    assert deploy_run["tags"] == ["common", "java", "hdfs", "yarn", "hbase", "kafka", "storm"]
    assert "bigdata_action" not in deploy_run["extravars"]
    assert [s.group for s in report.seen] == JOINS
    assert deployment.not_deployed(cluster).get("hdfs_datanode") is None  # recorded


def test_run_stops_after_a_failed_run_and_reports_masters_not_seeing(tmp_path: Path,
                                                                    fakes: dict[str, Any]) -> None:
    cluster = inventory.load(grown(tmp_path, JOINS))
    fakes["runs"].rcs = [2]
    report = scaleout.run(cluster, "node4")
    assert not report.ok and report.failed_run is report.etc_hosts and report.deploy is None
    assert len(fakes["runs"].calls) == 1
    fakes["runs"].rcs = [0, 0]
    fakes["not_seen"].append("kafka_broker")
    report = scaleout.run(cluster, "node4")
    assert report.failed_run is None and not report.ok
    assert [s.group for s in report.seen if not s.ok] == ["kafka_broker"]


def test_view_refuses_when_the_new_host_needs_a_missing_artifact(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from bigdata_admin import artifacts

    cluster = inventory.load(grown(tmp_path, JOINS))

    def plan(skipped: list[artifacts.Skipped]) -> Any:
        return lambda *a, **k: artifacts.DeployArtifacts([], [], skipped, "bigdata-admin artifacts fetch")

    webapp = artifacts.Skipped("storm", ["storm-webapp.tar.gz"], "missing storm-webapp.tar.gz", "fetch storm",
                               ["storm_ui"], whole=False)
    monkeypatch.setattr(artifacts, "deploy_artifacts", plan([webapp]))
    inv, absent, _ = scaleout._view(cluster, ["common", "java", "storm"], ["storm_supervisor"])
    assert "storm_ui" in absent and inv != Path(cluster.source)  # only the UI left out: a view
    hadoop = artifacts.Skipped("hdfs", ["hadoop-3.4.1-maven.tar.gz"], "missing", "fetch hdfs",
                               ["hdfs_namenode", "hdfs_datanode"], whole=True)
    monkeypatch.setattr(artifacts, "deploy_artifacts", plan([hadoop]))
    with pytest.raises(BadInput) as err:
        scaleout._view(cluster, ["common", "java", "hdfs"], ["hdfs_datanode"])
    assert "hadoop-3.4.1-maven.tar.gz" in err.value.message and "artifacts fetch" in (err.value.fix or "")


# --- CLI -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("args", "words"), [
    (["node9"], ["node9", "not in the inventory"]),
    (["node1"], ["node1 is in group(s)", "worker hosts only"]),
])
def test_cli_refuses_bad_hosts_with_exit_2(tmp_path: Path, args: list[str], words: list[str]) -> None:
    inv = grown(tmp_path, [])
    res = CliRunner().invoke(app, ["scale-out", "-i", str(inv), *args])
    text = " ".join(res.output.split())
    assert res.exit_code == 2, res.output
    assert all(w in text for w in words) and "Traceback" not in text, text


def test_cli_host_in_no_worker_group_exits_2_naming_the_groups(tmp_path: Path) -> None:
    inv = grown(tmp_path, [])
    res = CliRunner().invoke(app, ["scale-out", "-i", str(inv), "node4"])
    text = " ".join(res.output.split())
    assert res.exit_code == 2 and "no worker group" in text and "yarn_nodemanager" in text, text


def test_cli_json_report_exit_0_then_1_when_a_master_does_not_see_it(tmp_path: Path,
                                                                    fakes: dict[str, Any]) -> None:
    inv = grown(tmp_path, JOINS)
    res = CliRunner().invoke(app, ["scale-out", "-i", str(inv), "node4", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["ok"] and data["host"] == "node4" and len(data["seen"]) == 5
    assert data["deploy"]["rc"] == 0 and data["etc_hosts"]["rc"] == 0
    fakes["runs"].rcs = [0, 0]
    fakes["not_seen"].append("hbase_regionserver")
    res = CliRunner().invoke(app, ["scale-out", "-i", str(inv), "node4"])
    text = " ".join(res.output.split())
    assert res.exit_code == 1 and "not seen by the master(s) of hbase_regionserver" in text, text


def test_cli_failed_run_exits_1_naming_the_run(tmp_path: Path, fakes: dict[str, Any]) -> None:
    inv = grown(tmp_path, JOINS)
    fakes["runs"].rcs = [0, 1]
    res = CliRunner().invoke(app, ["scale-out", "-i", str(inv), "node4"])
    text = " ".join(res.output.split())
    assert res.exit_code == 1 and "stopped in the scale-out run" in text and "runs show run-2" in text, text
    fakes["runs"].rcs = [3]  # a host unreachable in the /etc/hosts run: the runner's exit code
    res = CliRunner().invoke(app, ["scale-out", "-i", str(inv), "node4"])
    assert res.exit_code == 3 and "scale-out-hosts run" in " ".join(res.output.split()), res.output


def test_common_play_etc_hosts_action_changes_only_the_hosts_block(tmp_path: Path) -> None:
    """The first step of scale-out for real (local connection, a hosts file of its own): the common play
    with bigdata_action=etc_hosts adds every inventory host to the block and changes nothing else."""
    import os
    import subprocess
    import sys

    hosts_file = tmp_path / "etc-hosts"
    hosts_file.write_text("127.0.0.1\tlocalhost\n")
    inv = tmp_path / "hosts.yml"
    inv.write_text(yaml.safe_dump({"all": {"vars": {"ansible_python_interpreter": sys.executable,
                                                    "ansible_connection": "local"},
                                           "hosts": {"n1": {"ansible_host": "10.9.9.1"},
                                                     "n4": {"ansible_host": "10.9.9.4"}}}}))
    env = {**os.environ, "BIGDATA_ADMIN_STATE_DIR": str(tmp_path / "state"),
           "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    argv = [str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(inv),
            str(paths.playbook("services/common")), "-l", "n1", "-e", "bigdata_action=etc_hosts",
            "-e", f"common_etc_hosts={hosts_file}"]
    proc = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "changed=1 " in proc.stdout, proc.stdout[-1500:]
    assert hosts_file.read_text().splitlines() == [
        "127.0.0.1\tlocalhost", "# BEGIN bigdata-admin cluster hosts", "10.9.9.1 n1", "10.9.9.4 n4",
        "# END bigdata-admin cluster hosts"]


def test_run_refuses_an_inventory_check_rejects_before_any_run(tmp_path: Path, fakes: dict[str, Any]) -> None:
    inv = grown(tmp_path, JOINS)
    data = yaml.safe_load((inv / "hosts.yml").read_text())
    data["all"]["hosts"]["node4"]["bigdata_host_memory_mb"] = 512  # below its services' heaps
    (inv / "hosts.yml").write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(BadInput) as err:
        scaleout.run(inventory.load(inv), "node4")
    assert "node4" in err.value.message and "bigdata-admin check" in (err.value.fix or "")
    assert fakes["runs"].calls == []
