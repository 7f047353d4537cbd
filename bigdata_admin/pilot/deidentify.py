"""De-identify a pilot day before it is loaded, and assess whether the result is adequate.

The steps follow Korea's guideline on de-identifying personal data (prior review, de-identification,
adequacy assessment, follow-up management):

- Every car number, in every data set of the day (status log, driving log, car master, purchases,
  income), becomes the same keyed pseudonym: the first 12 hex digits of HMAC-SHA256(key, car number).
  Joins between data sets survive; without the key the mapping cannot be recomputed. The key (32
  random bytes, hex) lives in the cluster's secrets directory, mode 0600, and is never printed nor
  written anywhere else: the record names it by a key id (a hash of it).
- The personal fields of the master and income data are transformed as the policy says (YAML, see
  DEFAULT_POLICY): bands (age, as the lower edge of its band, so `cast(age as double) >= 18` still
  selects the adults the marts keep), groups (region to a coarser level), rounding (income), suppression
  of a field (`*`) or of whole rows (drivers under 18 by default, whom the marts never use).
- Adequacy: k-anonymity over the quasi-identifiers and (distinct) l-diversity of each data set's
  sensitive attribute, computed with pyCANON; data sets under the thresholds are marked failed and the
  offending groups are listed by their generalised values with counts only (no sensitive values).
- Follow-up: `deidentification.json` (policy, key id, thresholds, results) is written next to the
  de-identified copies, and every run is appended to `deidentification-history.jsonl`.

Output: `<day dir>/deidentified/`, the same file names as the originals, valid records only (header and
malformed lines are counted and dropped, so no stray car number can pass through).
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import os
import re
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bigdata_admin.errors import BadInput
from bigdata_admin.pilot import generate, records

OUT_DIR = "deidentified"
RECORD = "deidentification.json"
HISTORY = "deidentification-history.jsonl"
REPORT_HTML = "deidentification.html"
REPORT_JSON = "deidentification.json"
KEY_NAME = "pilot_pseudonym_key"
PSEUDONYM_HEX = 12
PSEUDONYM = re.compile(rf"^[0-9a-f]{{{PSEUDONYM_HEX}}}$")

PERSON_FIELDS = records.MASTER_FIELDS
INCOME_FIELDS = (*records.MASTER_FIELDS, "income")
NUMERIC_FIELDS = frozenset(("age", "car_capacity", "car_year", "income"))
TECHNIQUES = ("keep", "pseudonym", "band", "group", "round", "suppress")
ASSESSED = ("master", "income")
"""Data sets that hold personal attributes (the others hold only the car number)."""
ADULT_AGE = 18
"""The marts keep drivers with `cast(age as double) >= 18`: an age band must start there."""

DEFAULT_POLICY = """\
# De-identification policy of the smart-car pilot (bigdata-admin pilot deidentify).
# Fields: car_number sex age marriage region job car_capacity car_year car_model income.
# Techniques: keep | pseudonym (car_number only, keyed HMAC-SHA256) | band (edges) | group (groups)
#             | round (to) | suppress (the value becomes *).
fields:
  car_number: pseudonym
  sex: keep
  age:                       # written as the lower edge of its band: 18, 30, 40, 50 or 60
    technique: band
    edges: [18, 30, 40, 50, 60]
  marriage: keep
  region:                    # 17 provinces -> 4 regions
    technique: group
    groups:
      수도권: [서울, 인천, 경기]
      충청강원: [대전, 세종, 충북, 충남, 강원]
      호남제주: [광주, 전북, 전남, 제주]
      영남: [부산, 대구, 울산, 경북, 경남]
  job: keep
  car_capacity: keep
  car_year: keep
  car_model: keep
  income:                    # nearest multiple of 500
    technique: round
    to: 500
# Whole rows removed before the assessment: drivers under 18 (the marts never use them).
drop_rows:
  - field: age
    below: 18
assessment:
  quasi_identifiers: [sex, age, marriage, region]
  sensitive:                 # per data set: the attribute whose diversity is checked
    master: job
    income: income
  k: 5                       # every combination of quasi-identifiers is shared by >= k records
  l: 3                       # and shows >= l distinct sensitive values
