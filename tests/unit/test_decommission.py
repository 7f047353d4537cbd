"""Decommission/recommission without a cluster (issue 15 item 3): host and service resolution, the
refusals (replication above the DataNodes that would remain, Kafka replication factor, last
NodeManager/RegionServer), the Kafka move plan, the verdicts on NameNode/RM answers, the control flow
against a fake cluster (commands run, in order; nothing done on a refusal) and the CLI's exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bigdata_admin import dayops, deployment, inventory
from bigdata_admin import decommission as decom
from bigdata_admin.cli import app
from bigdata_admin.dayops import GateCheck
from bigdata_admin.errors import BadInput
from bigdata_admin.health import status as status_mod

REPO = Path(__file__).resolve().parents[2]
CLASSROOM = REPO / "inventories" / "classroom"  # node1 masters; node2, node3 workers; replication 2


pytestmark = pytest.mark.usefixtures("isolated_dirs")  # state and cache under tmp_path


# --- resolution ------------------------------------------------------------------------------------------

def test_resolve_takes_every_worker_service_of_the_host_in_decommission_order(
        classroom: inventory.Cluster) -> None:
    host, services = decom.resolve(classroom, "node2", [])
    assert host.name == "node2" and services == ["hbase", "kafka", "yarn", "hdfs"]
    assert decom.resolve(classroom, "node2", ["hdfs", "yarn"])[1] == ["yarn", "hdfs"]


@pytest.mark.parametrize(("host", "services", "words"), [
    ("node9", [], ["node9", "not in the inventory", "node1, node2, node3"]),
    ("node1", ["hdfs"], ["node1 does not run hdfs (hdfs_datanode)", "kafka"]),
    ("node2", ["spark"], ["spark", "hbase, kafka, yarn, hdfs"]),
])
def test_resolve_refuses_bad_host_or_service(classroom: inventory.Cluster, host: str, services: list[str],
                                             words: list[str]) -> None:
    with pytest.raises(BadInput) as err:
        decom.resolve(classroom, host, services)
    text = f"{err.value} {err.value.fix}"
    assert all(w in text for w in words), text


# --- refusals --------------------------------------------------------------------------------------------

def test_hdfs_refused_when_replication_is_above_the_datanodes_left(classroom: inventory.Cluster) -> None:
    node2 = classroom.hosts["node2"]
    facts = decom.Facts(hdfs_replication=2, hdfs_replication_why="dfs.replication 2")
    problems = decom.refusals(classroom, node2, ["hdfs"], facts)
    assert len(problems) == 1 and "above the 1 DataNode(s) that would remain" in problems[0][0]
    assert "Add a DataNode" in problems[0][1]
    assert decom.refusals(classroom, node2, ["hdfs"], decom.Facts(hdfs_replication=1)) == []
    # A host already decommissioned does not count as remaining.
    assert decom.refusals(classroom, node2, ["hdfs"],
                          decom.Facts(hdfs_replication=1, hdfs_excluded=["node3"])) != []


def test_last_nodemanager_regionserver_and_kafka_replication_refused(classroom: inventory.Cluster) -> None:
    node2 = classroom.hosts["node2"]
    assert decom.refusals(classroom, node2, ["yarn", "hbase", "kafka"], decom.Facts(kafka_max_rf=2)) == []
    problems = decom.refusals(classroom, node2, ["yarn"], decom.Facts(yarn_excluded=["node3"]))
    assert problems and "last NodeManager" in problems[0][0]
    kafka = decom.refusals(classroom, node2, ["kafka"], decom.Facts(kafka_max_rf=3, kafka_max_rf_topic="t"))
    assert kafka and "topic 't' has replication factor 3" in kafka[0][0] and "2 broker(s)" in kafka[0][0]
    one_rs = inventory.Cluster.__new__(inventory.Cluster)
    one_rs.__dict__.update(classroom.__dict__)
    one_rs.groups = {**classroom.groups, "hbase_regionserver": ["node2"]}
    assert "last RegionServer" in decom.refusals(one_rs, node2, ["hbase"], decom.Facts())[0][0]


# --- Kafka plan ------------------------------------------------------------------------------------------

def _topic(name: str, *replicas: list[int]) -> dict[str, Any]:
    return {"name": name, "partitions": [{"partition_index": i, "replica_nodes": r, "isr_nodes": r,
                                          "leader_id": r[0]} for i, r in enumerate(replicas)]}


def test_kafka_plan_replaces_the_broker_in_place_with_the_least_loaded_one() -> None:
    topics = [_topic("a", [1, 2], [2, 3], [3, 1]), _topic("b", [1, 4])]
    plan = decom.kafka_move_plan(topics, 1, [2, 3, 4])
    assert set(plan) == {("a", 0), ("a", 2), ("b", 0)}
    assert all(1 not in r and len(set(r)) == len(r) for r in plan.values())
    assert plan[("a", 0)][1] == 2 and plan[("a", 2)][0] == 3  # others keep their place
    # Load before: 2 -> 2, 3 -> 2, 4 -> 1: the first move goes to broker 4.
    assert plan[("a", 0)][0] == 4
    assert decom.kafka_max_replication(topics) == (2, "a")


def test_broker_id_reads_kafka_python_3_and_2_fields(classroom: inventory.Cluster) -> None:
    node2 = classroom.hosts["node2"]
    brokers = [{"broker_id": 1, "host": "192.168.56.11"}, {"broker_id": 2, "host": "192.168.56.12"}]
    assert decom.broker_id(brokers, node2) == 2
    assert decom.broker_id([{"node_id": 7, "host": "node2"}], node2) == 7
    assert decom.broker_id([{"host": "192.168.56.12"}], node2) is None  # no id: not found, never -1
    assert decom.broker_id(brokers, classroom.hosts["node3"]) is None


def test_recommissioned_broker_must_be_unfenced(classroom: inventory.Cluster) -> None:
    node2 = classroom.hosts["node2"]
    hosts = classroom.hosts_in("kafka_broker")
    brokers = [{"broker_id": i + 1, "host": h.var("ansible_host"), "is_fenced": False}
               for i, h in enumerate(hosts)]
    topics = [_topic("a", [1, 3])]
    assert decom.kafka_back_verdict(brokers, topics, hosts, node2).ok
    brokers[1]["is_fenced"] = True
    fenced = decom.kafka_back_verdict(brokers, topics, hosts, node2)
    assert not fenced.ok and "fenced" in fenced.detail
    assert not decom.kafka_back_verdict([brokers[0], brokers[2]], topics, hosts, node2).ok


def test_kafka_plan_refuses_a_partition_that_cannot_move() -> None:
    with pytest.raises(BadInput, match="topic 'a' partition 0 has 3 replicas"):
        decom.kafka_move_plan([_topic("a", [1, 2, 3])], 1, [2, 3])


# --- verdicts --------------------------------------------------------------------------------------------

def _info(state: str | None, dead: bool = False) -> dict[str, Any]:
    entry = {"xferaddr": "192.168.56.12:9866", "adminState": state, "lastContact": 1}
    if dead:
        return {"LiveNodes": "{}", "DeadNodes": json.dumps({"node2:9866": {"decommissioned": True,
                                                                          "xferaddr": "192.168.56.12:9866"}})}
    return {"LiveNodes": json.dumps({"node2:9866": entry}), "DeadNodes": "{}"}


def test_hdfs_verdicts_need_decommissioned_and_every_block_replicated(classroom: inventory.Cluster) -> None:
    node2 = classroom.hosts["node2"]
    ok = {"MissingBlocks": 0, "UnderReplicatedBlocks": 0}
    assert not decom.hdfs_decommissioned_verdict(_info("Decommission In Progress"), ok, node2).ok
    under = decom.hdfs_decommissioned_verdict(_info("Decommissioned"), {"UnderReplicatedBlocks": 4}, node2)
    assert not under.ok and "4 under-replicated" in under.detail
    assert decom.hdfs_decommissioned_verdict(_info("Decommissioned"), ok, node2).ok
    assert decom.hdfs_decommissioned_verdict(_info(None, dead=True), ok, node2).ok
    assert not decom.hdfs_decommissioned_verdict({}, ok, node2).ok
    assert decom.hdfs_in_service_verdict(_info("In Service"), ok, node2).ok
    assert not decom.hdfs_in_service_verdict(_info("Decommissioned"), ok, node2).ok


def test_yarn_node_state_prefers_a_running_registration(classroom: inventory.Cluster) -> None:
    node2 = classroom.hosts["node2"]
    nodes = [{"nodeHostName": "node2", "state": "DECOMMISSIONED"},
             {"nodeHostName": "node3", "state": "RUNNING"}]
    assert decom.yarn_node_state(nodes, node2) == "DECOMMISSIONED"
    assert decom.yarn_node_state([*nodes, {"id": "node2:45454", "state": "RUNNING"}], node2) == "RUNNING"
    assert decom.yarn_node_state([], node2) == "unknown"


def test_exclude_files_parse_and_render() -> None:
    assert decom.parse_exclude("h2\n# gone\nh3 h2  # again\n\n") == ["h2", "h3"]
    assert decom.render_exclude(["h3", "h2", "h3"]) == "h2\nh3\n"


# --- control flow against a fake cluster -----------------------------------------------------------------

class FakeLive(decom.Live):
    """Files and units kept in memory; the NameNode/RM answers follow what was done."""

    def __init__(self, cluster: inventory.Cluster) -> None:
        super().__init__(cluster, run=self._run)
        self.files_on: dict[tuple[str, str], str] = {}
        self.commands: list[tuple[str, str]] = []
        self.stopped: set[str] = set()

    def _run(self, host: inventory.Host, argv: list[str], timeout: float) -> tuple[bool, str]:
        self.commands.append((host.name, " ".join(argv)))
        if argv[0] == "cat":
            return (host.name, argv[1]) in self.files_on, self.files_on.get((host.name, argv[1]), "")
        if argv[0] == "systemctl":
            (self.stopped.add if argv[1] == "stop" else self.stopped.discard)(f"{host.name}:{argv[2]}")
        return True, ""

    def write_exclude(self, host: inventory.Host, path: str, names: list[str]) -> None:
        self.commands.append((host.name, f"write {path}"))
        self.files_on[(host.name, path)] = decom.render_exclude(names)

    def excluded(self, service: str, host: str) -> list[str]:
        return decom.parse_exclude(self.files_on.get((host, self.files[service]), ""))

    def namenode_beans(self) -> tuple[dict[str, Any], dict[str, Any]]:
        out = "node2" in self.excluded("hdfs", "node1")
        blocks = {"MissingBlocks": 0, "UnderReplicatedBlocks": 0}
        return _info("Decommissioned" if out else "In Service"), blocks

    def datanode_check(self, host: inventory.Host) -> GateCheck:
        return GateCheck(f"{host.name}:hdfs-datanode" not in self.stopped, "DataNode registered")

    def rm_nodes(self) -> list[dict[str, Any]]:
        out = "node2" in self.excluded("yarn", "node1")
        return [{"nodeHostName": "node2", "state": "DECOMMISSIONED" if out else "RUNNING"}]


def test_decommission_then_recommission_hdfs_and_yarn(classroom: inventory.Cluster,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decom, "highest_file_replication", lambda _c: (1, 5))
    monkeypatch.setattr(classroom, "vars", {**classroom.vars, "hdfs_replication": 1})
    live = FakeLive(classroom)
    report = decom.run(classroom, "node2", ["hdfs", "yarn"], live=live, timeout_s=5, interval_s=0)
    assert report.ok, report.as_dict()
    assert [s.service for s in report.steps] == ["yarn", "hdfs"]
    assert live.excluded("hdfs", "node1") == ["node2"] and live.excluded("yarn", "node1") == ["node2"]
    assert live.stopped == {"node2:hdfs-datanode", "node2:yarn-nodemanager"}
    cmds = [c for _h, c in live.commands]
    assert any("runuser -u hdfs -- /usr/local/bin/hdfs dfsadmin -refreshNodes" in c for c in cmds)
    assert any("rmadmin -refreshNodes -g 5 -client" in c for c in cmds)
    # The DataNode stops only after the NameNode reported it Decommissioned.
    assert cmds.index("systemctl stop hdfs-datanode") > max(
        i for i, c in enumerate(cmds) if "dfsadmin -refreshNodes" in c)
    out = deployment.decommissioned(classroom)
    assert set(out) == {"hdfs_datanode", "yarn_nodemanager"} and all("node2" in h for h in out.values())
    # status reports the two daemons as decommissioned, outside the verdict; a rolling restart skips them.
    monkeypatch.setattr(status_mod, "unit_states", lambda _h, units: dict.fromkeys(units, "active"))
    monkeypatch.setattr(status_mod, "port_open", lambda *_a: True)
    report_now = status_mod.collect(classroom, groups=["hdfs_datanode", "yarn_nodemanager"], probes=False,
                                    not_deployed={})
    assert "node2" not in {r.host for r in report_now.rows} and report_now.rows
    assert {(d["host"], d["service"]) for d in report_now.as_dict()["decommissioned"]} == {
        ("node2", "hdfs_datanode"), ("node2", "yarn_nodemanager")}
    assert ("hdfs", "node2") not in dayops.roll_plan(classroom, ["hdfs"])

    back = decom.run(classroom, "node2", ["hdfs", "yarn"], decommission=False, live=live, timeout_s=5,
                     interval_s=0)
    assert back.ok and [s.service for s in back.steps] == ["hdfs", "yarn"]
    assert live.excluded("hdfs", "node1") == [] and not live.stopped
    assert back.as_dict()["action"] == "recommission"
    assert deployment.decommissioned(classroom) == {}


def test_refused_decommission_changes_nothing(classroom: inventory.Cluster,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decom, "highest_file_replication", lambda _c: (3, 5))
    live = FakeLive(classroom)
    with pytest.raises(BadInput, match=r"HDFS replication 3 .*highest file replication 3.*node2 stays"):
        decom.run(classroom, "node2", ["hdfs"], live=live, timeout_s=5, interval_s=0)
    assert live.commands and all(c.startswith(("cat ", "grep ")) for _h, c in live.commands)
    assert not live.files_on


def test_refused_when_the_masters_were_deployed_without_exclude_files(
        classroom: inventory.Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decom, "highest_file_replication", lambda _c: (1, 5))
    monkeypatch.setattr(classroom, "vars", {**classroom.vars, "hdfs_replication": 1})
    live = FakeLive(classroom)
    plain_run = live.run

    def no_property(host: inventory.Host, argv: list[str], timeout: float) -> tuple[bool, str]:
        return (False, "") if argv[0] == "grep" else plain_run(host, argv, timeout)

    live.run = no_property
    with pytest.raises(BadInput, match=r"names no exclude file \(node1: dfs.hosts.exclude") as err:
        decom.run(classroom, "node2", ["hdfs"], live=live, timeout_s=5, interval_s=0)
    assert "--tags hdfs,yarn" in str(err.value.fix) and not live.files_on


def test_a_wait_not_reached_stops_the_rest(classroom: inventory.Cluster,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(decom, "highest_file_replication", lambda _c: (1, 5))
    monkeypatch.setattr(classroom, "vars", {**classroom.vars, "hdfs_replication": 1})
    live = FakeLive(classroom)
    monkeypatch.setattr(live, "rm_nodes", lambda: [{"nodeHostName": "node2", "state": "DECOMMISSIONING"}])

    def raises() -> GateCheck:
        raise ConnectionRefusedError("still starting")

    looked = decom.guarded(raises, "RM")()  # a look that raises: not passed
    assert not looked.ok and looked.gate == "RM answering" and "still starting" in looked.detail
    report = decom.run(classroom, "node2", ["hdfs", "yarn"], live=live, timeout_s=0.01, interval_s=0)
    assert not report.ok and report.pending == ["hdfs"]
    assert deployment.decommissioned(classroom) == {}, "a wait not passed marks nothing"
    assert "DECOMMISSIONING" in report.steps[0].detail and "node2:yarn-nodemanager" not in live.stopped


# --- CLI -------------------------------------------------------------------------------------------------

def test_cli_refuses_unknown_host_and_replication_with_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    cli = CliRunner()
    res = cli.invoke(app, ["decommission", "node9", "-i", str(CLASSROOM)])
    assert res.exit_code == 2 and "node9" in res.output and "node1, node2, node3" in res.output
    res = cli.invoke(app, ["recommission", "node1", "-i", str(CLASSROOM), "--service", "hdfs"])
    assert res.exit_code == 2 and "does not run hdfs" in res.output

    def refuse(cluster: Any, host: Any, services: Any, facts: Any) -> list[tuple[str, str]]:
        return [("HDFS replication 2 is above the 1 DataNode(s) [x]", "Add a DataNode first.")]

    monkeypatch.setattr(decom, "gather_facts", lambda live, host, services: decom.Facts())
    monkeypatch.setattr(decom, "refusals", refuse)
    res = cli.invoke(app, ["decommission", "node2", "-i", str(CLASSROOM), "-s", "hdfs"])
    assert res.exit_code == 2 and "replication 2 is above" in res.output and "[x]" in res.output
    assert "Add a DataNode first" in res.output and "Traceback" not in res.output


def test_cli_json_report_and_exit_1_on_a_stopped_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_run(cluster: Any, host: str, services: list[str], **kw: Any) -> decom.DecomReport:
        rep = decom.DecomReport("decommission", host, cluster.name, str(cluster.source))
        rep.steps.append(decom.ServiceStep("yarn", services == ["hdfs"], "NodeManager node2 DECOMMISSIONED",
                                           "ResourceManager: DECOMMISSIONING", 1.0))
        rep.pending = ["hdfs"] if services != ["hdfs"] else []
        return rep

    monkeypatch.setattr(decom, "run", fake_run)
    cli = CliRunner()
    res = cli.invoke(app, ["decommission", "node2", "-i", str(CLASSROOM), "--service", "hdfs", "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["ok"] is True
    res = cli.invoke(app, ["decommission", "node2", "-i", str(CLASSROOM), "--service", "yarn,hdfs"])
    assert res.exit_code == 1 and "stopped at yarn" in res.output and "not done: hdfs" in res.output
