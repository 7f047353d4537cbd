"""Bundles of a component's server jars, resolved from a Maven repository by the real Maven client.

Many sites reach a Maven repository (Maven Central, or a Nexus/Artifactory mirror) and nothing
else. Every daemon of the stack is published there as jars, so a *bundle* stands in for the
release tarball: one `.tar.gz` per component and version, laid out as::

    <component>-<version>/
        lib/*.jar        the server artifacts with their runtime dependencies
        webapps/...      web UI resources the daemons load from the classpath (HDFS only)
        bundle.json      {"component", "version", "repository", "coordinates",
                          "files": {"lib/<jar>": {"coordinate", "sha1"}}}

Resolution is Maven's own (`mvn dependency:list` over a generated POM that names only the
top-level artifacts), with `--strict-checksums`: Maven refuses any file whose checksum does
not match the `.sha1` the repository publishes. The local repository lives in the artifact cache
(`<cache>/maven-repo`), keeping those published `.sha1` files, so `verify` can re-check every jar
of a bundle against them later.

Errors: `MavenError` (a `RunFailed`, exit 1) names the failing command's last lines and the fix.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from bigdata_admin.errors import RunFailed

MAVEN_CENTRAL = "https://repo1.maven.org/maven2"
LOCAL_REPO = "maven-repo"
"""Directory of the Maven local repository inside the artifact cache."""
MAVEN_OPTS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"
"""JVM options of `mvn` unless the user sets MAVEN_OPTS: a resolution is a short-lived JVM, which C1 alone
compiles for less CPU than C1 and C2 together."""
BUNDLE_JSON = "bundle.json"
MVN_TIMEOUT_S = 1800


class MavenError(RunFailed):
    """The Maven client could not resolve or verify a bundle."""


@dataclass(frozen=True)
class Coordinate:
    """`group:artifact:version[:type[:classifier]]` as Maven writes it."""

    group: str
    artifact: str
    version: str
    type: str = "jar"
    classifier: str = ""

    @classmethod
    def parse(cls, text: str) -> Coordinate:
        parts = text.split(":")
        if len(parts) not in (3, 4, 5) or not all(parts[:3]):
            raise ValueError(f"not a Maven coordinate (group:artifact:version[:type[:classifier]]): {text!r}")
        return cls(parts[0], parts[1], parts[2], parts[3] if len(parts) > 3 else "jar",
                   parts[4] if len(parts) > 4 else "")

    def __str__(self) -> str:
        tail = f":{self.type}" + (f":{self.classifier}" if self.classifier else "")
        return f"{self.group}:{self.artifact}:{self.version}" + ("" if tail == ":jar" else tail)

    def pom_xml(self) -> str:
        extra = "" if self.type == "jar" else f"<type>{escape(self.type)}</type>"
        extra += f"<classifier>{escape(self.classifier)}</classifier>" if self.classifier else ""
        return (f"    <dependency><groupId>{escape(self.group)}</groupId>"
                f"<artifactId>{escape(self.artifact)}</artifactId>"
                f"<version>{escape(self.version)}</version>{extra}</dependency>\n")


@dataclass(frozen=True)
class Resolved:
    coordinate: Coordinate
    path: Path
    """The file in the local repository."""


def pom(name: str, coordinates: list[Coordinate]) -> str:
    """A POM that depends on `coordinates` and nothing else (packaging pom: it builds nothing)."""
    deps = "".join(c.pom_xml() for c in coordinates)
    return ("<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n  <modelVersion>4.0.0</modelVersion>\n"
            f"  <groupId>local.bigdata-admin</groupId><artifactId>{escape(name)}</artifactId>"
            "<version>1</version>\n  <packaging>pom</packaging>\n"
            f"  <dependencies>\n{deps}  </dependencies>\n</project>\n")


def settings(repository: str) -> str:
    """Maven settings that send every request to `repository` (a mirror of everything)."""
    return ("<settings><mirrors><mirror><id>bigdata-admin</id><mirrorOf>*</mirrorOf>"
            f"<url>{escape(repository)}</url></mirror></mirrors></settings>\n")


def parse_dependency_list(text: str) -> list[Resolved]:
    """Parse `mvn dependency:list -DoutputAbsoluteArtifactFilename=true` output.

    Lines look like `g:a:type[:classifier]:version:scope:/abs/path` (newer plugins append
    ` -- module name`). Returns one entry per line that names a file.
    """
    out = []
    for raw in text.splitlines():
        line = raw.strip().split(" -- ", 1)[0].strip()
        if ":/" not in line:
            continue
        coords, path = line.split(":/", 1)
        parts = coords.split(":")
        if len(parts) == 5:
            g, a, t, v, _scope = parts
            c = ""
        elif len(parts) == 6:
            g, a, t, c, v, _scope = parts
        else:
            continue
        out.append(Resolved(Coordinate(g, a, v, t, c), Path("/" + path)))
    return out


def mvn_available() -> bool:
    return shutil.which("mvn") is not None


def run_dependency_list(name: str, pom_text: str, local_repo: Path, repository: str = MAVEN_CENTRAL,
                        timeout: float = MVN_TIMEOUT_S,
                        fix_for: Callable[[str], str | None] | None = None) -> list[Resolved]:
    """`mvn dependency:list` over the POM `pom_text` (runtime scope, strict checksums), downloading into
    `local_repo` from `repository`: every file with its coordinate. The one place that runs `mvn`.

    Raises MavenError without `mvn`, on a timeout (`timeout` s), on a failed resolution (naming Maven's
    last error lines; `fix_for(those lines)` may give a more specific fix) or an empty list."""
    if not mvn_available():
        raise MavenError("the Maven client `mvn` is not installed on this control host",
                         fix="Install it (`apt-get install maven`, or run scripts/bootstrap).")
    local_repo.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bigdata-admin-mvn-") as tmp:
        work = Path(tmp)
        (work / "pom.xml").write_text(pom_text)
        (work / "settings.xml").write_text(settings(repository))
        listing = work / "deps.txt"
        cmd = ["mvn", "-B", "-q", "-Dstyle.color=never", "--strict-checksums",
               "-s", str(work / "settings.xml"), f"-Dmaven.repo.local={local_repo}", "dependency:list",
               f"-DoutputFile={listing}", "-DoutputAbsoluteArtifactFilename=true", "-DincludeScope=runtime",
               "-DappendOutput=false"]
        try:
            proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=timeout, check=False,
                                  env={**os.environ, "MAVEN_OPTS": os.environ.get("MAVEN_OPTS", MAVEN_OPTS)})
        except subprocess.TimeoutExpired as exc:
            raise MavenError(f"Maven did not resolve {name} within {int(timeout)} s",
                             fix=f"Check that {repository} answers from this host, then fetch again."
                             ) from exc
        if proc.returncode != 0 or not listing.is_file():
            output = (proc.stdout + proc.stderr).splitlines()
            lines = [ln for ln in output if "ERROR" in ln and ("Failed" in ln or "Could not" in ln)]
            tail = "\n".join((lines or [ln for ln in output if "ERROR" in ln] or output)[-6:])
            fix = (fix_for(tail) if fix_for else None) or (
                "Check the coordinates' versions and that the repository answers (set "
                "bigdata_maven_repository to your mirror).")
            raise MavenError(f"Maven could not resolve {name} from {repository}:\n{tail}", fix=fix)
        resolved = parse_dependency_list(listing.read_text())
    if not resolved:
        raise MavenError(f"Maven resolved no file for {name}",
                         fix="Report this: the dependency list was empty.")
    return resolved


def resolve(name: str, coordinates: list[Coordinate], local_repo: Path, repository: str = MAVEN_CENTRAL,
            timeout: float = MVN_TIMEOUT_S) -> list[Resolved]:
    """Resolve `coordinates` with their runtime dependencies into `local_repo` (strict checksums)."""
    return run_dependency_list(name, pom(name, coordinates), local_repo, repository, timeout)


def published_sha1(path: Path) -> str:
    """The `.sha1` the repository published for `path` (kept by Maven beside the file)."""
    sidecar = path.with_name(path.name + ".sha1")
    try:
        text = sidecar.read_text().strip()
    except OSError as exc:
        raise MavenError(f"no published checksum beside {path}",
                         fix="Delete the Maven local repository in the artifact cache and fetch again."
                         ) from exc
    value = text.split()[0].lower() if text else ""
    if len(value) != 40 or any(ch not in "0123456789abcdef" for ch in value):
        raise MavenError(f"{sidecar} holds no SHA-1", fix="Delete it and fetch again.")
    return value


def sha1_of(path: Path) -> str:
    h = hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(1 << 16):
            h.update(chunk)
    return h.hexdigest()


def jar_name(r: Resolved, taken: set[str]) -> str:
    """File name of a jar in `lib/`: Maven's own name, prefixed with the group on a clash."""
    name = r.path.name
    return f"{r.coordinate.group}.{name}" if name in taken else name


