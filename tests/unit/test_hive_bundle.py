"""Hive's Maven bundle: the layout (lib without Hadoop, one SLF4J binding, Hive's BOM), the schema
scripts taken from the standalone metastore's bin tarball."""

from __future__ import annotations

import io
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from bigdata_admin.hive_bundle import (
    HIVE_EXCLUSIONS,
    hive_bom,
    hive_layout,
    hive_top_level,
    schema_scripts,
    with_bom,
)
from bigdata_admin.maven import MavenError
from bigdata_admin.storm_bundle import layout_pom

NS = {"m": "http://maven.apache.org/POM/4.0.0"}


def test_layout_leaves_hadoop_and_other_slf4j_bindings_out_of_lib() -> None:
    layout = dict(hive_layout("4.0.1"))
    assert list(layout) == ["lib", "lib-beeline", "auxlib"]
    lib = dict(layout["lib"])
    modules = ("hive-service", "hive-exec", "hive-metastore", "hive-jdbc", "hive-standalone-metastore-server")
    for module in modules:
        exclusions = lib[f"org.apache.hive:{module}:4.0.1"]
        assert "org.apache.hadoop:*" in exclusions, "the cluster's Hadoop jars are used, not Hive's"
        assert "org.slf4j:slf4j-reload4j" in exclusions and "ch.qos.reload4j:reload4j" in exclusions
    assert "org.apache.hive:hive-standalone-metastore-server:4.0.1:tar.gz:bin" in lib
    assert next(c for c, _ in layout["lib-beeline"]) == "org.apache.hive:hive-beeline:3.1.3"
    assert all(excl == ["*:*"] for _, excl in layout["lib-beeline"]), "beeline's own jars only"
    assert "log4j-slf4j-impl" not in " ".join(HIVE_EXCLUSIONS), "log4j2's binding is the one kept"
    assert set(hive_top_level("4.0.1")) >= set(lib) | {c for c, _ in layout["auxlib"]}


def test_lib_imports_hives_root_pom_as_its_bom() -> None:
    deps = hive_layout("4.0.1")[0][1]
    root = ET.fromstring(with_bom(layout_pom("bundle-hive-lib", deps), hive_bom("4.0.1")))
    managed = root.find("m:dependencyManagement/m:dependencies/m:dependency", NS)
    assert managed is not None
    assert [managed.findtext(f"m:{t}", namespaces=NS) for t in ("groupId", "artifactId", "version", "type",
                                                                "scope")] == \
        ["org.apache.hive", "hive", "4.0.1", "pom", "import"]
    exclusions = {(e.findtext("m:groupId", namespaces=NS), e.findtext("m:artifactId", namespaces=NS))
                  for e in root.iterfind("m:dependencies/m:dependency/m:exclusions/m:exclusion", NS)}
    assert ("org.apache.hadoop", "*") in exclusions and ("net.shibboleth.tool", "xmlsectool") in exclusions


def _tarball(path: Path, members: dict[str, bytes | None]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return path


def test_schema_scripts_come_from_the_bin_tarball(tmp_path: Path) -> None:
    top = "apache-hive-metastore-4.0.1-bin"
    sql = b"CREATE TABLE \"VERSION\" (...);\n"
    tarball = _tarball(tmp_path / "bin.tar.gz", {
        f"{top}/": None,
        f"{top}/lib/hive-standalone-metastore-server-4.0.1.jar": b"jar",
        f"{top}/scripts/metastore/upgrade/postgres/": None,
        f"{top}/scripts/metastore/upgrade/postgres/hive-schema-4.0.0.postgres.sql": sql,
        f"{top}/scripts/metastore/upgrade/mysql/hive-schema-4.0.0.mysql.sql": b"-- mysql\n",
        f"{top}/bin/schematool": b"#!/bin/sh\n",
    })
    scripts = schema_scripts(tarball)
    assert scripts["scripts/metastore/upgrade/postgres/hive-schema-4.0.0.postgres.sql"] == sql
    assert scripts["scripts/metastore/upgrade/postgres"] is None
    assert "scripts/metastore/upgrade/mysql/hive-schema-4.0.0.mysql.sql" in scripts
    assert not any(k.startswith(("lib/", "bin/")) for k in scripts), "only the schema scripts"


def test_a_tarball_without_postgres_sql_is_refused(tmp_path: Path) -> None:
    tarball = _tarball(tmp_path / "bin.tar.gz", {"top/scripts/metastore/upgrade/mysql/x.mysql.sql": b"--\n"})
    with pytest.raises(MavenError, match="postgres"):
        schema_scripts(tarball)
