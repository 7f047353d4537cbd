"""The artifact cache on the control host: fetch (resumable, mirror then archive), verify, serve.

Layout of the cache (`paths.cache_dir()`)::

    <file>                 the release file, e.g. hadoop-3.3.6.tar.gz
    <file>.sha512          the checksum file as published (kept beside it)
    <file>.part            a download in progress (resumed with an HTTP Range request)
    manifest.json          {"files": {"<file>": {"component", "version", "algorithm", "checksum", ...}}}
    .lock                  held by a fetch or verify, so that two at once take turns

The manifest lists only verified files; role `bigdata_artifact` reads it to check every copy it
puts on a node. Nodes never reach the internet: they get files copied from here, or downloaded
from `bigdata-admin artifacts serve`.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Protocol

from bigdata_admin import paths
from bigdata_admin.catalog import Artifact, artifacts_for
from bigdata_admin.checksum import (
    Checksum,
    ChecksumFileError,
    ChecksumMismatch,
    algorithm_for_suffix,
    file_digest,
    parse_checksum,
    parse_checksum_file,
)
from bigdata_admin.errors import BadInput, RunFailed
from bigdata_admin.hive_bundle import build_hive_bundle, build_spark_hive_client_bundle
from bigdata_admin.maven import (
    LOCAL_REPO,
    Coordinate,
    MavenError,
    build_bundle,
    read_bundle_json,
    resolve,
    verify_bundle,
)
from bigdata_admin.procs import locked
from bigdata_admin.storm_bundle import (
    build_storm_bundle,
    build_storm_connectors_bundle,
    build_storm_webapp_bundle,
    storm_local_installs,
)

MANIFEST = "manifest.json"
USER_AGENT = "bigdata-admin (artifact fetch)"
TIMEOUT_S = 60
CHUNK = 1 << 16
PYPI_SIMPLE = "https://pypi.org/simple"


class DownloadError(RunFailed):
    """No source could deliver the file."""


class Reporter(Protocol):
    def start(self, name: str, total: int | None, done: int = 0) -> None: ...
    def advance(self, n: int) -> None: ...
    def finish(self) -> None: ...
    def note(self, text: str) -> None: ...


class NullReporter:
    def start(self, name: str, total: int | None, done: int = 0) -> None:
        pass

    def advance(self, n: int) -> None:
        pass

    def finish(self) -> None:
        pass

    def note(self, text: str) -> None:
        pass


class RichReporter:
    """A progress bar per file on stderr (size, speed, time left)."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self.console = Console(stderr=True)
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                                 TransferSpeedColumn(), TimeRemainingColumn(), console=self.console)
        self.task: Any = None

    def __enter__(self) -> RichReporter:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def start(self, name: str, total: int | None, done: int = 0) -> None:
        self.task = self.progress.add_task(name, total=total, completed=done)

    def advance(self, n: int) -> None:
        if self.task is not None:
            self.progress.advance(self.task, n)

    def finish(self) -> None:
        if self.task is not None:
            self.progress.stop_task(self.task)
            self.task = None

    def note(self, text: str) -> None:
        """Print a plain-text line (URLs and error texts hold square brackets: not markup)."""
        from rich.markup import escape

        self.progress.console.print(escape(text), highlight=False)


# --------------------------------------------------------------------------------------------
# Manifest


def manifest_path(cache: Path | None = None) -> Path:
    return (cache or paths.cache_dir()) / MANIFEST


def load_manifest(cache: Path | None = None) -> dict[str, Any]:
    path = manifest_path(cache)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {"files": {}}
    except (OSError, ValueError) as exc:
        raise BadInput(f"{path} is not readable JSON: {exc}",
                       fix=f"Delete {path} and run `bigdata-admin artifacts verify -i INVENTORY`.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict):
        return {"files": {}}
    return data


_manifest_lock = threading.Lock()


def record(cache: Path, artifact: Artifact, checksum: Checksum, *, source: str = "published",
           extra: dict[str, Any] | None = None) -> None:
    """Add or update one verified file in the manifest (atomic rewrite)."""
    with _manifest_lock:
        data = load_manifest(cache)
        path = cache / artifact.filename
        data["files"][artifact.filename] = {
            "component": artifact.component,
            "version": artifact.version,
            "algorithm": checksum.algorithm,
            "checksum": checksum.hexdigest,
            "size": path.stat().st_size,
            "checksum_source": source,
            "verified": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            **(extra or {}),
        }
        tmp = manifest_path(cache).with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, manifest_path(cache))


