"""Classroom mode: one instructor, one cluster per student.

A classroom is a directory:

    DIR/classroom.json            what `create` made: the profile/template and each student's inventory
    DIR/students/NAME/hosts.yml   one ordinary inventory per student (+ group_vars/all.yml)
    DIR/state.json                the last deploy of each student (rc, seconds, log), for `deploy --resume`
    DIR/logs/NAME-deploy.log      each student's deploy output

    roster = read_roster(Path("roster.csv"))             # -> list[RosterRow]; BadInput naming rows
    made = create(roster, Path("DIR"), profile="slim")    # -> list[StudentInventory]; BadInput: none written
    results = deploy(Path("DIR"), parallel=3)            # -> list[DeployResult]
    grid = status(Path("DIR"))                           # -> ClassroomStatus (students x services)
    html = render_html(grid, refresh_s=10)               # one self-contained page

The roster is a CSV file with a header. Columns: `student` and `memory_mb` (MiB per host) are
required; `host` (host name), `address` (one per host of the layout, separated by `;`), `ssh_user`,
`ssh_key` (private key file) and `lab` (a `bigdata-admin lab` whose host and connection settings the
student uses) are optional. Rows are numbered as a spreadsheet shows them (the header is row 1).
"""

from __future__ import annotations

import contextlib
import csv
import html
import ipaddress
import json
import math
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bigdata_admin import paths, services
from bigdata_admin.errors import BadInput

REQUIRED_COLUMNS = ("student", "memory_mb")
OPTIONAL_COLUMNS = ("host", "address", "ssh_user", "ssh_key", "lab")
STUDENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
HOST_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
CLASSROOM_FILE = "classroom.json"
STATE_FILE = "state.json"

# Profiles: every group on one host per student. `slim` is the (ZooKeeper, HDFS, YARN, Hive,
# Kafka); `mini` leaves Hive out so that several students fit on one practice machine.
PROFILES: dict[str, tuple[str, ...]] = {
    "slim": ("zookeeper", "hdfs_namenode", "hdfs_datanode", "yarn_resourcemanager", "yarn_nodemanager",
             "metastore_db", "hive_metastore", "hive_server2", "kafka_controller", "kafka_broker"),
    "mini": ("zookeeper", "hdfs_namenode", "hdfs_datanode", "yarn_resourcemanager", "yarn_nodemanager",
             "kafka_controller", "kafka_broker"),
}
TEMPLATES = ("single-node", "classroom")
# Small heaps for the profiles (a student's host is small); a roster's memory must cover them.
PROFILE_SIZES: dict[str, int] = {
    "zookeeper_heap_mb": 256, "hdfs_namenode_heap_mb": 256, "hdfs_secondarynamenode_heap_mb": 128,
    "hdfs_datanode_heap_mb": 256, "yarn_resourcemanager_heap_mb": 256, "yarn_nodemanager_heap_mb": 256,
    "yarn_nodemanager_memory_mb": 512, "yarn_nodemanager_vcores": 1, "metastore_db_memory_mb": 128,
    "hive_metastore_heap_mb": 256, "hive_server2_heap_mb": 256, "kafka_heap_mb": 256,
}
HOST_MARGIN_MB = 1024
"""Memory a host needs beyond its services' heaps (OS, sshd, page cache)."""

# What `reset` wipes (PILOT.md): the pilot's HDFS root, its Hive tables, its topic and HBase table.
PILOT_HDFS_DIRS = ("/pilot-pjt",)
PILOT_TOPIC = "SmartCar-Topic"
PILOT_HBASE_TABLE = "DriverCarInfo"
PILOT_TABLE_RE = re.compile(r"^(managed_)?smartcar_", re.IGNORECASE)


# ------------------------------------------------------------------------------------------- roster

@dataclass
class RosterRow:
    row: int
    """Row number as a spreadsheet shows it (header = 1)."""
    student: str
    memory_mb: int
    host: str = ""
    addresses: list[str] = field(default_factory=list)
    ssh_user: str = ""
    ssh_key: str = ""
    lab: str = ""


def _problem(row: int | None, student: str, message: str) -> str:
    where = f"row {row}" if row else "roster"
    return f"{where}{f' ({student})' if student else ''}: {message}"


