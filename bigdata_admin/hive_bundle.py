"""Hive's bundle: HiveServer2, the metastore and the schema scripts, rebuilt from Hive's jars on a Maven
repository.

Hive 4's binary distribution is not on Maven Central; its jars are, and so is the standalone
metastore's `bin` tarball, the only published place of the metastore schema SQL (the schema tool
reads `$METASTORE_HOME/scripts/metastore/upgrade/<db>/`). The bundle::

    hive-<version>/
        lib/*.jar            hive-service, hive-exec, hive-metastore, hive-jdbc,
                             hive-standalone-metastore-server and their runtime dependencies,
                             WITHOUT Hadoop (the daemons run with the cluster's Hadoop jars after
                             lib/) and without any SLF4J 1 binding but log4j2's (log4j-slf4j-impl)
        auxlib/*.jar         jars shipped with every MapReduce job of a query (hive.aux.jars.path) that
                             neither hive-exec nor Hadoop 3.4 carries: commons-collections 3
        lib-beeline/*.jar    the `beeline` client: hive-beeline (Central has no 4.x beeline; the last
                             published, 3.1.3, talks HiveServer2's protocol with lib/'s hive-jdbc),
                             jline 2 and super-csv, each without dependencies
        scripts/metastore/upgrade/<db>/*.sql   from hive-standalone-metastore-server:<v>:tar.gz:bin
        bundle.json          as maven.py's, plus "origin" of each file

lib/ imports Hive's root POM (`org.apache.hive:hive:<v>:pom`) as its BOM, so that every dependency has
the version Hive's own release ships. Exclusions: `org.apache.hadoop:*` (the cluster's Hadoop, another
version than Hive's POMs name); SLF4J 1 bindings other than log4j2's and the log4j 1 implementations
(exactly one binding: Hive logs through log4j2, whose properties file the hive role writes);
`net.shibboleth.tool:xmlsectool`
(OpenSAML's, only in Shibboleth's repository: HiveServer2's SAML authentication, not used here).

Every file is checked against the `.sha1` the repository published (storm_bundle.checked_sha1).
Errors: MavenError (exit 1) naming the failing command's last lines and the fix.
"""

from __future__ import annotations

import tarfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from bigdata_admin.maven import (
    MVN_TIMEOUT_S,
    Coordinate,
    MavenError,
    Resolved,
    run_dependency_list,
)
from bigdata_admin.storm_bundle import checked_sha1, layout_pom, write_bundle

HIVE_GROUP = "org.apache.hive"
HIVE_BEELINE_VERSION = "3.1.3"
"""The last hive-beeline on Maven Central (4.x publishes none)."""
AUX_JARS = ("commons-collections:commons-collections:3.2.2",)
"""Jars every MapReduce task of a Hive query needs beside the hive-exec job jar and Hadoop's jars
(Hadoop 3.4 ships no commons-collections 3: the tasks fail with NoClassDefFoundError
org/apache/commons/collections/CollectionUtils). The hive role names auxlib/ in hive.aux.jars.path."""
BEELINE_EXTRAS = ("jline:jline:2.14.6", "net.sf.supercsv:super-csv:2.2.0")
"""The console and CSV libraries bin/beeline puts on its classpath (not in Hive 4's server jars)."""
HIVE_EXCLUSIONS = (
    "org.apache.hadoop:*",
    "net.shibboleth.tool:xmlsectool",
    "org.slf4j:slf4j-reload4j",
    "org.slf4j:slf4j-log4j12",
    "ch.qos.reload4j:reload4j",
    "log4j:log4j",
    "ch.qos.logback:logback-classic",
    "org.apache.logging.log4j:log4j-slf4j2-impl",
)
HIVE_PINS: tuple[str, ...] = ()
"""Extra top-level artifacts of lib/ (none: Hive's own BOM settles the versions)."""
SCRIPTS_PREFIX = "scripts/metastore/upgrade/"
SERVER_MODULES = ("hive-service", "hive-exec", "hive-metastore", "hive-jdbc",
                  "hive-standalone-metastore-server")


def schema_tarball(version: str) -> str:
    """The standalone metastore's binary tarball, which carries the schema SQL."""
    return f"{HIVE_GROUP}:hive-standalone-metastore-server:{version}:tar.gz:bin"


def hive_top_level(version: str) -> list[str]:
    """The top-level coordinates of Hive's bundle (what the catalog and bundle.json record)."""
    return ([f"{HIVE_GROUP}:{a}:{version}" for a in SERVER_MODULES] + list(HIVE_PINS)
            + [schema_tarball(version), f"{HIVE_GROUP}:hive-beeline:{HIVE_BEELINE_VERSION}", *BEELINE_EXTRAS]
            + list(AUX_JARS))