def forget(cache: Path, filename: str) -> None:
    with _manifest_lock:
        data = load_manifest(cache)
        if data["files"].pop(filename, None) is not None:
            tmp = manifest_path(cache).with_suffix(".json.tmp")
            tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
            os.replace(tmp, manifest_path(cache))


# --------------------------------------------------------------------------------------------
# State of the cache


@dataclass
class ArtifactState:
    artifact: Artifact
    cached: bool
    verified: bool
    """In the manifest with the size of the file on disk (no re-hashing: see `verify`)."""
    path: Path
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {**self.artifact.as_dict(), "cached": self.cached, "verified": self.verified,
                "path": str(self.path), "note": self.note}


def _select(artifacts: list[Artifact], components: Iterable[str] | None) -> list[Artifact]:
    wanted = {c.lower() for c in components or []}
    if not wanted:
        return artifacts
    known = {a.component for a in artifacts} | {a.filename for a in artifacts}
    unknown = wanted - known
    if unknown:
        raise BadInput(f"this inventory needs no artifact for {', '.join(sorted(unknown))}",
                       fix=f"Pick from: {', '.join(sorted({a.component for a in artifacts}))}.")
    return [a for a in artifacts if a.component in wanted or a.filename in wanted]


def states(artifacts: list[Artifact], cache: Path | None = None) -> list[ArtifactState]:
    cache = cache or paths.cache_dir()
    manifest = load_manifest(cache)["files"] if cache.is_dir() else {}
    out = []
    for a in artifacts:
        path = cache / a.filename
        cached = path.is_file()
        entry = manifest.get(a.filename) or {}
        verified = bool(cached and entry.get("checksum") and entry.get("size") == path.stat().st_size)
        note = ""
        if verified and a.kind == "bundle" and entry.get("coordinates") != a.extra.get("coordinates"):
            # Built from another artifact list (an older bigdata-admin or another repository).
            verified = False
            note = "bundle built from other coordinates: fetch rebuilds it"
        if not verified and a.required_by is not None:
            note = partial_note(a)
        if not a.fetchable:
            note = f"container image {a.extra.get('image')}: needs a registry (see `artifacts fetch`)"
        elif (cache / (a.filename + ".part")).is_file():
            note = "partial download (fetch resumes it)"
        out.append(ArtifactState(a, cached, verified, path, note))
    return out


def missing(cluster: Any, cache: Path | None = None) -> list[Artifact]:
    """Artifacts the inventory needs that are not cached and verified."""
    return [s.artifact for s in states(artifacts_for(cluster), cache) if not s.verified]


def fetch_command(cluster: Any, artifacts: Iterable[Artifact] = ()) -> str:
    comps = sorted({a.component for a in artifacts})
    return f"bigdata-admin artifacts fetch -i {cluster.source}" + (" " + " ".join(comps) if comps else "")


# --------------------------------------------------------------------------------------------
# HTTP download with resume


def _open(url: str, headers: dict[str, str] | None = None, timeout: float = TIMEOUT_S) -> Any:
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    return urllib.request.urlopen(req, timeout=timeout)


def fetch_text(url: str, timeout: float = TIMEOUT_S, limit: int = 1 << 20) -> str:
    with _open(url, timeout=timeout) as resp:
        return resp.read(limit).decode("utf-8", errors="replace")