def read_roster(path: Path) -> list[RosterRow]:
    """Parse a roster CSV. Raises BadInput listing every bad row (missing columns, empty or repeated
    students, unreadable memory) at once."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise BadInput(f"cannot read the roster {path}: {exc.strerror}",
                       fix="Pass a CSV file with --roster "
                           "(columns student,memory_mb[,host,address,ssh_user]).") from exc
    reader = csv.DictReader(text.splitlines())
    columns = [c.strip().lower() for c in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise BadInput(f"the roster {path} is missing column(s) {', '.join(missing)} (has: "
                       f"{', '.join(columns) or 'no header'})",
                       fix="The first line must name the columns: student,memory_mb and optionally "
                           + ",".join(OPTIONAL_COLUMNS) + ".")
    problems: list[str] = []
    rows: list[RosterRow] = []
    seen: dict[str, int] = {}
    for raw in reader:
        n = reader.line_num  # the physical line: blank lines count, as a spreadsheet shows them
        rec = {str(k).strip().lower(): (v or "").strip() for k, v in raw.items() if k is not None}
        if not any(rec.values()):
            continue
        student = rec.get("student", "")
        if not STUDENT_RE.match(student):
            problems.append(_problem(n, student, "the student name must be 1-40 letters, digits, '.', '_' "
                                                 "or '-', starting with a letter or digit"))
            continue
        if student.lower() in seen:
            problems.append(_problem(n, student, f"duplicate student (also row {seen[student.lower()]})"))
            continue
        seen[student.lower()] = n
        try:
            memory = int(rec.get("memory_mb", ""))
        except ValueError:
            problems.append(_problem(n, student, f"memory_mb {rec.get('memory_mb')!r} is not a whole number"))
            continue
        host = rec.get("host", "").lower()
        if host and not HOST_RE.match(host):
            problems.append(_problem(n, student, f"host name {host!r} is not a valid host name"))
            continue
        addresses = [a for a in re.split(r"[;\s]+", rec.get("address", "")) if a]
        rows.append(RosterRow(n, student, memory, host, addresses, rec.get("ssh_user", ""),
                              rec.get("ssh_key", ""), rec.get("lab", "")))
    if problems:
        raise BadInput(f"the roster {path} has {len(problems)} bad row(s):\n  " + "\n  ".join(problems),
                       fix="Fix those rows (one row per student, unique names, memory in MiB) and run again.")
    if not rows:
        raise BadInput(f"the roster {path} lists no student", fix="Add one row per student under the header.")
    return rows


def parse_address_range(spec: str) -> list[str]:
    """`10.0.0.0/24` (its usable addresses) or `10.0.0.10-10.0.0.40` (inclusive) -> addresses in order."""
    try:
        if "/" in spec:
            return [str(a) for a in ipaddress.ip_network(spec, strict=False).hosts()]
        start_s, _, end_s = spec.partition("-")
        start, end = ipaddress.ip_address(start_s.strip()), ipaddress.ip_address(end_s.strip())
    except ValueError as exc:
        raise BadInput(f"--address-range {spec!r} is not a range: {exc}",
                       fix="Use CIDR (10.0.0.0/24) or START-END (10.0.0.10-10.0.0.40).") from exc
    if int(end) < int(start) or int(end) - int(start) > 65535:
        raise BadInput(f"--address-range {spec!r} is empty or too large",
                       fix="Give START-END with START <= END (at most 65536 addresses).")
    return [str(ipaddress.ip_address(int(start) + i)) for i in range(int(end) - int(start) + 1)]


def read_hosts_file(path: Path) -> dict[str, str]:
    """An /etc/hosts-style file (`ADDRESS NAME [ALIAS...]`, `#` comments) -> name -> address."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise BadInput(f"cannot read the hosts file {path}: {exc.strerror}",
                       fix="Pass an /etc/hosts-style file: `ADDRESS NAME` per line.") from exc
    out: dict[str, str] = {}
    for line in lines:
        parts = line.split("#", 1)[0].split()
        if len(parts) >= 2:
            for name in parts[1:]:
                out.setdefault(name.lower(), parts[0])
    return out


# ------------------------------------------------------------------------------------------ layouts

@dataclass
class Layout:
    """What each student gets: host slots (template host name -> its groups) and cluster variables."""
    kind: str
    """`profile:NAME` or `template:NAME`."""
    hosts: dict[str, list[str]]
    group_vars: dict[str, Any]
    host_vars: dict[str, dict[str, Any]] = field(default_factory=dict)


def layout_for(profile: str | None, template: str | None) -> Layout:
    """The layout of a profile (default `slim`) or shipped inventory template. Raises BadInput."""
    if profile and template:
        raise BadInput("--profile and --template exclude each other", fix="Pass only one of them.")
    if template:
        if template not in TEMPLATES:
            raise BadInput(f"unknown template {template!r}", fix=f"Use one of: {', '.join(TEMPLATES)}.")
        tdir = paths.inventory_templates_dir() / template
        data = yaml.safe_load((tdir / "hosts.yml").read_text()) or {}
        tvars = yaml.safe_load((tdir / "group_vars" / "all.yml").read_text()) or {}
        top = data.get("all") or {}
        hosts: dict[str, list[str]] = {h: [] for h in (top.get("hosts") or {})}
        for group, node in (top.get("children") or {}).items():
            for h in ((node or {}).get("hosts") or {}):
                hosts.setdefault(str(h), []).append(str(group))
        host_vars = {h: {k: v for k, v in (hv or {}).items()
                         if k not in ("ansible_host", "ansible_connection", "bigdata_host_memory_mb")}
                     for h, hv in (top.get("hosts") or {}).items()}
        return Layout(f"template:{template}", hosts, dict(tvars), host_vars)
    name = profile or "slim"
    if name not in PROFILES:
        raise BadInput(f"unknown profile {name!r}", fix=f"Use one of: {', '.join(PROFILES)}.")
    gv: dict[str, Any] = {"hdfs_replication": 1, **PROFILE_SIZES}
    return Layout(f"profile:{name}", {"node1": list(PROFILES[name])}, gv)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def host_memory_needed(groups: Iterable[str], sizes: dict[str, Any]) -> int:
    """MiB a host running `groups` needs: its services' memory (one process per systemd unit) plus
    HOST_MARGIN_MB, rounded up to 512 MiB. Unknown groups count nothing."""
    from bigdata_admin.inventory import role_defaults

    merged = {**role_defaults(), **sizes}
    units: set[str] = set()
    total = 0
    group_list = list(groups)
    for g in group_list:
        svc = services.BY_GROUP.get(g)
        if svc is None or svc.unit in units:
            continue
        units.add(svc.unit)
        total += sum(_int(merged.get(v)) for v in svc.memory)
    if "hdfs_namenode" in group_list:
        total += _int(merged.get("hdfs_secondarynamenode_heap_mb"))
    return int(math.ceil((total + HOST_MARGIN_MB) / 512) * 512)


# ------------------------------------------------------------------------------------------- create

@dataclass
class StudentInventory:
    student: str
    row: int
    inventory: Path
    hosts: dict[str, str]
    """Host name -> address."""
    memory_mb: int

    def as_dict(self) -> dict[str, Any]:
        return {"student": self.student, "row": self.row, "inventory": str(self.inventory),
                "hosts": self.hosts, "memory_mb": self.memory_mb}


