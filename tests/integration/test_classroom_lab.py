"""Classroom mode for real (opt-in: BIGDATA_TEST_CLASSROOM_LAB=1; root, systemd-nspawn): three
students' one-host labs (`lab up --students 3 --profile P`), deployed in parallel; the grid all
healthy; one student's Kafka stopped shows `down` in the terminal grid, the JSON and the HTML page (in
headless Chromium when installed); `classroom reset` brings it back and wipes the pilot's data
(an HDFS directory and, with Hive, a table made before the reset).

The profile is BIGDATA_CLASSROOM_PROFILE: `slim` (default, the issue's: ZooKeeper, HDFS, YARN, Hive
with its PostgreSQL, Kafka; 4 GiB declared per student) or `mini` (no Hive). The labs are named
BIGDATA_CLASSROOM_LAB (default `class`)-s1..s3, reused when up, and taken down at the end unless
BIGDATA_LAB_KEEP=1. BIGDATA_CLASSROOM_SHOT_DIR keeps the broken grid's screenshot (broken.png).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]

NAME = os.environ.get("BIGDATA_CLASSROOM_LAB", "class")
PROFILE = os.environ.get("BIGDATA_CLASSROOM_PROFILE", "slim")
DEPLOY_TIMEOUT_S = 3600


def _skip_reason() -> str | None:
    if os.environ.get("BIGDATA_TEST_CLASSROOM_LAB") != "1":
        return "opt-in: set BIGDATA_TEST_CLASSROOM_LAB=1 (three labs, 10-12 GiB declared, a parallel deploy)"
    from bigdata_admin import classroom

    if PROFILE not in classroom.PROFILES:
        return f"BIGDATA_CLASSROOM_PROFILE={PROFILE!r}: use one of {', '.join(classroom.PROFILES)}"
    if os.geteuid() != 0:
        return "the lab needs root"
    if shutil.which("systemd-nspawn") is None:
        return "systemd-nspawn is not installed (apt-get install systemd-container)"
    return None


def bda(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bigdata_admin", *args], capture_output=True, text=True,
                          timeout=timeout, check=False, env={**os.environ, "COLUMNS": "200"})


@pytest.fixture(scope="module")
def classroom_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    from bigdata_admin import lab

    up = bda("lab", "up", "--students", "3", "--name", NAME, "--profile", PROFILE, "--json", timeout=1200)
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    roster = json.loads(up.stdout)["roster"]
    d = tmp_path_factory.mktemp("classroom") / "class"
    made = bda("classroom", "create", "--roster", roster, "--dir", str(d), "--profile", PROFILE)
    assert made.returncode == 0, made.stdout + made.stderr
    try:
        yield d
    finally:
        if os.environ.get("BIGDATA_LAB_KEEP") != "1":
            bda("classroom", "destroy", "--dir", str(d), "--yes-stop-every-student-cluster")
            down = bda("lab", "down", "--students", "--name", NAME, "--json", timeout=600)
            assert down.returncode == 0, down.stdout[-3000:] + down.stderr[-3000:]
            assert json.loads(down.stdout)["labs"] == [f"{NAME}-s{i}" for i in (1, 2, 3)]
            assert all(lab.get(f"{NAME}-s{i}") is None for i in (1, 2, 3))


def _grid(d: Path) -> dict[str, Any]:
    st = bda("classroom", "status", "--dir", str(d), "--json", timeout=120)
    return dict(json.loads(st.stdout))


def _wait_healthy(d: Path, timeout: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    grid = _grid(d)
    while not grid["healthy"] and time.monotonic() < deadline:
        time.sleep(5)
        grid = _grid(d)
    return grid


def test_three_students_deploy_in_parallel_and_break_and_reset(classroom_dir: Path, tmp_path: Path) -> None:
    d = classroom_dir
    check = bda("classroom", "check", "--dir", str(d))
    assert check.returncode == 0, check.stdout + check.stderr

    started = time.monotonic()
    dep = bda("classroom", "deploy", "--dir", str(d), "--parallel", "3", timeout=DEPLOY_TIMEOUT_S)
    seconds = time.monotonic() - started
    print(f"classroom deploy --parallel 3: {seconds:.0f} s")
    assert dep.returncode == 0, dep.stdout[-4000:] + dep.stderr[-4000:]
    for s in ("student1", "student2", "student3"):
        assert f"{s}: ok" in dep.stdout, dep.stdout

    from bigdata_admin import classroom

    services = classroom.profile_services(PROFILE)
    assert "kafka" in services and (PROFILE != "slim" or {"hive", "postgresql"} <= set(services))
    grid = _wait_healthy(d)
    assert grid["healthy"], json.dumps(grid, indent=1)[-3000:]
    assert grid["services"] == services
    assert grid["counts"] == {"healthy": 3 * len(services), "down": 0, "not deployed": 0}

    # Break student2 on purpose: its Kafka stops.
    inv = d / "students" / "student2"
    stop = bda("stop", "-i", str(inv), "kafka")
    assert stop.returncode == 0, stop.stdout[-3000:] + stop.stderr[-3000:]
    grid = _grid(d)
    cells = {s["student"]: s["services"] for s in grid["students"]}
    assert cells["student2"]["kafka"]["state"] == "down", cells["student2"]
    assert cells["student1"]["kafka"]["state"] == "healthy"
    assert grid["counts"]["down"] == 1
    term = bda("classroom", "status", "--dir", str(d), "--html", str(tmp_path / "grid.html"))
    assert term.returncode == 1
    row = next(line for line in term.stdout.splitlines() if "student2" in line and "│" in line)
    assert "✖ down" in row and row.count("● healthy") == len(services) - 1, term.stdout
    page = (tmp_path / "grid.html").read_text()
    assert 'data-student="student2" data-service="kafka" data-state="down"' in page
    if shutil.which("chromium"):
        from test_classroom_browser import RED, browse, cells_of, pixels_of

        png = tmp_path / "grid.png"
        dom = browse(tmp_path / "grid.html", png)
        assert cells_of(dom)[("student2", "kafka")] == "down"
        assert pixels_of(png, RED) != 0
        shutil.copy(png, Path(os.environ.get("BIGDATA_CLASSROOM_SHOT_DIR", tmp_path)) / "broken.png")

    # Pilot data on student2 for reset to wipe: an HDFS directory and, with Hive, a table.
    from bigdata_admin import inventory, sqlclient
    from bigdata_admin.clients import webhdfs_client

    cluster = inventory.load(inv)
    webhdfs_client(cluster).makedirs("/pilot-pjt/reset-probe")
    if "hive" in services:
        conn = sqlclient.connect_to(cluster, "hive", timeout=60)
        try:
            sqlclient.query(conn, "CREATE TABLE IF NOT EXISTS smartcar_reset_probe (car_number STRING)")
            assert ("smartcar_reset_probe",) in [tuple(r) for r in sqlclient.query(conn, "SHOW TABLES")]
        finally:
            conn.close()

    started = time.monotonic()
    reset = bda("classroom", "reset", "student2", "--dir", str(d), "--yes", timeout=1200)
    print(f"classroom reset student2: {time.monotonic() - started:.0f} s")
    assert reset.returncode == 0, reset.stdout[-3000:] + reset.stderr[-3000:]
    assert "kafka: " in reset.stdout and "hdfs: removed /pilot-pjt" in reset.stdout, reset.stdout
    if "hive" in services:
        assert "hive: dropped 1 table(s): smartcar_reset_probe" in reset.stdout, reset.stdout
    grid = _wait_healthy(d)
    assert grid["healthy"], json.dumps(grid, indent=1)[-3000:]
    assert webhdfs_client(cluster).status("/pilot-pjt", strict=False) is None
    if "hive" in services:
        conn = sqlclient.connect_to(cluster, "hive", timeout=60)
        try:
            tables = [str(r[0]) for r in sqlclient.query(conn, "SHOW TABLES")]
        finally:
            conn.close()
        assert not [t for t in tables if classroom.PILOT_TABLE_RE.match(t)], tables