"""


# --------------------------------------------------------------------------------------------------
# Policy

@dataclass(frozen=True)
class FieldRule:
    technique: str
    edges: tuple[float, ...] = ()
    groups: dict[str, str] = field(default_factory=dict)
    """value -> group name (for `group`)."""
    to: float = 0


@dataclass(frozen=True)
class DropRule:
    field: str
    below: float


@dataclass(frozen=True)
class Policy:
    fields: dict[str, FieldRule]
    drop_rows: tuple[DropRule, ...]
    quasi_identifiers: tuple[str, ...]
    sensitive: dict[str, str]
    k: int
    l: int  # noqa: E741 - the model's name
    source: str
    text: str

    def as_dict(self) -> dict[str, Any]:
        """The policy as plain data (for the record), with the source and a hash of its text."""
        loaded = yaml.safe_load(self.text)
        return {"source": self.source, "sha256": hashlib.sha256(self.text.encode()).hexdigest(),
                "policy": loaded}


class _PolicyError(BadInput):
    pass


def _err(source: str, node: yaml.Node | None, message: str, fix: str) -> _PolicyError:
    line = f":{node.start_mark.line + 1}" if node is not None else ""
    return _PolicyError(f"policy {source}{line}: {message}", fix=fix)


def _scalar(node: yaml.Node, source: str, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise _err(source, node, f"{what} must be a single value", "Write it as `name: value`.")
    return str(node.value)


def _number(node: yaml.Node, source: str, what: str) -> float:
    text = _scalar(node, source, what)
    try:
        return float(text)
    except ValueError:
        raise _err(source, node, f"{what} {text!r} is not a number", "Write a number, e.g. 500.") from None


def _mapping(node: yaml.Node, source: str, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise _err(source, node, f"{what} must be a mapping (`key: value` lines)",
                   "See the documented default: `bigdata-admin pilot deidentify --show-policy`.")
    out = []
    for k, v in node.value:
        out.append((_scalar(k, source, "a key"), k, v))
    return out


def _sequence(node: yaml.Node, source: str, what: str) -> list[yaml.Node]:
    if not isinstance(node, yaml.SequenceNode):
        raise _err(source, node, f"{what} must be a list", "Write it as [a, b, c].")
    return list(node.value)


def _field_rule(name: str, key: yaml.Node, node: yaml.Node, source: str) -> FieldRule:
    if isinstance(node, yaml.ScalarNode):
        technique, options = str(node.value), []
    else:
        options = _mapping(node, source, f"field {name}")
        tech = [v for k, _, v in options if k == "technique"]
        if not tech:
            raise _err(source, node, f"field {name} has no technique",
                       f"Add `technique:` ({', '.join(TECHNIQUES)}).")
        technique = _scalar(tech[0], source, "technique")
        node = tech[0]
    if technique not in TECHNIQUES:
        raise _err(source, node, f"unknown technique {technique!r} for field {name}",
                   f"Use one of {', '.join(TECHNIQUES)}.")
    if (name == "car_number") != (technique == "pseudonym"):
        raise _err(source, node, f"field {name}: technique {technique} is not allowed",
                   "car_number must be `pseudonym`; pseudonym applies to car_number only.")
    if technique in ("band", "round") and name not in NUMERIC_FIELDS:
        raise _err(source, node, f"field {name} is not numeric: {technique} does not apply",
                   f"Use band/round on {', '.join(sorted(NUMERIC_FIELDS))}; group or suppress here.")
    if name == "age" and technique not in ("keep", "band"):
        raise _err(source, node, f"field age: {technique} would drop every driver from the marts "
                   f"(they keep cast(age as double) >= {ADULT_AGE})",
                   f"Use `keep` or `band` with {ADULT_AGE} among the edges.")
    allowed = {"technique", *{"band": ("edges",), "group": ("groups",), "round": ("to",)}.get(technique, ())}
    rule = FieldRule(technique)
    for opt, opt_key, value in options:
        if opt not in allowed:
            raise _err(source, opt_key, f"field {name}: option {opt!r} does not belong to {technique}",
                       f"Options of {technique}: {', '.join(sorted(allowed - {'technique'})) or 'none'}.")
        if opt == "edges":
            edges = tuple(_number(e, source, "an edge") for e in _sequence(value, source, "edges"))
            if not edges or list(edges) != sorted(set(edges)):
                raise _err(source, value, f"field {name}: edges must be increasing and not empty",
                           "Write e.g. edges: [18, 30, 40, 50, 60].")
            if name == "age" and ADULT_AGE not in edges:
                raise _err(source, value, f"field age: the edges lack {ADULT_AGE}, so the marts' adult "
                           f"filter (age >= {ADULT_AGE}) would change", f"Add {ADULT_AGE} to the edges.")
            rule = FieldRule(technique, edges=edges)
        elif opt == "groups":
            mapping: dict[str, str] = {}
            for group, _, members in _mapping(value, source, "groups"):
                for m in _sequence(members, source, f"group {group}"):
                    member = _scalar(m, source, "a group member")
                    if member in mapping:
                        raise _err(source, m, f"field {name}: {member!r} is in two groups",
                                   "Put each value in one group.")
                    mapping[member] = group
            rule = FieldRule(technique, groups=mapping)
        elif opt == "to":
            to = _number(value, source, "to")
            if to <= 0:
                raise _err(source, value, "round: `to` must be positive", "Write e.g. to: 500.")
            rule = FieldRule(technique, to=to)
    if technique in ("band", "group", "round") and not (rule.edges or rule.groups or rule.to):
        need = {"band": "edges", "group": "groups", "round": "to"}[technique]
        raise _err(source, key, f"field {name}: {technique} needs `{need}`", f"Add `{need}:`.")
    return rule


def parse_policy(text: str, source: str = "<default>") -> Policy:
    """Parse and check a policy. Raises BadInput naming `source:line` and the fix."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark is not None else ""
        raise BadInput(f"policy {source}{where}: not valid YAML ({getattr(exc, 'problem', exc)})",
                       fix="Fix the YAML syntax (indentation, colons, brackets).") from None
    if root is None:
        raise BadInput(f"policy {source} is empty", fix="Start from the default: --show-policy.")
    fields: dict[str, FieldRule] = {}
    drops: list[DropRule] = []
    qis: tuple[str, ...] = ()
    sensitive: dict[str, str] = {}
    k, l_ = 5, 3
    for section, key, value in _mapping(root, source, "the policy"):
        if section == "fields":
            for name, fkey, fnode in _mapping(value, source, "fields"):
                if name not in INCOME_FIELDS:
                    raise _err(source, fkey, f"unknown field {name!r}",
                               f"Fields are {', '.join(INCOME_FIELDS)}.")
                fields[name] = _field_rule(name, fkey, fnode, source)
        elif section == "drop_rows":
            for item in _sequence(value, source, "drop_rows"):
                opts = {n: (kk, v) for n, kk, v in _mapping(item, source, "a drop_rows entry")}
                extra = set(opts) - {"field", "below"}
                if extra or set(opts) != {"field", "below"}:
                    bad = opts[sorted(extra)[0]][0] if extra else item
                    raise _err(source, bad, "a drop_rows entry takes `field` and `below`",
                               "Write e.g. - {field: age, below: 18}.")
                fname = _scalar(opts["field"][1], source, "field")
                if fname not in NUMERIC_FIELDS:
                    raise _err(source, opts["field"][1], f"drop_rows: {fname!r} is not a numeric field",
                               f"Use one of {', '.join(sorted(NUMERIC_FIELDS))}.")
                drops.append(DropRule(fname, _number(opts["below"][1], source, "below")))
        elif section == "assessment":
            for name, akey, anode in _mapping(value, source, "assessment"):
                if name == "quasi_identifiers":
                    qis = tuple(_scalar(n, source, "a quasi-identifier")
                                for n in _sequence(anode, source, "quasi_identifiers"))
                    for n, q in zip(_sequence(anode, source, "quasi_identifiers"), qis, strict=True):
                        if q not in PERSON_FIELDS or q == "car_number":
                            raise _err(source, n, f"quasi-identifier {q!r} is not a master field",
                                       f"Choose among {', '.join(PERSON_FIELDS[1:])}.")
                elif name == "sensitive":
                    for ds, dkey, dnode in _mapping(anode, source, "sensitive"):
                        if ds not in ASSESSED:
                            raise _err(source, dkey, f"unknown data set {ds!r}",
                                       f"Data sets with personal fields: {', '.join(ASSESSED)}.")
                        attr = _scalar(dnode, source, "a sensitive attribute")
                        cols = INCOME_FIELDS if ds == "income" else PERSON_FIELDS
                        if attr not in cols or attr == "car_number":
                            raise _err(source, dnode, f"unknown field {attr!r} for {ds}",
                                       f"Choose among {', '.join(cols[1:])}.")
                        sensitive[ds] = attr
                elif name in ("k", "l"):
                    number = _number(anode, source, name)
                    if number < 1 or number != int(number):
                        raise _err(source, anode, f"{name} must be a whole number >= 1",
                                   f"Write e.g. {name}: 5.")
                    if name == "k":
                        k = int(number)
                    else:
                        l_ = int(number)
                else:
                    raise _err(source, akey, f"unknown assessment setting {name!r}",
                               "Settings: quasi_identifiers, sensitive, k, l.")
        else:
            raise _err(source, key, f"unknown section {section!r}",
                       "Sections: fields, drop_rows, assessment.")
    for name in INCOME_FIELDS:
        fields.setdefault(name, FieldRule("pseudonym" if name == "car_number" else "keep"))
    overlap = set(qis) & set(sensitive.values())
    if overlap:
        raise BadInput(f"policy {source}: {', '.join(sorted(overlap))} is both a quasi-identifier and "
                       "sensitive", fix="Make each attribute one or the other.")
    return Policy(fields, tuple(drops), qis, sensitive, k, l_, source, text)