def _lab_settings(lab: str) -> tuple[dict[str, Any], dict[str, Any], list[str]]:
    """A lab's connection vars (`all.vars`), group vars and host addresses, from its inventory."""
    from bigdata_admin.lab import labinventory

    inv = labinventory.inventory_dir(lab)
    try:
        data = yaml.safe_load((inv / "hosts.yml").read_text()) or {}
        gv = yaml.safe_load((inv / "group_vars" / "all.yml").read_text()) or {}
    except OSError as exc:
        raise BadInput(f"lab {lab!r} has no inventory at {inv}",
                       fix=f"Bring it up first: `bigdata-admin lab up --name {lab} --nodes 1` "
                           "(or `lab up --students N`).") from exc
    top = data.get("all") or {}
    addresses = [str((hv or {}).get("ansible_host", "")) for hv in (top.get("hosts") or {}).values()]
    return dict(top.get("vars") or {}), dict(gv), addresses


def plan(roster: list[RosterRow], layout: Layout, *, hosts_file: dict[str, str] | None = None,
         address_range: list[str] | None = None) -> list[dict[str, Any]]:
    """Each student's hosts, addresses, memory and variables, checked against each other.

    Returns one dict per student {student, row, hosts: {name: {address, memory_mb, groups, vars}},
    vars}. Raises BadInput naming every bad row: no or too few addresses, an address used twice,
    memory below what the layout needs.
    """
    problems: list[str] = []
    slots = list(layout.hosts)
    pool = list(address_range or [])
    explicit = {a for r in roster for a in r.addresses}
    pool = [a for a in pool if a not in explicit]
    used: dict[str, tuple[int, str]] = {}
    out: list[dict[str, Any]] = []
    for r in roster:
        names = ([r.host] if r.host and len(slots) == 1 else
                 [f"{r.host}-{s}" for s in slots] if r.host else
                 [r.student.lower().replace("_", "-").replace(".", "-")] if len(slots) == 1 else list(slots))
        lab_vars: dict[str, Any] = {}
        lab_gv: dict[str, Any] = {}
        addresses = list(r.addresses)
        if r.lab:
            try:
                lab_vars, lab_gv, lab_addrs = _lab_settings(r.lab)
            except BadInput as exc:
                problems.append(_problem(r.row, r.student, exc.message))
                continue
            if not addresses:
                addresses = lab_addrs[:len(slots)]
        if not addresses and hosts_file:
            addresses = [hosts_file[n] for n in names if n in hosts_file]
            if not addresses and r.student.lower() in hosts_file and len(slots) == 1:
                addresses = [hosts_file[r.student.lower()]]
        if not addresses and pool:
            addresses, pool = pool[:len(slots)], pool[len(slots):]
        if len(addresses) != len(slots):
            src = "the address column, --hosts-file or --address-range"
            problems.append(_problem(r.row, r.student, f"needs {len(slots)} address(es) "
                                     f"({', '.join(names)}), got {len(addresses)}: give them in {src}"))
            continue
        bad_addr = False
        for a in addresses:
            try:
                ipaddress.ip_address(a)
            except ValueError:
                if not HOST_RE.match(a.lower()) and "." not in a:
                    problems.append(_problem(r.row, r.student, f"address {a!r} is not an IP address or name"))
                    bad_addr = True
            if a in used and used[a][0] != r.row:
                problems.append(_problem(r.row, r.student, f"address {a} overlaps with row {used[a][0]} "
                                                         f"({used[a][1]})"))
                bad_addr = True
            used.setdefault(a, (r.row, r.student))
        if bad_addr:
            continue
        # The sizes the student's inventory will have (the layout's over the lab's, as written below).
        sizes = {**lab_gv, **layout.group_vars}
        need = max(host_memory_needed(layout.hosts[s], sizes) for s in slots)
        if r.memory_mb < need:
            problems.append(_problem(r.row, r.student, f"memory_mb {r.memory_mb} is too little: "
                                     f"{layout.kind} needs {need} MiB per host"))
            continue
        hosts = {}
        for name, slot, addr in zip(names, slots, addresses, strict=True):
            hv: dict[str, Any] = {"ansible_host": addr, "bigdata_host_memory_mb": r.memory_mb,
                                  **layout.host_vars.get(slot, {})}
            hosts[name] = {"address": addr, "memory_mb": r.memory_mb, "groups": layout.hosts[slot],
                           "vars": hv}
        all_vars = dict(lab_vars)
        if r.ssh_user:
            all_vars["ansible_user"] = r.ssh_user
        if r.ssh_key:
            all_vars["ansible_ssh_private_key_file"] = r.ssh_key
        cluster_vars = {**lab_gv, **layout.group_vars, "bigdata_cluster_name": r.student}
        out.append({"student": r.student, "row": r.row, "hosts": hosts, "vars": all_vars,
                    "group_vars": cluster_vars})
    if problems:
        raise BadInput(f"the roster has {len(problems)} problem(s); nothing was written:\n  "
                       + "\n  ".join(problems),
                       fix="Fix those rows (unique addresses, enough memory_mb, one address per host) "
                           "and run again.")
    return out


def create(roster: list[RosterRow], directory: Path, *, profile: str | None = None,
           template: str | None = None,
           hosts_file: Path | None = None, address_range: str | None = None,
           force: bool = False) -> list[StudentInventory]:
    """Write one inventory per student under `directory`/students and the classroom record.

    Everything is checked first (BadInput names the rows); nothing is written on any problem. Refuses
    to overwrite an existing classroom unless `force`.
    """
    layout = layout_for(profile, template)
    hf = read_hosts_file(hosts_file) if hosts_file else None
    rng = parse_address_range(address_range) if address_range else None
    planned = plan(roster, layout, hosts_file=hf, address_range=rng)
    if (directory / CLASSROOM_FILE).exists() and not force:
        raise BadInput(f"{directory} already holds a classroom ({directory / CLASSROOM_FILE})",
                       fix="Choose another --dir, or add --force to write it again.")
    if directory.exists() and not directory.is_dir():
        raise BadInput(f"{directory} exists and is not a directory", fix="Pass a new or existing directory.")
    made: list[StudentInventory] = []
    for p in planned:
        inv = directory / "students" / p["student"]
        (inv / "group_vars").mkdir(parents=True, exist_ok=True)
        children: dict[str, dict[str, Any]] = {}
        for hname, h in p["hosts"].items():
            for g in h["groups"]:
                children.setdefault(g, {"hosts": {}})["hosts"][hname] = {}
        doc = {"all": {"vars": p["vars"], "hosts": {n: h["vars"] for n, h in p["hosts"].items()},
                       "children": children}}
        if not p["vars"]:
            del doc["all"]["vars"]
        header = (f"---\n# Student {p['student']} (roster row {p['row']}), written by "
                  f"`bigdata-admin classroom create` ({layout.kind}).\n")
        (inv / "hosts.yml").write_text(header + yaml.safe_dump(doc, sort_keys=False, width=200))
        (inv / "group_vars" / "all.yml").write_text(header + yaml.safe_dump(p["group_vars"], sort_keys=False,
                                                                          width=200))
        made.append(StudentInventory(p["student"], p["row"], inv.resolve(),
                                     {n: h["address"] for n, h in p["hosts"].items()},
                                     max(h["memory_mb"] for h in p["hosts"].values())))
    record = {"version": 1, "layout": layout.kind, "created": _now(),
              "students": [m.as_dict() for m in made]}
    (directory / CLASSROOM_FILE).write_text(json.dumps(record, indent=2))
    return made