def hive_bom(version: str) -> str:
    """Hive's root POM, imported as the BOM of lib/: its dependencyManagement gives every transitive
    dependency the version Hive's own build and release use (Maven's nearest-wins otherwise picks e.g.
    commons-collections 20040616, which lacks CollectionUtils.isNotEmpty, and jackson-annotations 2.11)."""
    return f"{HIVE_GROUP}:hive:{version}:pom"


def with_bom(pom_text: str, bom: str) -> str:
    """`pom_text` (storm_bundle.layout_pom) with `bom` imported in its dependencyManagement."""
    c = Coordinate.parse(bom)
    managed = ("  <dependencyManagement><dependencies><dependency>"
               f"<groupId>{escape(c.group)}</groupId><artifactId>{escape(c.artifact)}</artifactId>"
               f"<version>{escape(c.version)}</version><type>pom</type><scope>import</scope>"
               "</dependency></dependencies></dependencyManagement>\n")
    return pom_text.replace("  <dependencies>\n", managed + "  <dependencies>\n", 1)


def resolve_layout(name: str, deps: list[tuple[str, list[str]]], local_repo: Path, repository: str,
                   bom: str | None = None, timeout: float = MVN_TIMEOUT_S) -> list[Resolved]:
    """`mvn dependency:list` (strict checksums, runtime scope) over `deps` with their exclusions and,
    when given, `bom` imported. Raises MavenError naming Maven's last error lines."""
    text = layout_pom(name, deps)
    return run_dependency_list(name, with_bom(text, bom) if bom else text, local_repo, repository, timeout)


def hive_layout(version: str) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """[(directory, [(coordinate, exclusions "group:artifact", '*:*' = all)])] in build order."""
    excl = list(HIVE_EXCLUSIONS)
    server = [(f"{HIVE_GROUP}:{a}:{version}", excl) for a in SERVER_MODULES]
    return [
        ("lib", [*server, *((c, ["*:*"]) for c in HIVE_PINS), (schema_tarball(version), ["*:*"])]),
        ("lib-beeline", [(f"{HIVE_GROUP}:hive-beeline:{HIVE_BEELINE_VERSION}", ["*:*"]),
                         *((c, ["*:*"]) for c in BEELINE_EXTRAS)]),
        ("auxlib", [(c, ["*:*"]) for c in AUX_JARS]),
    ]


def schema_scripts(tarball: Path) -> dict[str, bytes | None]:
    """`scripts/metastore/upgrade/<db>/...` -> bytes (None = directory) from the metastore's bin tarball
    (its entries sit under one top directory, `apache-hive-metastore-<v>-bin/`)."""
    out: dict[str, bytes | None] = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar:
            parts = member.name.split("/", 1)
            rel = parts[1] if len(parts) == 2 else ""
            if not rel.startswith(SCRIPTS_PREFIX):
                continue
            if member.isdir():
                out[rel.rstrip("/")] = None
            elif member.isfile():
                f = tar.extractfile(member)
                if f is not None:
                    out[rel] = f.read()
    if not any(k.startswith(SCRIPTS_PREFIX + "postgres/") and k.endswith(".sql") for k in out):
        raise MavenError(f"{tarball.name} holds no {SCRIPTS_PREFIX}postgres/*.sql",
                         fix="Check the version: the metastore schema scripts come from this tarball.")
    return out


def build_hive_bundle(dest: Path, version: str, repository: str, local_repo: Path) -> dict[str, Any]:
    """Resolve Hive's layout and write `dest` (reproducible: sorted, mtime 0). Returns its bundle.json."""
    top = f"hive-{version}"
    files: dict[str, dict[str, str]] = {}
    entries: list[tuple[str, Path]] = []
    scripts: dict[str, bytes | None] = {}
    in_lib: set[tuple[str, str, str]] = set()
    tarball = Coordinate.parse(schema_tarball(version))
    for directory, deps in hive_layout(version):
        resolved = resolve_layout(f"bundle-hive-{version}-{directory}", deps, local_repo, repository,
                                  bom=hive_bom(version) if directory == "lib" else None)
        taken: set[str] = set()
        for r in sorted(resolved, key=lambda r: str(r.coordinate)):
            c = r.coordinate
            key = (c.group, c.artifact, c.classifier)
            if (c.group, c.artifact, c.type, c.classifier) == (tarball.group, tarball.artifact, tarball.type,
                                                               tarball.classifier):
                sha1, origin = checked_sha1(r.path)
                files[f"scripts-from/{r.path.name}"] = {"coordinate": str(c), "sha1": sha1, "origin": origin}
                scripts = schema_scripts(r.path)
                continue
            if r.path.suffix != ".jar":
                continue
            if directory == "lib-beeline" and key in in_lib:
                continue  # beeline runs with lib/ on its classpath too
            if directory == "lib":
                in_lib.add(key)
            sha1, origin = checked_sha1(r.path)
            name = f"{c.group}.{r.path.name}" if r.path.name in taken else r.path.name
            taken.add(name)
            files[f"{directory}/{name}"] = {"coordinate": str(c), "sha1": sha1, "origin": origin}
            entries.append((f"{directory}/{name}", r.path))
    if not scripts:
        raise MavenError(f"{schema_tarball(version)} was not resolved",
                         fix="Report this: the layout names it.")
    meta = {"component": "hive", "version": version, "repository": repository,
            "coordinates": hive_top_level(version), "files": files}
    dirs = {"lib", "lib-beeline", "auxlib", "scripts", "scripts/metastore"}
    write_bundle(dest, top, dirs, entries, scripts, meta)
    return meta


