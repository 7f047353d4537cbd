"""Day-2 operations without a cluster (issue 15): the order services stop/start/restart in, the rolling
restart's plan, its health-gate verdicts on daemons' JMX/admin answers, the roll's control flow with a
fake restarter and gate, and the CLI's flags and error paths."""

from __future__ import annotations

import json
from collections.abc import Collection
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bigdata_admin import dayops, inventory
from bigdata_admin.cli import app
from bigdata_admin.dayops import GateCheck

REPO = Path(__file__).resolve().parents[2]
CLASSROOM = REPO / "inventories" / "classroom"


pytestmark = pytest.mark.usefixtures("isolated_dirs")  # state and cache under tmp_path


# --- order ---------------------------------------------------------------------------------------------

def test_stop_runs_the_service_plays_of_site_in_reverse() -> None:
    site = dayops.service_order("site")
    assert site[:3] == ["zookeeper", "hdfs", "yarn"] and site.index("hbase") > site.index("hdfs")
    assert dayops.service_order("stop") == list(reversed(site))


def test_roll_plan_restarts_masters_first_one_host_per_step(classroom: inventory.Cluster) -> None:
    plan = dayops.roll_plan(classroom, ["kafka", "hbase", "hdfs"])
    # Services in site.yml order whatever order they were named in; NameNode host before DataNodes.
    assert plan == [("hdfs", "node1"), ("hdfs", "node2"), ("hdfs", "node3"),
                    ("hbase", "node1"), ("hbase", "node2"), ("hbase", "node3"),
                    ("kafka", "node1"), ("kafka", "node2"), ("kafka", "node3")]
    assert dayops.roll_plan(classroom, ["hdfs"], limit=["node3"]) == [("hdfs", "node3")]
    assert dayops.roll_groups("hdfs")[:3] == ["hdfs_journalnode", "hdfs_namenode", "hdfs_datanode"]


# --- verdicts ------------------------------------------------------------------------------------------

def _host(name: str, addr: str) -> inventory.Host:
    return inventory.Host(name, {"ansible_host": addr}, ["hdfs_datanode"])


DN2, DN3 = _host("node2", "10.0.0.2"), _host("node3", "10.0.0.3")


def _live(**contacts: int) -> str:
    addrs = {"node2": "10.0.0.2", "node3": "10.0.0.3"}
    return json.dumps({f"{n}:9866": {"lastContact": c, "xferaddr": f"{addrs[n]}:9866"}
                       for n, c in contacts.items()})


def test_hdfs_gate_waits_for_safe_mode_then_datanodes_then_replication() -> None:
    fsn = {"MissingBlocks": 0, "UnderReplicatedBlocks": 0}
    safe = dayops.hdfs_verdict({"Safemode": "Safe mode is ON. The reported blocks 3 ...",
                                "LiveNodes": _live(node2=0, node3=0)}, fsn, [DN2, DN3], None, 0)
    assert not safe.ok and safe.gate == "NameNode out of safe mode" and "reported blocks" in safe.detail
    one = dayops.hdfs_verdict({"Safemode": "", "LiveNodes": _live(node2=0)}, fsn, [DN2, DN3], None, 0)
    assert not one.ok and one.gate == "DataNodes live" and "node3" in one.detail and "1/2" in one.detail
    stale = dayops.hdfs_verdict({"LiveNodes": _live(node2=200, node3=1)}, fsn, [DN2, DN3], DN2, 0)
    assert not stale.ok and stale.gate == "DataNode node2 live" and "200 s" in stale.detail
    under = dayops.hdfs_verdict({"LiveNodes": _live(node2=1, node3=1)},
                                {"MissingBlocks": 0, "UnderReplicatedBlocks": 7}, [DN2, DN3], DN2, 2)
    assert not under.ok and under.gate == "blocks re-replicated" and "7" in under.detail
    missing = dayops.hdfs_verdict({"LiveNodes": _live(node2=1, node3=1)},
                                  {"MissingBlocks": 1, "UnderReplicatedBlocks": 0}, [DN2, DN3], DN2, 0)
    assert not missing.ok and missing.gate == "no missing blocks"
    good = dayops.hdfs_verdict({"LiveNodes": _live(node2=1, node3=1)},
                               {"MissingBlocks": 0, "UnderReplicatedBlocks": 2}, [DN2, DN3], DN2, 2)
    assert good.ok and "2/2 DataNodes live" in good.detail
    down = dayops.hdfs_verdict({}, {}, [DN2, DN3], None, 0)
    assert not down.ok and down.gate == "NameNode answering"