def adopt(directory: Path, inventories: dict[str, Path]) -> list[StudentInventory]:
    """Make `directory` a classroom of existing inventories (student -> inventory path), e.g. clusters
    deployed before classroom mode. Raises BadInput as `inventory.load` does."""
    from bigdata_admin import inventory as inv

    made = []
    for n, (student, path) in enumerate(inventories.items(), start=2):
        cluster = inv.load(path)
        made.append(StudentInventory(student, n, Path(path).resolve(),
                                     {h.name: h.address or h.name for h in cluster.hosts.values()},
                                     max((h.memory_mb for h in cluster.hosts.values()), default=0)))
    directory.mkdir(parents=True, exist_ok=True)
    record = {"version": 1, "layout": "adopted", "created": _now(), "students": [m.as_dict() for m in made]}
    (directory / CLASSROOM_FILE).write_text(json.dumps(record, indent=2))
    return made


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def load(directory: Path) -> list[StudentInventory]:
    """The students of a classroom directory. Raises BadInput when it is not one."""
    try:
        data = json.loads((directory / CLASSROOM_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise BadInput(f"{directory} is not a classroom (no readable {CLASSROOM_FILE})",
                       fix="Create one: `bigdata-admin classroom create --roster roster.csv --dir DIR`.") \
            from exc
    return [StudentInventory(s["student"], int(s["row"]), Path(s["inventory"]), dict(s["hosts"]),
                             int(s["memory_mb"])) for s in data["students"]]


def select(students: list[StudentInventory], names: Iterable[str]) -> list[StudentInventory]:
    """The named students (all when none); BadInput for an unknown name."""
    wanted = list(names)
    if not wanted:
        return students
    by = {s.student.lower(): s for s in students}
    unknown = [n for n in wanted if n.lower() not in by]
    if unknown:
        raise BadInput(f"no student {', '.join(unknown)} in this classroom",
                       fix=f"Use one of: {', '.join(s.student for s in students)}.")
    return [by[n.lower()] for n in wanted]


# -------------------------------------------------------------------------------------------- check

@dataclass
class CheckRow:
    student: str
    inventory: Path
    hosts: int
    errors: list[str]
    warnings: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict[str, Any]:
        return {"student": self.student, "inventory": str(self.inventory), "hosts": self.hosts,
                "ok": self.ok, "errors": self.errors, "warnings": self.warnings}


def check(directory: Path) -> list[CheckRow]:
    """`bigdata-admin check` (the inventory rules, no host touched) on every student's inventory."""
    from bigdata_admin import inventory as inv
    from bigdata_admin.validate import validate

    out: list[CheckRow] = []
    for s in load(directory):
        try:
            cluster = inv.load(s.inventory)
        except BadInput as exc:
            out.append(CheckRow(s.student, s.inventory, 0, [exc.message], []))
            continue
        found = validate(cluster)
        out.append(CheckRow(s.student, s.inventory, len(cluster.hosts),
                            [f"{p.where}: {p.message}" for p in found if p.severity == "error"],
                            [f"{p.where}: {p.message}" for p in found if p.severity != "error"]))
    return out


# ------------------------------------------------------------------------------------------- deploy

@dataclass
class DeployResult:
    student: str
    rc: int
    seconds: float
    log: Path
    summary: str
    """One line: `ok` or what failed."""

    @property
    def ok(self) -> bool:
        return self.rc == 0

    def as_dict(self) -> dict[str, Any]:
        return {"student": self.student, "ok": self.ok, "rc": self.rc, "seconds": round(self.seconds, 1),
                "log": str(self.log), "summary": self.summary}


_state_lock = threading.Lock()


def load_state(directory: Path) -> dict[str, Any]:
    try:
        data = json.loads((directory / STATE_FILE).read_text())
    except (OSError, ValueError):
        return {"students": {}}
    return data if isinstance(data, dict) else {"students": {}}


def _record(directory: Path, result: DeployResult) -> None:
    with _state_lock:
        state = load_state(directory)
        state.setdefault("students", {})[result.student] = {**result.as_dict(), "at": _now()}
        tmp = directory / f".{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(directory / STATE_FILE)


def failed_students(directory: Path) -> list[str]:
    """Students whose last recorded deploy failed, or who have none (what `--resume` reruns)."""
    state = load_state(directory).get("students", {})
    return [s.student for s in load(directory) if not (state.get(s.student) or {}).get("ok")]


def _summary_of(out: str, rc: int) -> str:
    """One line from `deploy --json` output: ok, or the first failed task and host."""
    try:
        data = json.loads(out[out.index("{"):])
    except ValueError:
        lines = [ln for ln in out.splitlines() if ln.strip()]
        return "ok" if rc == 0 else (lines[-1][:200] if lines else f"exit {rc}")
    if rc == 0:
        return "ok"
    if data.get("missing"):
        return f"artifacts missing: {', '.join(data['missing'])}"
    if data.get("problems"):
        return "; ".join(f"{p.get('where')}: {p.get('message')}" for p in data["problems"])[:300]
    fails = data.get("failures") or []
    if fails:
        f = fails[0]
        return f"{f.get('host')}: {f.get('task')}: {str(f.get('message', ''))[:200]}"
    return f"exit {rc} ({data.get('status', '')})"


def deploy_one(student: StudentInventory, directory: Path, extra_args: list[str],
               timeout_s: float | None = None) -> DeployResult:
    """`bigdata-admin deploy -i INVENTORY --json` for one student in its own process (its own
    ansible-runner directory); output to DIR/logs/NAME-deploy.log. Never raises for a failed deploy."""
    logs = directory / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log = logs / f"{student.student}-deploy.log"
    cmd = [sys.executable, "-m", "bigdata_admin", "deploy", "-i", str(student.inventory), "--json",
           *extra_args]
    started = time.monotonic()
    env = {**os.environ, "COLUMNS": "160"}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False, env=env)
        rc, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        rc, out, err = 124, str(exc.stdout or ""), f"timed out after {timeout_s} s"
    seconds = time.monotonic() - started
    log.write_text(f"$ {' '.join(cmd)}\n--- stdout\n{out}\n--- stderr\n{err}\n")
    return DeployResult(student.student, rc, seconds, log, _summary_of(out, rc) if rc != 124 else err)


def deploy(directory: Path, *, parallel: int = 2, resume: bool = False, students: Iterable[str] = (),
           extra_args: Iterable[str] = (), on_start: Callable[[str], None] | None = None,
           on_done: Callable[[DeployResult], None] | None = None,
           runner: Callable[[StudentInventory, Path, list[str]], DeployResult] | None = None,
           ) -> list[DeployResult]:
    """Deploy every student's cluster (or `students`, or with `resume` those whose last deploy failed),
    at most `parallel` at a time. Each result is recorded in DIR/state.json as it ends.

    `runner` replaces deploy_one (tests). Raises BadInput for a bad `parallel` or unknown students.
    """
    if parallel < 1:
        raise BadInput(f"--parallel {parallel} must be at least 1", fix="Use --parallel 1 or more.")
    todo = select(load(directory), students)
    if resume:
        failed = set(failed_students(directory))
        todo = [s for s in todo if s.student in failed]
    run = runner or deploy_one
    args = list(extra_args)

    def one(s: StudentInventory) -> DeployResult:
        if on_start:
            on_start(s.student)
        result = run(s, directory, args)
        _record(directory, result)
        if on_done:
            on_done(result)
        return result

    if not todo:
        return []
    with ThreadPoolExecutor(max_workers=min(parallel, len(todo)), thread_name_prefix="classroom") as pool:
        return list(pool.map(one, todo))


def missing_artifacts(directory: Path) -> tuple[list[str], list[str]]:
    """Artifacts any student's deploy needs that the cache lacks (file names, once each) and the fetch
    commands that get them (one per distinct command)."""
    from bigdata_admin import artifacts
    from bigdata_admin import inventory as inv

    files: dict[str, None] = {}
    commands: dict[str, None] = {}
    for s in load(directory):
        cluster = inv.load(s.inventory)
        p = artifacts.deploy_artifacts(cluster, [], [])
        for a in p.missing:
            files[a.filename] = None
        if p.missing:
            commands[p.fetch_command] = None
    return list(files), list(commands)


def fetch_missing(directory: Path, reporter: Any = None) -> tuple[list[str], list[str]]:
    """Fetch what any student's deploy lacks into the shared artifact cache, each file once (a file one
    student's fetch brought is cached for the next). Returns (files fetched, `file: why` failures)."""
    from bigdata_admin import artifacts
    from bigdata_admin import inventory as inv

    fetched: dict[str, None] = {}
    failed: dict[str, str] = {}
    for s in load(directory):
        cluster = inv.load(s.inventory)
        missing = [a for a in artifacts.deploy_artifacts(cluster, [], []).missing if a.filename not in failed]
        if not missing:
            continue
        for o in artifacts.fetch(cluster, sorted({a.component for a in missing}), reporter=reporter):
            if o.ok and o.action == "fetched":
                fetched[o.artifact.filename] = None
            elif not o.ok:
                failed[o.artifact.filename] = o.message.splitlines()[0] if o.message else o.action
    return list(fetched), [f"{f}: {why}" for f, why in failed.items()]


@contextlib.contextmanager
def artifact_server(bind: str | None) -> Iterator[list[str]]:
    """With `bind` (`ADDR` or `ADDR:PORT`): serve the artifact cache once for all students during the
    block, yielding the `-e bigdata_artifact_base_url=...` arguments for each deploy; else nothing."""
    if not bind:
        yield []
        return
    from bigdata_admin import artifacts

    addr, _, port = bind.partition(":")
    try:
        port_n = int(port or 8765)
    except ValueError as exc:
        raise BadInput(f"--serve {bind!r}: the port is not a number", fix="Use ADDR or ADDR:PORT.") from exc
    with artifacts.serving(addr, port_n) as server:
        yield ["-e", f"bigdata_artifact_base_url=http://{addr}:{server.server_address[1]}"]


# ------------------------------------------------------------------------------------------- status

HEALTHY, DOWN, NOT_DEPLOYED, ABSENT = "healthy", "down", "not deployed", "absent"


@dataclass
class Cell:
    state: str
    """healthy, down, not deployed, or absent (the student's inventory has no such service)."""
    detail: str = ""


@dataclass
class StudentStatus:
    student: str
    cells: dict[str, Cell]

    @property
    def healthy(self) -> bool:
        return all(c.state in (HEALTHY, ABSENT) for c in self.cells.values())


@dataclass
class ClassroomStatus:
    services: list[str]
    """Columns: service names (play tags such as zookeeper, hdfs, yarn, hive, kafka) in stack order."""
    students: list[StudentStatus]
    seconds: float = 0.0
    taken: str = ""

    @property
    def healthy(self) -> bool:
        return all(s.healthy for s in self.students)

    def counts(self) -> dict[str, int]:
        out = {HEALTHY: 0, DOWN: 0, NOT_DEPLOYED: 0}
        for s in self.students:
            for c in s.cells.values():
                if c.state in out:
                    out[c.state] += 1
        return out

    def as_dict(self) -> dict[str, Any]:
        return {"healthy": self.healthy, "seconds": round(self.seconds, 2), "taken": self.taken,
                "services": self.services, "counts": self.counts(),
                "students": [{"student": s.student, "healthy": s.healthy,
                              "services": {k: {"state": c.state, "detail": c.detail}
                                           for k, c in s.cells.items()}}
                             for s in self.students]}


def _role_order() -> list[str]:
    return list(dict.fromkeys(s.role for s in services.SERVICES))


def profile_services(profile: str) -> list[str]:
    """The grid's columns for a student on `profile`: its services (play tags, e.g. zookeeper, hdfs,
    yarn, hive, postgresql, kafka) in stack order. Raises KeyError for an unknown profile."""
    roles = {services.BY_GROUP[g].role for g in PROFILES[profile]}
    return [r for r in _role_order() if r in roles]


def cells_from_report(report: Any, cluster: Any, deployed: bool) -> dict[str, Cell]:
    """Roll a `status` report (rows per host x group) up to one cell per service (play tag)."""
    cells: dict[str, Cell] = {}
    roles = {services.BY_GROUP[g].role for g in cluster.groups if g in services.BY_GROUP and cluster.has(g)}
    for role in _role_order():
        if role not in roles:
            continue
        if not deployed:
            cells[role] = Cell(NOT_DEPLOYED, "no deploy recorded")
            continue
        rows = [r for r in report.rows if services.BY_GROUP[r.group].role == role]
        skipped = [g for gs in report.not_deployed.values() for g in gs if services.BY_GROUP[g].role == role]
        if not rows:
            why = next((w for w, gs in report.not_deployed.items() if set(gs) & set(skipped)), "")
            cells[role] = Cell(NOT_DEPLOYED, why)
            continue
        bad = [r for r in rows if not r.healthy]
        cells[role] = (Cell(DOWN, "; ".join(f"{r.group} on {r.host}: {r.problem}" for r in bad)) if bad
                       else Cell(HEALTHY, f"{len(rows)} healthy"))
    return cells


def student_status(s: StudentInventory, collect: Callable[..., Any] | None = None) -> StudentStatus:
    """One student's cells; an inventory that does not load gives one `down` cell named `inventory`."""
    from bigdata_admin import deployment
    from bigdata_admin import inventory as inv

    try:
        cluster = inv.load(s.inventory)
    except BadInput as exc:
        return StudentStatus(s.student, {"inventory": Cell(DOWN, exc.message)})
    deployed = deployment.load_record(cluster) is not None
    if not deployed:
        return StudentStatus(s.student, cells_from_report(None, cluster, False))
    if collect is None:
        from bigdata_admin.health.status import collect as collect_fn
        collect = collect_fn
    report = collect(cluster)
    return StudentStatus(s.student, cells_from_report(report, cluster, True))


def status(directory: Path, students: Iterable[str] = (),
           collect: Callable[..., Any] | None = None) -> ClassroomStatus:
    """Probe every student's cluster in parallel (the `status` probes) -> the grid."""
    started = time.monotonic()
    chosen = select(load(directory), students)
    with ThreadPoolExecutor(max_workers=max(1, min(8, len(chosen))), thread_name_prefix="cstatus") as pool:
        rows = list(pool.map(lambda s: student_status(s, collect), chosen))
    return grid(rows, time.monotonic() - started)


def grid(rows: list[StudentStatus], seconds: float = 0.0) -> ClassroomStatus:
    """The grid of `rows`: columns are the services any student has, in stack order."""
    present = {k for r in rows for k in r.cells}
    order = [*_role_order(), "inventory"]
    cols = [k for k in order if k in present]
    return ClassroomStatus(cols, rows, seconds, _now())


_SYMBOL = {HEALTHY: "●", DOWN: "✖", NOT_DEPLOYED: "○", ABSENT: "·"}
_STYLE = {HEALTHY: "bold green", DOWN: "bold white on red", NOT_DEPLOYED: "yellow", ABSENT: "dim"}


def render_rich(st: ClassroomStatus) -> Any:
    """A rich renderable: the grid (one row per student) and a one-line verdict."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"classroom: {len(st.students)} student(s)", title_justify="left")
    table.add_column("Student")
    for svc in st.services:
        table.add_column(svc, justify="center")
    for s in st.students:
        cells = []
        for svc in st.services:
            c = s.cells.get(svc, Cell(ABSENT))
            cells.append(Text(f"{_SYMBOL[c.state]} {c.state}", style=_STYLE[c.state]))
        table.add_row(Text(s.student, style="bold" if s.healthy else "bold red"), *cells)
    counts = st.counts()
    down = [(s.student, svc, s.cells[svc].detail) for s in st.students for svc in st.services
            if svc in s.cells and s.cells[svc].state == DOWN]
    lines: list[Any] = [table]
    for student, svc, detail in down:
        lines.append(Text(f"{student} {svc}: {detail}", style="red"))
    verdict = (f"{counts[HEALTHY]} healthy, {counts[DOWN]} down, {counts[NOT_DEPLOYED]} not deployed "
               f"({st.seconds:.1f} s)")
    lines.append(Text(verdict, style="bold green" if st.healthy else "bold red"))
    return Group(*lines)


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;background:#f6f7f9;color:#1b1f24}
h1{font-size:1.8rem;margin:0 0 .3rem}
p.meta{color:#555;margin:0 0 1rem}
table{border-collapse:collapse;font-size:1.3rem}
th,td{border:2px solid #fff;padding:.5rem .6rem;text-align:center;white-space:nowrap}
th{background:#2d3748;color:#fff}
th.student{text-align:left}
td.student{text-align:left;font-weight:600;background:#e2e8f0}
td.healthy{background:#2f9e44;color:#fff}
td.down{background:#d92d20;color:#fff;font-weight:700}
td.not-deployed{background:#fcc419;color:#1b1f24}
td.absent{background:#e9ecef;color:#868e96}
.summary{margin-top:1rem;font-size:1.2rem}
.summary .bad{color:#d92d20;font-weight:700}
.summary .good{color:#2f9e44;font-weight:700}
"""


def render_html(st: ClassroomStatus, refresh_s: float | None = None, title: str = "Classroom status") -> str:
    """One self-contained HTML page (inline CSS, no script, no external asset) of the grid. Each cell is
    `<td class="cell STATE" data-student=.. data-service=.. data-state=..>`; `refresh_s` adds a meta
    refresh so a projected page reloads itself."""
    e = html.escape
    head = ['<!DOCTYPE html>', '<html lang="en">', "<head>", '<meta charset="utf-8">',
            f"<title>{e(title)}</title>"]
    if refresh_s:
        head.append(f'<meta http-equiv="refresh" content="{max(1, round(refresh_s))}">')
    head += [f"<style>{_CSS}</style>", "</head>"]
    body = ["<body>", f"<h1>{e(title)}</h1>",
            f'<p class="meta">{len(st.students)} student(s) &middot; taken {e(st.taken)} '
            f"&middot; probes took {st.seconds:.1f} s</p>",
            '<table id="grid">', "<thead><tr><th class=\"student\">Student</th>"
            + "".join(f"<th>{e(s)}</th>" for s in st.services) + "</tr></thead>", "<tbody>"]
    for s in st.students:
        tds = [f'<td class="student">{e(s.student)}</td>']
        for svc in st.services:
            c = s.cells.get(svc, Cell(ABSENT))
            cls = c.state.replace(" ", "-")
            tds.append(f'<td class="cell {cls}" data-student="{e(s.student)}" data-service="{e(svc)}" '
                       f'data-state="{e(c.state)}" title="{e(c.detail)}">'
                       f"{_SYMBOL[c.state]} {e(c.state)}</td>")
        body.append(f'<tr data-student="{e(s.student)}">' + "".join(tds) + "</tr>")
    counts = st.counts()
    verdict_cls = "good" if st.healthy else "bad"
    body += ["</tbody>", "</table>",
             f'<p class="summary"><span class="{verdict_cls}" id="verdict">'
             f"{counts[HEALTHY]} healthy, {counts[DOWN]} down, {counts[NOT_DEPLOYED]} not deployed"
             "</span></p>",
             "</body>", "</html>"]
    return "\n".join(head + body) + "\n"


def write_html(path: Path, st: ClassroomStatus, refresh_s: float | None = None) -> Path:
    """Write the page atomically (a projector's reload never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(render_html(st, refresh_s), encoding="utf-8")
    tmp.replace(path)
    return path


# ----------------------------------------------------------------------------------- reset, destroy

def _bigdata_admin(*args: str, timeout_s: float = 1800) -> tuple[int, str]:
    proc = subprocess.run([sys.executable, "-m", "bigdata_admin", *args], capture_output=True, text=True,
                          timeout=timeout_s, check=False, env={**os.environ, "COLUMNS": "160"})
    return proc.returncode, proc.stdout + proc.stderr


def failure_of(out: str) -> str:
    """Why a `bigdata-admin VERB --json` run failed, in one line (at most 300 characters): its first
    failure (`play / task on host: message`) when the output holds the run's JSON, else the output's
    last line."""
    start = out.find("{")
    if start >= 0:
        try:
            data, _end = json.JSONDecoder().raw_decode(out, start)
        except ValueError:
            data = None
        failures = data.get("failures") if isinstance(data, dict) else None
        if failures and isinstance(failures[0], dict):
            f = failures[0]
            more = f" (+{len(failures) - 1} more)" if len(failures) > 1 else ""
            return (f"{f.get('play', '')} / {f.get('task', '')} on {f.get('host', '')}: "
                    f"{f.get('message', '')}")[:300] + more
    return (out.strip().splitlines() or [""])[-1][:300]


def _wipe_hdfs(cluster: Any) -> str:
    from bigdata_admin.clients import webhdfs_client

    client = webhdfs_client(cluster)
    return "; ".join(f"{'removed' if client.delete(d, recursive=True) else 'no'} {d}"
                     for d in PILOT_HDFS_DIRS)


def _wipe_hive(cluster: Any) -> str:
    from bigdata_admin import sqlclient

    conn = sqlclient.connect_to(cluster, "hive", timeout=30)
    try:
        tables = [str(r[0]) for r in sqlclient.query(conn, "SHOW TABLES")]
        pilot = [t for t in tables if PILOT_TABLE_RE.match(t)]
        for t in pilot:
            sqlclient.query(conn, f"DROP TABLE IF EXISTS `{t}`")
        return f"dropped {len(pilot)} table(s){': ' + ', '.join(pilot) if pilot else ''}"
    finally:
        conn.close()


def _wipe_kafka(cluster: Any) -> str:
    from kafka.admin import KafkaAdminClient

    from bigdata_admin.pilot.endpoints import kafka_bootstrap

    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap(cluster), client_id="bigdata-admin-reset",
                             request_timeout_ms=20000)
    try:
        if PILOT_TOPIC in admin.list_topics():
            admin.delete_topics([PILOT_TOPIC], timeout_ms=20000)
            return f"deleted topic {PILOT_TOPIC}"
        return f"no topic {PILOT_TOPIC}"
    finally:
        admin.close()


def _wipe_hbase(cluster: Any) -> str:
    from bigdata_admin.clients import happybase_connection

    conn = happybase_connection(cluster)
    try:
        if PILOT_HBASE_TABLE.encode() in conn.tables():
            conn.delete_table(PILOT_HBASE_TABLE, disable=True)
            return f"dropped {PILOT_HBASE_TABLE}"
        return f"no table {PILOT_HBASE_TABLE}"
    finally:
        conn.close()


WipeStep = tuple[str, tuple[str, ...], Callable[[Any], str]]
WIPE_STEPS: tuple[WipeStep, ...] = (
    ("hdfs", ("hdfs_namenode",), _wipe_hdfs),
    ("hive", ("hive_server2",), _wipe_hive),
    ("kafka", ("kafka_broker",), _wipe_kafka),
    ("hbase", ("hbase_master", "hbase_thrift"), _wipe_hbase),
)
"""(label, groups that must be deployed, step): what `reset` wipes, in order."""


def wipe_pilot_data(cluster: Any, wait_s: float = 180.0, interval_s: float = 5.0,
                    steps: Iterable[WipeStep] = WIPE_STEPS) -> list[str]:
    """Remove the pilot's data from a cluster, keeping the installation: HDFS /pilot-pjt, Hive tables
    smartcar_* / managed_smartcar_*, Kafka topic SmartCar-Topic, HBase table DriverCarInfo (each only
    where the service is deployed). A service just started may not answer yet: each step is retried
    every `interval_s` for up to `wait_s` seconds. Returns one line per step, `LABEL: what it did` or
    `LABEL: failed: why`."""
    from bigdata_admin import deployment

    absent = deployment.not_deployed(cluster)
    lines: list[str] = []
    for label, groups, step in steps:
        if not all(cluster.has(g) and g not in absent for g in groups):
            continue
        deadline = time.monotonic() + wait_s
        while True:
            try:
                lines.append(f"{label}: {step(cluster)}")
                break
            except Exception as exc:
                if time.monotonic() + interval_s > deadline:
                    lines.append(f"{label}: failed: {type(exc).__name__}: {exc}")
                    break
                time.sleep(interval_s)
    return lines


@dataclass
class ResetResult:
    student: str
    ok: bool
    steps: list[str]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"student": self.student, "ok": self.ok, "steps": self.steps,
                "seconds": round(self.seconds, 1)}


def reset(directory: Path, student: str, log: Callable[[str], None] | None = None) -> ResetResult:
    """Bring one student's cluster back to a fresh pilot: start every deployed service (a stopped one
    comes back), wipe the pilot's data, then restart the services (the installation is kept)."""
    from bigdata_admin import inventory as inv

    s = select(load(directory), [student])[0]
    started = time.monotonic()
    steps: list[str] = []
    say = log or (lambda _m: None)
    say(f"{s.student}: starting services")
    rc, out = _bigdata_admin("start", "-i", str(s.inventory), "--json")
    steps.append("start: ok" if rc == 0 else f"start: failed (rc {rc}): {failure_of(out)}")
    cluster = inv.load(s.inventory)
    say(f"{s.student}: wiping the pilot's data")
    steps += wipe_pilot_data(cluster)
    say(f"{s.student}: restarting services")
    rc2, out2 = _bigdata_admin("restart", "-i", str(s.inventory), "--json")
    steps.append("restart: ok" if rc2 == 0 else
                 f"restart: failed (rc {rc2}): {failure_of(out2)}")
    ok = rc == 0 and rc2 == 0 and not any(": failed" in x for x in steps)
    return ResetResult(s.student, ok, steps, time.monotonic() - started)


