"""Render the HDFS, YARN and HBase configuration of the single-node, classroom and ha inventories with
Ansible's own templating (`bigdata_action=render`: the real plays, touching no host) and check what
the files MEAN: keys exist in Hadoop's own *-default.xml (read from pyspark's Hadoop client jar when
installed), and every value that must agree across hosts and services agrees (fs.defaultFS, the HA
nameservice and its NameNodes, the journal URI, the ZooKeeper quorum, hbase.rootdir, ports, memory).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest
from sitexml import parse_site

from bigdata_admin import clients, inventory

REPO = Path(__file__).resolve().parents[2]
INVENTORIES = ("single-node", "classroom", "ha")
HADOOP_FILES = ("core-site.xml", "hdfs-site.xml", "yarn-site.xml", "mapred-site.xml")

HA_ONLY_KEYS = (
    "dfs.nameservices",
    "dfs.namenode.shared.edits.dir",
    "dfs.ha.automatic-failover.enabled",
    "ha.zookeeper.quorum",
    "dfs.journalnode.edits.dir",
    "dfs.ha.fencing.methods",
)

# hdfs-default.xml lives in the hadoop-hdfs server jar, which pyspark does not ship; these are the
# hdfs-default.xml (Hadoop 3.3) property names the role may write. A key outside this list fails the
# test until it is checked against hdfs-default.xml and added here.
HDFS_DEFAULT_KEYS = frozenset(
    {
        "dfs.replication",
        "dfs.hosts.exclude",
        "dfs.webhdfs.enabled",
        "dfs.permissions.superusergroup",
        "dfs.namenode.name.dir",
        "dfs.datanode.data.dir",
        "dfs.namenode.rpc-bind-host",
        "dfs.namenode.servicerpc-bind-host",
        "dfs.namenode.http-bind-host",
        "dfs.datanode.address",
        "dfs.datanode.http.address",
        "dfs.datanode.ipc.address",
        "dfs.client.use.datanode.hostname",
        "dfs.datanode.use.datanode.hostname",
        "dfs.datanode.hostname",
        "dfs.namenode.datanode.registration.ip-hostname-check",
        "dfs.namenode.rpc-address",
        "dfs.namenode.http-address",
        "dfs.namenode.secondary.http-address",
        "dfs.namenode.checkpoint.dir",
        "dfs.nameservices",
        "dfs.ha.namenodes.EXAMPLENAMESERVICE",
        "dfs.namenode.shared.edits.dir",
        "dfs.journalnode.edits.dir",
        "dfs.journalnode.rpc-address",
        "dfs.journalnode.http-address",
        "dfs.client.failover.proxy.provider",
        "dfs.ha.automatic-failover.enabled",
        "dfs.ha.fencing.methods",
        "dfs.ha.zkfc.port",
    }
)



@pytest.fixture(scope="module", params=INVENTORIES)
def rendered(request: pytest.FixtureRequest,
             render_inventory: Callable[..., Path]) -> tuple[inventory.Cluster, Path]:
    name = request.param
    return inventory.load(REPO / "inventories" / name), render_inventory(name) / "files"


def _hadoop_hosts(cluster: inventory.Cluster) -> list[str]:
    groups = (
        "hdfs_namenode",
        "hdfs_journalnode",
        "hdfs_datanode",
        "yarn_resourcemanager",
        "yarn_nodemanager",
        "hbase_master",
        "hbase_regionserver",
        "hbase_thrift",
    )
    return list(dict.fromkeys(h.name for g in groups for h in cluster.hosts_in(g)))


def _sites(files: Path, host: str) -> dict[str, dict[str, str]]:
    return {f: parse_site(files / host / f) for f in HADOOP_FILES}


@cache
def _hadoop_jar() -> Path | None:
    try:
        import pyspark
    except ImportError:
        return None
    jars = sorted((Path(pyspark.__file__).parent / "jars").glob("hadoop-client-api-*.jar"))
    return jars[-1] if jars else None


@cache
def _jar_defaults() -> dict[str, frozenset[str]] | None:
    jar_path = _hadoop_jar()
    if jar_path is None:
        return None
    out: dict[str, frozenset[str]] = {}
    with zipfile.ZipFile(jar_path) as jar:
        for name in ("core-default.xml", "yarn-default.xml", "mapred-default.xml"):
            root = ET.fromstring(jar.read(name))
            out[name] = frozenset(p.findtext("name") or "" for p in root.iter("property"))
    return out


@cache
def _jar_class_strings() -> bytes:
    """Every class file of the Hadoop client jar, concatenated: config key constants live there."""
    jar_path = _hadoop_jar()
    assert jar_path is not None
    with zipfile.ZipFile(jar_path) as jar:
        return b"".join(
            jar.read(n)
            for n in jar.namelist()
            if n.endswith(".class")
            and n.startswith(
                (
                    "org/apache/hadoop/mapred",
                    "org/apache/hadoop/yarn/conf",
                    "org/apache/hadoop/fs",
                    "org/apache/hadoop/conf",
                )
            )
        )


def test_every_hadoop_host_gets_the_same_client_config(rendered: tuple[inventory.Cluster, Path]) -> None:
    cluster, files = rendered
    hosts = _hadoop_hosts(cluster)
    first = _sites(files, hosts[0])
    for host in hosts[1:]:
        sites = _sites(files, host)
        for f in ("core-site.xml", "yarn-site.xml", "mapred-site.xml"):
            assert sites[f] == first[f], f"{host}: {f} differs from {hosts[0]}'s"
        # hdfs-site differs only by per-host directories and the name the DataNode registers with.
        assert sites["hdfs-site.xml"]["dfs.datanode.hostname"] == host
        strip = {"dfs.datanode.data.dir", "dfs.namenode.name.dir", "dfs.datanode.hostname"}
        assert {k: v for k, v in sites["hdfs-site.xml"].items() if k not in strip} == {
            k: v for k, v in first["hdfs-site.xml"].items() if k not in strip
        }


def test_keys_exist_in_hadoop_defaults(rendered: tuple[inventory.Cluster, Path]) -> None:
    cluster, files = rendered
    sites = _sites(files, _hadoop_hosts(cluster)[0])
    ns = str(cluster.var("hdfs_nameservice"))
    for key in sites["hdfs-site.xml"]:
        generic = key.replace(f".{ns}.", ".").removesuffix(f".{ns}")
        generic = re.sub(r"\.nn\d+$", "", generic)
        generic = "dfs.ha.namenodes.EXAMPLENAMESERVICE" if generic == "dfs.ha.namenodes" else generic
        assert generic in HDFS_DEFAULT_KEYS, f"hdfs-site.xml: {key} is not an hdfs-default.xml property"
    defaults = _jar_defaults()
    if defaults is None:
        pytest.skip("pyspark (Hadoop client jar with core/yarn/mapred-default.xml) is not installed")
    for f, default_file in (
        ("core-site.xml", "core-default.xml"),
        ("yarn-site.xml", "yarn-default.xml"),
        ("mapred-site.xml", "mapred-default.xml"),
    ):
        for key in sites[f]:
            if key.startswith("hadoop.proxyuser."):
                continue  # per-user keys; documented in core-default's description, not as properties
            # A few real keys (e.g. mapreduce.map.env) are only commented examples in *-default.xml:
            # then the key must be a string constant in Hadoop's own classes (MRJobConfig, ...).
            assert key in defaults[default_file] or key.encode() in _jar_class_strings(), (
                f"{f}: {key} is neither in Hadoop's {default_file} nor a key Hadoop's code reads"
            )


def test_default_fs_and_ha(rendered: tuple[inventory.Cluster, Path]) -> None:
    cluster, files = rendered
    namenodes = [h.name for h in cluster.hosts_in("hdfs_namenode")]
    rpc, http = cluster.var("hdfs_namenode_rpc_port"), cluster.var("hdfs_namenode_http_port")
    for host in _hadoop_hosts(cluster):
        core = parse_site(files / host / "core-site.xml")
        hdfs = parse_site(files / host / "hdfs-site.xml")
        assert hdfs["dfs.webhdfs.enabled"] == "true"
        assert int(hdfs["dfs.replication"]) <= len(cluster.hosts_in("hdfs_datanode"))
        if len(namenodes) == 1:
            assert core["fs.defaultFS"] == f"hdfs://{namenodes[0]}:{rpc}"
            assert hdfs["dfs.namenode.rpc-address"] == f"{namenodes[0]}:{rpc}"
            assert hdfs["dfs.namenode.http-address"] == f"{namenodes[0]}:{http}"
            assert hdfs["dfs.namenode.secondary.http-address"].endswith(
                f":{cluster.var('hdfs_secondarynamenode_http_port')}"
            )
            leaked = [k for k in (*core, *hdfs) if k in HA_ONLY_KEYS or k.startswith("dfs.ha.")]
            assert not leaked, f"single NameNode, yet HA keys: {leaked}"
            continue
        ns = str(cluster.var("hdfs_nameservice"))
        assert core["fs.defaultFS"] == f"hdfs://{ns}"
        assert hdfs["dfs.nameservices"] == ns
        ids = hdfs[f"dfs.ha.namenodes.{ns}"].split(",")
        assert len(ids) == 2
        assert sorted(hdfs[f"dfs.namenode.rpc-address.{ns}.{i}"] for i in ids) == sorted(
            f"{nn}:{rpc}" for nn in namenodes
        )
        assert sorted(hdfs[f"dfs.namenode.http-address.{ns}.{i}"] for i in ids) == sorted(
            f"{nn}:{http}" for nn in namenodes
        )
        journals = [h.name for h in cluster.hosts_in("hdfs_journalnode")]
        jport = cluster.var("hdfs_journalnode_rpc_port")
        assert (
            hdfs["dfs.namenode.shared.edits.dir"]
            == "qjournal://" + ";".join(f"{j}:{jport}" for j in journals) + f"/{ns}"
        )
        assert len(journals) >= 3 and len(journals) % 2 == 1
        assert hdfs["dfs.ha.automatic-failover.enabled"] == "true"
        assert hdfs[f"dfs.client.failover.proxy.provider.{ns}"].endswith("ConfiguredFailoverProxyProvider")
        zk = [f"{h.name}:{cluster.var('zookeeper_client_port')}" for h in cluster.hosts_in("zookeeper")]
        assert core["ha.zookeeper.quorum"].split(",") == zk
        assert "dfs.namenode.rpc-address" not in hdfs and "dfs.namenode.secondary.http-address" not in hdfs


def test_daemons_per_host(rendered: tuple[inventory.Cluster, Path]) -> None:
    cluster, files = rendered
    ha = len(cluster.hosts_in("hdfs_namenode")) > 1
    expect: dict[str, set[str]] = {}
    for group, unit in (
        ("hdfs_namenode", "hdfs-namenode"),
        ("hdfs_datanode", "hdfs-datanode"),
        ("yarn_resourcemanager", "yarn-resourcemanager"),
        ("yarn_nodemanager", "yarn-nodemanager"),
        ("hbase_master", "hbase-master"),
        ("hbase_regionserver", "hbase-regionserver"),
        ("hbase_thrift", "hbase-thrift"),
    ):
        for h in cluster.hosts_in(group):
            expect.setdefault(h.name, set()).add(unit)
    if ha:
        for h in cluster.hosts_in("hdfs_journalnode"):
            expect.setdefault(h.name, set()).add("hdfs-journalnode")
        for h in cluster.hosts_in("hdfs_namenode"):
            expect[h.name].add("hdfs-zkfc")
    else:
        expect[cluster.hosts_in("hdfs_namenode")[0].name].add("hdfs-secondarynamenode")
    for host, units in expect.items():
        found = {
            p.stem
            for p in (files / host).glob("*.service")
            if p.stem.startswith(("hdfs-", "yarn-", "hbase-"))
        }
        assert found == units, host


def unit_environment(text: str) -> dict[str, str]:
    """KEY -> value of a unit's Environment= lines (quoted or not)."""
    out = {}
    for line in text.splitlines():
        if line.startswith("Environment="):
            key, _, value = line[len("Environment="):].strip('"').partition("=")
            out[key] = value
    return out


