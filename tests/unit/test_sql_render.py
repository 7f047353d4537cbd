"""Render the Hive, Impala and Spark configuration (with HDFS beside them) of the single-node,
classroom and ha inventories with Ansible's own templating (`bigdata_action=render`: the real plays,
touching no host) and check what the files MEAN: metastore URIs agree in every file that names them,
the JDBC URL points at the metastore_db host, ports match the shared defaults, Spark's and Impala's
Hadoop configuration is the HDFS role's, no file names an HDFS URI other than fs.defaultFS, the Spark
master URL agrees between the master, the workers and spark-defaults, and the configuration keys exist
in the component's own jars (pyspark's Spark and Hive 2.3 jars; Hive 3 only keys listed below).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
import yaml
from sitexml import parse_site

from bigdata_admin import inventory

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
INVENTORIES = ("single-node", "classroom", "ha")

# hive-site keys that Hive 3.1 has and the Hive 2.3 jars in pyspark do not (checked against Hive 3.1's
# HiveConf / MetastoreConf): they cannot be looked up in a local jar.
HIVE3_ONLY_KEYS = frozenset({
    "hive.metastore.event.db.notification.api.auth",
    "hive.server2.webui.host",
    "datanucleus.schema.autoCreateAll",
    "javax.jdo.option.ConnectionPassword",
})



def parse_conf(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition(" ")
            out[key] = value.strip()
    return out


def parse_flags(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.startswith("--"):
            key, _, value = line[2:].partition("=")
            out[key] = value
    return out


def exec_start(path: Path) -> str:
    """The ExecStart command line, its backslash continuations joined with single spaces."""
    lines = path.read_text().splitlines()
    i = next(n for n, line in enumerate(lines) if line.startswith("ExecStart="))
    parts = [lines[i].split("=", 1)[1]]
    while parts[-1].endswith("\\") and i + 1 < len(lines):
        parts[-1] = parts[-1][:-1].rstrip()
        i += 1
        parts.append(lines[i].strip())
    return " ".join(parts)


def addr(cluster: inventory.Cluster, host: str) -> str:
    """The address the roles use: bigdata_address, else ansible_host, else the inventory name."""
    h = cluster.hosts[host]
    return str(h.var("bigdata_address") or h.var("ansible_host") or host)


@pytest.fixture(scope="module", params=INVENTORIES)
def rendered(request: pytest.FixtureRequest,
             render_inventory: Callable[..., Path]) -> tuple[inventory.Cluster, Path]:
    name = request.param
    out = render_inventory(name)
    # The metastore password was generated under the render's own state dir, mode 0600.
    secret = next((out / "state").rglob("metastore_db_password"))
    assert oct(secret.stat().st_mode & 0o777) == "0o600"
    return inventory.load(REPO / "inventories" / name), out / "files"


def _expected_uris(cluster: inventory.Cluster) -> str:
    port = cluster.var("hive_metastore_port")
    return ",".join(f"thrift://{addr(cluster, h)}:{port}" for h in cluster.groups["hive_metastore"])


def _hosts(cluster: inventory.Cluster, *groups: str) -> list[str]:
    return sorted({h for g in groups for h in cluster.groups.get(g, [])})


def _default_fs(cluster: inventory.Cluster, files: Path) -> str:
    nn = cluster.groups["hdfs_namenode"][0]
    return parse_site(files / nn / "core-site.xml")["fs.defaultFS"]


def test_metastore_uris_agree_everywhere(rendered: tuple[inventory.Cluster, Path]) -> None:
    cluster, files = rendered
    expected = _expected_uris(cluster)
    assert expected.startswith("thrift://")
    seen = 0
    for host in _hosts(cluster, "hive_metastore", "hive_server2"):
        assert parse_site(files / host / "hive" / "hive-site.xml")["hive.metastore.uris"] == expected
        seen += 1
    for host in _hosts(cluster, "spark_master", "spark_worker", "spark_thrift"):
        assert parse_site(files / host / "spark" / "hive-site.xml")["hive.metastore.uris"] == expected
        conf = parse_conf(files / host / "spark" / "spark-defaults.conf")
        assert conf["spark.hadoop.hive.metastore.uris"] == expected
        seen += 1
    for host in _hosts(cluster, "impala_catalog", "impala_daemon", "impala_statestore"):
        assert parse_site(files / host / "impala" / "hive-site.xml")["hive.metastore.uris"] == expected
        seen += 1
    assert seen >= 3


def test_hive_site_points_at_the_metastore_db_and_shared_ports(
        rendered: tuple[inventory.Cluster, Path]) -> None:
    cluster, files = rendered
    db = cluster.groups["metastore_db"][0]
    jdbc = (f"jdbc:postgresql://{addr(cluster, db)}:{cluster.var('metastore_db_port')}/"
            f"{cluster.var('metastore_db_name')}")
    for host in _hosts(cluster, "hive_metastore", "hive_server2"):
        site = parse_site(files / host / "hive" / "hive-site.xml")
        assert site["javax.jdo.option.ConnectionURL"] == jdbc
        assert site["javax.jdo.option.ConnectionDriverName"] == "org.postgresql.Driver"
        assert site["javax.jdo.option.ConnectionUserName"] == cluster.var("metastore_db_user")
        assert len(site["javax.jdo.option.ConnectionPassword"]) == 32
        assert site["hive.server2.thrift.port"] == str(cluster.var("hive_server2_port"))
        assert site["hive.server2.webui.port"] == str(cluster.var("hive_server2_http_port"))
        assert site["hive.metastore.port"] == str(cluster.var("hive_metastore_port"))
        assert site["hive.server2.authentication"] == cluster.var("hive_server2_auth")
        assert site["hive.server2.thrift.bind.host"] == addr(cluster, host)
        # Never let the metastore create or alter its schema on its own; schematool does it once.
        assert site["hive.metastore.schema.verification"] == "true"
        assert site["datanucleus.schema.autoCreateAll"] == "false"
        assert site["hive.exec.submit.local.task.via.child"] == "false"
        env = (files / host / "hive" / "hive-env.sh").read_text()
        java = cluster.var("bigdata_java_for")["hive"]
        assert f"JAVA_HOME=/opt/bigdata/java/{java}\n" in env, "Hive runs on bigdata_java_for.hive"
        log4j = (files / host / "hive" / "hive-log4j2.properties").read_text()
        assert "${sys:hive.log.dir}/${sys:hive.log.file}" in log4j
        beeline = (files / host / "hive" / "beeline").read_text()
        assert "org.apache.hive.beeline.BeeLine" in beeline
        assert ("/lib-beeline/*:" in beeline) == cluster.version("hive").startswith("4.")
    classes = {"hive-metastore": "org.apache.hadoop.hive.metastore.HiveMetaStore",
               "hive-server2": "org.apache.hive.service.server.HiveServer2"}
    for unit, group in (("hive-metastore", "hive_metastore"), ("hive-server2", "hive_server2")):
        for host in cluster.groups[group]:
            start = exec_start(files / host / "hive" / f"{unit}.service")
            java = cluster.var("bigdata_java_for")["hive"]
            assert start.startswith(f"/opt/bigdata/java/{java}/bin/java ")
            assert start.endswith(classes[unit]), start[-200:]
            assert ("--add-opens=java.sql/java.sql=ALL-UNNAMED" in start) == (int(java) >= 17)
            # Hive's jars, then Hadoop's minus its SLF4J binding (hadoop-lib/): one binding, log4j2's.
            assert "/hive-current/lib/*:/opt/bigdata/hive-current/hadoop-lib/*" in start
            assert f"-Dhive.log.file=hive-{unit.split('-')[1].replace('server2', 'hiveserver2')}-{host}.log" \
                in start


def test_hadoop_config_and_warehouse_are_the_hdfs_roles(rendered: tuple[inventory.Cluster, Path]) -> None:
    cluster, files = rendered
    default_fs = _default_fs(cluster, files)
    hdfs_defaults = yaml.safe_load((REPO / "roles/hdfs/defaults/main.yml").read_text())
    conf_dir = hdfs_defaults["hdfs_conf_dir"].replace("{{ bigdata_config_root }}",
                                                      str(cluster.var("bigdata_config_root")))
    warehouse = hdfs_defaults["hdfs_hive_warehouse_dir"]
    if cluster.has("hdfs_namenode") and len(cluster.groups["hdfs_namenode"]) > 1:
        assert default_fs == f"hdfs://{cluster.var('hdfs_nameservice')}"
    for host in _hosts(cluster, "spark_master", "spark_worker", "spark_thrift"):
        assert f"export HADOOP_CONF_DIR={conf_dir}" in (files / host / "spark" / "spark-env.sh").read_text()
        conf = parse_conf(files / host / "spark" / "spark-defaults.conf")
        assert conf["spark.sql.warehouse.dir"] == warehouse  # resolved against fs.defaultFS
    for host in _hosts(cluster, "hive_metastore", "hive_server2"):
        site = parse_site(files / host / "hive" / "hive-site.xml")
        assert site["hive.metastore.warehouse.dir"] == warehouse
        assert f"HADOOP_CONF_DIR={conf_dir}" in (files / host / "hive" / "hive-env.sh").read_text()
    # No file of these roles may name an HDFS other than fs.defaultFS.
    for host_dir in files.iterdir():
        for f in (p for p in host_dir.rglob("*") if p.is_file()):
            for uri in re.findall(r"hdfs://[^\s<\"',]+", f.read_text()):
                assert uri.startswith(default_fs), f"{f}: {uri} is not on {default_fs}"


def test_spark_master_url_and_ports(rendered: tuple[inventory.Cluster, Path]) -> None:
    cluster, files = rendered
    master_url = "spark://" + ",".join(f"{addr(cluster, h)}:{cluster.var('spark_master_port')}"
                                       for h in cluster.groups["spark_master"])
    assert cluster.var("spark_thrift_port") != cluster.var("hive_server2_port")
    for host in _hosts(cluster, "spark_master", "spark_worker", "spark_thrift"):
        conf = parse_conf(files / host / "spark" / "spark-defaults.conf")
        assert conf["spark.master"] == master_url
        worker_mb = int(cluster.hosts[host].var("spark_worker_memory_mb"))
        assert int(conf["spark.executor.memory"].rstrip("m")) <= worker_mb
    for host in cluster.groups["spark_master"]:
        start = exec_start(files / host / "spark" / "spark-master.service")
        assert "org.apache.spark.deploy.master.Master" in start
        assert f"--port {cluster.var('spark_master_port')}" in start
        assert f"--webui-port {cluster.var('spark_master_http_port')}" in start
    for host in cluster.groups["spark_worker"]:
        start = exec_start(files / host / "spark" / "spark-worker.service")
        assert start.endswith(master_url)
        assert f"--memory {cluster.hosts[host].var('spark_worker_memory_mb')}m" in start
    for host in cluster.groups["spark_thrift"]:
        start = exec_start(files / host / "spark" / "spark-thrift.service")
        assert "org.apache.spark.sql.hive.thriftserver.HiveThriftServer2" in start
        assert f"--hiveconf hive.server2.thrift.port={cluster.var('spark_thrift_port')}" in start
        assert f"--hiveconf hive.server2.authentication={cluster.var('spark_thrift_auth')}" in start
        assert f"--hiveconf hive.server2.thrift.bind.host={addr(cluster, host)}" in start
        # With HDFS the Thrift Server runs its queries on the standalone cluster.
        assert f"--master {master_url}" in start


def test_impala_flags_name_the_statestore_catalog_and_ports(rendered: tuple[inventory.Cluster, Path]) -> None:
    cluster, files = rendered
    ss = addr(cluster, cluster.groups["impala_statestore"][0])
    cat = addr(cluster, cluster.groups["impala_catalog"][0])
    version = cluster.version("impala")
    for group, daemon, port_var in (("impala_statestore", "statestored", "impala_statestore_http_port"),
                                    ("impala_catalog", "catalogd", "impala_catalog_http_port"),
                                    ("impala_daemon", "impalad", "impala_daemon_http_port")):
        for host in cluster.groups[group]:
            flags = parse_flags(files / host / "impala" / f"{daemon}.flags")
            assert flags["state_store_host"] == ss
            assert flags["catalog_service_host"] == cat
            assert flags["state_store_port"] == str(cluster.var("impala_statestore_port"))
            assert flags["catalog_service_port"] == str(cluster.var("impala_catalog_port"))
            assert flags["webserver_port"] == str(cluster.var(port_var))
            assert flags["hostname"] == addr(cluster, host)
            start = exec_start(files / host / "impala" / f"impala-{daemon}.service")
            suffix = "impalad_coord_exec" if daemon == "impalad" else daemon
            assert f"apache/impala:{version}-{suffix}" in start
            assert "--network host" in start and "--runtime runc" in start and "--ulimit nofile=" in start
            if daemon == "impalad":
                assert flags["hs2_port"] == str(cluster.var("impala_daemon_hs2_port"))
                assert flags["beeswax_port"] == str(cluster.var("impala_daemon_beeswax_port"))
                assert flags["krpc_port"] == str(cluster.var("impala_daemon_krpc_port"))
                assert flags["mem_limit"] == f"{cluster.hosts[host].var('impala_daemon_mem_limit_mb')}m"


def _container_mb(memory: int, overhead: int, minimum: int) -> int:
    return -(-(memory + overhead) // minimum) * minimum


def test_spark_on_yarn_is_configured_beside_standalone(rendered: tuple[inventory.Cluster, Path]) -> None:
    """Every inventory here has HDFS and YARN: spark-submit on the Spark hosts finds the ResourceManager
    (YARN_CONF_DIR = the hdfs role's Hadoop config), takes Spark's jars and the PySpark archives from
    HDFS on fs.defaultFS, and asks for containers YARN grants; standalone stays spark.master."""
    cluster, files = rendered
    default_fs = _default_fs(cluster, files)
    rm = cluster.groups["yarn_resourcemanager"][0]
    yarn_site = parse_site(next((files / rm).rglob("yarn-site.xml")))
    minimum = int(yarn_site["yarn.scheduler.minimum-allocation-mb"])
    maximum = int(yarn_site["yarn.scheduler.maximum-allocation-mb"])
    assert minimum <= maximum <= int(yarn_site["yarn.nodemanager.resource.memory-mb"])
    hdfs_defaults = yaml.safe_load((REPO / "roles/hdfs/defaults/main.yml").read_text())
    conf_dir = hdfs_defaults["hdfs_conf_dir"].replace("{{ bigdata_config_root }}",
                                                      str(cluster.var("bigdata_config_root")))
    yarn_dir = f"{default_fs}/user/spark/yarn/spark-{cluster.version('spark')}"
    for host in _hosts(cluster, "spark_master", "spark_worker", "spark_thrift"):
        conf = parse_conf(files / host / "spark" / "spark-defaults.conf")
        assert conf["spark.master"].startswith("spark://")
        assert conf["spark.yarn.archive"] == f"{yarn_dir}/spark-{cluster.version('spark')}-jars.zip"
        assert conf["spark.yarn.stagingDir"] == "/tmp/spark-staging"
        overhead = int(conf["spark.yarn.am.memoryOverhead"].rstrip("m"))
        assert overhead >= 384 and conf["spark.executor.memoryOverhead"] == f"{overhead}m"
        am = _container_mb(int(conf["spark.yarn.am.memory"].rstrip("m")), overhead, minimum)
        executor = _container_mb(int(conf["spark.executor.memory"].rstrip("m")), overhead, minimum)
        assert int(conf["spark.executor.memory"].rstrip("m")) >= 450  # Spark's floor for an executor heap
        assert am <= maximum and executor <= maximum, (am, executor, maximum)
        env = (files / host / "spark" / "spark-env.sh").read_text()
        assert f"export YARN_CONF_DIR={conf_dir}\n" in env and f"export HADOOP_CONF_DIR={conf_dir}\n" in env
        archives = re.search(r"^export PYSPARK_ARCHIVES_PATH=(\S+)$", env, re.MULTILINE)
        assert archives is not None
        assert archives.group(1).split(",") == [f"{yarn_dir}/pyspark.zip",
                                                f"{yarn_dir}/py4j-0.10.9.7-src.zip"]
        submit = (files / host / "spark" / "spark-submit").read_text()
        assert f"export SPARK_CONF_DIR={cluster.var('bigdata_config_root')}/spark\n" in submit
        assert submit.rstrip().endswith('/spark-current/bin/spark-submit "$@"')


def _render_spark(tmp_path: Path, children: dict[str, list[str]], **group_vars: object
                  ) -> subprocess.CompletedProcess[str]:
    hosts = sorted({h for hs in children.values() for h in hs})
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "vars": dict(group_vars),
        "hosts": {h: {"ansible_host": f"10.213.250.{11 + i}"} for i, h in enumerate(hosts)},
        "children": {g: {"hosts": {h: {} for h in hs}} for g, hs in children.items()}}}))
    env = {**os.environ, "BIGDATA_ADMIN_STATE_DIR": str(tmp_path / "state"),
           "ANSIBLE_ROLES_PATH": str(REPO / "roles"), "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(tmp_path / "hosts.yml"), str(REPO / "playbooks/services/spark.yml"),
         "-e", "bigdata_action=render", "-e", f"bigdata_render_dir={tmp_path / 'files'}",
         "-e", f"ansible_python_interpreter={sys.executable}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)


def test_spark_without_yarn_writes_nothing_about_yarn(tmp_path: Path) -> None:
    """HDFS but no ResourceManager (absent, or skipped: a skipped service's groups are left out of the
    inventory the plays see): Spark uses HDFS, and no file mentions YARN."""
    proc = _render_spark(tmp_path, {"hdfs_namenode": ["m1"], "spark_master": ["m1"], "spark_worker": ["w1"],
                                    "spark_thrift": ["m1"]})
    assert proc.returncode == 0, proc.stdout[-3000:]
    for host in ("m1", "w1"):
        spark_dir = tmp_path / "files" / host / "spark"
        env = (spark_dir / "spark-env.sh").read_text()
        assert "export HADOOP_CONF_DIR=" in env
        for f in ("spark-defaults.conf", "spark-env.sh", "spark-submit"):
            assert "yarn" not in (spark_dir / f).read_text().lower(), f"{host}/{f}"


def test_spark_on_yarn_refuses_containers_yarn_cannot_grant(tmp_path: Path) -> None:
    groups = {"hdfs_namenode": ["m1"], "yarn_resourcemanager": ["m1"], "yarn_nodemanager": ["w1"],
              "spark_master": ["m1"], "spark_worker": ["w1"]}
    proc = _render_spark(tmp_path, groups, yarn_nodemanager_memory_mb=512)
    assert proc.returncode != 0
    assert "YARN grants at most 512 MiB" in proc.stdout and "Raise yarn_nodemanager_memory_mb" in proc.stdout
    assert "containers of 1024 MiB" in proc.stdout


# --- keys exist in the component's own jars ---------------------------------------------------------

@cache
def _pyspark_jars() -> Path | None:
    try:
        import pyspark
    except ImportError:
        return None
    jars = Path(pyspark.__file__).resolve().parent / "jars"
    return jars if jars.is_dir() else None


@cache
def _strings_of(*patterns: str) -> bytes:
    jars = _pyspark_jars()
    assert jars is not None
    chunks: list[bytes] = []
    for pattern in patterns:
        for jar in jars.glob(pattern):
            with zipfile.ZipFile(jar) as zf:
                for info in zf.infolist():
                    if info.filename.endswith((".class", ".xml", ".properties")):
                        chunks.append(zf.read(info))
    return b"\n".join(chunks)


def test_keys_exist_in_the_components_jars(rendered: tuple[inventory.Cluster, Path]) -> None:
    if _pyspark_jars() is None:
        pytest.skip("pyspark is not installed: its jars hold Spark's and Hive's configuration keys")
    cluster, files = rendered
    spark_strings = _strings_of("spark-core_*.jar", "spark-sql_*.jar", "spark-catalyst_*.jar",
                                "spark-hive_*.jar", "spark-sql-api_*.jar", "spark-yarn_*.jar")
    hive_strings = _strings_of("hive-common-*.jar", "hive-metastore-*.jar", "hive-exec-*.jar")
    for host in _hosts(cluster, "spark_master", "spark_worker", "spark_thrift"):
        for key in parse_conf(files / host / "spark" / "spark-defaults.conf"):
            if key.startswith("spark.hadoop."):
                continue  # passed through to Hadoop/Hive as is
            assert key.encode() in spark_strings, f"{key} is not a Spark configuration key"
    for host in _hosts(cluster, "hive_metastore", "hive_server2"):
        for key in parse_site(files / host / "hive" / "hive-site.xml"):
            if key in HIVE3_ONLY_KEYS:
                continue
            assert key.encode() in hive_strings, f"{key} is not a Hive configuration key"


def test_two_spark_masters_recover_through_zookeeper(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "hosts": {"m1": {"ansible_host": "10.213.250.11"}, "m2": {"ansible_host": "10.213.250.12"},
                  "w1": {"ansible_host": "10.213.250.13"}},
        "children": {"zookeeper": {"hosts": {"m1": {}, "m2": {}, "w1": {}}},
                     "spark_master": {"hosts": {"m1": {}, "m2": {}}},
                     "spark_worker": {"hosts": {"w1": {}}}, "spark_thrift": {"hosts": {"m1": {}}}}}}))
    env = {**os.environ, "BIGDATA_ADMIN_STATE_DIR": str(tmp_path / "state"),
           "ANSIBLE_ROLES_PATH": str(REPO / "roles"), "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    proc = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(tmp_path / "hosts.yml"), str(REPO / "playbooks/services/spark.yml"),
         "-e", "bigdata_action=render", "-e", f"bigdata_render_dir={tmp_path / 'files'}",
         "-e", f"ansible_python_interpreter={sys.executable}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:]
    masters = "spark://10.213.250.11:7077,10.213.250.12:7077"
    zk = "10.213.250.11:2181,10.213.250.12:2181,10.213.250.13:2181"
    for host in ("m1", "m2", "w1"):
        conf = parse_conf(tmp_path / "files" / host / "spark" / "spark-defaults.conf")
        assert conf["spark.master"] == masters
        assert conf["spark.deploy.recoveryMode"] == "ZOOKEEPER"
        assert conf["spark.deploy.zookeeper.url"] == zk
    assert exec_start(tmp_path / "files" / "w1" / "spark" / "spark-worker.service").endswith(masters)
    # No HDFS in this inventory: the Thrift Server runs its queries on its own host.
    assert "--master local[" in exec_start(tmp_path / "files" / "m1" / "spark" / "spark-thrift.service")
    for host in ("m1", "m2", "w1"):  # and nothing about YARN
        for f in ("spark-defaults.conf", "spark-env.sh"):
            assert "yarn" not in (tmp_path / "files" / host / "spark" / f).read_text().lower()