def _tar_add_bytes(tar: tarfile.TarFile, name: str, data: bytes, mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, 0
    info.uname = info.gname = "root"
    tar.addfile(info, io.BytesIO(data))


def _tar_add_dir(tar: tarfile.TarFile, name: str) -> None:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 0
    info.uname = info.gname = "root"
    tar.addfile(info)


def build_bundle(dest: Path, component: str, version: str, resolved: list[Resolved], *,
                 repository: str, coordinates: list[Coordinate],
                 webapps_from: list[Coordinate] | None = None) -> dict[str, Any]:
    """Write the bundle tarball `dest` (reproducible: sorted, mtime 0) and return its bundle.json.

    Every jar is checked against the repository's published SHA-1 first. Jars named in
    `webapps_from` are not put in `lib/`: their `webapps/` tree is unpacked into the bundle instead.
    Raises MavenError on a checksum mismatch.
    """
    top = f"{component}-{version}"
    extract = {(c.group, c.artifact, c.classifier) for c in webapps_from or []}
    files: dict[str, dict[str, str]] = {}
    taken: set[str] = set()
    jars: list[tuple[str, Resolved]] = []
    webapp_jars: list[Resolved] = []
    for r in sorted(resolved, key=lambda r: str(r.coordinate)):
        expected = published_sha1(r.path)
        actual = sha1_of(r.path)
        if actual != expected:
            raise MavenError(f"{r.path.name}: SHA-1 {actual} differs from the published {expected}",
                             fix=f"Delete {r.path} and fetch again.")
        c = r.coordinate
        if (c.group, c.artifact, c.classifier) in extract:
            webapp_jars.append(r)
            files[f"webapps-from/{r.path.name}"] = {"coordinate": str(c), "sha1": expected}
            continue
        if r.path.suffix != ".jar":
            continue
        name = jar_name(r, taken)
        taken.add(name)
        jars.append((name, r))
        files[f"lib/{name}"] = {"coordinate": str(c), "sha1": expected}
    meta = {"component": component, "version": version, "repository": repository,
            "coordinates": [str(c) for c in coordinates], "files": files}
    tmp = dest.with_name(dest.name + ".part")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz, \
            tarfile.open(fileobj=gz, mode="w") as tar:
        _tar_add_dir(tar, top)
        _tar_add_dir(tar, f"{top}/lib")
        for name, r in jars:
            _tar_add_bytes(tar, f"{top}/lib/{name}", r.path.read_bytes())
        web_entries: dict[str, bytes | None] = {}
        for r in webapp_jars:
            with zipfile.ZipFile(r.path) as z:
                for entry in z.namelist():
                    if entry.startswith("webapps/"):
                        web_entries[entry] = None if entry.endswith("/") else z.read(entry)
        for entry in sorted(web_entries):
            data = web_entries[entry]
            if data is None:
                _tar_add_dir(tar, f"{top}/{entry.rstrip('/')}")
            else:
                _tar_add_bytes(tar, f"{top}/{entry}", data)
        text = json.dumps(meta, indent=2, sort_keys=True) + "\n"
        _tar_add_bytes(tar, f"{top}/{BUNDLE_JSON}", text.encode())
    os.replace(tmp, dest)
    return meta


def read_bundle_json(bundle: Path) -> dict[str, Any]:
    """The bundle.json inside a bundle tarball."""
    with tarfile.open(bundle, "r:gz") as tar:
        for member in tar:
            if member.name.endswith("/" + BUNDLE_JSON) and member.name.count("/") == 1:
                f = tar.extractfile(member)
                if f is not None:
                    data: dict[str, Any] = json.loads(f.read())
                    return data
    raise MavenError(f"{bundle.name} holds no {BUNDLE_JSON}: not a bundle",
                     fix=f"Delete {bundle} and fetch again.")


def _in_jar_dir(rel: str) -> bool:
    """A path under a bundle's jar directories: lib/, and Storm's lib-worker/ and lib-webapp/."""
    top = rel.split("/", 1)[0]
    return "/" in rel and (top == "lib" or top.startswith("lib-"))


def verify_bundle(bundle: Path, local_repo: Path) -> tuple[bool, str]:
    """Re-check every jar of a bundle against the SHA-1 the repository published.

    Returns (ok, message). Reads the jars from the tarball and the published `.sha1` files from
    the local repository that resolved them.
    """
    try:
        meta = read_bundle_json(bundle)
    except (MavenError, OSError, tarfile.TarError, ValueError) as exc:
        return False, getattr(exc, "message", str(exc))
    files: dict[str, dict[str, str]] = meta.get("files", {})
    top = f"{meta.get('component')}-{meta.get('version')}"
    seen = 0
    with tarfile.open(bundle, "r:gz") as tar:
        for member in tar:
            rel = member.name[len(top) + 1:] if member.name.startswith(top + "/") else ""
            if not _in_jar_dir(rel) or not member.isfile():
                continue
            entry = files.get(rel)
            if entry is None:
                return False, f"{rel} is in the bundle but not in its {BUNDLE_JSON}"
            f = tar.extractfile(member)
            if f is None:
                return False, f"{rel} cannot be read"
            digest = hashlib.sha1(f.read(), usedforsecurity=False).hexdigest()
            c = Coordinate.parse(entry["coordinate"])
            in_repo = (local_repo / c.group.replace(".", "/") / c.artifact / c.version)
            published = None
            for sidecar in in_repo.glob("*.sha1") if in_repo.is_dir() else []:
                base = sidecar.name[:-5]
                if (base.endswith(f".{c.type}") or base.endswith(".jar")) and (
                        (c.classifier and f"-{c.classifier}." in base) or
                        (not c.classifier and base == f"{c.artifact}-{c.version}.{c.type}")):
                    published = sidecar.read_text().split()[0].lower()
                    break
            if published is None:
                published = entry["sha1"]
                source = "bundle.json (the repository's .sha1 is no longer in the local repository)"
            else:
                source = "the repository's .sha1"
            if digest != published:
                return False, f"{rel}: SHA-1 {digest} differs from {source} ({published})"
            seen += 1
    missing = [k for k in files if _in_jar_dir(k)]
    if seen != len(missing):
        return False, f"{len(missing) - seen} jar(s) listed in {BUNDLE_JSON} are missing from the bundle"
    return True, f"{seen} jars match the repository's published SHA-1"
