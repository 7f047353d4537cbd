"""Day-2 operations for real on the main job's lab (issue 15).

In CI (on the session's `main_lab`):
- a rolling restart of HDFS's DataNodes while a loop writes small files through WebHDFS loses no
  acknowledged write, and every host passes its health gate; the HMaster, whose store WAL was open all
  along, survives its next write (a new table); the cluster is healthy again afterwards (opted in: the
  NameNode's host too);
- a writer whose pipeline is a single DataNode keeps writing through that DataNode's rolling restart
  (the DataNode's out-of-band restart notice);
- `logs hdfs --since` brings each HDFS host's log files and journal back in one archive;
- a deploy that failed at Kafka resumes from Kafka (`deploy --resume`), and `runs show` says what ran;
- `decommission`: a DataNode the replication needs is refused (exit 2, nothing done: `lab up`'s layout
  has 2 DataNodes at replication 2); a NodeManager is gracefully decommissioned (the other one is then
  refused as the last) and recommissioned, `status` healthy again; a Kafka broker is refused while a
  topic is replicated on every broker. With a DataNode to spare (3 DataNodes at replication 2: add h1 to
  hdfs_datanode and deploy hdfs) one DataNode and its NodeManager are decommissioned (Decommissioned,
  0 missing and 0 under-replicated blocks, a file written before reads back), a second DataNode is
  refused, and both come back In Service;
- rolling restarts of HBase and Kafka pass their gates (regions online, in-sync replicas complete);
- decommission of a RegionServer (regions unloaded, a table still readable) and recommission; of a Kafka
  broker when its partitions fit on the others (with the lab's 3 brokers they never do: the scale-out
  test decommissions the broker it adds).
These tests restart daemons, so they carry the `mutates_cluster` mark: conftest.py runs them after every
other test of the session.

Opt-in (BIGDATA_TEST_DAYOPS_LAB=1; minutes, and it takes the whole lab down and up again): `destroy`
without --purge-data leaves the data and nothing running; a new deploy finds it (the NameNode keeps its
cluster id and a file written before reads back). CI runs that check on the HA lab's smaller cluster
(test_hdfs_ha_lab.py), with both NameNodes and Kafka's cluster id.
Against a lab of your own: BIGDATA_MAIN_LAB_NAME=ops BIGDATA_MAIN_LAB_REUSE=1 BIGDATA_LAB_KEEP=1.
"""

from __future__ import annotations

import json
import re
import tarfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import labtools
import pytest
from labtools import (
    assert_destroyed_keeping_data,
    cli,
    datanode_round_trip,
    datanode_states,
    hbase_deployed,
    hbase_get,
    hbase_put,
    main_lab_cluster,
    main_pids,
    wait_healthy,
    why_restarted,
)

from bigdata_admin import dayops, inventory

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.mutates_cluster]

HDFS_NEEDED = (("hdfs_namenode", "the HDFS NameNode"), ("hdfs_datanode", "HDFS DataNodes"))
OPT_IN = labtools.opted_in("BIGDATA_TEST_DAYOPS_LAB")
opt_in = labtools.opt_in("BIGDATA_TEST_DAYOPS_LAB", "takes minutes and restarts or redeploys the whole lab")


def _wait_all_healthy(cluster: Any, timeout: float = 180) -> Any:
    """status of every deployed service, looked at until healthy or `timeout` seconds went by."""
    return wait_healthy(cluster, timeout, interval=3)