def load_policy(path: Path | None) -> Policy:
    """The policy in `path`, or the documented default when None."""
    if path is None:
        return parse_policy(DEFAULT_POLICY)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BadInput(f"cannot read policy {path}: {exc}", fix="Pass a readable UTF-8 YAML file.") from None
    return parse_policy(text, str(path))


# --------------------------------------------------------------------------------------------------
# Key and pseudonyms

def key_path(secrets_dir: Path) -> Path:
    """Where a cluster's pseudonym key lives (inside its secrets directory)."""
    return Path(secrets_dir) / KEY_NAME


def ensure_key(path: Path) -> bytes:
    """Read the key at `path`, creating it (32 random bytes, hex, mode 0600) when missing.

    Raises BadInput when the file is readable by others or is not at least 32 hex bytes.
    The key's value never appears in any message.
    """
    path = Path(path)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32) + "\n")
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise BadInput(f"the pseudonym key {path} has mode {mode:04o}: others can read it",
                       fix=f"chmod 600 {path}")
    text = path.read_text(encoding="ascii", errors="replace").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 32:
        raise BadInput(f"the pseudonym key {path} is not 32 or more bytes written in hex",
                       fix=f"Remove {path} to have a new key made (pseudonyms will change).")
    return key


def key_id(key: bytes) -> str:
    """A name for the key that reveals nothing of it: 16 hex digits of a SHA-256 hash."""
    return hashlib.sha256(b"bigdata-admin pilot key id\0" + key).hexdigest()[:16]


