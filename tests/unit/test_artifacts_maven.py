"""The Maven bundle logic: coordinates, the POM and settings given to mvn, its dependency list, the
bundle tarball and its verification. The resolver itself runs for real in
tests/integration/test_artifacts_maven.py; here a local repository laid out by hand stands in."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import pytest

from bigdata_admin import catalog, inventory, maven
from bigdata_admin.maven import Coordinate, MavenError, Resolved

REPO = Path(__file__).resolve().parents[2]


def test_coordinates_round_trip_and_reject_garbage() -> None:
    c = Coordinate.parse("org.apache.hadoop:hadoop-hdfs:3.4.2:jar:tests")
    assert (c.group, c.artifact, c.version, c.type, c.classifier) == (
        "org.apache.hadoop", "hadoop-hdfs", "3.4.2", "jar", "tests")
    assert str(c) == "org.apache.hadoop:hadoop-hdfs:3.4.2:jar:tests"
    assert str(Coordinate.parse("g:a:1")) == "g:a:1"
    for bad in ("g:a", "g::1", "a:b:c:d:e:f"):
        with pytest.raises(ValueError, match="not a Maven coordinate"):
            Coordinate.parse(bad)


def test_pom_names_only_the_top_level_artifacts_and_escapes() -> None:
    text = maven.pom("bundle-x", [Coordinate.parse("g:a:1"), Coordinate.parse("g:b:2:jar:tests")])
    root = ElementTree.fromstring(text)
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    deps = root.findall("m:dependencies/m:dependency", ns)
    assert [(d.findtext("m:artifactId", namespaces=ns), d.findtext("m:classifier", namespaces=ns))
            for d in deps] == [("a", None), ("b", "tests")]
    assert root.findtext("m:packaging", namespaces=ns) == "pom"
    settings = ElementTree.fromstring(maven.settings("https://nexus.example/repo?a=1&b=2"))
    assert settings.findtext("mirrors/mirror/url") == "https://nexus.example/repo?a=1&b=2"
    assert settings.findtext("mirrors/mirror/mirrorOf") == "*"


def test_dependency_list_with_classifiers_and_module_suffix() -> None:
    text = """
The following files have been resolved:
   org.apache.kafka:kafka-raft:jar:4.1.1:runtime:/r/org/apache/kafka/kafka-raft/4.1.1/kafka-raft-4.1.1.jar
   org.apache.hadoop:hadoop-hdfs:jar:tests:3.4.2:compile:/r/h/hadoop-hdfs-3.4.2-tests.jar -- module x
   not a line
"""
    got = maven.parse_dependency_list(text)
    assert [str(r.coordinate) for r in got] == ["org.apache.kafka:kafka-raft:4.1.1",
                                                "org.apache.hadoop:hadoop-hdfs:3.4.2:jar:tests"]
    assert got[1].path == Path("/r/h/hadoop-hdfs-3.4.2-tests.jar")


def _publish(repo: Path, coord: str, content: bytes, *, entries: dict[str, bytes] | None = None) -> Resolved:
    """Lay one artifact out as Maven's local repository does, with its published .sha1."""
    c = Coordinate.parse(coord)
    d = repo / c.group.replace(".", "/") / c.artifact / c.version
    d.mkdir(parents=True, exist_ok=True)
    name = f"{c.artifact}-{c.version}" + (f"-{c.classifier}" if c.classifier else "") + ".jar"
    if entries is not None:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as z:
            for k, v in entries.items():
                z.writestr(k, v)
        content = buf.getvalue()
    (d / name).write_bytes(content)
    (d / (name + ".sha1")).write_text(hashlib.sha1(content).hexdigest() + "\n")
    return Resolved(c, d / name)