def test_units_use_inventory_java_and_heaps(rendered: tuple[inventory.Cluster, Path]) -> None:
    cluster, files = rendered
    java_root = f"{cluster.var('bigdata_install_root')}/java"
    heaps = {
        "hdfs-namenode": "hdfs_namenode_heap_mb",
        "hdfs-datanode": "hdfs_datanode_heap_mb",
        "yarn-resourcemanager": "yarn_resourcemanager_heap_mb",
        "yarn-nodemanager": "yarn_nodemanager_heap_mb",
        "hbase-master": "hbase_master_heap_mb",
        "hbase-regionserver": "hbase_regionserver_heap_mb",
        "hbase-thrift": "hbase_thrift_heap_mb",
    }
    java_for = cluster.var("bigdata_java_for")
    for unit_file in files.glob("*/*.service"):
        unit = unit_file.stem
        if unit not in heaps:
            continue
        text = unit_file.read_text()
        host = cluster.hosts[unit_file.parent.name]
        component = "hbase" if unit.startswith("hbase") else "hadoop"
        assert unit_environment(text)["JAVA_HOME"] == f"{java_root}/{java_for[component]}", unit_file
        heap = host.var(heaps[unit])
        # java runs in the foreground with the inventory's heap
        assert f"-Xmx{heap}m " in text and f"{java_root}/{java_for[component]}/bin/java" in text, unit_file
        user = {"hdfs": "hdfs", "yarn": "yarn", "hbase": "hbase"}[unit.split("-")[0]]
        assert f"User={user}\n" in text