def download(url: str, dest: Path, reporter: Reporter | None = None, timeout: float = TIMEOUT_S) -> Path:
    """Download `url` to `dest`, through `dest.part`, resuming a partial one with a Range request."""
    reporter = reporter or NullReporter()
    part = dest.with_name(dest.name + ".part")
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        resp = _open(url, headers, timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:
            # Our part is at least as long as the file: start again rather than guess.
            part.unlink()
            return download(url, dest, reporter, timeout)
        raise
    with resp:
        status = getattr(resp, "status", 200)
        length = resp.headers.get("Content-Length")
        if status == 206 and have:
            mode, done = "ab", have
            total = have + int(length) if length else None
        else:
            mode, done = "wb", 0
            total = int(length) if length else None
        reporter.start(dest.name, total, done)
        try:
            with part.open(mode) as out:
                while chunk := resp.read(CHUNK):
                    out.write(chunk)
                    reporter.advance(len(chunk))
        finally:
            reporter.finish()
    if total is not None and part.stat().st_size != total:
        raise DownloadError(f"{url}: got {part.stat().st_size} of {total} bytes",
                            fix="Run `bigdata-admin artifacts fetch` again: it resumes the download.")
    os.replace(part, dest)
    return dest


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    if isinstance(exc, urllib.error.URLError):
        return str(exc.reason)
    if isinstance(exc, (ChecksumFileError, ChecksumMismatch, DownloadError, MavenError)):
        return exc.message
    return str(exc) or type(exc).__name__


def fetch_http(a: Artifact, cache: Path, reporter: Reporter | None = None,
               timeout: float = TIMEOUT_S) -> Checksum:
    """Fetch one file and its checksum file, trying each source in order; verify; record."""
    reporter = reporter or NullReporter()
    cache.mkdir(parents=True, exist_ok=True)
    dest = cache / a.filename
    errors: list[str] = []
    for url, sum_url in zip(a.urls, a.checksum_urls or (None,) * len(a.urls), strict=False):
        try:
            expected = _published_checksum(a, sum_url, cache, timeout)
            if dest.is_file():
                if file_digest(dest, expected.algorithm) == expected.hexdigest:
                    record(cache, a, expected, extra={"url": url})
                    return expected
                dest.unlink()  # stale or corrupt: fetch it again
            download(url, dest, reporter, timeout)
            actual = file_digest(dest, expected.algorithm)
            if actual != expected.hexdigest:
                dest.unlink()
                raise ChecksumMismatch(f"{a.filename} from {url}: {expected.algorithm} mismatch "
                                       f"(expected {expected.hexdigest[:16]}..., got {actual[:16]}...)")
            record(cache, a, expected, extra={"url": url})
            return expected
        except (urllib.error.URLError, OSError, ChecksumFileError, ChecksumMismatch, DownloadError) as exc:
            errors.append(f"{url}: {_error_text(exc)}")
            reporter.note(f"{a.filename}: {url} failed ({_error_text(exc)}); "
                          "trying the next source")
    raise DownloadError(f"could not fetch {a.filename}: " + "; ".join(errors),
                        fix="Check the network or set bigdata_apache_mirror to a reachable mirror; a partial "
                            "download is kept and resumed next time.")


def _published_checksum(a: Artifact, sum_url: str | None, cache: Path, timeout: float) -> Checksum:
    if not sum_url:
        raise ChecksumFileError(f"{a.filename} has no published checksum in the catalog")
    text = fetch_text(sum_url, timeout)
    name = sum_url.rsplit("/", 1)[-1].replace("%2B", "+")
    algo = algorithm_for_suffix(name) or a.algorithm
    expected = parse_checksum(text, a.filename, algo, source=sum_url)
    (cache / name).write_text(text)
    return expected


# --------------------------------------------------------------------------------------------
# PyPI (pip download, sha256 from the index)


def pypi_hash(project: str, filename: str, index: str = PYPI_SIMPLE, timeout: float = TIMEOUT_S) -> str:
    """The sha256 the package index publishes for one file (PEP 691 JSON simple API)."""
    url = f"{index.rstrip('/')}/{project}/"
    with _open(url, {"Accept": "application/vnd.pypi.simple.v1+json"}, timeout) as resp:
        data = json.loads(resp.read())
    for f in data.get("files", []):
        if f.get("filename") == filename and f.get("hashes", {}).get("sha256"):
            return str(f["hashes"]["sha256"])
    raise DownloadError(f"{index} publishes no {filename}",
                        fix=f"Check that {project} has that version on PyPI, or change bigdata_versions.")


def _pip_env() -> dict[str, str]:
    env = dict(os.environ)
    # Only the index: no local wheel directories or constraints from this machine's pip config.
    env.update({"PIP_FIND_LINKS": "", "PIP_EXTRA_INDEX_URL": "", "PIP_CONSTRAINT": "",
                "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return env


def fetch_pypi(a: Artifact, cache: Path, reporter: Reporter | None = None, index: str = PYPI_SIMPLE,
               timeout: float = TIMEOUT_S) -> Checksum:
    """`pip download` the published file (hash-checked), and build the wheel when PyPI has only an sdist."""
    reporter = reporter or NullReporter()
    cache.mkdir(parents=True, exist_ok=True)
    project, pypi_file = str(a.extra["project"]), str(a.extra["pypi_file"])
    published = Checksum("sha256", pypi_hash(project, pypi_file, index, timeout))
    downloaded = cache / pypi_file
    if not (downloaded.is_file() and file_digest(downloaded, "sha256") == published.hexdigest):
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            req = Path(tmp) / "requirements.txt"
            req.write_text(f"{project}=={a.version} --hash=sha256:{published.hexdigest}\n")
            binary = ["--only-binary", ":all:"] if pypi_file.endswith(".whl") else ["--no-binary", ":all:"]
            reporter.note(f"pip download {project}=={a.version} ({pypi_file})")
            cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", *binary,
                   "--index-url", index, "-d", tmp, "-r", str(req)]
            _run_pip(cmd, f"download {pypi_file}")
            got = Path(tmp) / pypi_file
            if not got.is_file():
                raise DownloadError(f"pip did not download {pypi_file}",
                                    fix="Run the pip command by hand to see why.")
            os.replace(got, downloaded)
    actual = file_digest(downloaded, "sha256")
    if actual != published.hexdigest:
        downloaded.unlink()
        raise ChecksumMismatch(f"{pypi_file}: sha256 mismatch with the index (got {actual})",
                               fix="Run `bigdata-admin artifacts fetch` again.")
    if pypi_file == a.filename:
        record(cache, a, published, extra={"url": f"{index}/{project}/"})
        return published
    # An sdist: record it, then build the wheel the nodes install without building anything.
    sdist = Artifact(a.component, a.version, pypi_file, "sdist", "pypi")
    record(cache, sdist, published, extra={"url": f"{index}/{project}/"})
    wheel = cache / a.filename
    if not wheel.is_file():
        reporter.note(f"building {a.filename} from the verified {pypi_file}")
        with tempfile.TemporaryDirectory(dir=cache) as tmp:
            _run_pip([sys.executable, "-m", "pip", "wheel", "--no-deps", "--index-url", index, "-w", tmp,
                      str(downloaded)], f"build the wheel of {pypi_file}")
            built = list(Path(tmp).glob("*.whl"))
            if len(built) != 1 or built[0].name != a.filename:
                raise DownloadError(f"building {pypi_file} gave {[b.name for b in built]}, not {a.filename}",
                                    fix="Report this: the wheel name of this version differs from the "
                                        "catalog's.")
            os.replace(built[0], wheel)
    local = Checksum("sha256", file_digest(wheel, "sha256"))
    record(cache, a, local, source="built",
           extra={"built_from": pypi_file, "built_from_sha256": published.hexdigest})
    return local


def verify_coordinates(bundle: Path) -> list[str]:
    """The top-level coordinates a bundle was built from (its bundle.json)."""
    return [str(c) for c in read_bundle_json(bundle).get("coordinates", [])]


def fetch_maven(a: Artifact, cache: Path, reporter: Reporter | None = None) -> Checksum:
    """Resolve a component's bundle with `mvn` (strict checksums), check every jar against the
    repository's published SHA-1, write `<component>-<version>-maven.tar.gz`, record its sha256."""
    reporter = reporter or NullReporter()
    cache.mkdir(parents=True, exist_ok=True)
    repository = str(a.extra["repository"])
    coordinates = [Coordinate.parse(c) for c in a.extra["coordinates"]]
    webapps = [Coordinate.parse(c) for c in a.extra.get("webapps_from", [])]
    name = a.extra.get("bundle", a.component)
    reporter.note(f"mvn: resolving {name} {a.version} ({len(coordinates)} artifacts and their "
                  f"dependencies) from {repository}")
    unpublished: list[str] = []
    if a.component == "storm":  # several lib dirs and web assets, as Storm's release lays them out
        builders = {"storm-webapp": build_storm_webapp_bundle,
                    "storm-connectors": build_storm_connectors_bundle}
        build = builders.get(str(a.extra.get("bundle")), build_storm_bundle)
        meta = build(cache / a.filename, a.version, repository, cache / LOCAL_REPO)
        unpublished = storm_local_installs(meta)
        for name in unpublished:
            reporter.note(f"{name}: installed into the local Maven repository by hand (no published SHA-1)")
    elif a.extra.get("bundle") == "spark-hive-client":  # Spark's Hive 3.1 metastore client, without Hadoop
        meta = build_spark_hive_client_bundle(cache / a.filename, a.version, repository, cache / LOCAL_REPO)
    elif a.component == "hive":  # lib without Hadoop, lib-beeline, the metastore schema scripts
        meta = build_hive_bundle(cache / a.filename, a.version, repository, cache / LOCAL_REPO)
    else:
        resolved = resolve(f"bundle-{a.component}-{a.version}", coordinates, cache / LOCAL_REPO, repository)
        meta = build_bundle(cache / a.filename, a.component, a.version, resolved, repository=repository,
                            coordinates=coordinates, webapps_from=webapps)
    digest = Checksum("sha256", file_digest(cache / a.filename, "sha256"))
    record(cache, a, digest, source="maven",
           extra={"url": repository,
                  "jars": sum(1 for k in meta["files"] if k.startswith(("lib/", "lib-"))),
                  "coordinates": [str(c) for c in coordinates]})
    reporter.note(f"{a.filename}: {len(meta['files'])} files, "
                  + (f"{len(unpublished)} installed by hand, the others " if unpublished else "each ")
                  + "matching the repository's SHA-1")
    return digest


def _run_pip(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_pip_env(), check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-6:])
        raise DownloadError(f"pip could not {what}:\n{tail}",
                            fix="Check access to PyPI (or a PyPI mirror) from the control host.")


# --------------------------------------------------------------------------------------------
# Fetch and verify, for an inventory


@dataclass
class Outcome:
    artifact: Artifact
    ok: bool
    action: str
    """fetched, cached (already there), verified, skipped, failed, missing."""
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.artifact.filename, "component": self.artifact.component,
                "version": self.artifact.version, "ok": self.ok, "action": self.action,
                "message": self.message}