class WriteLoop:
    """Writes small files through WebHDFS until stopped; keeps the acknowledged ones."""

    def __init__(self, cluster: Any, folder: str) -> None:
        self.cluster, self.folder = cluster, folder
        self.acked: dict[str, bytes] = {}
        self.failed: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from bigdata_admin.clients import webhdfs_client

        i = 0
        while not self._stop.is_set():
            path, body = f"{self.folder}/f-{i:05d}", f"write {i} {uuid.uuid4()}\n".encode()
            i += 1
            try:
                webhdfs_client(self.cluster, timeout=10).write(path, data=body, overwrite=True)
            except Exception as exc:  # any failure: not acknowledged, try the next one
                self.failed.append(f"{path}: {type(exc).__name__}: {str(exc)[:120]}")
                time.sleep(0.5)
                continue
            self.acked[path] = body
            time.sleep(0.2)

    def __enter__(self) -> WriteLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def test_rolling_restart_of_hdfs_during_a_write_loop_loses_no_write(main_lab: dict[str, Any],
                                                                    record_property: Any) -> None:
    from bigdata_admin.clients import webhdfs_client

    cluster = main_lab_cluster(main_lab, HDFS_NEEDED)
    # CI rolls the DataNodes (the write path; about 2 min on a busy lab); opted in, the NameNode too
    # (its restart alone takes a minute and a half there, and refuses writes meanwhile).
    roles_groups = ("hdfs_namenode", "hdfs_datanode", "hdfs_journalnode") if OPT_IN else ("hdfs_datanode",)
    roll_hosts = [h.name for g in roles_groups for h in cluster.hosts_in(g)]
    folder = f"/tmp/dayops-roll-{uuid.uuid4().hex[:8]}"
    hbase = hbase_deployed(cluster)
    masters = main_pids(cluster, ["hbase_master"]) if hbase else {}
    started = time.monotonic()
    with WriteLoop(cluster, folder) as loop:
        time.sleep(3)  # some writes before the first restart
        report = dayops.rolling_restart(cluster, ["hdfs"], limit=roll_hosts, progress=print)
        before_end = len(loop.acked)
        deadline = time.monotonic() + 30
        while len(loop.acked) < before_end + 3 and time.monotonic() < deadline:
            time.sleep(0.5)  # and some after the last one
    seconds = time.monotonic() - started
    assert report.ok, report.as_dict()
    assert [s.host for s in report.steps] and {s.host for s in report.steps} == set(roll_hosts)
    assert all(s.ok and s.gate == "hdfs healthy" for s in report.steps)
    client = webhdfs_client(cluster)
    lost = []
    for path, body in loop.acked.items():
        with client.read(path) as reader:
            if reader.read() != body:
                lost.append(path)
    record_property("writes_acknowledged", len(loop.acked))
    record_property("writes_refused", len(loop.failed))
    print(f"rolling restart of HDFS: {len(report.steps)} host(s) in {report.seconds:.1f} s; "
          f"{len(loop.acked)} writes acknowledged, {len(loop.failed)} refused during restarts, "
          f"{len(lost)} lost; test {seconds:.1f} s")
    assert len(loop.acked) >= 10 and not lost, (lost[:5], loop.failed[:5])
    client.delete(folder, recursive=True)
    if hbase:
        # The HMaster's store WAL stayed open through every DataNode's restart; at replication 2 a plain
        # restart of each left it no DataNode, and the HMaster aborted at its next write (a new table
        # is one). The DataNodes now tell their writers they are restarting (hdfs-datanode-restart).
        table = f"dayops_roll_{uuid.uuid4().hex[:8]}"
        hbase_put(cluster, table, "after-roll", "ok", create=True)
        assert hbase_get(cluster, table, "after-roll") == b"ok"
        after = main_pids(cluster, ["hbase_master"])
        assert after == masters, "the HMaster restarted after the DataNodes' roll:\n" + why_restarted(
            cluster, masters, after)
    health = _wait_all_healthy(cluster)
    assert health.healthy, [(r.host, r.group, r.problem) for r in health.unhealthy]


def _open_writer(host: Any, workdir: str, path: str, first_bytes: int) -> None:
    """On `host`: `hdfs dfs -put -` of `path` at replication 1, fed from a FIFO; `first_bytes` now, as many
    again once `workdir`/go exists, then end of input. Its exit status lands in `workdir`/rc."""
    from bigdata_admin.health import remote

    script = f"""set -e
mkdir -p {workdir} && cd {workdir} && mkfifo f
cat > run.sh <<'EOS'
exec 3<>{workdir}/f
(exec 3>&-; runuser -u hdfs -- /usr/local/bin/hdfs dfs -D dfs.replication=1 -put - {path} < {workdir}/f
 echo $? > {workdir}/rc) &
head -c {first_bytes} /dev/zero >&3
while [ ! -e {workdir}/go ]; do sleep 1; done
head -c {first_bytes} /dev/zero >&3
exec 3>&-
wait
EOS
setsid nohup bash run.sh > log 2>&1 < /dev/null &
"""
    res = remote.run(host, ["bash", "-c", script], become=True, timeout=60)
    assert res.ok, res.stderr


