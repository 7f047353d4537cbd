"""Storm's bundles: the binary distribution's layout, rebuilt from Storm's jars on a Maven repository.

Storm's release tarball (`final-package`) is not on Maven Central, and its daemons expect more than
one `lib/`: the Supervisor starts workers on `$STORM_HOME/lib-worker/*`, the UI and the logviewer add
`lib-webapp/*`, and the UI serves `$STORM_HOME/public/`. The layout mirrors Storm's own assembly
(storm-dist/binary), split in two bundles that unpack into the same directory:

    storm-<version>-maven.tar.gz (the daemon bundle: Nimbus, Supervisors, workers, `storm` commands)
    storm-<version>/
        lib/*.jar            storm-core and its runtime dependencies (daemons, `storm` commands)
        lib-worker/*.jar     storm-client and its runtime dependencies (topology workers)
        extlib/, extlib-daemon/   empty, as in the release
        bundle.json          as maven.py's, plus "origin" of each file

    storm-webapp-<version>-maven.tar.gz (the web bundle: the UI and the logviewer)
    storm-webapp-<version>/
        lib-webapp/*.jar     storm-webapp's dependencies not already in lib/
        public/...           the UI's web assets (the storm-webapp jar's WEB-INF/)
        bundle.json

The split exists because some Maven repositories (this project's Maven Central mirror among them)
do not serve storm-webapp: the daemon bundle is then still fetched, and a deploy with
`--skip-unavailable` leaves out only the UI (group storm_ui) and the supervisors' logviewer.

Each directory is one `mvn dependency:list` (strict checksums) over a POM naming its top-level
artifacts and exclusions. `storm-clojure` is excluded from lib/: it pulls `carbonite` from Clojars,
which a Maven Central mirror does not serve, and only Clojure-DSL topologies use it. flux-core
(a shaded jar that runs Flux YAML topologies) is not in the bundles: its parent POM `flux` is not
always published, so the catalog fetches the jar itself with its `.sha1` (catalog.flux_core_artifact).

Every file is checked against the `.sha1` the repository published. A file that Maven records as
installed into the local repository by hand (`mvn install:install-file`, e.g. storm-webapp built
from Storm's source where the repository lacks it) has no published checksum: its own SHA-1 is
recorded with origin "local-install" and `storm_local_installs()` names it.

Errors: MavenError (exit 1) with the failing command's last lines and the fix (for a repository
lacking storm-webapp: scripts/storm-webapp-from-source).
"""

from __future__ import annotations

import gzip
import json
import os
import tarfile
import zipfile
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from bigdata_admin.maven import (
    BUNDLE_JSON,
    MVN_TIMEOUT_S,
    Coordinate,
    MavenError,
    Resolved,
    _tar_add_bytes,
    _tar_add_dir,
    run_dependency_list,
    sha1_of,
)

STORM_GROUP = "org.apache.storm"
TIMESTAMP_TOKEN = "${packageTimestamp}"
"""Cache-busting token Storm's assembly substitutes into public/*.html and public/js/script.js."""


def storm_top_level(version: str) -> list[str]:
    """The top-level coordinates of Storm's daemon bundle (what the catalog and bundle.json record)."""
    return [f"{STORM_GROUP}:{a}:{version}" for a in ("storm-core", "storm-client")]


def storm_webapp_top_level(version: str) -> list[str]:
    """The top-level coordinates of Storm's web bundle (the UI and the logviewer)."""
    return [f"{STORM_GROUP}:storm-webapp:{version}"]


Layout = list[tuple[str, list[tuple[str, list[str]]]]]
"""[(directory, [(coordinate, exclusions "group:artifact", '*:*' = all)])] in build order."""


def storm_layout(version: str) -> Layout:
    """The daemon bundle's directories: lib/ (storm-core) and lib-worker/ (storm-client)."""
    g = STORM_GROUP
    return [
        ("lib", [(f"{g}:storm-core:{version}", [f"{g}:storm-clojure"])]),
        ("lib-worker", [(f"{g}:storm-client:{version}", [])]),
    ]


def storm_webapp_layout(version: str) -> Layout:
    """The web bundle's directory lib-webapp/ (storm-webapp; what lib/ has is dropped from it)."""
    jersey = "org.glassfish.jersey.ext"
    excluded = [f"{jersey}:jersey-metainf-services", f"{jersey}:jersey-bean-validation"]
    return [("lib-webapp", [(f"{STORM_GROUP}:storm-webapp:{version}", excluded)])]


