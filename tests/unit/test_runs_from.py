"""roles/bigdata_defaults/files/runs-from, the helper the upgrade tasks ask which release a daemon runs
from: run for real against a process holding a jar open, with `systemctl show` answered by a stand-in."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

HELPER = Path(__file__).resolve().parents[2] / "roles/bigdata_defaults/files/runs-from"


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    """A process holding <tmp>/hadoop-3.4.2/share/hadoop-common-3.4.2.jar open, and the environment
    under which `systemctl show -p MainPID --value hdfs-datanode` names it (0 for any other unit)."""
    jar = tmp_path / "hadoop-3.4.2/share/hadoop-common-3.4.2.jar"
    jar.parent.mkdir(parents=True)
    jar.write_bytes(b"PK")
    with open(jar, "rb") as held:
        proc = subprocess.Popen(["sleep", "60"], pass_fds=(held.fileno(),))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "systemctl"
    fake.write_text(f'#!/bin/sh\n[ "$5" = hdfs-datanode ] && echo {proc.pid} || echo 0\n')
    fake.chmod(0o755)
    try:
        yield tmp_path, {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    finally:
        proc.kill()
        proc.wait()


def _rc(env: dict[str, str], unit: str, where: str) -> int:
    return subprocess.run([str(HELPER), unit, where], env=env, check=False).returncode


def test_a_release_directory_the_daemon_holds_a_file_of(daemon: tuple[Path, dict[str, str]]) -> None:
    root, env = daemon
    assert _rc(env, "hdfs-datanode", str(root / "hadoop-3.4.2")) == 0
    assert _rc(env, "hdfs-datanode", str(root / "hadoop-3.4.2") + "/") == 0
    assert _rc(env, "hdfs-datanode", str(root / "hadoop-3.4.1")) == 1
    # A directory whose name starts like the release's is another directory.
    assert _rc(env, "hdfs-datanode", str(root / "hadoop-3.4")) == 1


def test_a_file_pattern(daemon: tuple[Path, dict[str, str]]) -> None:
    _, env = daemon
    assert _rc(env, "hdfs-datanode", "*/hadoop-common-3.4.2.jar") == 0
    assert _rc(env, "hdfs-datanode", "*/hadoop-common-3.4.1.jar") == 1


def test_a_unit_that_does_not_run(daemon: tuple[Path, dict[str, str]]) -> None:
    root, env = daemon
    assert _rc(env, "hbase-master", str(root / "hadoop-3.4.2")) == 3