def test_bundle_layout_checksums_and_webapps(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    resolved = [
        _publish(repo, "org.example:core:1.0", b"core"),
        _publish(repo, "org.other:core:1.0", b"other core"),  # same file name, other group
        _publish(repo, "org.example:web:1.0:jar:tests",
                 b"", entries={"webapps/hdfs/index.html": b"<html>", "Foo.class": b"x"}),
    ]
    dest = tmp_path / "x-1.0-maven.tar.gz"
    meta = maven.build_bundle(dest, "x", "1.0", resolved, repository="https://repo", coordinates=[
        r.coordinate for r in resolved], webapps_from=[Coordinate.parse("org.example:web:1.0:jar:tests")])
    with tarfile.open(dest) as tar:
        names = sorted(m.name for m in tar if m.isfile())
    assert names == ["x-1.0/bundle.json", "x-1.0/lib/core-1.0.jar", "x-1.0/lib/org.other.core-1.0.jar",
                     "x-1.0/webapps/hdfs/index.html"]
    assert meta["files"]["lib/core-1.0.jar"]["sha1"] == hashlib.sha1(b"core").hexdigest()
    assert maven.read_bundle_json(dest)["coordinates"] == meta["coordinates"]
    ok, message = maven.verify_bundle(dest, repo)
    assert ok, message
    assert "2 jars" in message
    # Same input, same bytes: the bundle is reproducible.
    first = dest.read_bytes()
    maven.build_bundle(dest, "x", "1.0", resolved, repository="https://repo",
                       coordinates=[r.coordinate for r in resolved],
                       webapps_from=[Coordinate.parse("org.example:web:1.0:jar:tests")])
    assert dest.read_bytes() == first


def test_a_jar_that_differs_from_the_published_sha1_is_refused(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    r = _publish(repo, "org.example:core:1.0", b"core")
    r.path.write_bytes(b"tampered")
    with pytest.raises(MavenError, match="differs from the published"):
        maven.build_bundle(tmp_path / "b.tar.gz", "x", "1.0", [r], repository="r", coordinates=[r.coordinate])


def test_verify_finds_a_tampered_bundle(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    r = _publish(repo, "org.example:core:1.0", b"core")
    dest = tmp_path / "x-1.0-maven.tar.gz"
    maven.build_bundle(dest, "x", "1.0", [r], repository="r", coordinates=[r.coordinate])
    # Rewrite the bundle with other jar content but the same bundle.json.
    meta = json.dumps(maven.read_bundle_json(dest)).encode()
    with tarfile.open(dest, "w:gz") as tar:
        for name, data in (("x-1.0/lib/core-1.0.jar", b"evil"), ("x-1.0/bundle.json", meta)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    ok, message = maven.verify_bundle(dest, repo)
    assert not ok and "core-1.0.jar" in message and "differs" in message


def test_catalog_offers_bundles_for_hadoop_and_kafka_by_default(tmp_path: Path) -> None:
    cluster = inventory.load(REPO / "inventories" / "classroom")
    by_component = {a.component: a for a in catalog.artifacts_for(cluster)}
    hadoop, kafka = by_component["hadoop"], by_component["kafka"]
    assert (hadoop.kind, hadoop.source, hadoop.filename) == (
        "bundle", "maven", f"hadoop-{cluster.version('hadoop')}-maven.tar.gz")
    assert any(c.startswith("org.apache.hadoop:hadoop-hdfs:") and c.endswith(":jar:tests")
               for c in hadoop.extra["webapps_from"])
    assert f"org.apache.kafka:kafka_2.13:{cluster.version('kafka')}" in kafka.extra["coordinates"]
    # A mirror and the apache source are honoured.
    cluster.vars["bigdata_maven_repository"] = "https://nexus.example/maven"
    assert {a.component: a for a in catalog.artifacts_for(cluster)}["kafka"].extra["repository"] == (
        "https://nexus.example/maven")
    cluster.vars["bigdata_artifact_source"] = "apache"
    apache = {a.component: a for a in catalog.artifacts_for(cluster)}
    assert apache["hadoop"].source == "apache" and apache["hadoop"].filename.endswith(".tar.gz")
    cluster.vars["kafka_install_source"] = "maven"
    assert {a.component: a for a in catalog.artifacts_for(cluster)}["kafka"].source == "maven"


def test_resolve_without_mvn_names_the_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maven.shutil, "which", lambda name: None)
    with pytest.raises(MavenError) as err:
        maven.resolve("x", [Coordinate.parse("g:a:1")], tmp_path)
    assert "apt-get install maven" in (err.value.fix or "")


@pytest.mark.parametrize("user_opts", [None, "-Xmx2g"])
def test_mvn_runs_with_c1_only_unless_the_user_sets_maven_opts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, user_opts: str | None) -> None:
    """A stand-in `mvn` on PATH records the MAVEN_OPTS it got and fails."""
    seen = tmp_path / "opts"
    fake = tmp_path / "bin" / "mvn"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nprintf %s "$MAVEN_OPTS" > {seen}\necho "[ERROR] Failed: stand-in"\nexit 1\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    if user_opts is None:
        monkeypatch.delenv("MAVEN_OPTS", raising=False)
    else:
        monkeypatch.setenv("MAVEN_OPTS", user_opts)
    with pytest.raises(MavenError, match="stand-in"):
        maven.run_dependency_list("x", "<project/>", tmp_path / "repo")
    assert seen.read_text() == (user_opts or "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC")


def test_hbase_bundle_carries_the_clusters_hadoop_and_the_hadoop3_modules() -> None:
    cluster = inventory.load(REPO / "inventories" / "classroom")
    hbase = {a.component: a for a in catalog.artifacts_for(cluster)}["hbase"]
    version, hadoop = cluster.version("hbase"), cluster.version("hadoop")
    assert (hbase.kind, hbase.source, hbase.filename) == ("bundle", "maven",
                                                             f"hbase-{version}-hadoop{hadoop}-maven.tar.gz")
    coords = hbase.extra["coordinates"]
    assert all(Coordinate.parse(c) for c in coords)
    # Hadoop named first at the cluster's version: Maven keeps it over HBase's 3.3.x.
    first = [Coordinate.parse(c) for c in coords[:3]]
    assert [c.group for c in first] == ["org.apache.hadoop"] * 3
    assert {c.version for c in map(Coordinate.parse, coords) if c.group == "org.apache.hadoop"} == {hadoop}
    server = {Coordinate.parse(c).artifact: Coordinate.parse(c).version for c in coords
              if c.startswith("org.apache.hbase:")}
    assert server["hbase-server"] == f"{version}-hadoop3" and server["hbase-rsgroup"] == f"{version}-hadoop3"
    # What Central has: thrift only as the plain build, the shell only up to 2.4.17.
    assert server["hbase-thrift"] == version and server["hbase-shell"] == catalog.HBASE_SHELL_MAVEN_VERSION
    assert "com.sun.xml.ws:jaxws-ri:2.3.2:pom" in coords  # the tarball's lib/jdk11
    assert any(c.startswith("org.apache.logging.log4j:log4j-slf4j-impl:") for c in coords)
    # The apache source still names the Hadoop 3 release tarball.
    cluster.vars["hbase_install_source"] = "apache"
    apache = {a.component: a for a in catalog.artifacts_for(cluster)}["hbase"]
    assert apache.filename == f"hbase-{version}-hadoop3-bin.tar.gz" and apache.source == "apache"