def destroy(directory: Path, students: Iterable[str] = (), parallel: int = 2,
            purge_data: bool = False) -> list[ResetResult]:
    """Remove every service of each student's cluster (`bigdata-admin destroy`: units, installs,
    configuration; data directories kept unless `purge_data`), several students at a time. The hosts
    stay (wipe them with your VM tooling, or `lab down` for labs)."""
    from bigdata_admin import dayops

    chosen = select(load(directory), students)

    def one(s: StudentInventory) -> ResetResult:
        started = time.monotonic()
        rc, out = _bigdata_admin("destroy", "-i", str(s.inventory), dayops.CONFIRM_FLAG,
                                 *(["--purge-data"] if purge_data else []), "--json")
        last = failure_of(out)
        steps = ["destroy: ok" + (", data purged" if purge_data else ", data kept") if rc == 0
                 else f"destroy: failed (rc {rc}): {last}"]
        return ResetResult(s.student, rc == 0, steps, time.monotonic() - started)

    with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(chosen)))) as pool:
        results = list(pool.map(one, chosen))
    state = load_state(directory)
    for r in results:
        if r.ok:
            state.get("students", {}).pop(r.student, None)
    (directory / STATE_FILE).write_text(json.dumps(state, indent=2))
    return results


# ------------------------------------------------------------------------------------ practice labs

