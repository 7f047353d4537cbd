"""Parse the checksum files Apache (and others) publish, and verify files against them.

Layouts understood, all with upper or lower case hex:

* GNU coreutils: ``<hex>  <file>`` or ``<hex> *<file>`` (one or more lines);
* BSD / ``--tag`` / openssl: ``SHA512 (<file>) = <hex>`` or ``SHA2-512(<file>)= <hex>``;
* ``gpg --print-md SHA512 <file>``: ``<file>: 1234ABCD 5678EF01 ...`` with the hex in groups, wrapped
  over several indented lines (HBase, Kafka, older Hadoop releases);
* a bare hash, alone in the file (Maven Central ``.sha1``, some ``.sha256``/``.sha512``).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bigdata_admin.errors import RunFailed

# hex length -> algorithm, and the names the layouts use for each algorithm.
HEX_LENGTHS = {32: "md5", 40: "sha1", 56: "sha224", 64: "sha256", 96: "sha384", 128: "sha512"}
ALGORITHMS = tuple(HEX_LENGTHS.values())
_ALIASES = {
    "md5": "md5", "sha1": "sha1", "sha-1": "sha1", "sha224": "sha224", "sha-224": "sha224",
    "sha256": "sha256", "sha-256": "sha256", "sha2-256": "sha256", "sha384": "sha384", "sha-384": "sha384",
    "sha2-384": "sha384", "sha512": "sha512", "sha-512": "sha512", "sha2-512": "sha512",
}
CHUNK = 1 << 20

_HEX = re.compile(r"^[0-9a-fA-F]+$")
_BSD = re.compile(r"^\s*([A-Za-z0-9-]+)\s*\((.+)\)\s*=\s*([0-9a-fA-F]+)\s*$")
_GNU = re.compile(r"^\s*([0-9a-fA-F]{32,128})\s+\*?(.+?)\s*$")
_GPG_START = re.compile(r"^(\S[^:]*?):\s*(.*)$")
_GPG_GROUPS = re.compile(r"^[0-9a-fA-F\s]+$")


class ChecksumFileError(RunFailed):
    """The checksum file cannot be read as any known layout, or does not name the file."""


class ChecksumMismatch(RunFailed):
    """The file's digest differs from the published one."""


@dataclass(frozen=True)
class Checksum:
    algorithm: str
    hexdigest: str
    """Lower case."""

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hexdigest}"


def normalize_algorithm(name: str) -> str:
    algo = _ALIASES.get(name.strip().lower())
    if not algo:
        raise ValueError(f"unknown checksum algorithm {name!r}; known: {', '.join(ALGORITHMS)}")
    return algo


def algorithm_for_suffix(checksum_url_or_name: str) -> str | None:
    """`.sha512` -> sha512, `.sha256.txt` -> sha256, `.sha1` -> sha1, `.md5` -> md5."""
    name = checksum_url_or_name.rsplit("/", 1)[-1].lower()
    for suffix, algo in ((".sha512", "sha512"), (".sha384", "sha384"), (".sha256", "sha256"),
                         (".sha1", "sha1"), (".md5", "md5")):
        if name.endswith(suffix) or name.endswith(suffix + ".txt"):
            return algo
    return None


def _basename(name: str) -> str:
    return name.strip().replace("\\", "/").rsplit("/", 1)[-1]


def _check_length(hexdigest: str, algorithm: str | None, source: str) -> str:
    found = HEX_LENGTHS.get(len(hexdigest))
    if found is None:
        raise ChecksumFileError(
            f"{source}: a hash of {len(hexdigest)} hex digits matches no known algorithm",
            fix="The checksum file is truncated or corrupt: delete it and fetch again.")
    if algorithm and found != algorithm:
        raise ChecksumFileError(
            f"{source}: expected a {algorithm} hash ({_length_of(algorithm)} hex digits), "
            f"found {len(hexdigest)} digits ({found})",
            fix="The checksum file is corrupt or of another algorithm: delete it and fetch again.")
    return found


def _length_of(algorithm: str) -> int:
    return next(n for n, a in HEX_LENGTHS.items() if a == algorithm)