def image_instructions(a: Artifact, cache: Path) -> str:
    image = a.extra.get("image")
    return (f"{image} is a container image: on a machine that can reach Docker Hub run "
            f"`podman pull docker.io/{image} && podman save -o {a.filename} docker.io/{image}`, "
            f"copy {a.filename} into {cache}, then run `bigdata-admin artifacts verify`")


CACHE_LOCK = ".lock"
"""The artifact cache's lock file (the relay serves only named files: it is never listed or served)."""


def fetch(cluster: Any, components: Iterable[str] | None = None, *, cache: Path | None = None,
          reporter: Reporter | None = None, timeout: float = TIMEOUT_S) -> list[Outcome]:
    """Fetch what the inventory needs (or the given components) into the cache, each file once.
    Holds the cache's lock (CACHE_LOCK) throughout: a second fetch or verify waits, then finds the
    files the first one fetched."""
    cache = cache or paths.cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    reporter = reporter or NullReporter()
    with locked(cache / CACHE_LOCK):
        return _fetch(cluster, components, cache, reporter, timeout)


def _fetch(cluster: Any, components: Iterable[str] | None, cache: Path, reporter: Reporter,
           timeout: float) -> list[Outcome]:
    outcomes = []
    for st in states(_select(artifacts_for(cluster), components), cache):
        a = st.artifact
        if st.verified:
            outcomes.append(Outcome(a, True, "cached", "already in the cache and verified"))
            continue
        if not a.fetchable:
            if st.cached:
                outcomes.append(_verify_one(a, cache))
            else:
                outcomes.append(Outcome(a, False, "needs-registry", image_instructions(a, cache)))
            continue
        try:
            if a.source == "pypi":
                fetch_pypi(a, cache, reporter, timeout=timeout)
            elif a.kind == "bundle":
                fetch_maven(a, cache, reporter)
            else:
                fetch_http(a, cache, reporter, timeout)
            outcomes.append(Outcome(a, True, "fetched", str(cache / a.filename)))
        except (DownloadError, ChecksumFileError, ChecksumMismatch, MavenError, urllib.error.URLError,
                OSError) as exc:
            message = _error_text(exc)
            if isinstance(exc, MavenError) and exc.fix:
                message += f"\nfix: {exc.fix}"
            if a.required_by is not None:
                message += "\n" + partial_note(a)
            outcomes.append(Outcome(a, False, "failed", message))
    return outcomes