def test_yarn_resources_and_mapreduce(rendered: tuple[inventory.Cluster, Path]) -> None:
    cluster, files = rendered
    rm = cluster.hosts_in("yarn_resourcemanager")[0].name
    for nm in cluster.hosts_in("yarn_nodemanager"):
        yarn = parse_site(files / nm.name / "yarn-site.xml")
        mapred = parse_site(files / nm.name / "mapred-site.xml")
        assert yarn["yarn.resourcemanager.hostname"] == rm
        for key, var in (
            ("yarn.resourcemanager.address", "yarn_resourcemanager_port"),
            ("yarn.resourcemanager.scheduler.address", "yarn_resourcemanager_scheduler_port"),
            ("yarn.resourcemanager.resource-tracker.address", "yarn_resourcemanager_tracker_port"),
            ("yarn.resourcemanager.admin.address", "yarn_resourcemanager_admin_port"),
            ("yarn.resourcemanager.webapp.address", "yarn_resourcemanager_http_port"),
        ):
            assert yarn[key] == f"{rm}:{cluster.var(var)}", key
        assert yarn["yarn.nodemanager.webapp.address"].endswith(
            f":{cluster.var('yarn_nodemanager_http_port')}"
        )
        assert int(yarn["yarn.nodemanager.resource.memory-mb"]) == int(nm.var("yarn_nodemanager_memory_mb"))
        assert int(yarn["yarn.nodemanager.resource.cpu-vcores"]) == int(nm.var("yarn_nodemanager_vcores"))
        assert "mapreduce_shuffle" in yarn["yarn.nodemanager.aux-services"].split(",")
        assert (
            yarn["yarn.nodemanager.aux-services.mapreduce_shuffle.class"]
            == "org.apache.hadoop.mapred.ShuffleHandler"
        )
        assert "HADOOP_MAPRED_HOME" in yarn["yarn.nodemanager.env-whitelist"].split(",")
        # Hive on MapReduce: jobs go to YARN and find MapReduce in every container.
        assert mapred["mapreduce.framework.name"] == "yarn"
        home = f"{cluster.var('bigdata_install_root')}/hadoop-current"
        for key in ("yarn.app.mapreduce.am.env", "mapreduce.map.env", "mapreduce.reduce.env"):
            assert mapred[key] == f"HADOOP_MAPRED_HOME={home}", key
        largest = max(
            int(mapred[k])
            for k in (
                "yarn.app.mapreduce.am.resource.mb",
                "mapreduce.map.memory.mb",
                "mapreduce.reduce.memory.mb",
            )
        )
        assert (
            largest
            <= int(yarn["yarn.scheduler.maximum-allocation-mb"])
            <= int(yarn["yarn.nodemanager.resource.memory-mb"])
        )
        unit = files / nm.name / "yarn-nodemanager.service"
        assert unit_environment(unit.read_text())["HADOOP_MAPRED_HOME"] == home
        # Containers get the installation's jars and the Java 17 options.
        assert mapred["mapreduce.application.classpath"] == yarn["yarn.application.classpath"]
        assert "--add-opens=java.base/java.lang=ALL-UNNAMED" in mapred["yarn.app.mapreduce.am.command-opts"]


