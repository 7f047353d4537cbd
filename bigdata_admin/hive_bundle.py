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
        lib-beeline/*.jar    the `beeline` client: hive-beeline (Central has no 4.x beeline; the last
                             published, 3.1.3, talks HiveServer2's protocol with lib/'s hive-jdbc),
                             jline 2 and super-csv, each without dependencies
        scripts/metastore/upgrade/<db>/*.sql   from hive-standalone-metastore-server:<v>:tar.gz:bin
        bundle.json          as maven.py's, plus "origin" of each file

Exclusions: `org.apache.hadoop:*` (the cluster's Hadoop, another version than Hive's POMs name);
SLF4J 1 bindings other than log4j2's and the log4j 1 implementations (exactly one binding: Hive logs
through log4j2, whose properties file the hive role writes); `net.shibboleth.tool:xmlsectool`
(OpenSAML's, only in Shibboleth's repository: HiveServer2's SAML authentication, not used here).

Every file is checked against the `.sha1` the repository published (storm_bundle.checked_sha1).
Errors: MavenError (exit 1) naming the failing command's last lines and the fix.
"""

from __future__ import annotations

import gzip
import json
import os
import tarfile
from pathlib import Path
from typing import Any

from bigdata_admin.maven import BUNDLE_JSON, Coordinate, MavenError, _tar_add_bytes, _tar_add_dir
from bigdata_admin.storm_bundle import checked_sha1, resolve_with_exclusions

HIVE_GROUP = "org.apache.hive"
HIVE_BEELINE_VERSION = "3.1.3"
"""The last hive-beeline on Maven Central (4.x publishes none)."""
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
HIVE_PINS = ("com.fasterxml.jackson.core:jackson-annotations:2.16.1",)
"""Named at the version of Hive's jackson-databind: Maven's nearest-wins picks 2.11.3 otherwise."""
SCRIPTS_PREFIX = "scripts/metastore/upgrade/"
SERVER_MODULES = ("hive-service", "hive-exec", "hive-metastore", "hive-jdbc",
                  "hive-standalone-metastore-server")


def schema_tarball(version: str) -> str:
    """The standalone metastore's binary tarball, which carries the schema SQL."""
    return f"{HIVE_GROUP}:hive-standalone-metastore-server:{version}:tar.gz:bin"


def hive_top_level(version: str) -> list[str]:
    """The top-level coordinates of Hive's bundle (what the catalog and bundle.json record)."""
    return ([f"{HIVE_GROUP}:{a}:{version}" for a in SERVER_MODULES] + list(HIVE_PINS)
            + [schema_tarball(version), f"{HIVE_GROUP}:hive-beeline:{HIVE_BEELINE_VERSION}", *BEELINE_EXTRAS])


def hive_layout(version: str) -> list[tuple[str, list[tuple[str, list[str]]]]]:
    """[(directory, [(coordinate, exclusions "group:artifact", '*:*' = all)])] in build order."""
    excl = list(HIVE_EXCLUSIONS)
    server = [(f"{HIVE_GROUP}:{a}:{version}", excl) for a in SERVER_MODULES]
    return [
        ("lib", [*server, *((c, ["*:*"]) for c in HIVE_PINS), (schema_tarball(version), ["*:*"])]),
        ("lib-beeline", [(f"{HIVE_GROUP}:hive-beeline:{HIVE_BEELINE_VERSION}", ["*:*"]),
                         *((c, ["*:*"]) for c in BEELINE_EXTRAS)]),
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
        resolved = resolve_with_exclusions(f"bundle-hive-{version}-{directory}", deps, local_repo, repository)
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
    tmp = dest.with_name(dest.name + ".part")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w") as tar:
        for d in ("", "lib", "lib-beeline", "scripts", "scripts/metastore"):
            _tar_add_dir(tar, f"{top}/{d}".rstrip("/"))
        for rel, path in sorted(entries):
            _tar_add_bytes(tar, f"{top}/{rel}", path.read_bytes())
        for rel in sorted(scripts):
            data = scripts[rel]
            if data is None:
                _tar_add_dir(tar, f"{top}/{rel}")
            else:
                _tar_add_bytes(tar, f"{top}/{rel}", data)
        text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
        _tar_add_bytes(tar, f"{top}/{BUNDLE_JSON}", text.encode())
    os.replace(tmp, dest)
    return meta