def lab_student_need_mb(profile: str = "slim") -> int:
    """MiB one practice student (one lab host with `profile`, lab heaps) needs."""
    from bigdata_admin.lab.labinventory import LAB_SIZES

    return host_memory_needed(PROFILES[profile], {**LAB_SIZES, **PROFILE_SIZES})


def available_memory_mb(meminfo: Path = Path("/proc/meminfo")) -> int:
    """MemAvailable of this machine in MiB (0 when unknown)."""
    try:
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def check_lab_budget(students: int, profile: str, available_mb: int, reserve_mb: int = 1024) -> int:
    """MiB the practice labs need; BadInput when `students` x need exceeds available - reserve."""
    if students < 1:
        raise BadInput(f"--students {students} must be at least 1", fix="Use --students 1 or more.")
    need = lab_student_need_mb(profile)
    total = students * need
    if total > available_mb - reserve_mb:
        fit = max(0, (available_mb - reserve_mb) // need)
        raise BadInput(f"{students} student lab(s) need {total} MiB ({need} MiB each, profile {profile}) but "
                       f"this machine has {available_mb} MiB available ({reserve_mb} MiB kept free)",
                       fix=f"Use --students {fit} or fewer, or free memory (`bigdata-admin lab list`).")
    return total


def write_lab_roster(path: Path, labs: list[tuple[str, str, str]], memory_mb: int) -> Path:
    """A roster for practice labs: (student, lab name, address) -> CSV with the `lab` column."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "host", "address", "memory_mb", "ssh_user", "lab"])
        for student, lab, addr in labs:
            w.writerow([student, "h1", addr, memory_mb, "deploy", lab])
    return path