class Pseudonyms(dict[bytes, bytes]):
    """car number (bytes) -> pseudonym (bytes), computed on first use; refuses a collision."""

    def __init__(self, key: bytes) -> None:
        super().__init__()
        self._key = key
        self._seen: dict[bytes, bytes] = {}

    def __missing__(self, car: bytes) -> bytes:
        value = hmac.new(self._key, car, hashlib.sha256).hexdigest()[:PSEUDONYM_HEX].encode()
        other = self._seen.setdefault(value, car)
        if other != car:  # 48 bits: about 1e-8 for the 2,600 cars, but never silently
            raise BadInput("two car numbers got the same pseudonym under this key",
                           fix="Remove the key file to have a new key made, then de-identify again.")
        self[car] = value
        return value

    def of(self, car: str) -> str:
        return self[car.encode()].decode()


# --------------------------------------------------------------------------------------------------
# Transforming the data sets

_LOG_LINE = {
    "status": re.compile(rb"^(\d{14},)([A-Z]\d{4})(,(?:100|[1-9]?\d),(?:100|[1-9]?\d),(?:100|[1-9]?\d),"
                         rb"(?:100|[1-9]?\d),[12],[12],[12],[12],[ABC],[ABC],(?:100|[1-9]?\d))\r?$", re.M),
    "drive": re.compile(rb"^(\d{14},)([A-Z]\d{4})(,[0-5],[0-3],(?:F|[LR][1-3]),[NLR],"
                        rb"(?:25[0]|2[0-4]\d|1\d\d|[1-9]?\d),[A-F](?:0[1-9]|10))\r?$", re.M),
}
_HEADERS = tuple(h.encode() for h in records.HEADER_PREFIXES)
CHUNK = 8 << 20