def test_hbase_gate_needs_active_master_all_regionservers_and_no_regions_in_transition() -> None:
    rs2 = inventory.Host("node2", {"ansible_host": "10.0.0.2"}, ["hbase_regionserver"])
    server = {"tag.isActiveMaster": "true", "numRegionServers": 2,
              "tag.liveRegionServers": "node2,16020,1700;node3,16020,1701"}
    assert dayops.hbase_verdict(server, {"ritCount": 0}, 2, rs2).ok
    assert dayops.hbase_verdict({"tag.isActiveMaster": "false"}, {}, 2, None).gate == "an active HBase master"
    few = dayops.hbase_verdict({**server, "numRegionServers": 1}, {"ritCount": 0}, 2, rs2)
    assert few.gate == "RegionServers registered" and "1/2" in few.detail
    gone = dayops.hbase_verdict({**server, "tag.liveRegionServers": "node3,16020,1;node4,16020,2"},
                                {"ritCount": 0}, 2, rs2)
    assert gone.gate == "RegionServer node2 registered"
    rit = dayops.hbase_verdict(server, {"ritCount": 3}, 2, rs2)
    assert not rit.ok and rit.gate == "no regions in transition" and "3 region(s)" in rit.detail


def test_kafka_gate_needs_every_broker_and_complete_isr() -> None:
    hosts = [inventory.Host(f"node{i}", {"ansible_host": f"10.0.0.{i}"}, ["kafka_broker"]) for i in (1, 2)]
    brokers = [{"node_id": 1, "host": "10.0.0.1"}, {"node_id": 2, "host": "node2"}]
    topics = [{"topic": "t",
               "partitions": [{"partition": 0, "leader": 1, "replicas": [1, 2], "isr": [2, 1]}]}]
    assert dayops.kafka_verdict(brokers, topics, hosts).ok
    lag = [{"topic": "t", "partitions": [{"partition": 0, "leader": 1, "replicas": [1, 2], "isr": [1]},
                                         {"partition": 1, "leader": -1, "replicas": [1, 2], "isr": [1, 2]}]}]
    verdict = dayops.kafka_verdict(brokers, lag, hosts)
    assert not verdict.ok and verdict.gate == "in-sync replicas complete" and "2/2" in verdict.detail
    assert "t-0" in verdict.detail and "t-1" in verdict.detail
    # kafka-python 3 answers with the protocol's field names.
    v3: list[dict[str, Any]] = [{"name": "t", "partitions": [{"partition_index": 4, "leader_id": 2,
                                                               "replica_nodes": [1, 2], "isr_nodes": [2]}]}]
    lag3 = dayops.kafka_verdict(brokers, v3, hosts)
    assert not lag3.ok and "t-4" in lag3.detail
    v3[0]["partitions"][0]["isr_nodes"] = [1, 2]
    assert dayops.kafka_verdict(brokers, v3, hosts).ok
    missing = dayops.kafka_verdict(brokers[:1], topics, hosts)
    assert missing.gate == "brokers registered" and "node2" in missing.detail


def test_zookeeper_gate_needs_one_leader_and_synced_followers() -> None:
    assert dayops.zookeeper_verdict({"a": "leader", "b": "follower", "c": "follower"}, 2).ok
    lag = dayops.zookeeper_verdict({"a": "leader", "b": "follower", "c": "follower"}, 1)
    assert lag.gate == "followers in sync"
    down = dayops.zookeeper_verdict({"a": "leader", "b": "down (refused)", "c": "follower"}, 1)
    assert down.gate == "every member serving" and "b: down" in down.detail