def partial_note(a: Artifact) -> str:
    """What a deploy does without an artifact only some of its groups need (`required_by`)."""
    others = [g for g in a.groups if g not in required_groups(a)]
    text = "unavailable for " + (", ".join(required_groups(a)) or "no group")
    if required_groups(a):
        text += ": `deploy --skip-unavailable` leaves " + ", ".join(required_groups(a)) + " out"
    if others:
        text += f" and deploys {', '.join(others)} without it"
    return text


def _checksum_file_for(a: Artifact, cache: Path) -> Path | None:
    if a.checksum_filename and (cache / a.checksum_filename).is_file():
        return cache / a.checksum_filename
    return None


def _verify_one(a: Artifact, cache: Path) -> Outcome:
    path = cache / a.filename
    if not path.is_file():
        forget(cache, a.filename)
        return Outcome(a, False, "missing", "not in the cache")
    try:
        if a.source == "registry":
            # No published checksum for a saved image: record what the admin put here.
            record(cache, a, Checksum("sha256", file_digest(path, "sha256")), source="local",
                   extra={"image": a.extra.get("image")})
            return Outcome(a, True, "verified", "image archive recorded (no published checksum)")
        entry = load_manifest(cache)["files"].get(a.filename) or {}
        if a.kind == "bundle":
            ok, message = verify_bundle(path, cache / LOCAL_REPO)
            if not ok:
                forget(cache, a.filename)
                return Outcome(a, False, "failed", f"{message}; delete {path} and fetch again")
            record(cache, a, Checksum("sha256", file_digest(path, "sha256")), source="maven",
                   extra={"url": a.extra["repository"], "jars": int(message.split()[0]),
                          "coordinates": verify_coordinates(path)})
            return Outcome(a, True, "verified", message)
        sum_file = _checksum_file_for(a, cache)
        if sum_file is not None:
            expected = parse_checksum_file(sum_file, a.filename, a.algorithm)
            source = "published"
        elif a.source == "pypi" and entry.get("checksum"):
            expected = Checksum(str(entry["algorithm"]), str(entry["checksum"]))
            source = str(entry.get("checksum_source", "published"))
        else:
            return Outcome(a, False, "missing", "its checksum file is not in the cache: fetch it again")
        actual = file_digest(path, expected.algorithm)
        if actual != expected.hexdigest:
            forget(cache, a.filename)
            return Outcome(a, False, "failed",
                           f"{expected.algorithm} mismatch: expected {expected.hexdigest}, got {actual}; "
                           f"delete {path} and fetch again")
        extra = {k: v for k, v in entry.items() if k in ("url", "built_from", "built_from_sha256")}
        record(cache, a, expected, source=source, extra=extra)
        return Outcome(a, True, "verified", f"{expected.algorithm} matches")
    except (ChecksumFileError, OSError) as exc:
        forget(cache, a.filename)
        return Outcome(a, False, "failed", _error_text(exc))