@dataclass
class DatasetResult:
    """What happened to one data set. k/l are None for data sets without personal attributes."""

    dataset: str
    source: str
    output: str
    records_in: int = 0
    records_out: int = 0
    headers: int = 0
    malformed: int = 0
    dropped_rows: int = 0
    cars: int = 0
    seconds: float = 0.0
    k: int | None = None
    l: int | None = None  # noqa: E741
    passed: bool = True
    offending_groups: list[dict[str, Any]] = field(default_factory=list)


def _line_chunks(path: Path) -> Iterator[bytes]:
    """The file in chunks of whole lines (about CHUNK bytes each)."""
    with Path(path).open("rb") as f:
        rest = b""
        while True:
            block = f.read(CHUNK)
            if not block:
                break
            block = rest + block
            cut = block.rfind(b"\n") + 1
            if cut == 0:
                rest = block
                continue
            rest = block[cut:]
            yield block[:cut]
        if rest:
            yield rest + b"\n"


def _write_atomic(path: Path, chunks: Iterator[bytes]) -> None:
    tmp = path.with_name(path.name + ".part")
    with tmp.open("wb") as out:
        for chunk in chunks:
            out.write(chunk)
    tmp.replace(path)


def transform_log(src: Path, dst: Path, kind: str, names: Pseudonyms, result: DatasetResult) -> None:
    """Status or driving log: valid records only, car number replaced; headers/malformed counted."""
    pattern = _LOG_LINE[kind]
    cars: set[bytes] = set()

    def chunks() -> Iterator[bytes]:
        for chunk in _line_chunks(src):
            lines = chunk.count(b"\n")
            found = pattern.findall(chunk)
            headers = sum(chunk.count(b"\n" + h) for h in _HEADERS) + chunk.startswith(_HEADERS)
            result.records_in += len(found)
            result.headers += headers
            result.malformed += lines - len(found) - headers
            cars.update(c for _, c, _ in found)
            yield b"".join([p + names[c] + r + b"\n" for p, c, r in found])

    _write_atomic(dst, chunks())
    result.records_out = result.records_in
    result.cars = len(cars)


def transform_buy(src: Path, dst: Path, names: Pseudonyms, result: DatasetResult) -> None:
    report = records.ParseReport(str(src))
    cars: set[str] = set()

    def chunks() -> Iterator[bytes]:
        for batch in records.batched(records.read_buy_list(src, report), 50_000):
            cars.update(r[0] for r in batch)
            yield "".join(f"{names.of(r[0])},{r[1]},{r[2]},{r[3]}\n" for r in batch).encode()

    _write_atomic(dst, chunks())
    result.records_in = result.records_out = report.records
    result.headers, result.malformed, result.cars = report.headers, report.malformed, len(cars)


def _band(value: float, edges: tuple[float, ...]) -> str:
    low = 0.0
    for edge in edges:
        if value >= edge:
            low = edge
    return f"{low:g}"