def test_wait_gate_polls_until_pass_or_timeout() -> None:
    now = [0.0]
    looks = iter([GateCheck(False, "g"), GateCheck(False, "g"), GateCheck(True, "g")])
    check, waited = dayops.wait_gate(lambda: next(looks), 100, 5, clock=lambda: now[0],
                                     sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert check.ok and waited == 10
    now[0] = 0.0
    check, waited = dayops.wait_gate(lambda: GateCheck(False, "never"), 12, 5, clock=lambda: now[0],
                                     sleep=lambda s: now.__setitem__(0, now[0] + s))
    assert not check.ok and waited == 12


# --- the roll with fakes -------------------------------------------------------------------------------

class FakeCluster:
    """Records restarts; the gate of (role, host) fails when listed in `bad`."""

    def __init__(self, bad: Collection[tuple[str, str | None]] = frozenset(),
                 restart_fails: str | None = None):
        self.bad, self.restart_fails = set(bad), restart_fails
        self.events: list[str] = []

    def restart(self, role: str, host: str) -> tuple[bool, str, str | None]:
        self.events.append(f"restart {role} {host}")
        if host == self.restart_fails:
            return False, "Restart the Kafka service: unit failed", "run-1"
        return True, "restarted", "run-0"

    def gate(self, role: str, host: inventory.Host | None, baseline: int) -> GateCheck:
        name = host.name if host else None
        self.events.append(f"gate {role} {name}")
        if (role, name) in self.bad:
            return GateCheck(False, "in-sync replicas complete", "1/3 partition(s) under-replicated: t-0")
        return GateCheck(True, f"{role} healthy", "ok", {"under_replicated_blocks": 0})


def _roll(cluster: inventory.Cluster, fake: FakeCluster, roles: list[str], **kw: Any) -> dayops.RollReport:
    return dayops.rolling_restart(cluster, roles, restart=fake.restart, gate=fake.gate, gate_timeout_s=0,
                                  interval_s=0, **kw)


def test_roll_restarts_one_host_at_a_time_each_after_the_previous_passed(
        classroom: inventory.Cluster) -> None:
    fake = FakeCluster()
    report = _roll(classroom, fake, ["hdfs"])
    assert report.ok and [s.host for s in report.steps] == ["node1", "node2", "node3"]
    assert fake.events == ["gate hdfs None", "restart hdfs node1", "gate hdfs node1", "restart hdfs node2",
                           "gate hdfs node2", "restart hdfs node3", "gate hdfs node3"]


def test_a_failed_gate_stops_the_roll_and_names_host_gate_and_next_step(classroom: inventory.Cluster) -> None:
    fake = FakeCluster(bad={("kafka", "node2")})
    report = _roll(classroom, fake, ["kafka"])
    assert not report.ok
    assert "restart kafka node3" not in fake.events  # the roll stopped
    failed = report.failed
    assert failed is not None and (failed.host, failed.gate) == ("node2", "in-sync replicas complete")
    assert report.pending == [("kafka", "node3")]
    assert "--rolling --limit node2,node3" in report.next_step() and "status" in report.next_step()
    assert report.as_dict()["next"] == report.next_step()


def test_an_unhealthy_service_is_not_rolled_and_a_failed_restart_stops(classroom: inventory.Cluster) -> None:
    fake = FakeCluster(bad={("hbase", None)})
    report = _roll(classroom, fake, ["hbase"])
    assert not report.ok and report.precheck is not None and not any("restart" in e for e in fake.events)
    assert "nothing was restarted" in report.next_step()
    fake = FakeCluster(restart_fails="node1")
    report = _roll(classroom, fake, ["kafka"])
    assert report.failed is not None and report.failed.gate == "restart" and report.failed.run_id == "run-1"
    assert len(report.pending) == 2


def test_roll_refuses_services_not_deployed(classroom: inventory.Cluster,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    from bigdata_admin import deployment
    from bigdata_admin.errors import BadInput

    monkeypatch.setattr(deployment, "not_deployed", lambda c: {"kafka_broker": "skipped",
                                                              "kafka_controller": "skipped"})
    with pytest.raises(BadInput, match="not deployed on this inventory: kafka"):
        _roll(classroom, FakeCluster(), ["kafka"])
    with pytest.raises(BadInput, match="--limit names no host"):
        _roll(classroom, FakeCluster(), ["hdfs"], limit=["node9"])


def _tasks(items: list[Any]) -> list[dict[str, Any]]:
    """Every task of a task list, blocks opened (block, rescue, always), each block itself included."""
    out: list[dict[str, Any]] = []
    for task in items or []:
        out.append(task)
        for key in ("block", "rescue", "always"):
            out.extend(_tasks(task.get(key) or []))
    return out


def test_no_roll_relies_on_throttle_and_each_one_host_turn_stops_the_play_on_failure() -> None:
    """`throttle: 1` lets the next host go down after a failed health gate (Ansible runs the task on the
    other hosts anyway, any_errors_fatal included): daemon restarts go through one include per host whose
    block carries any_errors_fatal, which ends the play on every host at the first failure."""
    import yaml

    throttled = []
    for path in sorted((REPO / "roles").glob("*/*/*.yml")):
        if path.parent.name not in ("tasks", "handlers"):
            continue
        for task in _tasks(yaml.safe_load(path.read_text()) or []):
            command = task.get("ansible.builtin.command") or task.get("ansible.builtin.systemd_service")
            text = json.dumps(command)
            restarts = any(w in text for w in ("restart-and-wait", "restart_argv", '"restarted"'))
            if task.get("throttle") and restarts:
                throttled.append(f"{path.relative_to(REPO)}: {task.get('name')}")
    assert not throttled, throttled
    roles = REPO / "roles"
    turns = [roles / r / "tasks" / "restart_host.yml" for r in ("hdfs", "hbase", "yarn")] + [
        roles / "kafka" / "tasks" / f for f in ("restart_one.yml", "upgrade_one.yml")] + [
        roles / "hdfs" / "tasks" / f for f in ("upgrade_namenode.yml", "upgrade.yml")]
    for path in turns:
        blocks = [t for t in yaml.safe_load(path.read_text()) if "block" in t]
        assert blocks and all(t.get("any_errors_fatal") is True for t in blocks), path
    for role in ("hdfs", "hbase", "yarn"):
        handler = yaml.safe_load((REPO / "roles" / role / "handlers" / "main.yml").read_text())[0]
        assert handler["ansible.builtin.include_tasks"] == "restart_host.yml", role


# --- CLI -----------------------------------------------------------------------------------------------

def test_restart_rolling_cli_exits_1_naming_host_and_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeCluster(bad={("kafka", "node2")})
    real = dayops.rolling_restart

    def fake_roll(cluster: inventory.Cluster, roles: list[str], **kw: Any) -> dayops.RollReport:
        return real(cluster, roles, limit=kw["limit"], restart=fake.restart, gate=fake.gate,
                    gate_timeout_s=0, interval_s=0)

    monkeypatch.setattr(dayops, "rolling_restart", fake_roll)
    cli = CliRunner()
    res = cli.invoke(app, ["restart", "-i", str(CLASSROOM), "kafka", "--rolling"])
    assert res.exit_code == 1, res.output
    assert "stopped at node2 (kafka)" in res.output and "in-sync replicas complete" in res.output
    assert "next:" in res.output and "--limit node2,node3" in res.output
    res = cli.invoke(app, ["restart", "-i", str(CLASSROOM), "kafka", "--rolling", "--json"])
    body = json.loads(res.stdout)
    assert res.exit_code == 1 and body["ok"] is False and body["pending"] == [{"service": "kafka",
                                                                             "host": "node3"}]
    fake.bad.clear()
    res = cli.invoke(app, ["restart", "-i", str(CLASSROOM), "kafka", "--rolling", "--limit", "node3"])
    assert res.exit_code == 0 and "1 host restart(s) passed" in res.output


@pytest.mark.parametrize(("args", "needle"), [
    (["--rolling", "--check"], "--rolling cannot be combined with --check"),
    (["--rolling", "--limit", "nodeX"], "--limit names unknown host(s): nodeX"),
    (["hfds", "--rolling"], "unknown service 'hfds'"),
])
def test_restart_rolling_bad_input_exits_2(args: list[str], needle: str) -> None:
    res = CliRunner().invoke(app, ["restart", "-i", str(CLASSROOM), *args])
    assert res.exit_code == 2, res.output
    assert needle in res.output and "Traceback" not in res.output


# --- destroy -------------------------------------------------------------------------------------------

def test_destroy_plays_run_in_stop_order_then_common_and_every_role_has_the_action() -> None:
    import yaml

    assert dayops.service_order("destroy") == dayops.service_order("stop")
    plays = yaml.safe_load((REPO / "playbooks" / "destroy.yml").read_text())
    assert plays[-1]["ansible.builtin.import_playbook"] == "services/common.yml"
    for role in [*dayops.service_order("destroy"), "common"]:
        assert (REPO / "roles" / role / "tasks" / "destroy.yml").is_file(), role
        main = (REPO / "roles" / role / "tasks" / "main.yml").read_text()
        assert "'destroy'" in main or "bigdata_action | default('deploy') }}.yml" in main, role
        spec = (REPO / "roles" / role / "meta" / "argument_specs.yml").read_text()
        assert "destroy" in spec, role


def test_destroy_without_the_flag_exits_2_naming_it_and_touches_nothing(
        monkeypatch: pytest.MonkeyPatch) -> None:
    called: list[Any] = []
    monkeypatch.setattr(dayops, "destroy", lambda *a, **kw: called.append((a, kw)))
    cli = CliRunner()
    res = cli.invoke(app, ["destroy", "-i", str(CLASSROOM)])
    assert res.exit_code == 2 and "--yes-i-really-really-mean-it" in res.output
    assert "nothing was touched" in res.output and "kept unless --purge-data" in res.output
    res = cli.invoke(app, ["destroy", "-i", str(CLASSROOM), "--purge-data"])
    assert res.exit_code == 2 and "DELETES THEIR DATA" in res.output
    res = cli.invoke(app, ["destroy", "-i", str(CLASSROOM), "--yes-i-really"])
    assert res.exit_code == 2  # no abbreviation of the flag is accepted
    assert not called


def test_destroy_with_the_flag_runs_the_destroy_playbook_and_records_it(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from bigdata_admin import deployment, runner

    seen: dict[str, Any] = {}

    def fake_run(playbook: str, inv: Path, **kw: Any) -> runner.RunResult:
        seen.update(playbook=playbook, **kw)
        run_dir = tmp_path / "run-1"
        run_dir.mkdir(exist_ok=True)
        return runner.RunResult(0, "successful", {}, [], run_dir, label="destroy")

    monkeypatch.setattr(runner, "run_playbook", fake_run)
    res = CliRunner().invoke(app, ["destroy", "-i", str(CLASSROOM), "--yes-i-really-really-mean-it",
                                   "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["purged_data"] is False
    assert seen["playbook"] == "destroy"
    assert seen["extravars"] == {"bigdata_action": "destroy", "bigdata_purge_data": False}
    absent = deployment.not_deployed(inventory.load(CLASSROOM))
    assert "destroyed at" in absent["hdfs_namenode"] and "deploy -i" in absent["hdfs_namenode"]


# --- logs ----------------------------------------------------------------------------------------------

def test_since_takes_spans_and_iso_times_in_utc() -> None:
    from datetime import UTC, datetime

    from bigdata_admin.errors import BadInput

    now = datetime(2026, 11, 30, 12, 0, 0, tzinfo=UTC)
    assert dayops.parse_since("30m", now) == "2026-11-30 11:30:00 UTC"
    assert dayops.parse_since("2d", now) == "2026-11-28 12:00:00 UTC"
    assert dayops.parse_since("2026-11-30T10:15", now) == "2026-11-30 10:15:00 UTC"
    assert dayops.parse_since("2026-11-30T10:15+01:00", now) == "2026-11-30 09:15:00 UTC"
    assert dayops.parse_since(None) is None
    with pytest.raises(BadInput, match="neither a span nor a date"):
        dayops.parse_since("yesterday")


def test_logs_plan_takes_each_hosts_log_folders_and_units(classroom: inventory.Cluster) -> None:
    plan = dayops.logs_plan(classroom, ["hdfs", "kafka"])
    assert plan["node1"] == {"paths": ["/var/log/bigdata/hadoop", "/var/log/bigdata/kafka"],
                             "units": ["hdfs-namenode", "kafka"]}
    assert plan["node2"]["units"] == ["hdfs-datanode", "kafka"]
    everything = dayops.logs_plan(classroom, [])
    assert "/var/log/postgresql" in everything["node1"]["paths"]
    assert "zookeeper" in everything["node1"]["units"]


def test_merge_archives_puts_every_host_under_one_folder(tmp_path: Path) -> None:
    import io
    import tarfile

    parts = {}
    for host in ("h1", "h2"):
        part = tmp_path / f"{host}.tar.gz"
        with tarfile.open(part, "w:gz") as tar:
            body = f"log of {host}\n".encode()
            info = tarfile.TarInfo(f"{host}/journal/kafka.log")
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
            evil = tarfile.TarInfo("../escape")
            evil.size = 1
            tar.addfile(evil, io.BytesIO(b"x"))
        parts[host] = part
    counts = dayops.merge_archives(parts, tmp_path / "out" / "all.tar.gz", "lab-logs")
    assert counts == {"h1": {"files": 1, "bytes": 10}, "h2": {"files": 1, "bytes": 10}}
    with tarfile.open(tmp_path / "out" / "all.tar.gz") as tar:
        assert sorted(tar.getnames()) == ["lab-logs/h1/journal/kafka.log", "lab-logs/h2/journal/kafka.log"]


def test_logs_cli_bad_input_exits_2() -> None:
    cli = CliRunner()
    res = cli.invoke(app, ["logs", "-i", str(CLASSROOM), "--since", "last tuesday"])
    assert res.exit_code == 2 and "neither a span nor a date" in res.output
    res = cli.invoke(app, ["logs", "-i", str(CLASSROOM), "hbsae"])
    assert res.exit_code == 2 and "unknown service" in res.output


# --- deploy --resume -----------------------------------------------------------------------------------

def _fake_deploy_run(run_id: str, rc: int, failures: list[dict[str, Any]], tags: list[str]) -> None:
    from bigdata_admin import deployment, paths

    run_dir = paths.runs_dir() / run_id
    run_dir.mkdir(parents=True)
    (run_dir / "run.json").write_text(json.dumps({
        "label": "deploy", "rc": rc, "status": "failed" if rc else "successful", "tags": tags,
        "skip_tags": ["storm"], "failures": failures, "recap": {},
        "plays": ["Validate the inventory before touching any host", "Common node settings", "ZooKeeper",
                  "HDFS"]}))
    cluster = inventory.load(CLASSROOM)
    deployment.record_deploy(cluster, deployment.deployed_groups(cluster, tags, [], ()), {}, run_id)


def test_resume_continues_from_the_failed_play_with_the_runs_tags(monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = inventory.load(CLASSROOM)
    from bigdata_admin.errors import BadInput

    with pytest.raises(BadInput, match="nothing to resume"):
        dayops.resume_plan(cluster)
    _fake_deploy_run("20261130T100000Z-deploy", 1,
                     [{"host": "node2", "task": "Start the DataNode", "message": "boom", "play": "HDFS"}], [])
    plan = dayops.resume_plan(cluster)
    assert plan is not None and plan.run_id == "20261130T100000Z-deploy" and plan.failed_play == "HDFS"
    assert plan.tags[:3] == ["hdfs", "yarn", "hbase"] and "zookeeper" not in plan.tags
    assert "storm" not in plan.tags and plan.skip_tags == ["storm"]

    seen: dict[str, Any] = {}
    from bigdata_admin import artifacts, runner

    def fake_run(playbook: str, inv: Path, **kw: Any) -> runner.RunResult:
        seen.update(kw)
        raise SystemExit(0)

    monkeypatch.setattr(artifacts, "deploy_artifacts", lambda c, t, s: type(
        "Plan", (), {"missing": [], "skipped": [], "skipped_tags": {}, "skipped_groups": {}})())
    monkeypatch.setattr(runner, "run_playbook", fake_run)
    res = CliRunner().invoke(app, ["deploy", "-i", str(CLASSROOM), "--resume"])
    assert "resuming deploy 20261130T100000Z-deploy from play 'HDFS'" in res.output
    assert seen["tags"] == plan.tags and seen["skip_tags"] == ["storm"]
    res = CliRunner().invoke(app, ["deploy", "-i", str(CLASSROOM), "--resume", "--tags", "hdfs"])
    assert res.exit_code == 2 and "cannot be combined with --tags" in res.output


def test_resume_after_a_good_deploy_has_nothing_to_do() -> None:
    _fake_deploy_run("20261130T110000Z-deploy", 0, [], ["zookeeper"])
    res = CliRunner().invoke(app, ["deploy", "-i", str(CLASSROOM), "--resume"])
    assert res.exit_code == 0 and "nothing to resume" in res.output


def test_runs_show_says_which_plays_ran_and_where_it_failed() -> None:
    _fake_deploy_run("20261130T120000Z-deploy", 1,
                     [{"host": "node2", "task": "Start the DataNode", "message": "boom", "play": "HDFS"}], [])
    res = CliRunner().invoke(app, ["runs", "show", "last"])
    assert res.exit_code == 0, res.output
    assert "plays that ran:" in res.output and "ZooKeeper, HDFS (failed in HDFS)" in res.output


def test_a_restarted_datanode_must_have_sent_a_block_report_since_it_started() -> None:
    actor = {"ActorState": "RUNNING", "NamenodeAddress": "node1:8020", "LastBlockReport": "12"}
    assert dayops.datanode_verdict("node2", {"BPServiceActorInfo": json.dumps([actor])}, 60_000).ok
    old = dayops.datanode_verdict("node2", {"BPServiceActorInfo": json.dumps([actor])}, 5_000)
    assert not old.ok and old.gate == "DataNode node2 block report sent"
    starting = {**actor, "ActorState": "CONNECTING"}
    assert not dayops.datanode_verdict("node2", {"BPServiceActorInfo": json.dumps([starting])}, 60_000).ok
    assert dayops.datanode_verdict("node2", {}, 60_000).gate == "DataNode node2 registered"


def test_replication_is_waited_for_only_when_asked(classroom: inventory.Cluster) -> None:
    seen: list[int] = []

    def gate(role: str, host: inventory.Host | None, baseline: int) -> GateCheck:
        seen.append(baseline)
        return GateCheck(True, "hdfs healthy", "", {"under_replicated_blocks": 4})

    fake = FakeCluster()
    dayops.rolling_restart(classroom, ["hdfs"], restart=fake.restart, gate=gate, gate_timeout_s=0,
                           interval_s=0, limit=["node2"])
    assert seen == [10**9, 10**9]
    seen.clear()
    dayops.rolling_restart(classroom, ["hdfs"], restart=fake.restart, gate=gate, gate_timeout_s=0,
                           interval_s=0, limit=["node2"], wait_replication=True)
    assert seen == [10**9, 4]  # the pre-check reads the count the hosts' gates compare with