def verify(cluster: Any, components: Iterable[str] | None = None, *,
           cache: Path | None = None) -> list[Outcome]:
    """Re-hash every cached file the inventory needs against its checksum; update the manifest
    (under the cache's lock, as `fetch`)."""
    cache = cache or paths.cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    with locked(cache / CACHE_LOCK):
        return [_verify_one(a, cache) for a in _select(artifacts_for(cluster), components)]


# --------------------------------------------------------------------------------------------
# Serving the cache to the nodes


class _ReadOnlyHandler(http.server.SimpleHTTPRequestHandler):
    """GET/HEAD of files in the cache (Range supported); no directory listing, no uploads."""

    server_version = "bigdata-admin-artifacts"

    def list_directory(self, path: str | os.PathLike[str]) -> None:
        self.send_error(403, "directory listing is disabled")
        return None

    def log_message(self, format: str, *args: Any) -> None:
        if getattr(self.server, "quiet", False):
            return
        super().log_message(format, *args)

    def send_head(self) -> Any:
        path = Path(self.translate_path(self.path))
        if path.name.endswith((".part", ".tmp")):
            self.send_error(404, "not a finished artifact")
            return None
        rng = self.headers.get("Range")
        if not rng or not path.is_file():
            return super().send_head()
        try:
            start_s, _, end_s = rng.removeprefix("bytes=").partition("-")
            size = path.stat().st_size
            start = int(start_s)
            end = min(int(end_s), size - 1) if end_s else size - 1
        except ValueError:
            return super().send_head()
        if start >= size:
            self.send_error(416, "range not satisfiable")
            return None
        f = path.open("rb")
        f.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        return _Limited(f, end - start + 1)