def test_a_single_replica_writer_keeps_writing_through_its_datanodes_restart(
        main_lab: dict[str, Any]) -> None:
    """A pipeline of one DataNode (replication 1 here; at replication 2, what an HBase WAL is left with
    after one DataNode's restart) survives that DataNode's restart by `restart hdfs --rolling`: the
    DataNode tells the writer it is restarting (`dfsadmin -shutdownDatanode ... upgrade`) and the writer
    waits for it. A plain `systemctl restart` failed it: "All datanodes [...] are bad. Aborting" (checked
    by hand on the lab, 2026-12-01), the error that aborted the HMaster in a CI rehearsal."""
    from bigdata_admin.health import remote

    cluster = main_lab_cluster(main_lab, HDFS_NEEDED)
    nn = cluster.hosts_in("hdfs_namenode")[0]
    tag = uuid.uuid4().hex[:8]
    path, workdir, size = f"/tmp/oob-{tag}", f"/tmp/bigdata-oob-{tag}", 300_000
    _open_writer(nn, workdir, path, size)
    where = ""
    deadline = time.monotonic() + 120
    while not where and time.monotonic() < deadline:  # the pipeline of the file being written
        time.sleep(3)
        fsck = remote.run(nn, ["sh", "-c", f"runuser -u hdfs -- /usr/local/bin/hdfs fsck {path}._COPYING_ "
                               "-files -blocks -locations -openforwrite 2>/dev/null"],
                          become=True, timeout=120)
        found = re.findall(r"DatanodeInfoWithStorage\[([0-9.]+):", fsck.stdout)
        where = found[0] if found else ""
    assert where, "the writer never opened its pipeline: " + remote.run(
        nn, ["cat", f"{workdir}/log"], become=True, timeout=30).stdout[-2000:]
    dn = next(h for h in cluster.hosts_in("hdfs_datanode") if h.address == where)
    report = dayops.rolling_restart(cluster, ["hdfs"], limit=[dn.name], progress=print)
    assert report.ok, report.as_dict()
    remote.run(nn, ["touch", f"{workdir}/go"], become=True, timeout=30)
    rc = ""
    deadline = time.monotonic() + 180
    while not rc and time.monotonic() < deadline:
        time.sleep(2)
        answer = remote.run(nn, ["cat", f"{workdir}/rc"], become=True, timeout=30)
        rc = answer.stdout.strip() if answer.ok else ""
    log = remote.run(nn, ["cat", f"{workdir}/log"], become=True, timeout=30).stdout[-2000:]
    assert rc == "0", f"the writer through {dn.name}'s DataNode failed (rc {rc!r}):\n{log}"
    assert "is restarting" in log, log  # the DataNode's out-of-band notice reached the writer
    stat = remote.run(nn, ["runuser", "-u", "hdfs", "--", "/usr/local/bin/hdfs", "dfs", "-stat", "%b", path],
                      become=True, timeout=60)
    assert stat.stdout.strip() == str(2 * size), stat.stdout + stat.stderr
    cleanup = f"rm -rf {workdir}; runuser -u hdfs -- /usr/local/bin/hdfs dfs -rm -f {path}"
    remote.run(nn, ["sh", "-c", cleanup], become=True, timeout=60)


def test_logs_bring_every_hdfs_hosts_files_and_journal_into_one_archive(main_lab: dict[str, Any],
                                                                       tmp_path: Path) -> None:
    cluster = main_lab_cluster(main_lab, HDFS_NEEDED)
    out = tmp_path / "logs.tar.gz"
    report = dayops.collect_logs(cluster, ["hdfs"], since=dayops.parse_since("1d"), output=out)
    assert report.archive == out and not report.missing
    with tarfile.open(out) as tar:
        names = tar.getnames()
    nn = cluster.hosts_in("hdfs_namenode")[0].name
    dn = cluster.hosts_in("hdfs_datanode")[0].name
    assert any(n.endswith(f"/{nn}/journal/hdfs-namenode.log") for n in names), names[:20]
    assert any(n.endswith(f"/{dn}/journal/hdfs-datanode.log") for n in names), names[:20]
    assert any(f"/{nn}/files/" in n and "namenode" in n for n in names), names[:20]
    assert set(report.hosts) == {h.name for g in ("hdfs_namenode", "hdfs_datanode", "hdfs_journalnode")
                                 for h in cluster.hosts_in(g)}