def layout_pom(name: str, deps: list[tuple[str, list[str]]]) -> str:
    """A packaging-pom POM depending on `deps` (coordinate, exclusions) and nothing else."""
    body = ""
    for coord, exclusions in deps:
        c = Coordinate.parse(coord)
        excl = "".join(f"<exclusion><groupId>{escape(e.split(':')[0])}</groupId>"
                       f"<artifactId>{escape(e.split(':')[1])}</artifactId></exclusion>" for e in exclusions)
        dep = c.pom_xml().rstrip("\n")
        if excl:
            dep = dep.replace("</dependency>", f"<exclusions>{excl}</exclusions></dependency>")
        body += dep + "\n"
    return ("<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n  <modelVersion>4.0.0</modelVersion>\n"
            f"  <groupId>local.bigdata-admin</groupId><artifactId>{escape(name)}</artifactId>"
            "<version>1</version>\n  <packaging>pom</packaging>\n"
            f"  <dependencies>\n{body}  </dependencies>\n</project>\n")


def resolve_with_exclusions(name: str, deps: list[tuple[str, list[str]]], local_repo: Path, repository: str,
                            timeout: float = MVN_TIMEOUT_S) -> list[Resolved]:
    """Like maven.resolve, for dependencies with exclusions (strict checksums, runtime scope)."""
    return run_dependency_list(name, layout_pom(name, deps), local_repo, repository, timeout,
                               fix_for=_storm_webapp_fix)


def _storm_webapp_fix(tail: str) -> str | None:
    if "storm-webapp" not in tail:
        return None
    return ("Check the versions and that the repository answers (set bigdata_maven_repository to your "
            "mirror). If the repository lacks storm-webapp, build it from Storm's source and install it "
            "into the cache's Maven repository: scripts/storm-webapp-from-source.")


def _locally_installed(path: Path) -> bool:
    """Maven's record says `path` was installed by hand (`<file>>=` in _remote.repositories)."""
    record = path.with_name("_remote.repositories")
    try:
        lines = record.read_text().splitlines()
    except OSError:
        return False
    return f"{path.name}>=" in lines


def checked_sha1(path: Path) -> tuple[str, str]:
    """(sha1, origin) of a resolved file: origin "published" (matches the repository's .sha1) or
    "local-install" (installed by hand, no published checksum). Raises MavenError otherwise."""
    actual = sha1_of(path)
    sidecar = path.with_name(path.name + ".sha1")
    if sidecar.is_file():
        published = (sidecar.read_text().split() or [""])[0].lower()
        if actual != published:
            raise MavenError(f"{path.name}: SHA-1 {actual} differs from the published {published}",
                             fix=f"Delete {path} and fetch again.")
        return actual, "published"
    if _locally_installed(path):
        return actual, "local-install"
    raise MavenError(f"no published checksum beside {path}",
                     fix="Delete the Maven local repository in the artifact cache and fetch again.")


def public_assets(webapp_jar: Path, stamp: str) -> dict[str, bytes | None]:
    """public/<path> -> bytes (None = directory) from the storm-webapp jar's WEB-INF/ tree, with the
    cache-busting token of *.html and js/script.js replaced by `stamp` as Storm's assembly does."""
    out: dict[str, bytes | None] = {}
    with zipfile.ZipFile(webapp_jar) as z:
        for entry in z.namelist():
            if not entry.startswith("WEB-INF/") or entry == "WEB-INF/":
                continue
            rel = entry[len("WEB-INF/"):]
            if entry.endswith("/"):
                out[f"public/{rel.rstrip('/')}"] = None
                continue
            data = z.read(entry)
            if ("/" not in rel and rel.endswith(".html")) or rel == "js/script.js":
                data = data.replace(TIMESTAMP_TOKEN.encode(), stamp.encode())
            out[f"public/{rel}"] = data
    if not out:
        raise MavenError(f"{webapp_jar.name} holds no WEB-INF/: the UI would have no web assets",
                         fix="Check the storm-webapp jar (a build of Storm's storm-webapp module).")
    return out