class _Limited:
    def __init__(self, f: Any, remaining: int) -> None:
        self.f, self.remaining = f, remaining

    def read(self, n: int = -1) -> bytes:
        if self.remaining <= 0:
            return b""
        n = self.remaining if n < 0 else min(n, self.remaining)
        data = self.f.read(n)
        self.remaining -= len(data)
        return data

    def close(self) -> None:
        self.f.close()


class ArtifactServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    quiet = False

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}" if isinstance(host, str) else f"http://{host.decode()}:{port}"


def make_server(bind: str = "127.0.0.1", port: int = 8765, cache: Path | None = None,
                quiet: bool = False) -> ArtifactServer:
    """An HTTP server for the cache, read-only. Call `serve_forever()` (or use `serving`)."""
    root = (cache or paths.cache_dir()).resolve()
    if not root.is_dir():
        raise BadInput(f"the artifact cache {root} does not exist",
                       fix="Fetch the artifacts first: `bigdata-admin artifacts fetch -i INVENTORY`.")
    handler = partial(_ReadOnlyHandler, directory=str(root))
    try:
        server = ArtifactServer((bind, port), handler)
    except OSError as exc:
        raise BadInput(f"cannot listen on {bind}:{port}: {exc.strerror}",
                       fix="Pick another --port or --bind address (one this host has).") from exc
    server.quiet = quiet
    return server


