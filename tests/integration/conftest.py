"""Integration fixtures. `lab`: a 3-node lab of real systemd-nspawn hosts, shared by the session.

The lab is named `ci` (override with BIGDATA_LAB_NAME). A running lab of that name is reused. Several
test sessions (other helpers, parallel runs) may share it: each holds a lease while it runs, and the
last one out brings the lab down if a test session created it. BIGDATA_LAB_KEEP=1 leaves it up.
Skips cleanly when not root or systemd-nspawn is missing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bigdata_admin.procs import pid_alive


def _needs_main_lab(item: pytest.Item) -> bool:
    return "main_lab" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Order: the tests that do not need the main lab first (the unit tests among them), while the main
    job runs in the background (started at the end of collection); then the main lab's tests; last the
    `mutates_cluster` ones (rolling restarts, destroy), in their own order, so that the others see the
    main lab as its deploy left it. The sort is stable: file order within each part."""
    items.sort(key=lambda item: (item.get_closest_marker("mutates_cluster") is not None,
                                 _needs_main_lab(item)))


def _lab_skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, mounts, systemd-nspawn)"
    if shutil.which("systemd-nspawn") is None:
        return "systemd-nspawn is not installed (apt-get install systemd-container)"
    from bigdata_admin.lab import image

    if image.current() is None and shutil.which("debootstrap") is None:
        return "no cached lab image and no debootstrap to build one (apt-get install debootstrap)"
    return None


def _live_leases(lease_dir: Path) -> list[int]:
    live = []
    if lease_dir.is_dir():
        for f in lease_dir.iterdir():
            with contextlib.suppress(ValueError):
                pid = int(f.name)
                if pid_alive(pid):
                    live.append(pid)
                    continue
            f.unlink(missing_ok=True)
    return live


@pytest.fixture(scope="session")
def lab() -> Iterator[object]:
    """A running 3-node lab: `.name`, `.inventory` (Path), `.hosts` (name -> address), `.gateway`,
    `.artifact_url`, `.proxy_url`, `.key`, `.known_hosts`, `.ssh_command(host, *cmd)`."""
    reason = _lab_skip_reason()
    if reason:
        pytest.skip(reason)
    from bigdata_admin import lab as labmod
    from bigdata_admin.lab.machines import lab_dir
    from bigdata_admin.lab.util import labs_dir, locked

    name = os.environ.get("BIGDATA_LAB_NAME", "ci")
    fixture_lock = labs_dir() / ".locks" / f"{name}.fixture.lock"
    with locked(fixture_lock):
        current = labmod.get(name)
        existed = current is not None and all(
            h["state"] != "stopped" for h in labmod.status(name)["hosts"])
        lb = labmod.up(name=name, nodes=3)
        leases = lab_dir(name) / "leases"
        leases.mkdir(exist_ok=True)
        owned_flag = lab_dir(name) / "created-by-tests"
        if not existed:
            owned_flag.touch()
        (leases / str(os.getpid())).touch()
    try:
        yield lb
    finally:
        with locked(fixture_lock):
            (leases / str(os.getpid())).unlink(missing_ok=True)
            if (owned_flag.exists() and not _live_leases(leases)
                    and os.environ.get("BIGDATA_LAB_KEEP") != "1"):
                labmod.down(name)


MAIN_LAB = os.environ.get("BIGDATA_MAIN_LAB_NAME", "main")
MAIN_RUN_TIMEOUT_S = 4200  # cold fetch + full deploy + smoke on a busy 2-core machine


class _MainJob:
    """`lab run --name MAIN_LAB` in the background: started when collection ends (so the tests that do
    not need it run meanwhile) or, failing that, by the `main_lab` fixture."""

    def __init__(self) -> None:
        import subprocess
        import sys
        import tempfile
        import threading
        import time

        from bigdata_admin import lab as labmod

        if labmod.get(MAIN_LAB) is not None:
            # Left by an interrupted session (a kept state directory, as CI's): the job starts fresh.
            labmod.down(MAIN_LAB)
        self.log = Path(tempfile.mkstemp(prefix="main-job-", suffix=".log")[1])
        self.started = time.monotonic()
        with open(self.log, "w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bigdata_admin", "lab", "run", "--name", MAIN_LAB],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True,
                start_new_session=True, env={**os.environ, "COLUMNS": "160"})
        self.used = False
        self.ended: float | None = None

        def note_end() -> None:
            self.proc.wait()
            self.ended = time.monotonic()

        threading.Thread(target=note_end, daemon=True).start()

    def result(self) -> dict[str, object]:
        """Wait for the job (up to MAIN_RUN_TIMEOUT_S from its start); {"rc", "out", "seconds"}."""
        import subprocess
        import time

        try:
            rc = self.proc.wait(timeout=max(1.0, MAIN_RUN_TIMEOUT_S - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired:
            self.stop()
            rc = -9
        return {"rc": rc, "out": self.log.read_text(errors="replace"),
                "seconds": (self.ended or time.monotonic()) - self.started}

    def stop(self) -> None:
        import signal
        import subprocess

        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:  # still running after SIGTERM
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(30)


_main_job: _MainJob | None = None


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the main job in the background when a selected test needs it (not for --collect-only, not
    when BIGDATA_MAIN_LAB_REUSE=1 finds a kept lab, not where the lab cannot run)."""
    global _main_job
    if session.config.option.collectonly or not any(_needs_main_lab(i) for i in session.items):
        return
    if _lab_skip_reason() is not None:
        return
    from bigdata_admin import lab as labmod

    if os.environ.get("BIGDATA_MAIN_LAB_REUSE") == "1" and labmod.get(MAIN_LAB) is not None:
        return
    _main_job = _MainJob()


def pytest_sessionfinish(session: pytest.Session) -> None:
    """A main job no test waited for (the session stopped early) is stopped, and its lab taken down."""
    if _main_job is None or _main_job.used:
        return
    _main_job.stop()
    if os.environ.get("BIGDATA_LAB_KEEP") != "1":
        from bigdata_admin import lab as labmod

        with contextlib.suppress(Exception):
            labmod.down(MAIN_LAB)


@pytest.fixture(scope="session")
def main_lab() -> Iterator[dict[str, object]]:
    """The README's main job, once per session: `bigdata-admin lab run --name main` on a fresh 3-host
    lab (a `main` lab left by an interrupted session is taken down first), started in the background
    when collection ends. Yields {"rc", "out" (stdout+stderr), "inventory" (Path), "seconds"}. The lab
    goes down at the end of the session unless BIGDATA_LAB_KEEP=1. BIGDATA_MAIN_LAB_REUSE=1 (local
    iteration) takes an existing `main` lab as it is, without running the job again."""
    global _main_job
    reason = _lab_skip_reason()
    if reason:
        pytest.skip(reason)
    from bigdata_admin import lab as labmod

    existing = labmod.get(MAIN_LAB)
    if os.environ.get("BIGDATA_MAIN_LAB_REUSE") == "1" and existing is not None:
        # Local iteration only: the lab a kept earlier session deployed (BIGDATA_LAB_KEEP=1), as it is.
        yield {"rc": 0, "out": "reused", "inventory": Path(existing.inventory), "seconds": 0.0}
        return
    if _main_job is None:
        _main_job = _MainJob()
    _main_job.used = True
    job = _main_job.result()
    lb = labmod.get(MAIN_LAB)
    assert lb is not None, str(job["out"])[-6000:]
    try:
        yield {**job, "inventory": Path(lb.inventory)}
    finally:
        if os.environ.get("BIGDATA_LAB_KEEP") != "1":
            labmod.down(MAIN_LAB)
