"""The README's main job for real: `bigdata-admin lab run` on a fresh 3-host lab (its own, named
`main`), then what a deploy must keep.

- `lab run` exits 0: it fetches what can be had (Hadoop and Kafka as Maven bundles resolved by
  `mvn`; pyspark from PyPI), deploys every service it can (ZooKeeper, HDFS with a NameNode,
  SecondaryNameNode and DataNodes, YARN, Kafka in KRaft mode, Spark, Redis, PostgreSQL, ...) and
  lists the others as skipped with the reason; status is healthy and smoke passes (a file through
  WebHDFS, a MapReduce pi job on YARN, a replicated topic through kafka-python, ...).
- The admin commands admins type on a node work: hdfs dfs/dfsadmin, yarn node -list,
  kafka-topics, kafka-metadata-quorum.
- Every daemon logs to files under its log directory.
- A second deploy reports changed=0, and the NameNode's clusterID, each Kafka node's
  meta.properties and the data written before it are unchanged after it.

The lab is the session fixture `main_lab` (tests/integration/conftest.py): other modules that need
the whole stack deployed check it on the same lab. BIGDATA_LAB_KEEP=1 leaves it up afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from labtools import create_topic, wait_healthy  # tests/integration (rootdir-relative import)

from bigdata_admin import deployment, inventory
from bigdata_admin.health import remote

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]


def _tail(job: dict[str, Any], n: int = 6000) -> str:
    return str(job["out"])[-n:]


def test_main_job_exits_0_with_a_summary(main_lab: dict[str, Any]) -> None:
    assert main_lab["rc"] == 0, _tail(main_lab)
    out = str(main_lab["out"])
    assert "summary" in out
    cluster = inventory.load(main_lab["inventory"])
    absent = deployment.not_deployed(cluster)
    # Built from Maven Central and deployed for real.
    for group in ("zookeeper", "hdfs_namenode", "hdfs_datanode", "yarn_resourcemanager", "yarn_nodemanager",
                  "kafka_controller", "kafka_broker", "redis", "metastore_db"):
        if cluster.has(group):
            assert group not in absent, f"{group}: {absent.get(group)}"
    # What could not be had is listed with its reason, not failed.
    for group, why in absent.items():
        assert why, group
        assert group in out or group.split("_")[0] in out.lower(), group


def test_every_deployed_service_is_healthy(main_lab: dict[str, Any]) -> None:
    assert main_lab["rc"] == 0, _tail(main_lab)
    cluster = inventory.load(main_lab["inventory"])
    report = _healthy_report(cluster)
    assert report.healthy, [(r.host, r.group, r.problem) for r in report.unhealthy]
    groups = {r.group for r in report.rows}
    assert {"hdfs_namenode", "hdfs_datanode", "yarn_resourcemanager", "yarn_nodemanager"} <= groups
    assert groups & {"kafka_broker", "kafka_controller"}


def _healthy_report(cluster: inventory.Cluster, timeout: float = 90) -> Any:
    """The status report, polled until healthy or `timeout` s (a probe on a busy host may miss once:
    e.g. a RegionServer's JMX page without its Server bean for a moment)."""
    return wait_healthy(cluster, timeout, interval=5, not_deployed=deployment.not_deployed(cluster))


def _node(cluster: inventory.Cluster, group: str) -> inventory.Host:
    host = cluster.first(group)
    assert host is not None, group
    return host


def _sh(host: inventory.Host, command: str, timeout: float = 180) -> str:
    result = remote.run(host, ["sh", "-c", command], become=True, timeout=timeout)
    assert result.ok, f"{host.name}: {command}: {result.stderr[-2000:]}"
    return result.stdout


def test_admin_commands_work_on_the_nodes(main_lab: dict[str, Any]) -> None:
    assert main_lab["rc"] == 0, _tail(main_lab)
    cluster = inventory.load(main_lab["inventory"])
    nn = _node(cluster, "hdfs_namenode")
    quiet = "HADOOP_ROOT_LOGGER=WARN,console"
    report = _sh(nn, f"sudo -u hdfs env {quiet} hdfs dfsadmin -report")
    datanodes = len(cluster.hosts_in("hdfs_datanode"))
    assert f"Live datanodes ({datanodes})" in report
    listing = _sh(nn, f"sudo -u hdfs env {quiet} hdfs dfs -ls /")
    assert "/user" in listing and "/tmp" in listing
    rm = _node(cluster, "yarn_resourcemanager")
    nodes = _sh(rm, f"sudo -u yarn env {quiet} yarn node -list")
    assert f"Total Nodes:{len(cluster.hosts_in('yarn_nodemanager'))}" in nodes
    broker = _node(cluster, "kafka_broker" if cluster.has("kafka_broker") else "kafka_controller")
    bootstrap = f"{broker.var('ansible_host', broker.name)}:{cluster.var('kafka_broker_port', 9092)}"
    _sh(broker, f"kafka-topics --bootstrap-server {bootstrap} --list")
    quorum = _sh(broker, f"kafka-metadata-quorum --bootstrap-server {bootstrap} describe --status")
    assert "LeaderId" in quorum and "CurrentVoters" in quorum


def test_every_daemon_logs_to_its_log_dir(main_lab: dict[str, Any]) -> None:
    assert main_lab["rc"] == 0, _tail(main_lab)
    cluster = inventory.load(main_lab["inventory"])
    log_root = cluster.var("bigdata_log_root", "/var/log/bigdata")
    expected = {"hdfs_namenode": "hadoop/hadoop-hdfs-namenode-{h}.log",
                "hdfs_datanode": "hadoop/hadoop-hdfs-datanode-{h}.log",
                "yarn_resourcemanager": "hadoop/hadoop-yarn-resourcemanager-{h}.log",
                "yarn_nodemanager": "hadoop/hadoop-yarn-nodemanager-{h}.log",
                "kafka_controller": "kafka/server.log", "kafka_broker": "kafka/server.log"}
    for group, pattern in expected.items():
        for host in cluster.hosts_in(group):
            path = f"{log_root}/{pattern.format(h=host.name)}"
            size = _sh(host, f"stat -c %s {path}").strip()
            assert int(size) > 0, f"{host.name}: {path} is empty"


# Java processes the roles do not start with the inventory's JVM options: Storm's workers and their log
# writers (the supervisor starts them with Storm's own worker.childopts).
_OWN_JVM_OPTIONS = ("org.apache.storm.daemon.worker.Worker", "org.apache.storm.LogWriter")


def test_every_jvm_runs_with_the_inventorys_jvm_options(main_lab: dict[str, Any]) -> None:
    """`lab up` sets bigdata_jvm_extra_opts (C1-only JIT): every daemon, Spark process and YARN container
    running on the lab's hosts carries each option."""
    assert main_lab["rc"] == 0, _tail(main_lab)
    cluster = inventory.load(main_lab["inventory"])
    wanted = cluster.var("bigdata_jvm_extra_opts", [])
    assert wanted, "the lab's inventory sets no bigdata_jvm_extra_opts"
    seen = 0
    for host in cluster.hosts.values():
        for line in _sh(host, "pgrep -a java || true").splitlines():
            if not line.strip() or any(cls in line for cls in _OWN_JVM_OPTIONS):
                continue
            seen += 1
            missing = [o for o in wanted if o not in line.split()]
            assert not missing, f"{host.name}: {line[:300]} ... lacks {missing}"
    assert seen >= len(cluster.hosts), f"only {seen} Java processes on the lab's hosts"


def _identity(cluster: inventory.Cluster) -> dict[str, str]:
    """NameNode VERSION's clusterID and every Kafka node's meta.properties."""
    data_root = cluster.var("bigdata_data_root", "/data")
    out = {}
    nn = _node(cluster, "hdfs_namenode")
    version = _sh(nn, f"cat {data_root}/hdfs/namenode/current/VERSION")
    out["hdfs"] = next(line for line in version.splitlines() if line.startswith("clusterID="))
    for group in ("kafka_controller", "kafka_broker"):
        for host in cluster.hosts_in(group):
            meta = _sh(host, f"cat {data_root}/kafka/data/meta.properties")
            out[f"kafka:{host.name}"] = "\n".join(sorted(ln for ln in meta.splitlines()
                                                         if ln and not ln.startswith("#")))
    return out


def test_redeploy_changes_nothing_and_keeps_the_data(main_lab: dict[str, Any], tmp_path: Path) -> None:
    from kafka import KafkaConsumer, KafkaProducer

    from bigdata_admin.clients import happybase_connection, webhdfs_client
    from bigdata_admin.health.core import kafka_bootstrap

    assert main_lab["rc"] == 0, _tail(main_lab)
    inv = main_lab["inventory"]
    cluster = inventory.load(inv)
    before = _identity(cluster)
    assert before["hdfs"].startswith("clusterID=CID-"), before["hdfs"]  # generated by Hadoop

    client = webhdfs_client(cluster)
    path = f"/tmp/redeploy-{uuid.uuid4().hex[:8]}"
    payload = os.urandom(300_000)
    client.write(path, payload, overwrite=True)
    topic = f"redeploy-{uuid.uuid4().hex[:8]}"
    bootstrap = kafka_bootstrap(cluster)
    create_topic(cluster, bootstrap, topic)  # the cluster does not auto-create topics
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    records = [f"r{i}".encode() for i in range(50)]
    for r in records:
        producer.send(topic, r)
    producer.flush(30)
    producer.close()
    hbase = cluster.has("hbase_thrift") and "hbase_thrift" not in deployment.not_deployed(cluster)
    table = f"redeploy_{uuid.uuid4().hex[:8]}"
    rows = {f"k{i:03d}".encode(): {b"cf:v": os.urandom(6).hex().encode()} for i in range(40)}
    if hbase:
        conn = happybase_connection(cluster)
        conn.create_table(table, {"cf": {}})
        with conn.table(table).batch() as batch:
            for key, cells in rows.items():
                batch.put(key, cells)
        conn.close()

    sql_tables = _write_sql_tables(cluster, client)

    proc = subprocess.run([sys.executable, "-m", "bigdata_admin", "deploy", "-i", str(inv),
                           "--skip-unavailable", "--json"], capture_output=True, text=True,
                          timeout=2700, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    result = json.loads(proc.stdout)
    recap = result.get("recap") or result.get("run", {}).get("recap") or {}
    assert recap, f"no recap in the deploy's JSON: {list(result)}"
    changed = {h: r["changed"] for h, r in recap.items() if r.get("changed")}
    assert changed == {}, f"a second deploy changed something: {changed}"

    assert _identity(cluster) == before
    with client.read(path) as reader:
        assert reader.read() == payload
    client.delete(path)
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                             consumer_timeout_ms=15000, group_id=f"{topic}-check")
    got = [m.value for m in consumer]
    consumer.close()
    assert sorted(got) == sorted(records)
    if hbase:
        conn = happybase_connection(cluster)
        try:
            assert dict(conn.table(table).scan()) == rows
        finally:
            conn.delete_table(table, disable=True)
            conn.close()
    _check_sql_tables(cluster, sql_tables)
    # Nothing restarted (changed=0) and every service answers: the main job's smoke tests still hold.
    report = _healthy_report(cluster)
    assert report.healthy, [(r.host, r.group, r.problem) for r in report.unhealthy]


def _deployed(cluster: inventory.Cluster, group: str) -> bool:
    return cluster.has(group) and group not in deployment.not_deployed(cluster)


def _sql(cluster: inventory.Cluster, service: str) -> Any:
    from bigdata_admin import sqlclient

    ep = sqlclient.endpoint(cluster, service)
    return sqlclient.hs2_connect(ep.host, ep.port, ep.auth, "bigdata-admin", "pyhive", timeout=120,
                                 setting=ep.setting)


def _write_sql_tables(cluster: inventory.Cluster, client: Any) -> dict[str, Any]:
    """A Hive table (external, its file written to HDFS, created through HiveServer2: no MapReduce job)
    and a table written through the Spark Thrift Server into the shared metastore and warehouse.
    Returns what _check_sql_tables reads back."""
    from bigdata_admin.sqlclient import query

    out: dict[str, Any] = {}
    if _deployed(cluster, "hive_server2"):
        name = f"redeploy_hive_{uuid.uuid4().hex[:8]}"
        folder = f"/tmp/{name}"
        rows = [(i, f"v{i}") for i in range(1, 6)]
        client.write(f"{folder}/part-0", "".join(f"{k},{v}\n" for k, v in rows), overwrite=True)
        conn = _sql(cluster, "hive")
        try:
            query(conn, f"CREATE EXTERNAL TABLE {name} (k INT, v STRING) ROW FORMAT DELIMITED "
                        f"FIELDS TERMINATED BY ',' LOCATION '{folder}'")
        finally:
            conn.close()
        out["hive"] = (name, folder, rows)
    if _deployed(cluster, "spark_thrift"):
        name = f"redeploy_spark_{uuid.uuid4().hex[:8]}"
        rows = [(i, f"s{i}") for i in range(1, 4)]
        conn = _sql(cluster, "spark")
        try:
            query(conn, f"CREATE TABLE {name} (k INT, v STRING)")
            query(conn, f"INSERT INTO {name} VALUES " + ", ".join(f"({k}, '{v}')" for k, v in rows))
        finally:
            conn.close()
        out["spark"] = (name, None, rows)
    return out


def _check_sql_tables(cluster: inventory.Cluster, tables: dict[str, Any]) -> None:
    """Each table reads back through HiveServer2 (the Spark one too: one metastore) and through the
    Spark Thrift Server; then it is dropped."""
    from bigdata_admin.clients import webhdfs_client
    from bigdata_admin.sqlclient import query

    readers = [s for s, g in (("hive", "hive_server2"), ("spark", "spark_thrift")) if _deployed(cluster, g)]
    for name, _, rows in tables.values():
        for service in readers:
            conn = _sql(cluster, service)
            try:
                # No ORDER BY: a plain scan is a fetch task on HiveServer2, no MapReduce job.
                got = sorted((int(r[0]), str(r[1])) for r in query(conn, f"SELECT k, v FROM {name}"))
            finally:
                conn.close()
            assert got == rows, f"{name} through {service}: {got}"
    if tables:
        conn = _sql(cluster, readers[0])
        try:
            for name, _, _ in tables.values():
                query(conn, f"DROP TABLE IF EXISTS {name}")
        finally:
            conn.close()
    for _, folder, _ in tables.values():
        if folder:
            webhdfs_client(cluster).delete(folder, recursive=True)


def test_a_namenode_without_metadata_is_not_formatted_over_datanodes_blocks(main_lab: dict[str, Any]) -> None:
    """The NameNode's metadata and format marker gone (as when hdfs_namenode moves to a new host):
    the deploy stops naming the DataNodes that hold blocks, formats nothing, and HDFS comes back
    once the metadata is restored."""
    assert main_lab["rc"] == 0, _tail(main_lab)
    inv = main_lab["inventory"]
    cluster = inventory.load(inv)
    nn = _node(cluster, "hdfs_namenode")
    hdfs_dir = f"{cluster.var('bigdata_data_root', '/data')}/hdfs"
    _sh(nn, f"systemctl stop hdfs-namenode && mv {hdfs_dir}/namenode {hdfs_dir}/namenode.aside "
            f"&& mv {hdfs_dir}/.namenode-formatted {hdfs_dir}/.namenode-formatted.aside")
    try:
        proc = subprocess.run([sys.executable, "-m", "bigdata_admin", "deploy", "-i", str(inv),
                               "--tags", "hdfs", "--skip-unavailable"],
                              capture_output=True, text=True, timeout=1200, check=False,
                              env={**os.environ, "COLUMNS": "400"})
        out = proc.stdout + proc.stderr
        assert proc.returncode != 0, out[-3000:]
        assert "DataNodes already hold HDFS blocks" in out, out[-3000:]
        for dn in cluster.hosts_in("hdfs_datanode"):
            assert dn.name in out
        assert "clusterID=CID-" in out
        formatted = remote.run(nn, ["test", "-e", f"{hdfs_dir}/namenode/current/VERSION"], become=True)
        assert not formatted.ok, "the NameNode was formatted over the DataNodes' blocks"
    finally:
        _sh(nn, f"rm -rf {hdfs_dir}/namenode && mv {hdfs_dir}/namenode.aside {hdfs_dir}/namenode "
                f"&& mv {hdfs_dir}/.namenode-formatted.aside {hdfs_dir}/.namenode-formatted "
                "&& systemctl start hdfs-namenode")
    report = _healthy_report(cluster, timeout=240)
    assert report.healthy, [(r.host, r.group, r.problem) for r in report.unhealthy]


def test_main_job_ends_with_the_pilot_on_real_data(main_lab: dict[str, Any]) -> None:
    """`lab run` ends with `pilot run` on the lab (generate, load, the stream through Kafka, Storm, HBase
    and Redis, the marts, the analyses) and names its HTML report."""
    from bigdata_admin import paths
    from bigdata_admin.commands.lab import pilot_missing

    assert main_lab["rc"] == 0, _tail(main_lab)
    out = str(main_lab["out"])
    if out == "reused":
        pytest.skip("a reused lab (BIGDATA_MAIN_LAB_REUSE=1) has no `lab run` output to read")
    cluster = inventory.load(main_lab["inventory"])
    missing = pilot_missing(cluster, deployment.not_deployed(cluster))
    if missing:
        assert "pilot: skipped" in out, _tail(main_lab)
        pytest.skip(f"the main job skipped the pilot: {missing}")
    work = paths.state_dir() / "pilot" / f"lab-{os.environ.get('BIGDATA_MAIN_LAB_NAME', 'main')}"
    state = json.loads((work / "data" / "run.json").read_text())
    trained = cluster.has("gpu_worker") and "gpu_worker" not in deployment.not_deployed(cluster)
    steps = ("generate", "load", "stream", "mart", *(("ml",) if trained else ()), "analyze", "export")
    assert {k: v["status"] for k, v in state["steps"].items()} == dict.fromkeys(steps, "done"), state
    index = work / "report" / "index.html"
    assert "pilot report" in out and index.is_file(), _tail(main_lab)
    html = index.read_text()
    if trained:  # the five models, the accident-risk network trained and served on the GPU worker
        models = json.loads((work / "report" / "results.json").read_text())["models"]
        assert [m["model"] for m in models] == ["accident", "income", "status", "cluster", "recommend"]
        worker = cluster.hosts_in("gpu_worker")[0].name
        assert models[0]["where"] == worker and "<h2>Models</h2>" in html
        metrics = {m["model"]: m for m in json.loads((work / "data" / "models" / "metrics.json").read_text())
                   ["models"]}
        assert metrics["accident"]["metrics"]["accuracy"] >= 0.90, metrics["accident"]  # 20,000 rows
        assert metrics["income"]["metrics"]["r2"] >= 0.85, metrics["income"]  # the planted relation
    pngs = sorted((work / "report").glob("*.png"))
    assert pngs and all(p.name in html for p in pngs), (pngs, html[:500])