# --------------------------------------------------------------------------------------------------
# Spark's Hive metastore client

SPARK_HIVE_CLIENT_VERSION = "3.1.3"
"""The newest Hive metastore client Spark 3.5 can load (`spark.sql.hive.metastore.version`, Spark's
docs: 0.12.0 to 3.1.3). Spark's built-in Hive 2.3 client calls `get_table`, which Hive 4.0's metastore
no longer serves (TApplicationException "Invalid method name: 'get_table'", seen on the lab); the 3.1.3
client asks with `get_table_req` and works against a Hive 4.0 metastore (lab: CREATE TABLE, INSERT,
SELECT, DESCRIBE, DROP through the Spark Thrift Server)."""
SPARK_HIVE_CLIENT_MODULES = ("hive-metastore", "hive-exec", "hive-common", "hive-serde")
"""What Spark's IsolatedClientLoader resolves for a metastore version (metastore.jars=maven)."""
SPARK_HIVE_CLIENT_EXTRAS = ("org.apache.logging.log4j:log4j-api:2.10.0", "org.apache.derby:derby:10.14.1.0")
"""Spark's extra dependencies for Hive 3.1 (its HiveVersion v3_1)."""
SPARK_HIVE_CLIENT_EXCLUSIONS = (
    "org.apache.hadoop:*",  # Spark shares its own Hadoop classes with the isolated client
    "org.apache.calcite:calcite-druid",
    "org.apache.calcite.avatica:avatica",
    "org.apache.curator:*",
    "org.pentaho:*",  # not on Maven Central (calcite's optional aggregate designer)
    "org.apache.hive:hive-vector-code-gen",
)
"""Spark's exclusions for Hive 3.1, and Hadoop."""


def spark_hive_client_top_level(version: str = SPARK_HIVE_CLIENT_VERSION) -> list[str]:
    """The top-level coordinates of the Spark metastore-client bundle."""
    return [f"{HIVE_GROUP}:{a}:{version}" for a in SPARK_HIVE_CLIENT_MODULES] + list(SPARK_HIVE_CLIENT_EXTRAS)


def build_spark_hive_client_bundle(dest: Path, version: str, repository: str,
                                   local_repo: Path) -> dict[str, Any]:
    """Write `dest`, `spark-hive-client-<version>/lib/*.jar` (+ bundle.json), the jars Spark loads with
    `spark.sql.hive.metastore.jars=path`. Every jar is checked against the repository's SHA-1.
    Returns its bundle.json. Raises MavenError."""
    top = f"spark-hive-client-{version}"
    excl = list(SPARK_HIVE_CLIENT_EXCLUSIONS)
    deps = [(c, excl) for c in spark_hive_client_top_level(version)]
    resolved = resolve_layout(f"bundle-spark-hive-client-{version}", deps, local_repo, repository)
    files: dict[str, dict[str, str]] = {}
    entries: list[tuple[str, Path]] = []
    taken: set[str] = set()
    for r in sorted(resolved, key=lambda r: str(r.coordinate)):
        if r.path.suffix != ".jar":
            continue
        sha1, origin = checked_sha1(r.path)
        name = f"{r.coordinate.group}.{r.path.name}" if r.path.name in taken else r.path.name
        taken.add(name)
        files[f"lib/{name}"] = {"coordinate": str(r.coordinate), "sha1": sha1, "origin": origin}
        entries.append((f"lib/{name}", r.path))
    meta = {"component": "spark-hive-client", "version": version, "repository": repository,
            "coordinates": spark_hive_client_top_level(version), "files": files}
    write_bundle(dest, top, {"lib"}, entries, {}, meta)
    return meta