def transform_value(name: str, value: str, rule: FieldRule) -> str:
    """One field value under its rule (pseudonyms are applied elsewhere)."""
    t = rule.technique
    if t == "keep":
        return value
    if t == "suppress":
        return "*"
    if t == "group":
        if value not in rule.groups:
            raise BadInput(f"{name} value {value!r} is in no group of the policy",
                           fix=f"Add it to one of the groups of {name}.")
        return rule.groups[value]
    number = float(value)
    if t == "band":
        return _band(number, rule.edges)
    # round: nearest multiple, halves up; written without a fraction when whole
    return f"{int(number / rule.to + 0.5) * rule.to:g}"


def transform_people(src: Path, dst: Path, dataset: str, policy: Policy, names: Pseudonyms,
                     result: DatasetResult) -> list[list[str]]:
    """Master or income data: pseudonym, field rules, row drops. Returns the output rows."""
    columns = INCOME_FIELDS if dataset == "income" else PERSON_FIELDS
    report = records.ParseReport(str(src))
    header: list[str] = []
    if dataset == "income":
        with Path(src).open(encoding="utf-8", errors="replace") as f:
            first = f.readline().rstrip("\r\n")
        if first.startswith("carNum"):
            header = [first]
        rows = records.read_delimited(src, "|", len(columns), report, header_startswith=("carNum",))
    else:
        rows = records.read_master(src, report)
    out: list[list[str]] = []
    cars: set[str] = set()
    for row in rows:
        try:
            if any(float(row[columns.index(d.field)]) < d.below for d in policy.drop_rows):
                result.dropped_rows += 1
                continue
            new = [names.of(row[0]) if c == "car_number" else transform_value(c, v, policy.fields[c])
                   for c, v in zip(columns, row, strict=True)]
        except ValueError:
            report.malformed += 1  # a numeric field that is not a number
            continue
        cars.add(row[0])
        out.append(new)
    _write_atomic(dst, iter([("".join(h + "\n" for h in header)
                              + "".join("|".join(r) + "\n" for r in out)).encode("utf-8")]))
    result.records_in = report.records
    result.records_out = len(out)
    result.headers, result.malformed, result.cars = report.headers, report.malformed, len(cars)
    return out


# --------------------------------------------------------------------------------------------------
# Adequacy

def assess(rows: list[list[str]], columns: tuple[str, ...], qis: tuple[str, ...], sensitive: str | None,
           k: int, l_: int) -> tuple[int | None, int | None, list[dict[str, Any]]]:
    """k and l of `rows` (pyCANON) and the groups under either threshold.

    Returns (k, l, offending) where offending lists each failing equivalence class as its generalised
    quasi-identifier values, its record count and its count of distinct sensitive values: no
    sensitive value and no car number. k and l are None for an empty data set; l is None without a
    sensitive attribute.
    """
    if not rows or not qis:
        return None, None, []
    try:
        import pandas as pd
        from pycanon import anonymity
    except ImportError:
        raise BadInput("the adequacy assessment needs pyCANON and pandas, which are not installed",
                       fix="pip install 'bigdata-admin[deid]'") from None
    frame = pd.DataFrame(rows, columns=list(columns)).reset_index(drop=True)
    k_value = int(anonymity.k_anonymity(frame, list(qis)))
    l_value = int(anonymity.l_diversity(frame, list(qis), [sensitive])) if sensitive else None
    grouped = frame.groupby(list(qis), sort=True)
    sizes = grouped.size()
    distinct = grouped[sensitive].nunique() if sensitive else None
    offending = []
    for key, size in sizes.items():
        n_distinct = int(distinct[key]) if distinct is not None else None
        fails = [m for m, bad in (("k", size < k), ("l", n_distinct is not None and n_distinct < l_)) if bad]
        if fails:
            values = key if isinstance(key, tuple) else (key,)
            offending.append({"group": dict(zip(qis, map(str, values), strict=True)), "records": int(size),
                              "distinct_sensitive": n_distinct, "fails": fails})
    return k_value, l_value, offending


# --------------------------------------------------------------------------------------------------
# The whole day

