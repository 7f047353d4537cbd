"""Run playbooks through ansible-runner: one run directory per run, live progress, a recap.

Public API (other modules use exactly this)::

    result = run_playbook("site", inventory, extravars={...}, tags=["zookeeper"], label="deploy")
    result.rc            # 0 ok, 1 a host failed, 3 a host unreachable, 2 bad input, 130 interrupted
    result.recap         # host -> HostRecap(ok, changed, failed, unreachable, skipped, ...)
    result.failures      # [Failure(host, task, message)]
    result.task_results  # task name -> host -> result dict of the tasks that ended ok
    result.run_dir       # <state>/runs/<time>-<label>/ (run.json, ansible.log, runner files)

Each run directory holds `run.json` (what ran and how it ended) and `ansible.log` (the full
output of ansible-playbook). The last `KEEP_RUNS` run directories are kept.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bigdata_admin import paths
from bigdata_admin.errors import BadInput
from bigdata_admin.procs import pid_alive

KEEP_RUNS = 20
RUN_FILE = "run.json"
LOG_FILE = "ansible.log"

RC_OK = 0
RC_FAILED = 1
RC_BAD_INPUT = 2
RC_UNREACHABLE = 3
RC_INTERRUPTED = 130

_LABEL_RE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass
class HostRecap:
    ok: int = 0
    changed: int = 0
    failed: int = 0
    unreachable: int = 0
    skipped: int = 0
    rescued: int = 0
    ignored: int = 0


@dataclass
class Failure:
    host: str
    task: str
    message: str
    unreachable: bool = False
    play: str = ""
    """The play the task belongs to (e.g. `HDFS`); empty in runs recorded before it was kept."""


@dataclass
class RunResult:
    rc: int
    status: str
    """ansible-runner's status: successful, failed, canceled, timeout, error."""
    recap: dict[str, HostRecap]
    failures: list[Failure]
    run_dir: Path
    task_results: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    label: str = "run"
    playbook: str = ""
    elapsed_s: float = 0.0
    plays: list[str] = field(default_factory=list)
    """The plays that started, in order (the last one is where a failed run stopped)."""

    @property
    def ok(self) -> bool:
        return self.rc == RC_OK

    @property
    def log_path(self) -> Path:
        return self.run_dir / LOG_FILE

    def as_dict(self) -> dict[str, Any]:
        return {
            "rc": self.rc,
            "status": self.status,
            "label": self.label,
            "playbook": self.playbook,
            "elapsed_s": round(self.elapsed_s, 2),
            "run_dir": str(self.run_dir),
            "log": str(self.log_path),
            "recap": {h: asdict(r) for h, r in self.recap.items()},
            "failures": [asdict(f) for f in self.failures],
            "plays": list(self.plays),
        }


# --------------------------------------------------------------------------------------------
# Inputs


def parse_extravars(values: Iterable[str]) -> dict[str, Any]:
    """`-e` values as ansible-playbook takes them: `k=v [k2=v2]`, `@file.yml` or a JSON/YAML mapping."""
    out: dict[str, Any] = {}
    for raw in values:
        value = raw.strip()
        if not value:
            continue
        if value.startswith("@"):
            path = Path(value[1:]).expanduser()
            try:
                data = yaml.safe_load(path.read_text(encoding="utf-8"))
            except OSError as exc:
                raise BadInput(f"cannot read extra-vars file {path}: {exc.strerror}",
                               fix="Pass an existing YAML or JSON file: -e @vars.yml") from exc
            except yaml.YAMLError as exc:
                raise BadInput(f"extra-vars file {path} is not valid YAML/JSON: {exc}",
                               fix="Fix the file's syntax.") from exc
            if data is None:
                continue
            if not isinstance(data, dict):
                raise BadInput(f"extra-vars file {path} must hold a mapping of variables",
                               fix="Write `name: value` lines in it.")
            out.update(data)
        elif value.startswith("{"):
            try:
                data = yaml.safe_load(value)
            except yaml.YAMLError as exc:
                raise BadInput(f"-e {value!r} is not a valid JSON/YAML mapping",
                               fix="Use -e key=value, -e @file.yml or -e '{\"key\": \"value\"}'.") from exc
            if not isinstance(data, dict):
                raise BadInput(f"-e {value!r} is not a mapping", fix="Use -e key=value.")
            out.update(data)
        else:
            for part in value.split():
                key, sep, val = part.partition("=")
                if not sep or not key.isidentifier():
                    raise BadInput(f"-e {part!r} is not key=value",
                                   fix="Use -e key=value, -e @file.yml or -e '{\"key\": \"value\"}'.")
                out[key] = val
    return out


