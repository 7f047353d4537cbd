"""`pilot export` into a real PostgreSQL: the postgresql role deployed alone on a 1-host lab (`export`),
the symptom marts of two small days built on this machine's Spark Thrift Server (as `pilot mart --local`
does), then exported from the CLI. The pilot's table holds exactly the mart's rows of a day, a re-run of a
day replaces that day only (a stray row of it goes, the other day stays), and the password the role
generated is used but never printed.

The lab is reused when running and brought down at the end when this module created it
(BIGDATA_LAB_KEEP=1 keeps it). About 3-5 minutes: a PostgreSQL install on the lab host, two Spark starts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bigdata_admin import inventory, paths
from bigdata_admin.pilot import export, generate, localspark, mart

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]

LAB = os.environ.get("BIGDATA_EXPORT_LAB_NAME", "export")
DAY, DAY2 = "20200322", "20200323"
CARS, CARS2 = 8, 6


@pytest.fixture(scope="module")
def pg_inventory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 1-host lab with only the metastore_db group, the postgresql role deployed on it."""
    from conftest import _lab_skip_reason

    reason = _lab_skip_reason()
    if reason:
        pytest.skip(reason)
    from bigdata_admin import lab as labmod
    from bigdata_admin.lab.labinventory import with_groups
    from bigdata_admin.runner import run_playbook

    existed = labmod.get(LAB) is not None
    lb = labmod.up(name=LAB, nodes=1)
    try:
        host = next(iter(lb.hosts))
        inv = with_groups(Path(lb.inventory), tmp_path_factory.mktemp("export-inv"), {"metastore_db": [host]})
        result = run_playbook(paths.playbook("services/postgresql"), inv,
                              label="test-pilot-export-postgresql", show_progress=False)
        assert result.rc == 0, "\n".join(f"{f.host} | {f.task} | {f.message}" for f in result.failures)
        yield inv
    finally:
        if not existed and os.environ.get("BIGDATA_LAB_KEEP") != "1":
            labmod.down(LAB)


@pytest.fixture(scope="module")
def marts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Two days loaded with `pilot load --local` and their marts built on a Spark Thrift Server over
    LOCAL/spark (the metastore `pilot export --local` reads later). Yields the local dir, the running
    server's HOST:PORT and each day's mart rows."""
    if shutil.which("java") is None:
        pytest.skip("java is not installed: the Spark Thrift Server needs a JRE 17")
    pytest.importorskip("pyspark")
    from bigdata_admin.commands.pilot import local_pilot_root
    from bigdata_admin.sqlclient import hs2_connect

    base = tmp_path_factory.mktemp("export-marts")
    local = base / "local"
    for day, cars, seed in ((DAY, CARS, 5), (DAY2, CARS2, 6)):
        generate.generate(generate.GenerateOptions(day=day, cars=cars, hours=0.25, seed=seed, purchases=500,
                                                   datasets=("status", "drive", "master", "buy")),
                          base / day)
        out = _cli(base, "load", "--day", day, "--data", str(base / day), "--local",
                   "--local-dir", str(local))
        assert out.returncode == 0, out.stderr[-3000:]
    server = localspark.start(local / "spark")
    try:
        conn = hs2_connect(server.host, server.port, "NONE", "test")
        try:
            rows: dict[str, list[tuple[Any, ...]]] = {}
            for day in (DAY, DAY2):
                mart.build(conn, day, engine="spark", pilot_root=local_pilot_root(local),
                           subjects=["tables", "drive", "symptom"])
                rows[day] = mart.query(conn, export.source_sql(day))[1]
        finally:
            conn.close()
        yield {"base": base, "local": local, "hs2": f"{server.host}:{server.port}", "rows": rows,
               "server": server}
    finally:
        localspark.stop(server)


def _cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bigdata_admin", "pilot", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600, check=False)


def _export(m: dict[str, Any], secret: str, *args: str) -> dict[str, Any]:
    out = _cli(m["base"], "export", *args, "--json")
    assert out.returncode == 0, out.stderr[-3000:]
    assert secret not in out.stdout + out.stderr
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def _table(target: export.Target) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the pilot's table, per day (yyyyMMdd), mart column order."""
    conn = export.connect(target)
    try:
        cols = ", ".join(export.MART_COLUMNS)
        got = conn.execute(f"SELECT to_char(biz_date, 'YYYYMMDD'), {cols} FROM {export.DEFAULT_TABLE} "
                           "ORDER BY biz_date, car_number").fetchall()
    finally:
        conn.close()
    days: dict[str, list[tuple[Any, ...]]] = {}
    for row in got:
        days.setdefault(row[0], []).append(tuple(row[1:]))
    return days


def test_export_replaces_one_day_and_keeps_the_others(pg_inventory: Path, marts: dict[str, Any]) -> None:
    started = time.monotonic()
    target = export.inventory_target(inventory.load(pg_inventory))
    assert target.password
    url = (f"postgresql://{target.user}:{target.password}@{target.host}:{target.port}/{target.dbname}")
    rows = marts["rows"]
    n, n2 = len(rows[DAY]), len(rows[DAY2])
    assert 0 < n <= CARS and 0 < n2 <= CARS2, (n, n2)

    first = _export(marts, target.password, "--day", DAY, "--url", url, "--hs2", marts["hs2"],
                    "--engine", "spark")
    assert (first["rows_read"], first["rows_inserted"], first["rows_now"]) == (n, n, n)
    assert first["target"] == target.display
    assert _table(target)[DAY] == rows[DAY]

    # Another day, to the inventory's default target (no --url): both days held side by side.
    second = _export(marts, target.password, "-i", str(pg_inventory), "--day", DAY2, "--hs2", marts["hs2"],
                     "--engine", "spark")
    assert (second["rows_deleted"], second["rows_now"]) == (0, n2)
    held = _table(target)
    assert held == {DAY: rows[DAY], DAY2: rows[DAY2]}

    # A stray row of DAY: the re-run replaces the whole day (the stray goes), DAY2 stays as it was.
    conn = export.connect(target)
    with conn.transaction():
        conn.execute(f"INSERT INTO {export.DEFAULT_TABLE} (biz_date, car_number) VALUES ('{DAY}', 'ZZ999')")
    conn.close()
    again = _export(marts, target.password, "--day", DAY, "--url", url, "--hs2", marts["hs2"],
                    "--engine", "spark")
    assert (again["rows_deleted"], again["rows_inserted"], again["rows_now"]) == (n + 1, n, n)
    assert _table(target) == held
    print(f"\nexports: first {first['seconds']} s, second day {second['seconds']} s, "
          f"re-run {again['seconds']} s; whole test {time.monotonic() - started:.1f} s")


def test_export_local_reads_the_local_marts(pg_inventory: Path, marts: dict[str, Any]) -> None:
    """`--local` starts its own server over LOCAL/spark: the fixture's server stops first (an embedded
    Derby metastore admits one server). DAY2 was exported before: the rows are replaced, not doubled."""
    target = export.inventory_target(inventory.load(pg_inventory))
    assert target.password
    url = f"postgresql://{target.user}:{target.password}@{target.host}:{target.port}/{target.dbname}"
    localspark.stop(marts["server"])
    n2 = len(marts["rows"][DAY2])
    out = _export(marts, target.password, "--day", DAY2, "--url", url, "--local", "--local-dir",
                  str(marts["local"]))
    assert (out["rows_read"], out["rows_deleted"], out["rows_now"]) == (n2, n2, n2)
    assert _table(target)[DAY2] == marts["rows"][DAY2]