@dataclass
class DeidResult:
    day: str
    source_dir: str
    out_dir: str
    key_id: str
    policy: dict[str, Any]
    thresholds: dict[str, int]
    quasi_identifiers: list[str]
    sensitive: dict[str, str]
    datasets: list[DatasetResult]
    created: str
    seconds: float
    passed: bool

    @property
    def failed(self) -> list[str]:
        return [d.dataset for d in self.datasets if not d.passed]


def deidentify(day: str, data_dir: Path, key: bytes, policy: Policy, out_dir: Path | None = None,
               progress: Callable[[DatasetResult], None] | None = None) -> DeidResult:
    """De-identify every data set of `day` found in `data_dir` into `out_dir` (default data_dir/deidentified).

    Writes the copies, then `deidentification.json` (the follow-up record) and a line of
    `deidentification-history.jsonl`. A failed run leaves no record, so `pilot load --deidentified`
    refuses what it left. Raises BadInput when no data set of the day is there.
    """
    generate.parse_day(day)
    data_dir = Path(data_dir)
    out = Path(out_dir) if out_dir is not None else data_dir / OUT_DIR
    names = generate.file_names(day)
    present = {ds: data_dir / f for ds, f in names.items() if (data_dir / f).is_file()}
    if not present:
        raise BadInput(f"no data set of {day} in {data_dir}",
                       fix="Run `bigdata-admin pilot generate --day DAY` first or pass --data.")
    if out.resolve() == data_dir.resolve():
        raise BadInput("the de-identified copies would overwrite the originals",
                       fix="Pass a different --out.")
    out.mkdir(parents=True, exist_ok=True)
    (out / RECORD).unlink(missing_ok=True)
    t_start = time.perf_counter()
    pseudonyms = Pseudonyms(key)
    results: list[DatasetResult] = []
    for ds in generate.DATASETS:
        if ds not in present:
            continue
        src, dst = present[ds], out / names[ds]
        result = DatasetResult(ds, str(src), str(dst))
        t0 = time.perf_counter()
        if ds in ("status", "drive"):
            transform_log(src, dst, ds, pseudonyms, result)
        elif ds == "buy":
            transform_buy(src, dst, pseudonyms, result)
        elif ds in ASSESSED:
            rows = transform_people(src, dst, ds, policy, pseudonyms, result)
            columns = INCOME_FIELDS if ds == "income" else PERSON_FIELDS
            sensitive = policy.sensitive.get(ds)
            result.k, result.l, result.offending_groups = assess(
                rows, columns, policy.quasi_identifiers, sensitive, policy.k, policy.l)
            result.passed = not result.offending_groups
        else:  # accident-risk data: no car number, no person
            shutil.copyfile(src, dst)
            result.records_in = result.records_out = max(0, sum(1 for _ in src.open("rb")) - 1)
        result.seconds = round(time.perf_counter() - t0, 3)
        results.append(result)
        if progress:
            progress(result)
    outcome = DeidResult(
        day=day, source_dir=str(data_dir), out_dir=str(out), key_id=key_id(key), policy=policy.as_dict(),
        thresholds={"k": policy.k, "l": policy.l}, quasi_identifiers=list(policy.quasi_identifiers),
        sensitive=dict(policy.sensitive), datasets=results,
        created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        seconds=round(time.perf_counter() - t_start, 3), passed=all(r.passed for r in results))
    text = json.dumps(asdict(outcome), indent=1, ensure_ascii=False)
    (out / RECORD).write_text(text + "\n", encoding="utf-8")
    with (out / HISTORY).open("a", encoding="utf-8") as f:
        f.write(json.dumps(asdict(outcome), ensure_ascii=False) + "\n")
    return outcome


def read_record(out_dir: Path) -> dict[str, Any]:
    """The follow-up record of a de-identified day. Raises BadInput when there is none."""
    path = Path(out_dir) / RECORD
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise BadInput(f"{path} is missing or unreadable: the day was not de-identified (or that run failed)",
                       fix="Run `bigdata-admin pilot deidentify --day DAY` first.") from None
    return data