def _entries(text: str, source: str) -> list[tuple[str | None, str | None, str]]:
    """(file name or None, algorithm named in the file or None, hex) for every entry."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    content = [line for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not content:
        raise ChecksumFileError(f"{source} is empty", fix="Delete it and fetch again.")

    # A bare hash, possibly wrapped or split in groups.
    joined = "".join("".join(content).split())
    if _HEX.match(joined):
        return [(None, None, joined)]

    out: list[tuple[str | None, str | None, str]] = []
    i = 0
    while i < len(content):
        line = content[i]
        m = _BSD.match(line)
        if m:
            try:
                algo = normalize_algorithm(m.group(1))
            except ValueError:
                algo = None
            out.append((m.group(2).strip(), algo, m.group(3)))
            i += 1
            continue
        m = _GNU.match(line)
        if m and not line.rstrip().endswith(":"):
            out.append((m.group(2).lstrip("*"), None, m.group(1)))
            i += 1
            continue
        m = _GPG_START.match(line)
        if m and (not m.group(2) or _GPG_GROUPS.match(m.group(2))):
            # gpg --print-md: "name: HEX HEX ..." then indented continuation lines of hex groups.
            name, first = m.group(1), m.group(2)
            parts = [first]
            i += 1
            while i < len(content) and _GPG_GROUPS.match(content[i]):
                parts.append(content[i])
                i += 1
            hexdigest = "".join("".join(parts).split())
            if not hexdigest:
                raise ChecksumFileError(f"{source}: entry for {name} has no hash",
                                        fix="The checksum file is truncated: delete it and fetch again.")
            out.append((name.strip(), None, hexdigest))
            continue
        raise ChecksumFileError(
            f"{source}: line {lines.index(line) + 1} is not a checksum in any known layout: "
            f"{line.strip()[:80]!r}",
            fix="The checksum file is corrupt (or an HTML error page was saved): delete it and fetch again.")
    return out


def parse_checksum(text: str, filename: str, algorithm: str | None = None, *,
                   source: str = "checksum file") -> Checksum:
    """The checksum of `filename` in a checksum file's `text`.

    `algorithm` is what the file should hold (from its suffix); when None it is inferred from the
    hash length or the BSD tag. Raises ChecksumFileError when the text is corrupt, holds another
    algorithm, or lists only other files.
    """
    want = normalize_algorithm(algorithm) if algorithm else None
    entries = _entries(text, source)
    target = _basename(filename)
    named = [e for e in entries if e[0] is not None]
    if named:
        matches = [e for e in named if _basename(e[0] or "") == target]
        if not matches:
            listed = ", ".join(sorted({_basename(e[0] or "") for e in named}))
            raise ChecksumFileError(
                f"{source} lists {listed}, not {target}",
                fix="The checksum file belongs to another release: delete it and fetch again.")
        entry = matches[0]
    elif len(entries) == 1:
        entry = entries[0]
    else:
        raise ChecksumFileError(f"{source} holds several hashes without file names",
                                fix="Delete it and fetch again.")
    _, tagged, hexdigest = entry
    if tagged and want and tagged != want:
        raise ChecksumFileError(f"{source}: expected a {want} hash, the file says {tagged}",
                                fix="Delete it and fetch again.")
    algo = _check_length(hexdigest, want or tagged, source)
    return Checksum(algo, hexdigest.lower())


def parse_checksum_file(path: Path, filename: str, algorithm: str | None = None) -> Checksum:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ChecksumFileError(f"cannot read {path}: {exc.strerror}",
                                fix="Fetch the artifact again.") from exc
    return parse_checksum(text, filename, algorithm or algorithm_for_suffix(path.name), source=str(path))


def file_digest(path: Path, algorithm: str, progress: Callable[[int], None] | None = None) -> str:
    """Hex digest of a file, read in chunks (big tarballs never sit in memory)."""
    h = hashlib.new(normalize_algorithm(algorithm))
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            if progress:
                progress(len(chunk))
    return h.hexdigest()


def verify_file(path: Path, expected: Checksum, progress: Callable[[int], None] | None = None) -> None:
    """Raise ChecksumMismatch when `path` does not have the `expected` digest."""
    actual = file_digest(path, expected.algorithm, progress)
    if actual != expected.hexdigest.lower():
        raise ChecksumMismatch(
            f"{path.name}: {expected.algorithm} mismatch: expected {expected.hexdigest}, got {actual}",
            fix=f"The file is corrupt or incomplete: delete {path} and run "
                "`bigdata-admin artifacts fetch` again.")
