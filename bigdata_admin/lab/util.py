"""Small helpers shared by the lab modules: running commands, root check, file locks, state paths."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from bigdata_admin import paths
from bigdata_admin.errors import BadInput, NeedsRoot, RunFailed
from bigdata_admin.procs import locked as locked


def lab_root() -> Path:
    """`<state dir>/lab`: images, one directory per lab, the package cache of the relay."""
    return paths.state_dir() / "lab"


def labs_dir() -> Path:
    return lab_root() / "labs"


def require_root(verb: str = "the lab") -> None:
    if os.geteuid() != 0:
        raise NeedsRoot(
            f"{verb} needs root: it creates network namespaces, a bridge, overlay mounts and containers",
            fix="Run it as root (e.g. `sudo bigdata-admin lab ...`).",
        )
    if shutil.which("systemd-nspawn") is None:
        raise BadInput("systemd-nspawn is not installed on this machine",
                       fix="Install it: `apt-get install systemd-container debootstrap`.")


def run(cmd: Sequence[str], *, check: bool = True, quiet: bool = False,
        input_: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure raise RunFailed quoting its stderr (unless check=False)."""
    proc = subprocess.run(list(cmd), capture_output=True, text=True, input=input_, check=False)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()
        raise RunFailed(f"`{' '.join(cmd)}` failed (exit {proc.returncode}): {detail}",
                        fix=None if quiet else "Read the message above; `bigdata-admin lab down` cleans up "
                        "a half-made lab.")
    return proc


def ok(cmd: Sequence[str]) -> bool:
    """True when the command exits 0 (output discarded)."""
    return subprocess.run(list(cmd), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                          check=False).returncode == 0


def wait_until(predicate: object, timeout: float, interval: float = 0.05) -> bool:
    """Call `predicate()` until it is true or `timeout` seconds pass."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def mounts_under(path: Path) -> list[Path]:
    """Mount points at or below `path`, deepest first."""
    root = str(path.resolve())
    found: list[Path] = []
    with open("/proc/self/mounts") as fh:
        for line in fh:
            target = line.split()[1].encode().decode("unicode_escape")
            if target == root or target.startswith(root + "/"):
                found.append(Path(target))
    return sorted(set(found), key=lambda p: len(p.parts), reverse=True)


def unmount(path: Path, timeout: float = 5.0) -> None:
    """Unmount `path` (retrying while busy; lazily as a last resort)."""
    deadline = time.monotonic() + timeout
    while path in mounts_under(path):
        if ok(["umount", str(path)]):
            continue
        if time.monotonic() >= deadline:
            run(["umount", "--lazy", str(path)])
            return
        time.sleep(0.1)


def remove_tree(path: Path) -> None:
    """Delete a directory tree, first unmounting anything mounted inside it (never follow a mount:
    a debootstrap tree may still have /proc or /dev mounted)."""
    if not path.exists():
        return
    for m in mounts_under(path):
        unmount(m)
    if mounts_under(path):
        raise RunFailed(f"{path} still has mounts; not deleting it", fix="Unmount them by hand.")
    # rm is much faster than shutil.rmtree on big trees; --one-file-system never crosses a mount.
    if not ok(["rm", "-rf", "--one-file-system", "--", str(path)]):
        shutil.rmtree(path, ignore_errors=True)