def test_a_failed_deploy_resumes_from_the_failed_service(main_lab: dict[str, Any]) -> None:
    """A deploy of ZooKeeper, Kafka and Storm stopped at Kafka (a value of the wrong type in the inventory:
    the kafka role's argument check fails before it touches a host), then, with the inventory fixed,
    `deploy --resume` runs with the tags of Kafka and Storm only and changes nothing; `runs show` names the
    play that failed. (`--skip-unavailable`: the lab has no Storm web bundle, as in the main job.)"""
    import yaml

    cluster = main_lab_cluster(main_lab, (("kafka_broker", "Kafka brokers"),))
    group_vars = Path(cluster.source) / "group_vars" / "all.yml"
    original = group_vars.read_text()

    def run(*args: str) -> Any:
        return labtools.cli_process(*args, timeout=1200, columns=200)  # `runs show`'s play list on one line

    try:
        broken = yaml.safe_load(original) | {"kafka_start_timeout": "soon"}
        group_vars.write_text(yaml.safe_dump(broken, sort_keys=False))
        failed = run("deploy", "-i", str(cluster.source), "--tags", "zookeeper,kafka,storm",
                     "--skip-unavailable")
        assert failed.returncode != 0, failed.stdout[-3000:]
        shown = run("runs", "show", "last")
        assert "(failed in Kafka)" in shown.stdout and "ZooKeeper" in shown.stdout, shown.stdout[-3000:]
    finally:
        group_vars.write_text(original)
    resumed = run("deploy", "-i", str(cluster.source), "--resume", "--skip-unavailable")
    assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
    assert "from play 'Kafka'" in resumed.stderr and "tags kafka,storm" in resumed.stderr, resumed.stderr
    shown = run("runs", "show", "last", "--json")
    info = json.loads(shown.stdout)
    assert info["rc"] == 0 and info["tags"] == ["kafka", "storm"], info
    changed = {h: r.get("changed", 0) for h, r in (info.get("recap") or {}).items()}
    assert changed and not any(changed.values()), changed
    assert run("deploy", "-i", str(cluster.source), "--resume").stdout.count("nothing to resume") == 1


def test_rolling_restart_of_hbase_and_kafka_passes_their_gates(main_lab: dict[str, Any]) -> None:
    cluster = main_lab_cluster(main_lab, (("hbase_regionserver", "HBase RegionServers"),
                                          ("kafka_broker", "Kafka brokers")))
    from kafka.admin import KafkaAdminClient, NewTopic

    from bigdata_admin.health.core import kafka_bootstrap

    topic = f"dayops-{uuid.uuid4().hex[:6]}"
    brokers = len(cluster.hosts_in("kafka_broker"))
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap(cluster))
    try:
        admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=min(3, brokers))])
    finally:
        admin.close()
    report = dayops.rolling_restart(cluster, ["hbase", "kafka"], progress=print)
    assert report.ok, report.as_dict()
    gates = {(s.role, s.gate) for s in report.steps}
    assert gates == {("hbase", "hbase healthy"), ("kafka", "kafka healthy")}, gates
    kafka_steps = [s for s in report.steps if s.role == "kafka"]
    assert all("fully in sync" in s.detail for s in kafka_steps)
    for role in ("hbase", "kafka"):
        steps = [s for s in report.steps if s.role == role]
        print(f"{role}: {len(steps)} host(s), " + ", ".join(f"{s.host} {s.restart_s + s.gate_s:.1f} s"
                                                          for s in steps))
    assert _wait_all_healthy(cluster).healthy


