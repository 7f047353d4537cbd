"""Storm's bundle layout (storm_bundle.py), its catalog entries and the smoke test's pure helpers.

Maven itself is not run here (tests/integration/test_storm_lab.py builds the real bundle); these
check the POM, the checksum rules, the web assets and the catalog against small real files.
"""

from __future__ import annotations

import hashlib
import subprocess
import tarfile
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import pytest
import yaml

from bigdata_admin import inventory, maven, storm_bundle
from bigdata_admin.catalog import artifacts_for, flux_core_artifact, maven_coordinates
from bigdata_admin.health import smoke_core
from bigdata_admin.maven import Coordinate, MavenError, Resolved, read_bundle_json, verify_bundle
from bigdata_admin.storm_bundle import (
    build_storm_bundle,
    build_storm_webapp_bundle,
    checked_sha1,
    layout_pom,
    public_assets,
    storm_layout,
    storm_local_installs,
    storm_top_level,
    storm_webapp_layout,
    storm_webapp_top_level,
)

NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def test_layout_mirrors_storms_release_split_into_daemon_and_web_bundles() -> None:
    layout = dict(storm_layout("2.8.3"))
    assert list(layout) == ["lib", "lib-worker"], "the daemon bundle: no storm-webapp"
    assert layout["lib"] == [("org.apache.storm:storm-core:2.8.3", ["org.apache.storm:storm-clojure"])]
    assert layout["lib-worker"][0][0] == "org.apache.storm:storm-client:2.8.3"
    web = dict(storm_webapp_layout("2.8.3"))
    assert list(web) == ["lib-webapp"]
    assert web["lib-webapp"][0][0] == "org.apache.storm:storm-webapp:2.8.3"
    assert storm_top_level("2.8.3") == [c for deps in layout.values() for c, _ in deps]
    assert storm_webapp_top_level("2.8.3") == ["org.apache.storm:storm-webapp:2.8.3"]
    assert maven_coordinates("storm", "2.8.3") == (storm_top_level("2.8.3"), [])
    assert maven_coordinates("storm-webapp", "2.8.3") == (storm_webapp_top_level("2.8.3"), [])


def _published(repo: Path, coord: str, data: bytes) -> Resolved:
    """A jar in a fake local Maven repository with its published .sha1 beside it."""
    c = Coordinate.parse(coord)
    path = repo / c.group.replace(".", "/") / c.artifact / c.version / f"{c.artifact}-{c.version}.jar"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    digest = hashlib.sha1(data, usedforsecurity=False).hexdigest()
    path.with_name(path.name + ".sha1").write_text(digest)
    return Resolved(c, path)


def _webapp_jar(repo: Path) -> Resolved:
    r = _published(repo, "org.apache.storm:storm-webapp:2.8.3", b"")
    with zipfile.ZipFile(r.path, "w") as z:
        z.writestr("WEB-INF/index.html", b"<title>Storm UI ${packageTimestamp}</title>")
    r.path.with_name(r.path.name + ".sha1").write_text(
        hashlib.sha1(r.path.read_bytes(), usedforsecurity=False).hexdigest())
    return r


def _members(bundle: Path) -> list[str]:
    with tarfile.open(bundle) as tar:
        return tar.getnames()


def test_daemon_and_web_bundles_are_built_apart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    core = _published(repo, "org.apache.storm:storm-core:2.8.3", b"core")
    client = _published(repo, "org.apache.storm:storm-client:2.8.3", b"client")
    shared = _published(repo, "org.slf4j:slf4j-api:1.7.36", b"slf4j")
    jetty = _published(repo, "org.eclipse.jetty:jetty-server:9.4.57", b"jetty")
    webapp = _webapp_jar(repo)
    answers = {"lib": [core, shared], "lib-worker": [client, shared], "lib-webapp": [webapp, shared, jetty]}
    asked: list[str] = []

    def fake_resolve(version: str, directory: str, deps: object, repository: str, local_repo: Path) -> list:
        asked.append(directory)
        return answers[directory]

    monkeypatch.setattr(storm_bundle, "_resolve_dir", fake_resolve)
    daemon = tmp_path / "storm-2.8.3-maven.tar.gz"
    meta = build_storm_bundle(daemon, "2.8.3", "https://repo.example/m2", repo)
    assert asked == ["lib", "lib-worker"]
    assert sorted(meta["files"]) == ["lib-worker/slf4j-api-1.7.36.jar", "lib-worker/storm-client-2.8.3.jar",
                                     "lib/slf4j-api-1.7.36.jar", "lib/storm-core-2.8.3.jar"]
    names = _members(daemon)
    assert "storm-2.8.3/extlib" in names and "storm-2.8.3/bundle.json" in names
    assert not any("webapp" in n or "/public" in n for n in names), names
    assert read_bundle_json(daemon)["coordinates"] == storm_top_level("2.8.3")

    asked.clear()
    web = tmp_path / "storm-webapp-2.8.3-maven.tar.gz"
    meta = build_storm_webapp_bundle(web, "2.8.3", "https://repo.example/m2", repo)
    assert asked == ["lib-webapp", "lib"], "storm-webapp first (fails fast), lib only to drop duplicates"
    assert sorted(meta["files"]) == ["lib-webapp/jetty-server-9.4.57.jar",
                                     "lib-webapp/storm-webapp-2.8.3.jar"]
    assert meta["component"] == "storm-webapp" and meta["coordinates"] == storm_webapp_top_level("2.8.3")
    names = _members(web)
    assert "storm-webapp-2.8.3/public/index.html" in names and "storm-webapp-2.8.3/bundle.json" in names
    assert not any("/lib/" in n or "lib-worker" in n for n in names), names
    ok, message = verify_bundle(web, repo)
    assert ok and message.startswith("2 jars"), message
    jetty.path.with_name(jetty.path.name + ".sha1").write_text("0" * 40)
    ok, message = verify_bundle(web, repo)
    assert not ok and "jetty-server" in message, "lib-webapp/ jars are verified too"