def _resolve_dir(version: str, directory: str, deps: list[tuple[str, list[str]]], repository: str,
                 local_repo: Path) -> list[Resolved]:
    """The jars of one bundle directory, sorted by coordinate."""
    resolved = resolve_with_exclusions(f"bundle-storm-{version}-{directory.replace('/', '-')}", deps,
                                       local_repo, repository)
    return [r for r in sorted(resolved, key=lambda r: str(r.coordinate)) if r.path.suffix == ".jar"]


def _key(r: Resolved) -> tuple[str, str, str]:
    return (r.coordinate.group, r.coordinate.artifact, r.coordinate.classifier)


def _add_dir(directory: str, jars: list[Resolved], files: dict[str, dict[str, str]],
             entries: list[tuple[str, Path]]) -> None:
    """Record `jars` under `directory` (checked against their published SHA-1)."""
    taken: set[str] = set()
    for r in jars:
        sha1, origin = checked_sha1(r.path)
        name = f"{r.coordinate.group}.{r.path.name}" if r.path.name in taken else r.path.name
        taken.add(name)
        files[f"{directory}/{name}"] = {"coordinate": str(r.coordinate), "sha1": sha1, "origin": origin}
        entries.append((f"{directory}/{name}", r.path))


def write_bundle(dest: Path, top: str, dirs: set[str], entries: list[tuple[str, Path]],
                  public: dict[str, bytes | None], meta: dict[str, Any]) -> None:
    """Write the tarball `dest` (reproducible: sorted, mtime 0) through `dest.part`: under `top`, the
    directories `dirs`, the files `entries` (path in the bundle, file to read), `public` (path ->
    bytes, or None for a directory) and bundle.json from `meta`. Shared by every bundle builder."""
    tmp = dest.with_name(dest.name + ".part")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w") as tar:
        for d in sorted(dirs | {""}):
            _tar_add_dir(tar, f"{top}/{d}".rstrip("/"))
        for rel, path in sorted(entries):
            _tar_add_bytes(tar, f"{top}/{rel}", path.read_bytes())
        for rel in sorted(public):
            data = public[rel]
            if data is None:
                _tar_add_dir(tar, f"{top}/{rel}")
            else:
                _tar_add_bytes(tar, f"{top}/{rel}", data)
        text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
        _tar_add_bytes(tar, f"{top}/{BUNDLE_JSON}", text.encode())
    os.replace(tmp, dest)


def build_storm_bundle(dest: Path, version: str, repository: str, local_repo: Path) -> dict[str, Any]:
    """Resolve the daemon bundle (lib/, lib-worker/) and write `dest`. Returns its bundle.json.

    Raises MavenError when Maven cannot resolve storm-core or storm-client or a checksum differs."""
    files: dict[str, dict[str, str]] = {}
    entries: list[tuple[str, Path]] = []
    for directory, deps in storm_layout(version):
        _add_dir(directory, _resolve_dir(version, directory, deps, repository, local_repo), files, entries)
    meta = {"component": "storm", "version": version, "repository": repository,
            "coordinates": storm_top_level(version), "files": files}
    dirs = {"lib", "lib-worker", "extlib", "extlib-daemon"}
    write_bundle(dest, f"storm-{version}", dirs, entries, {}, meta)
    return meta


def build_storm_webapp_bundle(dest: Path, version: str, repository: str, local_repo: Path) -> dict[str, Any]:
    """Resolve the web bundle (lib-webapp/ without what lib/ has, public/) and write `dest`.

    storm-webapp is resolved first: a repository lacking it fails fast with MavenError (its fix names
    scripts/storm-webapp-from-source). storm-core is then resolved (from the local repository when
    the daemon bundle was fetched) only to drop from lib-webapp/ what lib/ already has, as Storm's
    own assembly does: the UI and the logviewer have lib/ on their classpath too."""
    files: dict[str, dict[str, str]] = {}
    entries: list[tuple[str, Path]] = []
    webapp: list[Resolved] = []
    for directory, deps in storm_webapp_layout(version):
        webapp += _resolve_dir(version, directory, deps, repository, local_repo)
    in_lib: set[tuple[str, str, str]] = set()
    for directory, deps in storm_layout(version)[:1]:  # lib/
        in_lib |= {_key(r) for r in _resolve_dir(version, directory, deps, repository, local_repo)}
    webapp_jar = next((r.path for r in webapp if (r.coordinate.group, r.coordinate.artifact)
                       == (STORM_GROUP, "storm-webapp")), None)
    if webapp_jar is None:
        raise MavenError("storm-webapp was not resolved", fix="Report this: the layout names it.")
    _add_dir("lib-webapp", [r for r in webapp if _key(r) not in in_lib], files, entries)
    meta = {"component": "storm-webapp", "version": version, "repository": repository,
            "coordinates": storm_webapp_top_level(version), "files": files}
    write_bundle(dest, f"storm-webapp-{version}", {"lib-webapp", "public"}, entries,
                  public_assets(webapp_jar, version), meta)
    return meta