def test_hbase_agrees_with_hdfs_zookeeper_and_clients(rendered: tuple[inventory.Cluster, Path]) -> None:
    cluster, files = rendered
    transport, protocol = clients.thrift_settings(cluster)
    zk_hosts = [h.name for h in cluster.hosts_in("zookeeper")]
    hosts = {
        h.name for g in ("hbase_master", "hbase_regionserver", "hbase_thrift") for h in cluster.hosts_in(g)
    }
    masters = [h.name for h in cluster.hosts_in("hbase_master")]
    for host in hosts:
        site = parse_site(files / host / "hbase-site.xml")
        core = parse_site(files / host / "core-site.xml")
        assert site["hbase.rootdir"] == core["fs.defaultFS"] + "/hbase"
        assert site["hbase.cluster.distributed"] == "true"
        # Registered under the inventory name, never what the host resolves for itself (127.0.1.1).
        assert site["hbase.master.hostname"] == site["hbase.unsafe.regionserver.hostname"] == host
        assert site["hbase.zookeeper.quorum"].split(",") == zk_hosts
        assert site["hbase.zookeeper.property.clientPort"] == str(cluster.var("zookeeper_client_port"))
        for key, var in (
            ("hbase.master.port", "hbase_master_port"),
            ("hbase.master.info.port", "hbase_master_http_port"),
            ("hbase.regionserver.port", "hbase_regionserver_port"),
            ("hbase.regionserver.info.port", "hbase_regionserver_http_port"),
            ("hbase.regionserver.thrift.port", "hbase_thrift_port"),
            ("hbase.thrift.info.port", "hbase_thrift_http_port"),
        ):
            assert site[key] == str(cluster.var(var)), key
        # The one shared setting: what the server speaks is what happybase_connection() uses.
        assert site["hbase.regionserver.thrift.framed"] == str(transport == "framed").lower()
        assert site["hbase.regionserver.thrift.compact"] == str(protocol == "compact").lower()
        env = (files / host / "hbase-env.sh").read_text()
        assert "HBASE_MANAGES_ZK=false" in env
        assert f'HBASE_CLASSPATH="{cluster.var("bigdata_config_root")}/hadoop"' in env
        backups = (files / host / "backup-masters").read_text().split()
        assert backups == masters[1:]
    for i, master in enumerate(masters):
        unit = (files / master / "hbase-master.service").read_text()
        assert ("org.apache.hadoop.hbase.master.HMaster --backup start\n" in unit) == (i > 0)
        assert i > 0 or "org.apache.hadoop.hbase.master.HMaster start\n" in unit