def test_a_repository_without_storm_webapp_fails_the_web_bundle_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fake_mvn(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(str(kwargs.get("cwd")))
        return subprocess.CompletedProcess(cmd, 1, "[ERROR] Failed to execute goal on project x: Could not "
                                           "resolve dependencies: org.apache.storm:storm-webapp:jar:2.8.3 "
                                           "was not found in https://repo.example/m2", "")

    monkeypatch.setattr(maven, "mvn_available", lambda: True)
    monkeypatch.setattr(maven.subprocess, "run", fake_mvn)
    with pytest.raises(MavenError) as err:
        build_storm_webapp_bundle(tmp_path / "w.tar.gz", "2.8.3", "https://repo.example/m2", tmp_path / "r")
    assert "storm-webapp" in err.value.message and "scripts/storm-webapp-from-source" in (err.value.fix or "")
    assert len(calls) == 1, "storm-core is not resolved once storm-webapp failed"
    assert not (tmp_path / "w.tar.gz").exists()


def test_layout_pom_has_the_exclusions() -> None:
    deps_in = [("org.apache.storm:storm-core:2.8.3", ["org.apache.storm:storm-clojure"]), ("g:a:1", [])]
    root = ET.fromstring(layout_pom("x", deps_in))
    deps = root.findall("m:dependencies/m:dependency", NS)
    assert [d.findtext("m:artifactId", namespaces=NS) for d in deps] == ["storm-core", "a"]
    excl = deps[0].findall("m:exclusions/m:exclusion", NS)
    assert [(e.findtext("m:groupId", namespaces=NS), e.findtext("m:artifactId", namespaces=NS))
            for e in excl] == [("org.apache.storm", "storm-clojure")]
    assert deps[1].find("m:exclusions", NS) is None
    assert root.findtext("m:packaging", namespaces=NS) == "pom"


def _jar(path: Path, data: bytes = b"jar bytes") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_checked_sha1_published_local_and_missing(tmp_path: Path) -> None:
    published = _jar(tmp_path / "a" / "a-1.jar")
    digest = hashlib.sha1(b"jar bytes", usedforsecurity=False).hexdigest()
    published.with_name("a-1.jar.sha1").write_text(f"{digest}  a-1.jar\n")
    assert checked_sha1(published) == (digest, "published")

    tampered = _jar(tmp_path / "b" / "b-1.jar", b"other")
    tampered.with_name("b-1.jar.sha1").write_text(digest)
    with pytest.raises(MavenError, match="differs from the published"):
        checked_sha1(tampered)

    local = _jar(tmp_path / "c" / "storm-webapp-2.8.3.jar")
    local.with_name("_remote.repositories").write_text(
        "#NOTE\nstorm-webapp-2.8.3.jar>=\nstorm-webapp-2.8.3.pom>=\n")
    assert checked_sha1(local) == (digest, "local-install")

    downloaded_without_sum = _jar(tmp_path / "d" / "d-1.jar")
    downloaded_without_sum.with_name("_remote.repositories").write_text("d-1.jar>central=\n")
    with pytest.raises(MavenError, match="no published checksum"):
        checked_sha1(downloaded_without_sum)


def test_public_assets_from_web_inf_with_the_timestamp_filled(tmp_path: Path) -> None:
    jar = tmp_path / "storm-webapp-2.8.3.jar"
    with zipfile.ZipFile(jar, "w") as z:
        z.writestr("WEB-INF/", b"")
        z.writestr("WEB-INF/index.html", b'<script src="js/script.js?_ts=${packageTimestamp}"></script>')
        z.writestr("WEB-INF/js/script.js", b"var ts='${packageTimestamp}';")
        z.writestr("WEB-INF/js/other.js", b"keep ${packageTimestamp}")
        z.writestr("org/apache/storm/daemon/ui/UIServer.class", b"\xca\xfe")
    assets = public_assets(jar, "2.8.3")
    assert assets["public/index.html"] == b'<script src="js/script.js?_ts=2.8.3"></script>'
    assert assets["public/js/script.js"] == b"var ts='2.8.3';"
    assert assets["public/js/other.js"] == b"keep ${packageTimestamp}", "only what Storm's assembly filters"
    assert not any("UIServer" in k for k in assets)

    empty = tmp_path / "empty.jar"
    with zipfile.ZipFile(empty, "w") as z:
        z.writestr("a.class", b"")
    with pytest.raises(MavenError, match="no WEB-INF"):
        public_assets(empty, "2.8.3")


def test_local_installs_are_named() -> None:
    meta = {"files": {"lib/a.jar": {"origin": "published"},
                      "lib-webapp/storm-webapp-2.8.3.jar": {"origin": "local-install"}}}
    assert storm_local_installs(meta) == ["lib-webapp/storm-webapp-2.8.3.jar"]


def _cluster(tmp_path: Path, **group_vars: object) -> inventory.Cluster:
    inv = tmp_path / "inv"
    (inv / "group_vars").mkdir(parents=True)
    hosts = {"all": {"children": {g: {"hosts": {"h1": {"ansible_host": "10.0.0.1"}}}
                                  for g in ("zookeeper", "storm_nimbus", "storm_supervisor", "storm_ui")}}}
    (inv / "hosts.yml").write_text(yaml.safe_dump(hosts))
    (inv / "group_vars" / "all.yml").write_text(yaml.safe_dump(group_vars))
    return inventory.load(inv)


def test_catalog_storm_from_maven_is_two_bundles_and_flux(tmp_path: Path) -> None:
    cluster = _cluster(tmp_path, bigdata_java_for={"storm": 17, "zookeeper": 17},
                       zookeeper_install_method="package")
    storm = [a for a in artifacts_for(cluster) if a.component == "storm"]
    version = cluster.version("storm")
    assert [a.filename for a in storm] == [f"storm-{version}-maven.tar.gz", f"flux-core-{version}.jar",
                                           f"storm-webapp-{version}-maven.tar.gz",
                                           f"storm-connectors-{version}-maven.tar.gz"]
    bundle, flux, web, connectors = storm
    assert connectors.required_by == () and not connectors.deployed, "no deploy needs the connectors"
    assert connectors.extra["bundle"] == "storm-connectors"
    assert bundle.kind == "bundle" and bundle.extra["coordinates"] == storm_top_level(str(version))
    assert bundle.required_by is None, "Nimbus, supervisors and UI all need the daemon bundle"
    assert web.kind == "bundle" and web.extra["coordinates"] == storm_webapp_top_level(str(version))
    assert web.groups == ("storm_supervisor", "storm_ui") and web.required_by == ("storm_ui",)
    assert web.as_dict()["required_by"] == ["storm_ui"]
    assert flux == flux_core_artifact(str(version), groups=flux.groups)
    assert flux.urls[0].endswith(f"/org/apache/storm/flux-core/{version}/flux-core-{version}.jar")
    assert flux.checksum_urls == (flux.urls[0] + ".sha1",) and flux.algorithm == "sha1"

    apache = _cluster(tmp_path / "apache", storm_install_source="apache",
                      bigdata_java_for={"storm": 17, "zookeeper": 17}, zookeeper_install_method="package")
    assert [a.filename for a in artifacts_for(apache) if a.component == "storm"] == [
        f"apache-storm-{version}.tar.gz", f"storm-connectors-{version}-maven.tar.gz"], \
        "the release tarball has the web part; the connectors come from Maven either way"


def test_flux_yaml_uses_storm_client_classes_only() -> None:
    doc = yaml.safe_load(smoke_core.storm_smoke_flux_yaml("bigdata-admin-smoke-x"))
    assert doc["name"] == "bigdata-admin-smoke-x"
    classes = [c["className"] for c in doc["spouts"] + doc["bolts"]]
    assert classes == ["org.apache.storm.testing.TestWordSpout", "org.apache.storm.testing.TestWordCounter"]
    grouping = {"type": "FIELDS", "args": ["word"]}
    assert doc["streams"] == [{"from": "words", "to": "counter", "grouping": grouping}]


def test_submit_command_and_rest_answers(tmp_path: Path) -> None:
    cluster = _cluster(tmp_path, bigdata_install_root="/opt/x")
    command = smoke_core.storm_submit_command(cluster, "t1")
    assert f"/opt/x/storm/external/flux/flux-core-{cluster.version('storm')}.jar" in command
    assert "org.apache.storm.flux.Flux --remote" in command and "trap 'rm -f" in command
    summary = {"topologies": [{"name": "other", "id": "other-1"},
                              {"name": "t1", "id": "t1-2", "status": "ACTIVE"}]}
    assert smoke_core.storm_topology(summary, "t1") == {"name": "t1", "id": "t1-2", "status": "ACTIVE"}
    assert smoke_core.storm_topology(summary, "t2") is None
    assert smoke_core.storm_topology({}, "t1") is None
    stats = {"topologyStats": [{"window": "600", "emitted": 5}, {"window": ":all-time", "emitted": "40"}]}
    assert smoke_core.storm_emitted(stats) == 40
    assert smoke_core.storm_emitted({"topologyStats": [{"window": ":all-time", "emitted": None}]}) == 0
    assert smoke_core.storm_emitted({}) == 0