def _resolve_playbook(playbook: str | Path) -> Path:
    candidate = Path(playbook)
    if candidate.is_file():
        return candidate.resolve()
    if not candidate.is_absolute() and len(candidate.parts) == 1:
        shipped = paths.playbook(str(playbook))
        if shipped.is_file():
            return shipped
    raise BadInput(f"playbook {playbook} does not exist",
                   fix=f"Pass a playbook file or the name of one in {paths.playbooks_dir()}.")


def _resolve_inventory(inventory: Path) -> Path:
    inv = Path(inventory)
    if not inv.exists():
        raise BadInput(f"inventory {inv} does not exist",
                       fix="Pass an inventory directory or file with -i, "
                           "or create one with `bigdata-admin init`.")
    return inv.resolve()


# --------------------------------------------------------------------------------------------
# Run directories


def _new_run_dir(label: str) -> Path:
    root = paths.runs_dir()
    root.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    safe = _LABEL_RE.sub("-", label).strip("-") or "run"
    base = f"{stamp}-{safe}"
    for n in range(1000):
        candidate = root / (base if n == 0 else f"{base}.{n}")
        try:
            candidate.mkdir(mode=0o700)
        except FileExistsError:
            continue
        return candidate
    raise RuntimeError(f"cannot create a run directory under {root}")


def list_runs() -> list[dict[str, Any]]:
    """Past runs, newest first: the content of each run's run.json plus `id`."""
    root = paths.runs_dir()
    if not root.is_dir():
        return []
    out = []
    for d in sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True):
        info: dict[str, Any] = {"id": d.name, "run_dir": str(d), "log": str(d / LOG_FILE)}
        try:
            info.update(json.loads((d / RUN_FILE).read_text()))
        except (OSError, ValueError):
            info.setdefault("status", "unknown")
        info["id"] = d.name
        out.append(info)
    return out


