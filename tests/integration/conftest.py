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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `mutates_cluster` (rolling restarts, destroy) run after every other test, in their
    own order: the others see the main lab as its deploy left it."""
    items.sort(key=lambda item: item.get_closest_marker("mutates_cluster") is not None)


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


@pytest.fixture(scope="session")
def main_lab() -> Iterator[dict[str, object]]:
    """The README's main job, once per session: `bigdata-admin lab run --name main` on a fresh 3-host
    lab (a `main` lab left by an interrupted session is taken down first). Yields {"rc", "out"
    (stdout+stderr), "inventory" (Path), "seconds"}. The lab goes down at the end of the session unless
    BIGDATA_LAB_KEEP=1. BIGDATA_MAIN_LAB_REUSE=1 (local iteration) takes an existing `main` lab as it is,
    without running the job again."""
    import subprocess
    import sys
    import time

    reason = _lab_skip_reason()
    if reason:
        pytest.skip(reason)
    from bigdata_admin import lab as labmod

    existing = labmod.get(MAIN_LAB)
    if os.environ.get("BIGDATA_MAIN_LAB_REUSE") == "1" and existing is not None:
        # Local iteration only: the lab a kept earlier session deployed (BIGDATA_LAB_KEEP=1), as it is.
        yield {"rc": 0, "out": "reused", "inventory": Path(existing.inventory), "seconds": 0.0}
        return
    if existing is not None:
        # Left by an interrupted session (a kept state directory, as CI's): the job starts fresh.
        labmod.down(MAIN_LAB)
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "bigdata_admin", "lab", "run", "--name", MAIN_LAB],
                          capture_output=True, text=True, timeout=MAIN_RUN_TIMEOUT_S, check=False,
                          env={**os.environ, "COLUMNS": "160"})
    lb = labmod.get(MAIN_LAB)
    assert lb is not None, proc.stdout[-3000:] + proc.stderr[-3000:]
    try:
        yield {"rc": proc.returncode, "out": proc.stdout + proc.stderr, "inventory": Path(lb.inventory),
               "seconds": time.monotonic() - started}
    finally:
        if os.environ.get("BIGDATA_LAB_KEEP") != "1":
            labmod.down(MAIN_LAB)