def storm_local_installs(meta: dict[str, Any]) -> list[str]:
    """Files of a Storm bundle.json that have no published checksum (installed by hand)."""
    return sorted(k for k, v in meta.get("files", {}).items() if v.get("origin") == "local-install")



STORM_HBASE_VERSION = "2.5.0"
"""The last storm-hbase on Maven Central: Storm retired the connector in 2.6. Its HBaseBolt runs on
Storm 2.8's worker API; its own dependencies are left out for the cluster's HBase client."""
STORM_KAFKA_CLIENTS_VERSION = "4.1.0"
"""kafka-clients that storm-kafka-client 2.8.3 is built with (`storm.kafka.client.version` in Storm's
parent POM); storm-kafka-client declares it `provided`, so the bundle names it."""
STORM_HBASE_CLIENT_VERSION = "2.6.3-hadoop3"
"""HBase's shaded client (Hadoop and third-party jars inside, relocated): Storm 2.8.3's `hbase.version`,
the nearest 2.6 release Central publishes as `-hadoop3` (clients talk to every 2.6 server)."""


def storm_connectors_top_level(version: str) -> list[tuple[str, list[str]]]:
    """(coordinate, exclusions) of the connectors bundle: the Kafka spout, the HBase bolt with HBase's
    shaded client and storm-autocreds (HBaseBolt's HBaseSecurityUtil), and multilang-python (Storm's
    `storm.py` for Python bolts)."""
    return [
        (f"{STORM_GROUP}:storm-kafka-client:{version}", [f"{STORM_GROUP}:storm-client"]),
        (f"org.apache.kafka:kafka-clients:{STORM_KAFKA_CLIENTS_VERSION}", []),
        (f"{STORM_GROUP}:storm-hbase:{STORM_HBASE_VERSION}", ["*:*"]),
        # HBaseBolt's HBaseSecurityUtil lives here (its Hadoop and Hive dependencies are not needed).
        (f"{STORM_GROUP}:storm-autocreds:{version}", ["*:*"]),
        (f"org.apache.hbase:hbase-shaded-client:{STORM_HBASE_CLIENT_VERSION}", []),
        (f"{STORM_GROUP}:multilang-python:{version}", ["*:*"]),
    ]


def build_storm_connectors_bundle(dest: Path, version: str, repository: str,
                                  local_repo: Path) -> dict[str, Any]:
    """Resolve the connectors a topology ships with `storm jar --jars` and write `dest`
    (`storm-connectors-<version>/lib/*.jar` + bundle.json), without what lib-worker/ already puts on
    every worker's classpath (matched by group and artifact, whatever the version). Every jar is
    checked against the repository's SHA-1. Returns its bundle.json. Raises MavenError."""
    deps = storm_connectors_top_level(version)
    resolved = resolve_with_exclusions(f"bundle-storm-connectors-{version}", deps, local_repo, repository)
    worker = storm_layout(version)[1]
    on_worker = {(r.coordinate.group, r.coordinate.artifact)
                 for r in _resolve_dir(version, worker[0], worker[1], repository, local_repo)}
    jars = [r for r in sorted(resolved, key=lambda r: str(r.coordinate))
            if r.path.suffix == ".jar" and (r.coordinate.group, r.coordinate.artifact) not in on_worker]
    files: dict[str, dict[str, str]] = {}
    entries: list[tuple[str, Path]] = []
    _add_dir("lib", jars, files, entries)
    meta = {"component": "storm-connectors", "version": version, "repository": repository,
            "coordinates": [c for c, _ in deps], "files": files}
    write_bundle(dest, f"storm-connectors-{version}", {"lib"}, entries, {}, meta)
    return meta