@opt_in
def test_destroy_keeps_the_data_and_a_new_deploy_finds_it(main_lab: dict[str, Any]) -> None:
    from bigdata_admin.clients import webhdfs_client
    from bigdata_admin.health.probes_hadoop import jmx

    cluster = main_lab_cluster(main_lab, HDFS_NEEDED)
    roles = dayops.deployed_roles(cluster)
    nn = cluster.hosts_in("hdfs_namenode")[0]
    nn_http = int(cluster.var("hdfs_namenode_http_port"))

    def cluster_id() -> str:
        return str(jmx(nn.address or nn.name, nn_http, "Hadoop:service=NameNode,name=NameNodeInfo")[0]
                   ["ClusterId"])

    before_id = cluster_id()
    path, body = f"/tmp/dayops-destroy-{uuid.uuid4().hex[:8]}", b"written before destroy\n"
    webhdfs_client(cluster).write(path, data=body)
    started = time.monotonic()
    refused = labtools.cli_process("destroy", "-i", str(cluster.source))
    assert refused.returncode == 2 and "--yes-i-really-really-mean-it" in refused.stderr
    gone = labtools.cli_process("destroy", "-i", str(cluster.source), "--yes-i-really-really-mean-it")
    destroy_s = time.monotonic() - started
    assert gone.returncode == 0, gone.stdout[-3000:] + gone.stderr[-3000:]
    assert_destroyed_keeping_data(cluster)
    started = time.monotonic()
    tags = ",".join(["common", "java", *roles])
    again = labtools.cli_process("deploy", "-i", str(cluster.source), "--tags", tags)
    deploy_s = time.monotonic() - started
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    print(f"destroy {destroy_s:.1f} s, deploy again ({tags}) {deploy_s:.1f} s")
    assert cluster_id() == before_id  # not re-formatted
    cluster = inventory.load(cluster.source)
    with webhdfs_client(cluster).read(path) as reader:
        assert reader.read() == body
    assert _wait_all_healthy(cluster).healthy


# --- decommission ----------------------------------------------------------------------------------------

def test_datanode_decommission_refused_while_the_replication_needs_every_datanode(
        main_lab: dict[str, Any]) -> None:
    cluster = main_lab_cluster(main_lab, HDFS_NEEDED)
    dns = [h.name for h in cluster.hosts_in("hdfs_datanode")]
    replication = int(cluster.var("hdfs_replication"))
    if len(dns) - 1 >= replication:
        pytest.skip(f"{len(dns)} DataNodes at replication {replication}: one may leave "
                    "(test_decommission_a_datanode_then_recommission covers it)")
    refused = cli("decommission", dns[-1], "-i", str(cluster.source), "--service", "hdfs")
    assert refused.exit_code == 2, refused.output
    assert f"HDFS replication {replication}" in refused.output
    assert f"above the {len(dns) - 1} DataNode(s) that would remain" in refused.output, refused.output
    assert "Add a DataNode first" in refused.output
    assert set(datanode_states(cluster).values()) == {"In Service"}  # nothing done


def test_decommission_a_nodemanager_then_recommission(main_lab: dict[str, Any], record_property: Any) -> None:
    from bigdata_admin import decommission

    cluster = main_lab_cluster(main_lab, (("yarn_nodemanager", "YARN NodeManagers"),))
    nms = cluster.hosts_in("yarn_nodemanager")
    if len(nms) < 2:
        pytest.skip("needs 2 NodeManagers")
    target = nms[-1]
    started = time.monotonic()
    report = decommission.run(cluster, target.name, ["yarn"], timeout_s=240, progress=print)
    decom_s = time.monotonic() - started
    assert report.ok, report.as_dict()
    live = decommission.Live(cluster)
    assert decommission.yarn_node_state(live.rm_nodes(), target) == "DECOMMISSIONED"
    assert target.name in live.read_exclude(cluster.hosts_in("yarn_resourcemanager")[0], live.files["yarn"])
    # status: the NodeManager reported as decommissioned, not down; the RM expects one fewer.
    from bigdata_admin.health.status import collect

    st = collect(cluster, groups=["yarn_resourcemanager", "yarn_nodemanager"])
    assert [(d["host"], d["service"]) for d in st.decommissioned] == [(target.name, "yarn_nodemanager")]
    assert st.healthy, [(r.host, r.group, r.problem) for r in st.unhealthy]
    last = cli("decommission", nms[0].name, "-i", str(cluster.source), "--service", "yarn")
    if len(nms) == 2:  # the other one is now the last NodeManager in service
        assert last.exit_code == 2 and "last NodeManager" in last.output, last.output
    started = time.monotonic()
    back = decommission.run(cluster, target.name, ["yarn"], decommission=False, timeout_s=240, progress=print)
    recom_s = time.monotonic() - started
    assert back.ok, back.as_dict()
    assert decommission.yarn_node_state(live.rm_nodes(), target) == "RUNNING"
    health = _wait_all_healthy(cluster)
    assert health.healthy, [(r.host, r.group, r.problem) for r in health.unhealthy]
    record_property("decommission_s", round(decom_s, 1))
    record_property("recommission_s", round(recom_s, 1))
    print(f"NodeManager {target.name}: decommission {decom_s:.1f} s, recommission {recom_s:.1f} s")