@contextlib.contextmanager
def serving(bind: str = "127.0.0.1", port: int = 0, cache: Path | None = None) -> Iterator[ArtifactServer]:
    """Serve the cache in a background thread for the duration of the block."""
    server = make_server(bind, port, cache, quiet=True)
    thread = threading.Thread(target=server.serve_forever, name="artifact-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def clean_partials(cache: Path | None = None) -> list[Path]:
    cache = cache or paths.cache_dir()
    removed = []
    for p in cache.glob("*.part"):
        p.unlink()
        removed.append(p)
    for d in cache.glob("tmp*"):
        if d.is_dir():
            shutil.rmtree(d, ignore_errors=True)
    return removed


# --------------------------------------------------------------------------------------------
# What a deploy needs


@dataclass
class Skipped:
    tag: str
    """The play tag (a role name: zookeeper, hdfs, storm, ...) of the groups left out."""
    files: list[str]
    reason: str
    fetch_command: str
    groups: list[str] = field(default_factory=list)
    """The inventory groups (with hosts) left out: all the role's when `whole`."""
    whole: bool = True
    """True: the role's play is skipped. False: it runs for its other groups (artifacts whose
    `required_by` names only some of the role's groups, e.g. storm_ui without Storm's web bundle)."""

    def as_dict(self) -> dict[str, Any]:
        return {"service": self.tag, "groups": self.groups, "whole": self.whole, "files": self.files,
                "reason": self.reason, "fetch": self.fetch_command}


@dataclass
class DeployArtifacts:
    needed: list[Artifact]
    missing: list[Artifact]
    skipped: list[Skipped]
    """What `--skip-unavailable` would skip: one entry per play tag."""
    fetch_command: str

    @property
    def skipped_tags(self) -> dict[str, str]:
        """Play tags skipped whole -> the reason with the fetch command (for deployment.absent_groups)."""
        return {s.tag: f"{s.reason}; fetch with `{s.fetch_command}`" for s in self.skipped if s.whole}

    @property
    def skipped_groups(self) -> dict[str, str]:
        """Groups left out of roles that still run -> the reason with the fetch command."""
        return {g: f"{s.reason}; fetch with `{s.fetch_command}`"
                for s in self.skipped if not s.whole for g in s.groups}


def artifact_tags(a: Artifact) -> set[str]:
    """The play tags (role names) that put this artifact on nodes."""
    from bigdata_admin.services import BY_GROUP

    if a.component == "java":
        return {"java"}
    return {BY_GROUP[g].role for g in a.groups if g in BY_GROUP}


def _dependent_tags(a: Artifact) -> set[str]:
    """Tags that cannot run without this artifact (a JDK: the services running on it)."""
    from bigdata_admin.services import BY_GROUP

    return {BY_GROUP[g].role for g in a.groups if g in BY_GROUP}


def required_groups(a: Artifact) -> tuple[str, ...]:
    """The groups that cannot run without this artifact (`required_by`, else all of `groups`)."""
    return a.groups if a.required_by is None else a.required_by


def deploy_artifacts(cluster: Any, tags: list[str] | None = None, skip_tags: list[str] | None = None,
                     cache: Path | None = None) -> DeployArtifacts:
    """The artifacts a deploy with these tags needs, which are missing, and what to skip instead.

    A missing artifact skips the roles of its groups whole, unless it names `required_by`: then
    only those groups are left out, and a role is skipped whole only when that leaves it no group
    with hosts (Storm's web bundle missing: storm_ui out, Nimbus and the supervisors deployed)."""
    from bigdata_admin.services import BY_GROUP, SERVICES

    wanted, unwanted = set(tags or []), set(skip_tags or [])

    def runs(tag_set: set[str]) -> bool:
        if tag_set & unwanted:
            return False
        return not wanted or bool(tag_set & wanted) or "all" in wanted

    needed = [a for a in artifacts_for(cluster) if runs(artifact_tags(a)) and a.deployed]
    missing_ = [s.artifact for s in states(needed, cache) if not s.verified]
    role_groups: dict[str, list[str]] = {}
    for svc in SERVICES:
        if cluster.has(svc.group):
            role_groups.setdefault(svc.role, []).append(svc.group)
    whole: dict[str, list[Artifact]] = {}
    partial: dict[str, tuple[set[str], list[Artifact]]] = {}
    for a in missing_:
        if a.required_by is None:
            for tag in sorted(_dependent_tags(a)):
                whole.setdefault(tag, []).append(a)
            continue
        for g in required_groups(a):
            if g in BY_GROUP and cluster.has(g):
                groups, arts = partial.setdefault(BY_GROUP[g].role, (set(), []))
                groups.add(g)
                if a not in arts:
                    arts.append(a)
    for tag, (groups, arts) in partial.items():
        if tag in whole or groups >= set(role_groups.get(tag, [])):
            whole.setdefault(tag, []).extend(x for x in arts if x not in whole.get(tag, []))
    skipped = []
    for tag, arts in whole.items():
        skipped.append(Skipped(tag, [a.filename for a in arts], _missing_reason(arts),
                               fetch_command(cluster, arts), list(role_groups.get(tag, [])), True))
    for tag, (groups, arts) in partial.items():
        if tag in whole:
            continue
        ordered = [g for g in role_groups.get(tag, []) if g in groups]
        skipped.append(Skipped(tag, [a.filename for a in arts], _missing_reason(arts),
                               fetch_command(cluster, arts), ordered, False))
    return DeployArtifacts(needed, missing_, skipped, fetch_command(cluster))


def _missing_reason(arts: list[Artifact]) -> str:
    reason = "missing " + ", ".join(a.filename for a in arts)
    if any(not a.fetchable for a in arts):
        reason += " (container images: saved with podman, see `bigdata-admin artifacts fetch`)"
    return reason


def java_overrides(cluster: Any, skipped: list[Skipped]) -> dict[str, Any]:
    """Extra vars keeping the java role from installing a JDK only skipped services need.

    The java role works out the majors a host needs from `java_group_components` (group ->
    component); dropping the groups of skipped services leaves their JDK out.
    """
    import yaml

    from bigdata_admin.services import SERVICES

    skipped_tags = {s.tag for s in skipped if s.whole}
    if not skipped:
        return {}
    defaults = paths.roles_dir() / "java" / "defaults" / "main.yml"
    try:
        mapping = (yaml.safe_load(defaults.read_text()) or {}).get("java_group_components")
    except (OSError, yaml.YAMLError):
        return {}
    mapping = cluster.var("java_group_components") or mapping
    if not isinstance(mapping, dict):
        return {}
    drop = {s.group for s in SERVICES if s.role in skipped_tags}
    drop |= {g for s in skipped if not s.whole for g in s.groups}
    kept = {g: c for g, c in mapping.items() if g not in drop}
    return {"java_group_components": kept} if len(kept) != len(mapping) else {}
