"""Catalog: real file names and URL layouts per component, what an inventory needs, compatibility."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bigdata_admin import catalog, inventory
from bigdata_admin.catalog import (
    apache_artifact,
    artifacts_for,
    compatibility_problems,
    impala_images,
    postgresql_jdbc_artifact,
    pypi_artifacts,
    temurin_artifact,
)

M, A = "https://dlcdn.apache.org", "https://archive.apache.org/dist"


def make(tmp_path: Path, groups: list[str], **vars: Any) -> inventory.Cluster:
    inv = {"all": {"hosts": {"n1": {"ansible_host": "10.213.0.11"}},
                   "children": {g: {"hosts": {"n1": {}}} for g in groups}}}
    (tmp_path / "group_vars").mkdir(exist_ok=True)
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inv))
    (tmp_path / "group_vars" / "all.yml").write_text(yaml.safe_dump(vars))
    return inventory.load(tmp_path)


@pytest.mark.parametrize(("component", "version", "path", "algo"), [
    ("hadoop", "3.3.6", "hadoop/common/hadoop-3.3.6/hadoop-3.3.6.tar.gz", "sha512"),
    ("zookeeper", "3.8.4", "zookeeper/zookeeper-3.8.4/apache-zookeeper-3.8.4-bin.tar.gz", "sha512"),
    ("hbase", "2.5.10", "hbase/2.5.10/hbase-2.5.10-hadoop3-bin.tar.gz", "sha512"),
    ("hive", "3.1.3", "hive/hive-3.1.3/apache-hive-3.1.3-bin.tar.gz", "sha256"),
    ("kafka", "4.0.0", "kafka/4.0.0/kafka_2.13-4.0.0.tgz", "sha512"),
    ("storm", "2.7.1", "storm/apache-storm-2.7.1/apache-storm-2.7.1.tar.gz", "sha512"),
    ("spark", "3.5.5", "spark/spark-3.5.5/spark-3.5.5-bin-hadoop3.tgz", "sha512"),
])
def test_apache_layouts(component: str, version: str, path: str, algo: str) -> None:
    a = apache_artifact(component, version, hadoop_version="3.3.6")
    assert a.filename == path.rsplit("/", 1)[-1]
    assert a.urls == (f"{M}/{path}", f"{A}/{path}"), "mirror first, archive as fallback"
    assert a.checksum_urls == (f"{M}/{path}.{algo}", f"{A}/{path}.{algo}")
    assert a.algorithm == algo


def test_configurable_mirror() -> None:
    a = apache_artifact("kafka", "3.9.0", mirror="http://mirror.example/apache/", archive="http://arch/dist")
    assert a.urls[0] == "http://mirror.example/apache/kafka/3.9.0/kafka_2.13-3.9.0.tgz"
    assert a.urls[1] == "http://arch/dist/kafka/3.9.0/kafka_2.13-3.9.0.tgz"


def test_hbase_before_2_5_or_on_hadoop_2_uses_plain_bin() -> None:
    assert catalog.hbase_filename("2.4.18", "3.3.6") == "hbase-2.4.18-bin.tar.gz"
    assert catalog.hbase_filename("2.5.10", "2.10.2") == "hbase-2.5.10-bin.tar.gz"
    assert catalog.hbase_filename("2.6.1", "3.4.1") == "hbase-2.6.1-hadoop3-bin.tar.gz"


def test_temurin_layouts() -> None:
    j8 = temurin_artifact(8, "8u442-b06")
    assert j8.filename == "OpenJDK8U-jdk_x64_linux_hotspot_8u442b06.tar.gz"
    assert j8.urls[0] == ("https://github.com/adoptium/temurin8-binaries/releases/download/jdk8u442-b06/"
                          "OpenJDK8U-jdk_x64_linux_hotspot_8u442b06.tar.gz")
    assert j8.checksum_urls[0] == j8.urls[0] + ".sha256.txt" and j8.algorithm == "sha256"
    j11 = temurin_artifact(11, "11.0.26+4")
    assert j11.filename == "OpenJDK11U-jdk_x64_linux_hotspot_11.0.26_4.tar.gz"
    assert "/download/jdk-11.0.26%2B4/" in j11.urls[0]
    assert j11.extra["major"] == 11


def test_jdbc_pypi_and_images() -> None:
    jdbc = postgresql_jdbc_artifact("42.7.4")
    assert jdbc.urls[0] == ("https://repo1.maven.org/maven2/org/postgresql/postgresql/42.7.4/"
                            "postgresql-42.7.4.jar")
    assert jdbc.checksum_urls[0].endswith(".jar.sha1") and jdbc.algorithm == "sha1"
    pyspark, py4j = pypi_artifacts("3.5.5")
    assert pyspark.filename == "pyspark-3.5.5-py2.py3-none-any.whl"
    assert pyspark.extra["pypi_file"] == "pyspark-3.5.5.tar.gz" and pyspark.extra["build_wheel"]
    assert py4j.filename == "py4j-0.10.9.7-py2.py3-none-any.whl"
    assert pypi_artifacts("4.0.0")[1].version == "0.10.9.9"
    images = impala_images("4.4.1")
    assert [i.extra["image"] for i in images] == [
        "apache/impala:4.4.1-statestored", "apache/impala:4.4.1-catalogd",
        "apache/impala:4.4.1-impalad_coord_exec"]
    assert not any(i.fetchable for i in images)


def test_artifacts_for_classroom_inventory(repo_root: Path) -> None:
    cluster = inventory.load(repo_root / "inventories" / "classroom")
    names = [a.filename for a in artifacts_for(cluster)]
    for expected in ("hadoop-3.4.2-maven.tar.gz", "apache-zookeeper-3.8.4-bin.tar.gz",
                     "hbase-2.6.1-hadoop3.4.2-maven.tar.gz", "apache-hive-3.1.3-bin.tar.gz",
                     "kafka-4.1.1-maven.tar.gz",
                     "spark-3.5.5-bin-hadoop3.tgz", "postgresql-42.7.4.jar",
                     "OpenJDK8U-jdk_x64_linux_hotspot_8u442b06.tar.gz"):
        assert expected in names
    assert any(n.startswith(("apache-storm-", "storm-")) for n in names)
    assert len(names) == len(set(names))


def test_install_methods_and_absent_services(tmp_path: Path) -> None:
    cluster = make(tmp_path, ["zookeeper", "spark_master", "spark_worker", "redis"],
                   zookeeper_install_method="package", spark_install_method="wheel",
                   bigdata_java_for={"zookeeper": 17, "spark": 17})
    names = [a.filename for a in artifacts_for(cluster)]
    assert names == ["pyspark-3.5.5-py2.py3-none-any.whl", "py4j-0.10.9.7-py2.py3-none-any.whl"], \
        "package ZooKeeper needs no tarball, Java 17 comes from the OS, absent services need nothing"


def test_java_tarball_only_for_majors_the_os_lacks(tmp_path: Path) -> None:
    cluster = make(tmp_path, ["hive_metastore", "metastore_db", "kafka_broker"], bigdata_java_for={"hive": 8})
    names = [a.filename for a in artifacts_for(cluster)]
    assert "OpenJDK8U-jdk_x64_linux_hotspot_8u442b06.tar.gz" in names
    assert not any("OpenJDK17" in n or "OpenJDK11" in n for n in names)


def _messages(problems: list[Any]) -> str:
    return "\n".join(f"{p.severity} {p.where}: {p.message} / {p.fix}" for p in problems)


def test_shipped_inventories_are_compatible(repo_root: Path) -> None:
    for name in ("single-node", "classroom", "ha"):
        cluster = inventory.load(repo_root / "inventories" / name)
        assert [p for p in compatibility_problems(cluster) if p.severity == "error"] == [], name


def test_hive_3_1_needs_java_8(tmp_path: Path) -> None:
    versions = dict(inventory.role_defaults()["bigdata_versions"], hive="3.1.3")
    cluster = make(tmp_path, ["hive_metastore", "metastore_db"], bigdata_java_for={"hive": 11},
                   bigdata_versions=versions)
    text = _messages(compatibility_problems(cluster))
    assert "hive 3.1.3 does not run on Java 11" in text and "bigdata_java_for.hive: 8" in text


def test_hive_4_from_maven_on_java_17_by_default(tmp_path: Path) -> None:
    cluster = make(tmp_path, ["hive_metastore", "hive_server2", "metastore_db", "hdfs_namenode"])
    assert cluster.version("hive") == "4.0.1" and int(cluster.var("bigdata_java_for")["hive"]) == 17
    assert compatibility_problems(cluster) == []
    names = [a.filename for a in artifacts_for(cluster)]
    assert "hive-4.0.1-maven.tar.gz" in names and "postgresql-42.7.4.jar" in names
    assert not any(n.startswith(("apache-hive-", "OpenJDK")) for n in names), names
    hive = next(a for a in artifacts_for(cluster) if a.component == "hive")
    coords = hive.extra["coordinates"]
    assert "org.apache.hive:hive-standalone-metastore-server:4.0.1:tar.gz:bin" in coords, \
        "the schema SQL comes from the standalone metastore's bin tarball"
    assert "org.apache.hive:hive-beeline:3.1.3" in coords
    assert not any(c.startswith("org.apache.hadoop:") for c in coords)


def test_hive_3_1_comes_from_its_release(tmp_path: Path) -> None:
    versions = dict(inventory.role_defaults()["bigdata_versions"], hive="3.1.3")
    cluster = make(tmp_path, ["hive_metastore", "metastore_db"], bigdata_versions=versions,
                   bigdata_java_for={"hive": 8})
    names = [a.filename for a in artifacts_for(cluster)]
    assert "apache-hive-3.1.3-bin.tar.gz" in names and "hive-3.1.3-maven.tar.gz" not in names


def test_kafka_4_needs_java_17(tmp_path: Path) -> None:
    cluster = make(tmp_path, ["kafka_broker", "kafka_controller"], bigdata_java_for={"kafka": 11})
    text = _messages(compatibility_problems(cluster))
    kafka = cluster.version("kafka")
    assert f"kafka {kafka} does not run on Java 11" in text and "bigdata_java_for.kafka: 17" in text


def test_hadoop_3_3_on_8_or_11_only(tmp_path: Path) -> None:
    versions = dict(inventory.role_defaults()["bigdata_versions"], hadoop="3.3.6")
    ok = make(tmp_path, ["hdfs_namenode", "hdfs_datanode"], bigdata_java_for={"hadoop": 8},
              bigdata_versions=versions)
    assert compatibility_problems(ok) == []
    bad = make(tmp_path, ["hdfs_namenode", "hdfs_datanode"], bigdata_java_for={"hadoop": 17},
               bigdata_versions=versions)
    assert "hadoop 3.3.6 does not run on Java 17" in _messages(compatibility_problems(bad))


def test_defaults_run_on_java_17(tmp_path: Path) -> None:
    """Hadoop 3.4 and Kafka 4 run on Debian 12's Java 17 without a warning (the roles add the
    --add-opens Hadoop needs)."""
    cluster = make(tmp_path, ["hdfs_namenode", "hdfs_datanode", "kafka_controller", "kafka_broker"])
    assert compatibility_problems(cluster) == []


def test_hbase_2_5_on_17_is_a_warning(tmp_path: Path) -> None:
    versions = dict(inventory.role_defaults()["bigdata_versions"], hbase="2.5.10")
    cluster = make(tmp_path, ["hbase_master"], bigdata_java_for={"hbase": 17}, bigdata_versions=versions)
    problems = compatibility_problems(cluster)
    assert [p.severity for p in problems] == ["warning"]


def test_hbase_2_6_runs_on_17_by_default(tmp_path: Path) -> None:
    cluster = make(tmp_path, ["hbase_master"])
    assert cluster.version("hbase").startswith("2.6") and int(cluster.var("bigdata_java_for")["hbase"]) == 17
    assert compatibility_problems(cluster) == []


def test_impala_4_needs_hive_3_1_metastore(tmp_path: Path) -> None:
    versions = dict(inventory.role_defaults()["bigdata_versions"], hive="4.0.1")
    cluster = make(tmp_path, ["impala_daemon", "impala_catalog", "hive_metastore", "metastore_db"],
                   bigdata_versions=versions, bigdata_java_for={"hive": 8})
    problems = compatibility_problems(cluster)
    text = _messages(problems)
    assert "warning setting bigdata_versions.hive: Impala 4.4.1 is built for a Hive 3.1.x metastore" in text


def test_spark_3_5_with_hive_4_metastore(tmp_path: Path) -> None:
    versions = dict(inventory.role_defaults()["bigdata_versions"], hive="4.0.1")
    cluster = make(tmp_path, ["spark_master", "hive_metastore", "metastore_db"], bigdata_versions=versions)
    # Through Hive's 3.1.3 client, which the spark role installs for a Hive 4 metastore.
    assert "bigdata_versions.spark" not in _messages(compatibility_problems(cluster))
    client = [a for a in artifacts_for(cluster) if a.extra.get("bundle") == "spark-hive-client"]
    assert [(a.component, a.filename, a.source) for a in client] == [
        ("spark", "spark-hive-client-3.1.3-maven.tar.gz", "maven")]
    assert "org.apache.hive:hive-metastore:3.1.3" in client[0].extra["coordinates"]
    newer = dict(versions, hive="4.1.0")
    cluster = make(tmp_path, ["spark_master", "hive_metastore", "metastore_db"], bigdata_versions=newer,
                   bigdata_java_for={"hive": 17})
    text = _messages(compatibility_problems(cluster))
    assert "warning setting bigdata_versions.spark: Spark 3.5.5 can use Hive metastores 0.12 to 4.0.1" in text
    hive3 = dict(versions, hive="3.1.3")
    cluster = make(tmp_path, ["spark_master", "hive_metastore", "metastore_db"], bigdata_versions=hive3,
                   bigdata_java_for={"hive": 8})
    assert not [a for a in artifacts_for(cluster) if a.extra.get("bundle") == "spark-hive-client"]
    older = dict(versions, hive="0.11.0")
    cluster = make(tmp_path, ["spark_master", "hive_metastore", "metastore_db"], bigdata_versions=older,
                   bigdata_java_for={"hive": 8})
    assert "error setting bigdata_versions.spark" in _messages(compatibility_problems(cluster))


def test_hbase_2_4_on_hadoop_3_warns(tmp_path: Path) -> None:
    versions = dict(inventory.role_defaults()["bigdata_versions"], hbase="2.4.18")
    cluster = make(tmp_path, ["hbase_master", "hdfs_namenode"], bigdata_versions=versions)
    assert "no -hadoop3-bin build" in _messages(compatibility_problems(cluster))


def test_unknown_version_and_missing_java(tmp_path: Path) -> None:
    versions = dict(inventory.role_defaults()["bigdata_versions"], storm="9.9.9")
    cluster = make(tmp_path, ["storm_nimbus"], bigdata_versions=versions, bigdata_java_for={"storm": "x"})
    text = _messages(compatibility_problems(cluster))
    assert "is 'x', not a Java major" in text
    assert all(p.fix for p in compatibility_problems(cluster))


def test_java_without_a_source(tmp_path: Path) -> None:
    cluster = make(tmp_path, ["zookeeper"], bigdata_java_for={"zookeeper": 21},
                   bigdata_versions={"zookeeper": "3.9.3"})
    assert "no source for Java 21" in _messages(compatibility_problems(cluster))


def test_notes_state_the_hive_bundle() -> None:
    assert any("Hive 4.0 from Maven" in n and "one binding" in n for n in catalog.NOTES)