def check_loadable(out_dir: Path, allow_inadequate: bool = False) -> dict[str, Any]:
    """The record of `out_dir` when its data sets may be loaded.

    Raises BadInput naming the data sets under the thresholds (and their offending group counts)
    unless allow_inadequate.
    """
    record = read_record(out_dir)
    failed = [d for d in record.get("datasets", []) if not d.get("passed", False)]
    if failed and not allow_inadequate:
        what = "; ".join(f"{d['dataset']} (k={d.get('k')}, l={d.get('l')}, "
                         f"{len(d.get('offending_groups', []))} groups under the thresholds)" for d in failed)
        t = record.get("thresholds", {})
        raise BadInput(f"de-identified data below k={t.get('k')}, l={t.get('l')}: {what}",
                       fix="Generalise more in the policy and run `pilot deidentify` again, or pass "
                           "--allow-inadequate to load it anyway.")
    return record


# --------------------------------------------------------------------------------------------------
# Report

def table_rows(result: DeidResult | dict[str, Any]) -> list[dict[str, Any]]:
    """One row per data set for the printed and HTML tables (`-`: no personal attributes, only the car
    number, pseudonymised; `skipped`: header and malformed lines)."""
    data = asdict(result) if isinstance(result, DeidResult) else result
    t = data["thresholds"]
    rows = []
    for d in data["datasets"]:
        assessed = d["k"] is not None
        rows.append({
            "dataset": d["dataset"], "in": str(d["records_in"]), "out": str(d["records_out"]),
            "dropped": str(d["dropped_rows"]), "skipped": str(d["headers"] + d["malformed"]),
            "cars": str(d["cars"]),
            f"k>={t['k']}": str(d["k"]) if assessed else "-",
            f"l>={t['l']}": str(d["l"]) if d["l"] is not None else "-",
            "result": ("pass" if d["passed"] else "FAIL") if assessed else "-",
        })
    return rows


def write_report(result: DeidResult, report_dir: Path) -> Path:
    """Write deidentification.html and deidentification.json into the pilot's report directory."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    data = asdict(result)
    (report_dir / REPORT_JSON).write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n",
                                          encoding="utf-8")
    e = html.escape
    rows = table_rows(result)
    parts = ["<!doctype html><html><head><meta charset='utf-8'>",
             f"<title>De-identification {e(result.day)}</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;font-size:13px}"
             "td,th{border:1px solid #ccc;padding:2px 6px}th{background:#eee}.FAIL{color:#c00;"
             "font-weight:bold}</style></head><body>",
             f"<h1>De-identification of {e(result.day)}</h1>",
             f"<p>Key id {e(result.key_id)}; policy {e(str(result.policy['source']))} (sha256 "
             f"{e(str(result.policy['sha256'])[:16])}); quasi-identifiers "
             f"{e(', '.join(result.quasi_identifiers))}; sensitive "
             f"{e(', '.join(f'{k}: {v}' for k, v in result.sensitive.items()))}; "
             f"created {e(result.created)}.</p>",
             "<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in rows[0]) + "</tr>" if rows else "<table>"]
    for r in rows:
        parts.append("<tr>" + "".join(f"<td class='{e(str(v))}'>{e(str(v))}</td>" for v in r.values())
                     + "</tr>")
    parts.append("</table>")
    for d in result.datasets:
        if d.offending_groups:
            parts.append(f"<h2>{e(d.dataset)}: {len(d.offending_groups)} groups under the thresholds</h2>"
                         "<table><tr>" + "".join(f"<th>{e(q)}</th>" for q in result.quasi_identifiers)
                         + "<th>records</th><th>distinct sensitive</th><th>fails</th></tr>")
            for g in d.offending_groups:
                parts.append("<tr>" + "".join(f"<td>{e(v)}</td>" for v in g["group"].values())
                             + f"<td>{g['records']}</td><td>{g['distinct_sensitive']}</td>"
                             f"<td>{e(' '.join(g['fails']))}</td></tr>")
            parts.append("</table>")
    parts.append("</body></html>")
    path = report_dir / REPORT_HTML
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