def find_run(run_id: str) -> dict[str, Any]:
    """One past run by id, id prefix, or `last`. Raises BadInput when there is none."""
    runs = list_runs()
    if not runs:
        raise BadInput("no runs recorded yet", fix="Run `bigdata-admin deploy -i INVENTORY` first.")
    if run_id in ("last", "latest"):
        return runs[0]
    matches = [r for r in runs if r["id"] == run_id] or [r for r in runs if r["id"].startswith(run_id)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise BadInput(f"no run {run_id!r}", fix="List the runs with `bigdata-admin runs list`.")
    raise BadInput(f"{run_id!r} matches {len(matches)} runs",
                   fix="Give more of the id; `bigdata-admin runs list` shows them.")


def result_from_record(info: dict[str, Any]) -> RunResult:
    """A RunResult rebuilt from a run's run.json (for `runs show`)."""
    fields = HostRecap.__dataclass_fields__
    return RunResult(
        rc=int(info.get("rc", RC_FAILED)), status=str(info.get("status", "unknown")),
        recap={h: HostRecap(**{k: int(v) for k, v in r.items() if k in fields})
               for h, r in (info.get("recap") or {}).items()},
        failures=[Failure(**{k: v for k, v in f.items() if k in Failure.__dataclass_fields__})
                  for f in info.get("failures") or []],
        run_dir=Path(info["run_dir"]), label=str(info.get("label", "run")),
        playbook=str(info.get("playbook", "")), elapsed_s=float(info.get("elapsed_s") or 0),
        plays=[str(p) for p in info.get("plays") or []])


def prune_runs(keep: int = KEEP_RUNS) -> list[Path]:
    """Delete all but the newest `keep` run directories; returns what was removed."""
    root = paths.runs_dir()
    if not root.is_dir():
        return []
    dirs = sorted((p for p in root.iterdir() if p.is_dir()), key=lambda p: p.name, reverse=True)
    removed = []
    for old in dirs[keep:]:
        shutil.rmtree(old, ignore_errors=True)
        removed.append(old)
    return removed


# --------------------------------------------------------------------------------------------
# Events -> progress, recap, failures


def failure_message(res: dict[str, Any]) -> str:
    """The plain reason a task failed, from a module result."""
    parts: list[str] = []
    msg = res.get("msg")
    if msg:
        parts.append(str(msg).strip())
    for key in ("stderr", "module_stderr"):
        val = res.get(key)
        if val and str(val).strip() and str(val).strip() not in parts:
            parts.append(str(val).strip())
    if not res.get("stderr") and res.get("rc") not in (None, 0) and res.get("stdout"):
        parts.append(str(res["stdout"]).strip())
    if "rc" in res and res.get("rc") not in (None, 0) and "cmd" in res:
        parts.append(f"(exit status {res['rc']})")
    for item in res.get("results") or []:
        if isinstance(item, dict) and item.get("failed"):
            label = item.get("item")
            text = failure_message(item)
            parts.append(f"item {label!r}: {text}" if label is not None else text)
    if not parts and res.get("exception"):
        parts.append(str(res["exception"]).strip().splitlines()[-1])
    text = "\n".join(p for p in parts if p)
    return text or "failed (no message; see the run's log)"


class _Tracker:
    """Folds ansible-runner events into progress state, results and failures."""

    def __init__(self) -> None:
        self.play = ""
        self.plays: list[str] = []
        self.task = ""
        self.task_uuid = ""
        self.started: set[str] = set()
        self.done: set[str] = set()
        self.failures: list[Failure] = []
        self.task_results: dict[str, dict[str, dict[str, Any]]] = {}
        self.stats: dict[str, Any] | None = None
        self.tasks_seen = 0
        self.errors: list[str] = []
        self.lock = threading.Lock()

    def handle(self, event: dict[str, Any]) -> bool:
        kind = event.get("event", "")
        data = event.get("event_data") or {}
        with self.lock:
            if kind == "playbook_on_play_start":
                self.play = data.get("play", "") or data.get("name", "")
                self.plays.append(self.play)
            elif kind in ("playbook_on_task_start", "playbook_on_handler_task_start"):
                self.task = data.get("task", "") or data.get("name", "")
                self.task_uuid = data.get("task_uuid", "")
                self.started, self.done = set(), set()
                self.tasks_seen += 1
            elif kind == "runner_on_start":
                self.started.add(data.get("host", ""))
            elif kind in ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable"):
                host = data.get("host", "")
                task = data.get("task", "") or self.task
                res = data.get("res") or {}
                self.done.add(host)
                self.started.add(host)
                if kind == "runner_on_ok":
                    self.task_results.setdefault(task, {})[host] = res
                elif kind == "runner_on_failed" and not data.get("ignore_errors"):
                    self.failures.append(Failure(host, task, failure_message(res), play=self.play))
                elif kind == "runner_on_unreachable":
                    self.failures.append(Failure(host, task, failure_message(res), unreachable=True,
                                                 play=self.play))
            elif kind == "playbook_on_stats":
                self.stats = data
            elif kind == "verbose" and "ERROR!" in (event.get("stdout") or ""):
                self.errors.append(event["stdout"].strip())
        return True

    def recap(self) -> dict[str, HostRecap]:
        if not self.stats:
            return {}
        keys = {"ok": "ok", "changed": "changed", "failed": "failures", "unreachable": "dark",
                "skipped": "skipped", "rescued": "rescued", "ignored": "ignored"}
        hosts: set[str] = set()
        for src in keys.values():
            hosts.update((self.stats.get(src) or {}).keys())
        hosts.update((self.stats.get("processed") or {}).keys())
        return {
            h: HostRecap(**{dst: int((self.stats.get(src) or {}).get(h, 0)) for dst, src in keys.items()})
            for h in sorted(hosts)
        }


def _exit_code(status: str, ansible_rc: int | None, recap: dict[str, HostRecap], canceled: bool) -> int:
    if canceled or status == "canceled":
        return RC_INTERRUPTED
    if any(r.unreachable for r in recap.values()):
        return RC_UNREACHABLE
    if any(r.failed for r in recap.values()):
        return RC_FAILED
    if status == "successful" and ansible_rc in (0, None):
        return RC_OK
    if not recap and ansible_rc in (4, 5):
        # ansible-playbook's parser / option errors: the playbook or the inventory is wrong.
        return RC_BAD_INPUT
    return RC_FAILED


# --------------------------------------------------------------------------------------------
# The run


def _ansible_playbook_binary() -> str:
    beside = Path(sys.executable).parent / "ansible-playbook"
    if beside.is_file():
        return str(beside)
    found = shutil.which("ansible-playbook")
    if not found:
        raise BadInput("ansible-playbook is not installed",
                       fix="Install ansible-core into the environment running bigdata-admin.")
    return found


def mitogen_strategy_dir() -> Path | None:
    """The directory of Mitogen's strategy plugins when Mitogen is installed and not turned off, else None.

    Mitogen (extra `fast`) keeps one Python interpreter per host and runs each module in it, instead of
    one SSH command and one new interpreter per task and loop item. `BIGDATA_ADMIN_MITOGEN=0` turns it
    off (Ansible's own `linear` strategy then). Nothing is imported: only the package is looked up.
    """
    if os.environ.get("BIGDATA_ADMIN_MITOGEN", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    try:
        spec = importlib.util.find_spec("ansible_mitogen")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        strategy_dir = Path(location) / "plugins" / "strategy"
        if (strategy_dir / "mitogen_linear.py").is_file():
            return strategy_dir
    return None


def _cmdline(check: bool, diff: bool, verbosity: int) -> str:
    parts = []
    if check:
        parts.append("--check")
    if diff:
        parts.append("--diff")
    if verbosity:
        parts.append("-" + "v" * min(verbosity, 5))
    return " ".join(parts)


def run_playbook(
    playbook: str | Path,
    inventory: Path,
    *,
    extravars: dict[str, Any] | None = None,
    limit: str | None = None,
    tags: list[str] | None = None,
    skip_tags: list[str] | None = None,
    check: bool = False,
    diff: bool = False,
    verbosity: int = 0,
    label: str = "run",
    show_progress: bool = True,
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> RunResult:
    """Run one playbook and return how it ended. Raises BadInput (nothing was run) on bad input."""
    import ansible_runner

    pb = _resolve_playbook(playbook)
    inv = _resolve_inventory(Path(inventory))
    if verbosity < 0:
        raise BadInput("verbosity must be >= 0", fix="Use -v, -vv, ... up to -vvvvv.")
    binary_dir = str(Path(_ansible_playbook_binary()).parent)

    strategy_dir = mitogen_strategy_dir()
    run_dir = _new_run_dir(label)
    prune_runs(KEEP_RUNS)
    started = time.monotonic()
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    meta: dict[str, Any] = {
        "label": label,
        "playbook": str(pb),
        "inventory": str(inv),
        "limit": limit,
        "tags": tags or [],
        "skip_tags": skip_tags or [],
        "check": check,
        "diff": diff,
        "extravars": sorted((extravars or {}).keys()),
        "started": started_at,
        "status": "running",
        "strategy": "mitogen_linear" if strategy_dir is not None else "linear",
    }
    (run_dir / RUN_FILE).write_text(json.dumps(meta, indent=2))

    tracker = _Tracker()
    cancel = threading.Event()

    def handle(event: dict[str, Any]) -> bool:
        tracker.handle(event)
        if on_event is not None:
            on_event(event)
        return True

    envvars = {
        "ANSIBLE_ROLES_PATH": str(paths.roles_dir()),
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        # site.yml has one play per service: gather each host's facts once per run, not once per play,
        # and send modules through the SSH connection instead of copying them first.
        "ANSIBLE_GATHERING": "smart",
        "ANSIBLE_PIPELINING": "True",
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=120s",
        # ansible-runner starts `ansible-playbook` from PATH: use the one beside this Python.
        "PATH": os.pathsep.join([binary_dir, os.environ.get("PATH", "")]),
    }
    if strategy_dir is not None:
        # Same order and lock-step as `linear` (the roles' one-node-at-a-time restarts rely on it).
        envvars["ANSIBLE_STRATEGY_PLUGINS"] = str(strategy_dir)
        envvars["ANSIBLE_STRATEGY"] = "mitogen_linear"
    kwargs: dict[str, Any] = {
        "private_data_dir": str(run_dir),
        "playbook": str(pb),
        "inventory": str(inv),
        "ident": "ansible",
        "envvars": envvars,
        "extravars": dict(extravars or {}),
        "limit": limit,
        "tags": ",".join(tags) if tags else None,
        "skip_tags": ",".join(skip_tags) if skip_tags else None,
        "cmdline": _cmdline(check, diff, verbosity) or None,
        "event_handler": handle,
        "cancel_callback": cancel.is_set,
        "quiet": True,
        "rotate_artifacts": 0,
        "settings": {"suppress_ansible_output": True},
    }
    kwargs = {k: v for k, v in kwargs.items() if v is not None}

    with _interruptible():
        thread, runner = ansible_runner.run_async(**kwargs)
        interrupted = False
        progress = _Progress(tracker, label, pb.name) if show_progress else None
        try:
            if progress:
                progress.start()
            while thread.is_alive():
                thread.join(0.1)
                if progress:
                    progress.update()
        except KeyboardInterrupt:
            interrupted = True
            if progress:
                progress.stop()
                progress = None
            _stop_ansible(pb)
            cancel.set()
            # The runner notices the cancel (or the exit) and finishes; wait for it.
            while thread.is_alive():
                try:
                    thread.join(0.5)
                except KeyboardInterrupt:
                    continue
        finally:
            if progress:
                progress.stop()

    elapsed = time.monotonic() - started
    recap = tracker.recap()
    status = str(runner.status)
    ansible_rc = runner.rc
    rc = _exit_code(status, ansible_rc, recap, interrupted)
    failures = list(tracker.failures)
    if rc in (RC_FAILED, RC_BAD_INPUT) and not failures:
        failures.append(Failure("localhost", "(ansible-playbook)", _tail_error(run_dir, tracker)))

    _copy_log(run_dir)
    result = RunResult(rc=rc, status="canceled" if interrupted else status, recap=recap, failures=failures,
                       run_dir=run_dir, task_results=tracker.task_results, label=label, playbook=str(pb),
                       elapsed_s=elapsed, plays=list(tracker.plays))
    meta.update(result.as_dict())
    meta.update({"ansible_rc": ansible_rc, "finished": datetime.now(UTC).isoformat(timespec="seconds")})
    (run_dir / RUN_FILE).write_text(json.dumps(meta, indent=2, default=str))
    return result


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """SIGINT raises KeyboardInterrupt for the duration of a run, and ansible-playbook starts with
    SIGINT at its default, however this process was started.

    A process started in the background by a non-interactive shell begins with SIGINT ignored, and
    Python then never raises KeyboardInterrupt; ansible-playbook would inherit the ignore and could
    not be stopped with SIGINT either. A handler another part of the program installed is kept.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous not in (signal.SIG_IGN, signal.SIG_DFL, None):
        yield
        return
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _process_table() -> dict[int, int]:
    """pid -> parent pid of every process (Linux /proc)."""
    table: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            table[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return table


def _descendants(root: int, table: dict[int, int]) -> list[int]:
    """Every process below `root`, children before parents' parents (deepest last)."""
    out: list[int] = []
    frontier = [root]
    while frontier:
        nxt = [pid for pid, ppid in table.items() if ppid in frontier]
        out += nxt
        frontier = nxt
    return out


def _signal_all(pids: Iterable[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _proc_cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _stop_ansible(playbook: Path, grace_s: float = 8.0) -> None:
    """Stop ansible-playbook and everything it started (its workers leave its process group).

    ansible-playbook gets SIGINT first (it stops its workers and exits), then whatever is left of
    its process tree gets SIGTERM, then SIGKILL.
    """
    if not Path("/proc").is_dir():
        return
    table = _process_table()
    mains = [pid for pid, ppid in table.items()
             if ppid == os.getpid() and "ansible-playbook" in (cmd := _proc_cmdline(pid))
             and str(playbook) in cmd]
    tree = {pid for main in mains for pid in _descendants(main, table)} | set(mains)
    _signal_all(mains, signal.SIGINT)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and any(pid_alive(p) for p in mains):
        time.sleep(0.2)
    table = _process_table()
    tree |= {pid for root in list(tree) for pid in _descendants(root, table)}
    left = [p for p in tree if pid_alive(p)]
    _signal_all(left, signal.SIGTERM)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline and any(pid_alive(p) for p in left):
        time.sleep(0.1)
    _signal_all([p for p in left if pid_alive(p)], signal.SIGKILL)


def _stdout_path(run_dir: Path) -> Path:
    return run_dir / "artifacts" / "ansible" / "stdout"


def _copy_log(run_dir: Path) -> None:
    src = _stdout_path(run_dir)
    try:
        shutil.copyfile(src, run_dir / LOG_FILE)
    except OSError:
        (run_dir / LOG_FILE).write_text("")


def _tail_error(run_dir: Path, tracker: _Tracker) -> str:
    if tracker.errors:
        return "\n".join(tracker.errors)
    try:
        lines = _stdout_path(run_dir).read_text(errors="replace").splitlines()
    except OSError:
        return "ansible-playbook failed before running any task; see the run's log"
    errs = [i for i, line in enumerate(lines) if "ERROR!" in line]
    if errs:
        return "\n".join(lines[errs[0]:errs[0] + 8]).strip()
    return "\n".join(lines[-8:]).strip() or "ansible-playbook failed; see the run's log"


class _Progress:
    """A live line on stderr: spinner, play, task, hosts done/total, elapsed.

    When stderr is not a terminal (output going to a file or a pipe), one plain line per task
    instead: `[  12s] deploy: ZooKeeper | task 14: Render zoo.cfg`, so a log shows the run moving.
    """

    def __init__(self, tracker: _Tracker, label: str, playbook: str, console: Any | None = None) -> None:
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.tracker = tracker
        self.label = label
        self.console = console or Console(stderr=True)
        self.lines = not self.console.is_terminal
        self.started = time.monotonic()
        self.last_task = 0
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.fields[play]}[/]"),
            TextColumn("{task.description}"),
            TextColumn("[cyan]{task.fields[hosts]}[/]"),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self.task_id = self.progress.add_task(f"{label}: {playbook}", play="", hosts="")

    def start(self) -> None:
        if not self.lines:
            self.progress.start()

    def update(self) -> None:
        t = self.tracker
        with t.lock:
            play, task = t.play, t.task
            done, total = len(t.done), len(t.started)
            n = t.tasks_seen
        if self.lines:
            if n != self.last_task:
                self.last_task = n
                elapsed = time.monotonic() - self.started
                self.console.print(f"[{elapsed:5.0f}s] {self.label}: {play} | task {n}: {task}",
                                   markup=False, highlight=False, soft_wrap=True)
            return
        hosts = f"hosts {done}/{total}" if total else ""
        self.progress.update(self.task_id, play=play[:40], description=f"task {n}: {task[:60]}", hosts=hosts)

    def stop(self) -> None:
        if not self.lines:
            self.progress.stop()


# --------------------------------------------------------------------------------------------
# Human output


def render(result: RunResult, console: Any | None = None) -> None:
    """Print the recap table per host, then each failed task's message plainly."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    out = console or Console()
    table = Table(title=escape(f"{result.label}: {Path(result.playbook).name} ({result.elapsed_s:.1f} s)"))
    table.add_column("host")
    for col in ("ok", "changed", "failed", "unreachable", "skipped"):
        table.add_column(col, justify="right")
    for host, r in result.recap.items():
        style = "red" if (r.failed or r.unreachable) else ("yellow" if r.changed else "green")
        table.add_row(Text(host), str(r.ok), str(r.changed), str(r.failed), str(r.unreachable),
                      str(r.skipped), style=style)
    if result.recap:
        out.print(table)
    for f in result.failures:
        kind = "UNREACHABLE" if f.unreachable else "FAILED"
        out.print(f"[bold red]{kind}[/] [bold]{escape(f.host)}[/] — {escape(f.task)}", highlight=False)
        for line in f.message.splitlines() or [""]:
            out.print(f"    {line}", highlight=False, markup=False, soft_wrap=True)
    verdict = {
        RC_OK: "[green]succeeded[/]",
        RC_FAILED: "[red]failed[/]",
        RC_UNREACHABLE: "[red]failed: host unreachable[/]",
        RC_BAD_INPUT: "[red]could not start: bad input[/]",
        RC_INTERRUPTED: "[yellow]interrupted (stopped cleanly)[/]",
    }.get(result.rc, f"ended with exit code {result.rc}")
    out.print(f"Run {verdict}. Log: {escape(str(result.log_path))}", highlight=False, soft_wrap=True)