def exec_start(text: str) -> list[str]:
    """The words of a unit's ExecStart (continuation lines joined)."""
    body = text.split("ExecStart=", 1)[1]
    lines = []
    for line in body.splitlines():
        lines.append(line.rstrip("\\").strip())
        if not line.endswith("\\"):
            break
    return " ".join(lines).split()


def test_hbase_units_run_java_like_bin_hbase(rendered: tuple[inventory.Cluster, Path]) -> None:
    """Each HBase daemon: its main class, bin/hbase's JDK 11+ options and properties, logs to files."""
    cluster, files = rendered
    conf = f"{cluster.var('bigdata_config_root')}/hbase"
    home = f"{cluster.var('bigdata_install_root')}/hbase-current"
    log_dir = f"{cluster.var('bigdata_log_root')}/hbase"
    classes = {
        "hbase-master": ("org.apache.hadoop.hbase.master.HMaster", "INFO,RFAS"),
        "hbase-regionserver": ("org.apache.hadoop.hbase.regionserver.HRegionServer", "INFO,RFAS"),
        "hbase-thrift": ("org.apache.hadoop.hbase.thrift.ThriftServer", "INFO,NullAppender"),
    }
    seen = set()
    for unit_file in files.glob("*/hbase-*.service"):
        host = unit_file.parent.name
        words = exec_start(unit_file.read_text())
        main_class, security = classes[unit_file.stem]
        seen.add(unit_file.stem)
        assert words[-1] == "start" and main_class in words, unit_file
        for opt in ("-Dorg.apache.hbase.thirdparty.io.netty.tryReflectionSetAccessible=true",
                    "--add-modules=jdk.unsupported", "--add-opens=java.base/java.nio=ALL-UNNAMED",
                    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
                    "--add-opens=java.base/java.lang=ALL-UNNAMED",
                    "--add-opens=java.base/jdk.internal.ref=ALL-UNNAMED",
                    "--add-exports=java.base/jdk.internal.misc=ALL-UNNAMED",
                    f"-Dhbase.log.dir={log_dir}", "-Dhbase.root.logger=INFO,RFA",
                    f"-Dhbase.security.logger={security}", f"-Dhbase.home.dir={home}",
                    f"-Dlog4j2.configurationFile={conf}/log4j2.properties"):
            assert opt in words, (unit_file, opt)
        name = unit_file.stem.split("-", 1)[1]
        assert f"-Dhbase.log.file=hbase-hbase-{name}-{host}.log" in words
        classpath = words[words.index("-cp") + 1].split(":")
        # conf dirs first; the bundle's log4j2 binding ahead of the reload4j one in lib/
        assert classpath[:2] == [conf, f"{cluster.var('bigdata_config_root')}/hadoop"]
        assert classpath[2:] == [f"{home}/lib-first/*", f"{home}/lib/*"]
        log4j2 = (unit_file.parent / "log4j2.properties").read_text()
        assert "rootLogger = ${sys:hbase.root.logger:-INFO,console}" in log4j2
        assert "appender.RFA.fileName = ${logdir}/${logfile}" in log4j2
    assert seen == set(classes)


def test_hbase_admin_command(rendered: tuple[inventory.Cluster, Path]) -> None:
    """`hbase shell` over a bundle: JarBootstrapMain, jruby-complete first, the trace override."""
    cluster, files = rendered
    host = cluster.hosts_in("hbase_master")[0].name
    cli = (files / host / "hbase-cli").read_text()
    home = f"{cluster.var('bigdata_install_root')}/hbase-current"
    assert 'exec "$HBASE_HOME/bin/hbase" --config "$HBASE_CONF_DIR" "$@"' in cli
    assert "class=org.jruby.JarBootstrapMain" in cli
    assert f'cp="{home}/lib-ruby/*:{cluster.var("bigdata_install_root")}/hbase-shell-compat:$cp"' in cli
    assert "version) class=org.apache.hadoop.hbase.util.VersionInfo ;;" in cli
    assert "--add-opens=java.base/java.nio=ALL-UNNAMED" in cli
