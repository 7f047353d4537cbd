"""The catalog of release files the stack needs, and the compatibility matrix.

* `artifacts_for(cluster)`: every file this inventory needs on its nodes (taking install methods
  into account), each with its download URLs (the configured Apache mirror first, the Apache
  archive as fallback), its published checksum file and that file's algorithm.
* `compatibility_problems(cluster)`: the Java each component's version runs on, checked against
  `bigdata_java_for`, and the versions that must combine (Impala 4 on a Hive 3.1 metastore, ...).

File names and URL layouts are those of the real releases (dist.apache.org / archive.apache.org
directory layouts, Adoptium's GitHub releases, Maven Central, PyPI, Docker Hub).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from bigdata_admin.hive_bundle import SPARK_HIVE_CLIENT_VERSION, hive_top_level, spark_hive_client_top_level
from bigdata_admin.problems import Problem
from bigdata_admin.services import SERVICES
from bigdata_admin.storm_bundle import storm_connectors_top_level, storm_top_level, storm_webapp_top_level

Kind = Literal["tarball", "bundle", "jar", "wheel", "sdist", "image"]
Source = Literal["apache", "temurin", "maven", "pypi", "registry"]

DEFAULT_MIRROR = "https://dlcdn.apache.org"
DEFAULT_ARCHIVE = "https://archive.apache.org/dist"
MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
PYPI = "https://pypi.org"

# Eclipse Temurin releases for the Java majors Debian 12 has no package for.
TEMURIN_RELEASES: dict[int, str] = {8: "8u442-b06", 11: "11.0.26+4"}
OS_JAVA_MAJORS = frozenset({17})
"""Java majors Debian 12 packages (openjdk-17); the others come from Temurin tarballs."""
POSTGRESQL_JDBC_VERSION = "42.7.4"
IMPALA_DAEMON_IMAGES = {"statestored": "impala_statestore", "catalogd": "impala_catalog",
                        "impalad_coord_exec": "impala_daemon"}
"""Image suffix (tag `<version>-<suffix>`) -> the inventory group running it."""
IMPALA_IMAGE_REPO = "apache/impala"


@dataclass(frozen=True)
class Artifact:
    component: str
    version: str
    filename: str
    """Name of the file in the artifact cache (and in manifest.json)."""
    kind: Kind
    source: Source
    urls: tuple[str, ...] = ()
    """Download URLs in the order tried (mirror, then archive)."""
    checksum_urls: tuple[str, ...] = ()
    """The published checksum file, same order as `urls`."""
    algorithm: str = "sha512"
    groups: tuple[str, ...] = ()
    """Inventory groups whose hosts need it."""
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    """Source-specific details: `major` (Java), `project`/`sdist` (PyPI), `image` (registry)."""
    required_by: tuple[str, ...] | None = None
    """The groups that cannot run without it when only some of `groups` (a deploy lacking it leaves
    out just these; the role runs for its other groups, which do without it: Storm's supervisors run
    without their logviewer). None: all of `groups`, whose roles are skipped whole."""
    deployed: bool = True
    """False: no role installs it; a command ships it (the stream topology's connectors), so a deploy
    neither needs it nor skips anything without it."""

    @property
    def checksum_filename(self) -> str | None:
        if not self.checksum_urls:
            return None
        return self.checksum_urls[0].rsplit("/", 1)[-1].replace("%2B", "+")

    @property
    def fetchable(self) -> bool:
        """False for container images: they need a registry, not an HTTP download."""
        return self.source != "registry"

    def as_dict(self) -> dict[str, Any]:
        return {
            "component": self.component, "version": self.version, "filename": self.filename,
            "kind": self.kind, "source": self.source, "urls": list(self.urls),
            "checksum_urls": list(self.checksum_urls), "algorithm": self.algorithm,
            "groups": list(self.groups),
            "required_by": list(self.groups if self.required_by is None else self.required_by),
            **self.extra,
        }


# --------------------------------------------------------------------------------------------
# File names and URL layouts


def _apache(component: str, version: str, path: str, mirror: str, archive: str, algorithm: str,
            groups: tuple[str, ...]) -> Artifact:
    """An Apache release: `<mirror>/<path>` then `<archive>/<path>`, checksum `<file>.<algorithm>`."""
    urls = (f"{mirror.rstrip('/')}/{path}", f"{archive.rstrip('/')}/{path}")
    return Artifact(component, version, path.rsplit("/", 1)[-1], "tarball", "apache", urls,
                    tuple(f"{u}.{algorithm}" for u in urls), algorithm, groups)


def _major(version: str) -> tuple[int, int]:
    nums = [int(n) for n in re.findall(r"\d+", version)[:2]] + [0, 0]
    return nums[0], nums[1]


def hbase_filename(hbase_version: str, hadoop_version: str | None) -> str:
    """HBase 2.5+ publishes a build against Hadoop 3 (`-hadoop3-bin`); the plain `-bin` bundles Hadoop 2."""
    if _major(hadoop_version or "3")[0] >= 3 and _major(hbase_version) >= (2, 5):
        return f"hbase-{hbase_version}-hadoop3-bin.tar.gz"
    return f"hbase-{hbase_version}-bin.tar.gz"


def apache_artifact(component: str, version: str, *, mirror: str = DEFAULT_MIRROR,
                    archive: str = DEFAULT_ARCHIVE, hadoop_version: str | None = None,
                    kafka_scala: str = "2.13", groups: tuple[str, ...] = ()) -> Artifact:
    """The release tarball of an Apache component, laid out as on dist.apache.org."""
    v = version
    layouts: dict[str, tuple[str, str]] = {
        "hadoop": (f"hadoop/common/hadoop-{v}/hadoop-{v}.tar.gz", "sha512"),
        "zookeeper": (f"zookeeper/zookeeper-{v}/apache-zookeeper-{v}-bin.tar.gz", "sha512"),
        "hbase": (f"hbase/{v}/{hbase_filename(v, hadoop_version)}", "sha512"),
        "hive": (f"hive/hive-{v}/apache-hive-{v}-bin.tar.gz", "sha256"),
        "kafka": (f"kafka/{v}/kafka_{kafka_scala}-{v}.tgz", "sha512"),
        "storm": (f"storm/apache-storm-{v}/apache-storm-{v}.tar.gz", "sha512"),
        "spark": (f"spark/spark-{v}/spark-{v}-bin-hadoop3.tgz", "sha512"),
    }
    if component not in layouts:
        raise KeyError(f"no Apache release layout for {component!r}")
    path, algorithm = layouts[component]
    return _apache(component, version, path, mirror, archive, algorithm, groups)


# Server artifacts of each component on a Maven repository (the bundle's top-level coordinates; Maven
# adds their runtime dependencies). Sources: the projects' own POMs and launch scripts (the main
# classes live in these artifacts), see ../shared/lab/MAVEN.md.
KAFKA_LOG4J2_VERSION = "2.24.3"
"""log4j2 binding added to Kafka's bundle: its POM ships log4j-core but no SLF4J 1.x binding."""
HBASE_LOG4J2_VERSION = "2.17.2"
"""log4j2 of HBase 2.6 (hbase-logging's POM has it `provided`; the tarball ships it)."""
HBASE_SHELL_MAVEN_VERSION = "2.4.17"
"""The last hbase-shell published on Maven Central (2.5 and 2.6 publish no hbase-shell jar)."""
HBASE_JAXWS_RI_VERSION = "2.3.2"
"""jaxws-ri of the HBase 2.6 tarball's lib/jdk11 (J2EE APIs that JDK 11+ no longer ship)."""
MAVEN_COMPONENTS = ("hadoop", "kafka", "hbase", "storm", "hive")
"""Components that can be installed from a Maven repository bundle (`*_install_source: maven`)."""
HADOOP_EXAMPLES_VERSIONS = {"3.4.3": "3.4.2", "3.5.0": "3.4.2"}
"""Hadoop releases whose hadoop-mapreduce-examples Maven Central does not serve -> the examples release
the bundle carries instead (MapReduce's API is stable within Hadoop 3). Same table as the hdfs role's
`hdfs_mapreduce_examples_versions`."""


def hadoop_examples_version(version: str) -> str:
    """The hadoop-mapreduce-examples release a Hadoop `version` bundle carries (the jar's name on the nodes
    is hadoop-mapreduce-examples-<this>.jar)."""
    return HADOOP_EXAMPLES_VERSIONS.get(version, version)


def maven_coordinates(component: str, version: str, *, kafka_scala: str = "2.13",
                      hadoop_version: str | None = None) -> tuple[list[str], list[str]]:
    """(coordinates, webapps_from) of a component's bundle.

    `webapps_from` are artifacts whose `webapps/` tree the bundle unpacks instead of shipping the
    jar (HDFS's web UIs are published only inside the `tests` jar of hadoop-hdfs).
    `hadoop_version` (HBase): the cluster's Hadoop, whose client jars the bundle carries.
    """
    v = version
    if component == "hadoop":
        g = "org.apache.hadoop"
        names = ["hadoop-common", "hadoop-hdfs", "hadoop-hdfs-client", "hadoop-yarn-server-resourcemanager",
                 "hadoop-yarn-server-nodemanager", "hadoop-yarn-server-web-proxy", "hadoop-yarn-client",
                 "hadoop-yarn-server-timelineservice",
                 "hadoop-mapreduce-client-app", "hadoop-mapreduce-client-hs",
                 "hadoop-mapreduce-client-shuffle", "hadoop-mapreduce-client-jobclient"]
        webapps = [f"{g}:hadoop-hdfs:{v}:jar:tests"]
        examples = [f"{g}:hadoop-mapreduce-examples:{hadoop_examples_version(v)}"]
        return [f"{g}:{n}:{v}" for n in names] + examples + webapps, webapps
    if component == "kafka":
        g = "org.apache.kafka"
        log4j = "org.apache.logging.log4j"
        return [f"{g}:kafka_{kafka_scala}:{v}", f"{g}:kafka-tools:{v}",
                f"{log4j}:log4j-core:{KAFKA_LOG4J2_VERSION}",
                f"{log4j}:log4j-slf4j-impl:{KAFKA_LOG4J2_VERSION}"], []
    if component == "hbase":
        return hbase_maven_coordinates(v, hadoop_version or "3.4.2"), []
    if component == "storm":
        # The daemons' part of Storm's release layout (lib, lib-worker): see storm_bundle.py.
        return storm_top_level(v), []
    if component == "storm-webapp":
        # The UI's and the logviewer's part (lib-webapp, public), a bundle of its own.
        return storm_webapp_top_level(v), []
    if component == "storm-connectors":
        # What a topology ships with `storm jar --jars` (the pilot's stream): see storm_bundle.py.
        return [c for c, _ in storm_connectors_top_level(v)], []
    if component == "hive":
        # lib/ without Hadoop (the cluster's), lib-beeline/, the metastore schema SQL: see hive_bundle.py.
        return hive_top_level(v), []
    if component == "spark-hive-client":
        # Hive's metastore client for Spark, without Hadoop: see hive_bundle.py.
        return spark_hive_client_top_level(v), []
    raise KeyError(f"no Maven bundle layout for {component!r}")


def hbase_maven_coordinates(version: str, hadoop_version: str) -> list[str]:
    """The HBase bundle: the `-hadoop3` server modules, the cluster's Hadoop client, Thrift, shell.

    Maven keeps the version of a directly named artifact over a transitive one, so the Hadoop
    artifacts are named first at the cluster's version (HBase 2.6.1-hadoop3's POMs ask for 3.3.x),
    and every HBase module at the `-hadoop3` version. Central has no `-hadoop3` hbase-thrift (the
    plain build is used: HBase code, compiled against Hadoop 2 APIs that Hadoop 3 keeps) and no
    hbase-shell after 2.4.17 (used with its jruby-complete; its hbase-rsgroup is overridden).
    log4j2 (the daemons' logging, as in the tarball) and the tarball's lib/jdk11 jars are added.
    """
    hv = f"{version}-hadoop3" if _major(hadoop_version)[0] >= 3 else version
    hadoop = [f"org.apache.hadoop:{a}:{hadoop_version}" for a in (
        "hadoop-common", "hadoop-auth", "hadoop-annotations", "hadoop-hdfs", "hadoop-hdfs-client",
        "hadoop-client", "hadoop-mapreduce-client-core", "hadoop-mapreduce-client-common",
        "hadoop-mapreduce-client-jobclient", "hadoop-yarn-api", "hadoop-yarn-common",
        "hadoop-yarn-client", "hadoop-distcp")]
    hbase = [f"org.apache.hbase:{a}:{hv}" for a in (
        "hbase-server", "hbase-client", "hbase-common", "hbase-hadoop-compat", "hbase-hadoop2-compat",
        "hbase-zookeeper", "hbase-http", "hbase-mapreduce", "hbase-procedure", "hbase-replication",
        "hbase-asyncfs", "hbase-metrics", "hbase-metrics-api", "hbase-protocol-shaded",
        "hbase-protocol", "hbase-logging", "hbase-annotations", "hbase-rsgroup")]
    log4j = [f"org.apache.logging.log4j:{a}:{HBASE_LOG4J2_VERSION}" for a in (
        "log4j-api", "log4j-core", "log4j-slf4j-impl", "log4j-1.2-api")]
    jdk11 = [f"com.sun.xml.ws:jaxws-ri:{HBASE_JAXWS_RI_VERSION}:pom",
             "com.sun.activation:javax.activation:1.2.0",
             "jakarta.annotation:jakarta.annotation-api:1.3.5"]
    return hadoop + hbase + [f"org.apache.hbase:hbase-thrift:{version}",
                             f"org.apache.hbase:hbase-shell:{HBASE_SHELL_MAVEN_VERSION}"] + log4j + jdk11


def maven_artifact(component: str, version: str, *, repository: str = MAVEN_CENTRAL,
                   kafka_scala: str = "2.13", groups: tuple[str, ...] = (),
                   hadoop_version: str | None = None) -> Artifact:
    """A bundle of the component's server jars, resolved by `mvn` from `repository` (see maven.py)."""
    coordinates, webapps = maven_coordinates(component, version, kafka_scala=kafka_scala,
                                             hadoop_version=hadoop_version)
    return Artifact(component, version, f"{component}-{version}-maven.tar.gz", "bundle", "maven",
                    (repository,), (), "sha256", groups,
                    {"repository": repository, "coordinates": coordinates, "webapps_from": webapps})


STORM_WEBAPP_GROUPS = ("storm_ui", "storm_supervisor")
"""Groups whose hosts run a daemon of Storm's web bundle: the UI, the supervisors' logviewer."""
STORM_WEBAPP_REQUIRED_BY = ("storm_ui",)
"""Groups that cannot run without the web bundle (a supervisor runs without its logviewer)."""


def storm_webapp_artifact(version: str, repository: str = MAVEN_CENTRAL,
                          groups: tuple[str, ...] = STORM_WEBAPP_GROUPS) -> Artifact:
    """Storm's web bundle `storm-webapp-<version>-maven.tar.gz` (lib-webapp/, public/; storm_bundle.py).

    Component "storm" (`artifacts fetch storm` includes it). Only the groups of STORM_WEBAPP_REQUIRED_BY
    among `groups` need it: a deploy lacking it leaves out the UI and deploys the supervisors without
    their logviewer."""
    base = maven_artifact("storm-webapp", version, repository=repository, groups=groups)
    return Artifact("storm", version, base.filename, "bundle", "maven", base.urls, (), "sha256", groups,
                    {**base.extra, "bundle": "storm-webapp"},
                    required_by=tuple(g for g in groups if g in STORM_WEBAPP_REQUIRED_BY))


def storm_connectors_artifact(version: str, repository: str = MAVEN_CENTRAL,
                              groups: tuple[str, ...] = ("storm_nimbus",)) -> Artifact:
    """The connectors of the pilot's stream topology, `storm-connectors-<version>-maven.tar.gz`
    (storm-kafka-client, storm-hbase, HBase's shaded client, multilang-python:
    storm_bundle.build_storm_connectors_bundle). Component "storm": `artifacts fetch storm` includes it.
    No host installs it: `pilot stream start` sends its jars with the topology."""
    base = maven_artifact("storm-connectors", version, repository=repository, groups=groups)
    return Artifact("storm", version, base.filename, "bundle", "maven", base.urls, (), "sha256", groups,
                    {**base.extra, "bundle": "storm-connectors"}, required_by=(), deployed=False)


def spark_hive_client_artifact(repository: str = MAVEN_CENTRAL, groups: tuple[str, ...] = (),
                               version: str = SPARK_HIVE_CLIENT_VERSION) -> Artifact:
    """The Hive 3.1 metastore client Spark loads to talk to a Hive 4 metastore
    (`spark-hive-client-<version>-maven.tar.gz`, hive_bundle.build_spark_hive_client_bundle).
    Component "spark": `artifacts fetch spark` includes it."""
    base = maven_artifact("spark-hive-client", version, repository=repository, groups=groups)
    return Artifact("spark", version, base.filename, "bundle", "maven", base.urls, (), "sha256", groups,
                    {**base.extra, "bundle": "spark-hive-client"})


def spark_needs_hive_client(cluster: Any) -> bool:
    """True when Spark shares a Hive metastore of version 4 or later, which Spark's built-in Hive 2.3
    client cannot use (it calls `get_table`, gone from Hive 4.0's metastore)."""
    present = _present(cluster)
    hive = cluster.version("hive")
    return bool(present.get("spark") and cluster.has("hive_metastore") and hive and _major(str(hive))[0] >= 4)


def install_source(cluster: Any, component: str) -> str:
    """`apache` or `maven`: the role's `<role>_install_source`, else `bigdata_artifact_source`."""
    role_var = {"hadoop": "hdfs_install_source", "kafka": "kafka_install_source",
                "hbase": "hbase_install_source", "storm": "storm_install_source",
                "hive": "hive_install_source"}.get(component)
    value = cluster.var(role_var) if role_var else None
    value = value or cluster.var("bigdata_artifact_source") or "maven"
    if component == "hive" and _major(str(cluster.version("hive") or "4"))[0] < 4:
        return "apache"  # the bundle's layout is Hive 4's (hive-standalone-metastore-server)
    return str(value) if component in MAVEN_COMPONENTS else "apache"


def temurin_filename(major: int, release: str, arch: str = "x64") -> str:
    """`8u442-b06` -> OpenJDK8U-jdk_x64_linux_hotspot_8u442b06.tar.gz,
    `11.0.26+4` -> OpenJDK11U-jdk_x64_linux_hotspot_11.0.26_4.tar.gz."""
    flat = release.replace("-", "") if major == 8 else release.replace("+", "_")
    return f"OpenJDK{major}U-jdk_{arch}_linux_hotspot_{flat}.tar.gz"


def temurin_artifact(major: int, release: str | None = None, arch: str = "x64",
                     groups: tuple[str, ...] = (), filename: str | None = None) -> Artifact:
    """A JDK tarball from Adoptium's GitHub releases, with the `.sha256.txt` published beside it."""
    release = release or TEMURIN_RELEASES[major]
    tag = f"jdk{release}" if major == 8 else f"jdk-{release}"
    name = filename or temurin_filename(major, release, arch)
    url = (f"https://github.com/adoptium/temurin{major}-binaries/releases/download/"
           f"{tag.replace('+', '%2B')}/{name}")
    return Artifact("java", release, name, "tarball", "temurin", (url,), (f"{url}.sha256.txt",), "sha256",
                    groups, {"major": major})


def postgresql_jdbc_artifact(version: str = POSTGRESQL_JDBC_VERSION,
                             groups: tuple[str, ...] = ()) -> Artifact:
    """The PostgreSQL JDBC driver for the Hive metastore from Maven Central (it publishes `.sha1`)."""
    name = f"postgresql-{version}.jar"
    url = f"{MAVEN_CENTRAL}/org/postgresql/postgresql/{version}/{name}"
    return Artifact("postgresql-jdbc", version, name, "jar", "maven", (url,), (f"{url}.sha1",), "sha1",
                    groups)


def flux_core_artifact(version: str, repository: str = MAVEN_CENTRAL,
                       groups: tuple[str, ...] = ()) -> Artifact:
    """Storm's flux-core jar (shaded: Flux runs YAML topologies with no build), with its published `.sha1`.

    Fetched as a file, not through the bundle: Maven cannot resolve it when the repository lacks its
    parent POM `org.apache.storm:flux`. Component "storm", so `artifacts fetch storm` includes it.
    """
    name = f"flux-core-{version}.jar"
    url = f"{repository.rstrip('/')}/org/apache/storm/flux-core/{version}/{name}"
    return Artifact("storm", version, name, "jar", "maven", (url,), (f"{url}.sha1",), "sha1", groups)


def pypi_artifacts(spark_version: str, groups: tuple[str, ...] = ()) -> list[Artifact]:
    """pyspark (+ its pinned py4j) for `spark_install_method: wheel`.

    PyPI publishes pyspark as an sdist only: fetch downloads it with pip, checks the sha256 PyPI
    publishes, and builds the pure-Python wheel the nodes install (`pyspark-X-py2.py3-none-any.whl`).
    py4j is published as a wheel.
    """
    py4j = "0.10.9.7" if _major(spark_version) < (4, 0) else "0.10.9.9"
    json_pyspark = f"{PYPI}/pypi/pyspark/{spark_version}/json"
    json_py4j = f"{PYPI}/pypi/py4j/{py4j}/json"
    return [
        Artifact("spark", spark_version, f"pyspark-{spark_version}-py2.py3-none-any.whl", "wheel", "pypi",
                 (json_pyspark,), (), "sha256", groups,
                 {"project": "pyspark", "pypi_file": f"pyspark-{spark_version}.tar.gz", "build_wheel": True}),
        Artifact("py4j", py4j, f"py4j-{py4j}-py2.py3-none-any.whl", "wheel", "pypi",
                 (json_py4j,), (), "sha256", groups,
                 {"project": "py4j", "pypi_file": f"py4j-{py4j}-py2.py3-none-any.whl"}),
    ]


def impala_images(version: str, groups: tuple[str, ...] = ()) -> list[Artifact]:
    """Impala ships no binary tarball: the apache/impala images, one per daemon, saved as archives."""
    out = []
    for daemon, group in IMPALA_DAEMON_IMAGES.items():
        if groups and group not in groups:
            continue
        image = f"{IMPALA_IMAGE_REPO}:{version}-{daemon}"
        out.append(Artifact("impala", version, f"impala-{version}-{daemon}.tar", "image", "registry",
                            (), (), "sha256", (group,), {"image": image, "daemon": daemon}))
    return out


# --------------------------------------------------------------------------------------------
# What an inventory needs


def _present(cluster: Any) -> dict[str, tuple[str, ...]]:
    """component -> groups (with hosts) that run it."""
    out: dict[str, list[str]] = {}
    for s in SERVICES:
        if cluster.has(s.group):
            out.setdefault(s.component, []).append(s.group)
    return {c: tuple(g) for c, g in out.items()}


def java_majors_needed(cluster: Any) -> dict[int, tuple[str, ...]]:
    """Java major -> groups needing it, for the JVM services this inventory runs."""
    java_for = cluster.var("bigdata_java_for") or {}
    out: dict[int, list[str]] = {}
    for s in SERVICES:
        if s.uses_java and cluster.has(s.group) and s.component in java_for:
            try:
                major = int(java_for[s.component])
            except (TypeError, ValueError):
                continue
            out.setdefault(major, []).append(s.group)
    return {m: tuple(g) for m, g in sorted(out.items())}


def artifacts_for(cluster: Any) -> list[Artifact]:
    """Every file this inventory needs, in a stable order, without duplicates."""
    mirror = str(cluster.var("bigdata_apache_mirror") or DEFAULT_MIRROR)
    archive = str(cluster.var("bigdata_apache_archive") or DEFAULT_ARCHIVE)
    present = _present(cluster)
    hadoop = cluster.version("hadoop")
    out: list[Artifact] = []

    for component in ("hadoop", "zookeeper", "hbase", "hive", "kafka", "storm", "spark"):
        groups = present.get(component)
        version = cluster.version(component)
        if not groups or not version:
            continue
        if component == "zookeeper" and cluster.var("zookeeper_install_method", "tarball") == "package":
            continue
        if component == "spark" and spark_needs_hive_client(cluster):
            repository = str(cluster.var("bigdata_maven_repository") or MAVEN_CENTRAL)
            out.append(spark_hive_client_artifact(repository, groups))
        if component == "spark" and cluster.var("spark_install_method", "tarball") == "wheel":
            out += pypi_artifacts(version, groups)
            continue
        scala = str(cluster.var("kafka_scala_version", "2.13"))
        if install_source(cluster, component) == "maven":
            repository = str(cluster.var("bigdata_maven_repository") or MAVEN_CENTRAL)
            out.append(maven_artifact(component, version, repository=repository, kafka_scala=scala,
                                      groups=groups, hadoop_version=hadoop))
            if component == "storm":
                out.append(flux_core_artifact(version, repository, groups))
                web_groups = tuple(g for g in groups if g in STORM_WEBAPP_GROUPS)
                if web_groups:
                    out.append(storm_webapp_artifact(version, repository, web_groups))
            continue
        out.append(apache_artifact(component, version, mirror=mirror, archive=archive, hadoop_version=hadoop,
                                   kafka_scala=scala, groups=groups))

    storm_groups = present.get("storm") or ()
    if "storm_nimbus" in storm_groups and cluster.version("storm"):
        # The pilot's stream topology ships these with it, whichever source installed Storm.
        repository = str(cluster.var("bigdata_maven_repository") or MAVEN_CENTRAL)
        out.append(storm_connectors_artifact(str(cluster.version("storm")), repository))

    # Hive and HBase clients run Hadoop's code: nodes of HBase/Hive/Impala need the Hadoop tarball
    # too (the hdfs role's client config), which the entry above already covers when HDFS exists.

    if present.get("hive") and cluster.has("metastore_db"):
        version = str(cluster.var("bigdata_postgresql_jdbc_version") or POSTGRESQL_JDBC_VERSION)
        out.append(postgresql_jdbc_artifact(version, present["hive"]))

    if present.get("impala") and cluster.version("impala"):
        out += impala_images(str(cluster.version("impala")), present["impala"])

    os_majors = {int(m) for m in (cluster.var("bigdata_java_os_majors") or OS_JAVA_MAJORS)}
    overrides = cluster.var("java_tarballs") or {}
    arch = str(cluster.var("bigdata_java_arch", "x64"))
    for major, groups in java_majors_needed(cluster).items():
        if major in os_majors and cluster.var("java_prefer_os_packages", True):
            continue
        if major not in TEMURIN_RELEASES and str(major) not in overrides and major not in overrides:
            continue  # compatibility_problems() reports it
        releases = cluster.var("bigdata_temurin_releases") or {}
        release = releases.get(major) or releases.get(str(major)) or TEMURIN_RELEASES.get(major)
        filename = overrides.get(major) or overrides.get(str(major))
        if release is None:
            continue
        out.append(temurin_artifact(major, str(release), arch, groups, filename))

    seen: set[str] = set()
    unique = []
    for a in out:
        if a.filename not in seen:
            seen.add(a.filename)
            unique.append(a)
    return unique


# --------------------------------------------------------------------------------------------
# Compatibility matrix

# component -> list of (version prefix, Java majors supported, Java majors that work with caveats).
# Sources: each project's documentation (Hadoop "Hadoop Java Versions", HBase book "Java support by
# release line", Hive 3.1 release notes, Kafka 4.0 upgrade notes, Storm 2.6 release notes, Spark docs).
JAVA_MATRIX: dict[str, list[tuple[str, frozenset[int], frozenset[int]]]] = {
    # Hadoop 3.5: built for Java 17 (its jars are class file version 61), Java 21 supported too.
    "hadoop": [("3.5", frozenset({17, 21}), frozenset()),
               ("3.4", frozenset({8, 11, 17}), frozenset()), ("3.3", frozenset({8, 11}), frozenset()),
               ("3.2", frozenset({8, 11}), frozenset()), ("2.10", frozenset({8}), frozenset())],
    "zookeeper": [("3.9", frozenset({8, 11, 17, 21}), frozenset()),
                  ("3.8", frozenset({8, 11, 17}), frozenset()),
                  ("3.7", frozenset({8, 11}), frozenset())],
    # HBase 2.6: Java 17 supported (with bin/hbase's JDK 11+ options, HBASE-28259); 2.5: experimental.
    "hbase": [("2.6", frozenset({8, 11, 17}), frozenset()), ("2.5", frozenset({8, 11}), frozenset({17})),
              ("2.4", frozenset({8, 11}), frozenset())],
    # Hive 4.0 is released for Java 8; the hive role runs it on 17 with the --add-opens of
    # bigdata_java17_opens and hive_java17_extra_opens (4.1 requires 17), as the lab deploy checks.
    "hive": [("4.1", frozenset({17}), frozenset()), ("4.0", frozenset({8, 17}), frozenset()),
             ("3.1", frozenset({8}), frozenset())],
    "kafka": [("4.", frozenset({17, 21}), frozenset()), ("3.", frozenset({11, 17}), frozenset({8}))],
    "storm": [("2.8", frozenset({11, 17}), frozenset()), ("2.7", frozenset({11, 17}), frozenset()),
              ("2.6", frozenset({11, 17}), frozenset()), ("2.5", frozenset({8, 11}), frozenset())],
    "spark": [("4.", frozenset({17, 21}), frozenset()), ("3.5", frozenset({8, 11, 17}), frozenset()),
              ("3.4", frozenset({8, 11, 17}), frozenset())],
}

# Hive metastore versions a Spark release can use (spark.sql.hive.metastore.version: Spark 3.5 loads
# clients 0.12 to 3.1.3). A Hive 4.0 metastore through the 3.1.3 client, which the spark role installs
# for it (spark_needs_hive_client): verified on the lab with Hive 4.0.1 (DDL, INSERT, SELECT, DROP).
SPARK_METASTORE = {"3.": ("0.12", "4.0.1"), "4.": ("2.0.0", "4.0.1")}

NOTES = (
    "HBase 2.5+ on Hadoop 3 uses the hbase-X-hadoop3-bin.tar.gz build "
    "(the plain -bin bundles Hadoop 2 jars); from Maven, the X-hadoop3 modules with the cluster's "
    "Hadoop client jars.",
    "HBase 2.6 supports Java 17 (the HBase book's Java support table; 2.5 only with caveats) given the "
    "JVM options bin/hbase adds on JDK 11+ (HBASE-28259); the hbase role adds them to every daemon "
    "and command.",
    "Impala 4.x speaks the Hive 3.1 metastore API: its catalogd is built for a Hive 3.1.x metastore "
    "(with Hive 4.0 a warning: not verified together).",
    "Hive 4.0 from Maven: the bundle holds Hive's jars without Hadoop's (the daemons run with the "
    "cluster's Hadoop jars after Hive's, minus Hadoop's SLF4J binding: one binding, log4j2's), the "
    "metastore schema SQL from the standalone metastore's bin tarball, and hive-beeline 3.1.3 (no 4.x "
    "beeline on Maven Central). It runs on Java 17 with Hive 4.1's --add-opens.",
    "Kafka 4 runs in KRaft mode only (no ZooKeeper) and its brokers need Java 17+.",
    "Hadoop 3.4 runs on Java 17 with the --add-opens list of bigdata_java17_opens (HADOOP-17177); the "
    "hdfs role adds it to every daemon, command and MapReduce container.",
    "Spark talks to an external Hive metastore through spark.sql.hive.metastore.version/jars; the spark "
    "role sets them to the cluster's Hive version.",
)


def java_support(component: str, version: str) -> tuple[frozenset[int], frozenset[int]] | None:
    """(supported majors, majors that work with caveats) or None when the version is not in the matrix."""
    for prefix, ok, caveat in JAVA_MATRIX.get(component, []):
        if version == prefix or version.startswith(prefix if prefix.endswith(".") else prefix + "."):
            return ok, caveat
    return None


def _vtuple(v: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", v)[:3])


def compatibility_problems(cluster: Any) -> list[Problem]:
    """Versions and Java majors that do not combine, for the components this inventory runs."""
    problems: list[Problem] = []
    present = _present(cluster)
    java_for = cluster.var("bigdata_java_for") or {}
    where_java = "setting bigdata_java_for"

    for component, groups in present.items():
        service_uses_java = any(s.uses_java for s in SERVICES if s.component == component)
        version = cluster.version(component)
        if component in ("redis", "postgresql", "gpu"):
            continue
        if not version:
            problems.append(Problem("error", f"setting bigdata_versions.{component}",
                                    f"groups {', '.join(groups)} run {component} but bigdata_versions has "
                                    f"no {component} version",
                                    f"Set bigdata_versions.{component} in group_vars/all.yml."))
            continue
        if not service_uses_java:
            continue
        major_raw = java_for.get(component)
        if major_raw is None:
            problems.append(Problem("error", where_java, f"no Java major given for {component}",
                                    f"Set bigdata_java_for.{component} in group_vars/all.yml."))
            continue
        try:
            major = int(major_raw)
        except (TypeError, ValueError):
            problems.append(Problem("error", where_java,
                                    f"bigdata_java_for.{component} is {major_raw!r}, not a Java major number",
                                    f"Set bigdata_java_for.{component} to a number such as 8, 11 or 17."))
            continue
        support = java_support(component, version)
        if support is None:
            problems.append(Problem("warning", f"setting bigdata_versions.{component}",
                                    f"{component} {version} is not in the compatibility matrix; its Java "
                                    f"({major}) is not checked",
                                    "Use a version the catalog knows, or check its Java requirement "
                                    "yourself."))
            continue
        ok, caveat = support
        if major in ok:
            pass
        elif major in caveat:
            problems.append(Problem("warning", where_java,
                                    f"{component} {version} on Java {major} works with caveats; supported: "
                                    f"{_majors(ok)}",
                                    f"Prefer bigdata_java_for.{component}: {max(ok)}."))
        else:
            problems.append(Problem("error", where_java,
                                    f"{component} {version} does not run on Java {major}; it runs on "
                                    f"{_majors(ok)}",
                                    f"Set bigdata_java_for.{component}: {_best(ok)} in group_vars/all.yml."))
        if major not in TEMURIN_RELEASES and major not in OS_JAVA_MAJORS and major not in (
                int(m) for m in (cluster.var("bigdata_java_os_majors") or OS_JAVA_MAJORS)):
            problems.append(Problem("error", where_java,
                                    f"no source for Java {major} (needed by {component}): the OS packages "
                                    f"{_majors(OS_JAVA_MAJORS)} and the catalog has Temurin "
                                    f"{_majors(frozenset(TEMURIN_RELEASES))}",
                                    "Use one of those majors, or list it in bigdata_java_os_majors if your "
                                    "OS packages it."))

    hive, hadoop = cluster.version("hive"), cluster.version("hadoop")
    impala, hbase, spark = cluster.version("impala"), cluster.version("hbase"), cluster.version("spark")

    if ("impala" in present and "hive" in present and impala and hive
            and _major(impala)[0] >= 4 and not hive.startswith("3.1")):
        # A warning: Impala's catalogd is built against Hive 3.1's metastore client; a Hive 4 metastore
        # still serves the 3.1 Thrift calls, but this pair is not checked here (no Impala images).
        problems.append(Problem("warning", "setting bigdata_versions.hive",
                                f"Impala {impala} is built for a Hive 3.1.x metastore; "
                                f"bigdata_versions.hive is {hive} (not verified together)",
                                "Set bigdata_versions.hive: \"3.1.3\" (with Java 8 and "
                                "hive_install_source: apache) where Impala must be supported."))
    if ("hive" in present and "hadoop" in present and hive and hadoop
            and _major(hive)[0] >= 3 and _major(hadoop)[0] < 3):
        problems.append(Problem("error", "setting bigdata_versions.hadoop",
                                f"Hive {hive} needs Hadoop 3; bigdata_versions.hadoop is {hadoop}",
                                "Set bigdata_versions.hadoop: \"3.3.6\"."))
    if "hbase" in present and hbase and hadoop and _major(hadoop)[0] >= 3 and _major(hbase) < (2, 5):
        problems.append(Problem("warning", "setting bigdata_versions.hbase",
                                f"HBase {hbase} publishes no -hadoop3-bin build: its tarball bundles "
                                f"Hadoop 2 client jars, which Hadoop {hadoop} clusters do not support",
                                "Use HBase 2.5 or later (bigdata_versions.hbase: \"2.6.1\")."))
    if "spark" in present and "hive" in present and spark and hive:
        for prefix, (low, high) in SPARK_METASTORE.items():
            if spark.startswith(prefix) and not (_vtuple(low) <= _vtuple(hive) <= _vtuple(high)):
                # Above the range a warning (a newer metastore may still serve the client's calls: the
                # spark smoke test on a lab shows it); below, an error.
                newer = _vtuple(hive) > _vtuple(high)
                problems.append(Problem("warning" if newer else "error", "setting bigdata_versions.spark",
                                        f"Spark {spark} can use Hive metastores {low} to {high}; "
                                        f"bigdata_versions.hive is {hive}",
                                        "Pick Spark and Hive versions that combine "
                                        "(Spark 3.5 with Hive 3.1.3 or 4.0.1)."))
    return problems


def _majors(majors: frozenset[int]) -> str:
    return ", ".join(str(m) for m in sorted(majors))


def _best(majors: frozenset[int]) -> int:
    """The major to suggest: one the OS packages when possible, else the newest."""
    on_os = sorted(majors & OS_JAVA_MAJORS)
    return on_os[-1] if on_os else max(majors)