def test_decommission_a_datanode_then_recommission(main_lab: dict[str, Any], record_property: Any) -> None:
    cluster = main_lab_cluster(main_lab, HDFS_NEEDED)
    dns = [h.name for h in cluster.hosts_in("hdfs_datanode")]
    replication = int(cluster.var("hdfs_replication"))
    if len(dns) - 1 < replication:
        pytest.skip(f"{len(dns)} DataNodes at replication {replication}: none may leave (the scale-out test "
                    "decommissions the DataNode it adds; or add h1 to hdfs_datanode in the lab's hosts.yml "
                    "and deploy hdfs)")
    datanode_round_trip(cluster, record_property)


def test_kafka_decommission_refused_while_a_topic_is_on_every_broker(main_lab: dict[str, Any]) -> None:
    from kafka.admin import KafkaAdminClient, NewTopic

    from bigdata_admin.health.core import kafka_bootstrap

    cluster = main_lab_cluster(main_lab, (("kafka_broker", "Kafka brokers"),))
    brokers = cluster.hosts_in("kafka_broker")
    topic = f"decom-{uuid.uuid4().hex[:6]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap(cluster))
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=len(brokers))])
        res = cli("decommission", brokers[-1].name, "-i", str(cluster.source), "--service", "kafka")
        assert res.exit_code == 2, res.output
        assert f"has replication factor {len(brokers)}" in res.output and "Add a broker" in res.output
    finally:
        admin.delete_topics([topic])
        admin.close()


def test_decommission_a_regionserver_then_recommission(main_lab: dict[str, Any]) -> None:
    from bigdata_admin import decommission

    cluster = main_lab_cluster(main_lab, (("hbase_regionserver", "HBase RegionServers"),))
    rss = cluster.hosts_in("hbase_regionserver")
    if len(rss) < 2:
        pytest.skip("needs 2 RegionServers")
    target = rss[-1]
    report = decommission.run(cluster, target.name, ["hbase"], timeout_s=300, progress=print)
    assert report.ok, report.as_dict()
    assert report.steps[0].data["regions"] == 0
    gate = dayops.check_gate(cluster, "hbase", None)
    assert gate.data["regions_in_transition"] == 0, gate
    back = decommission.run(cluster, target.name, ["hbase"], decommission=False, timeout_s=300,
                            progress=print)
    assert back.ok, back.as_dict()
    print(f"hbase decommission {report.seconds:.1f} s, recommission {back.seconds:.1f} s")
    assert _wait_all_healthy(cluster).healthy


def test_decommission_a_kafka_broker_moves_its_partitions(main_lab: dict[str, Any]) -> None:
    from bigdata_admin import decommission

    cluster = main_lab_cluster(main_lab, (("kafka_broker", "Kafka brokers"),))
    brokers = cluster.hosts_in("kafka_broker")
    _b, topics = decommission.Live(cluster).kafka_facts()
    if decommission.kafka_max_replication(topics)[0] >= len(brokers):
        pytest.skip("a topic is replicated on every broker: no broker can leave (the scale-out test "
                    "decommissions the broker it adds)")
    labtools.kafka_broker_round_trip(cluster, brokers[-1])
