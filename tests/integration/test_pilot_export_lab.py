"""`pilot export` into a real PostgreSQL on the main job's lab (session fixture `main_lab`): the main job's
`pilot run` built the symptom mart of its day on the Spark Thrift Server and exported it to the `pilot`
database the postgresql role made on the metastore_db host. Here `pilot export` runs again from the CLI:
the table holds exactly the mart's rows of the day, a re-run replaces that day only (a stray row of it
goes, another day's row stays), and the password the role generated is used but never printed.

Skips when the main job skipped the pilot (see test_main_job_lab.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bigdata_admin import deployment, inventory
from bigdata_admin.commands.lab import PILOT_ARGS, pilot_missing
from bigdata_admin.pilot import endpoints, export, mart

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]

DAY = PILOT_ARGS[PILOT_ARGS.index("--day") + 1]
OTHER_DAY = "19990101"


@pytest.fixture(scope="module")
def lab(main_lab: dict[str, Any]) -> dict[str, Any]:
    assert main_lab["rc"] == 0, str(main_lab["out"])[-5000:]
    inv = Path(main_lab["inventory"])
    cluster = inventory.load(inv)
    missing = pilot_missing(cluster, deployment.not_deployed(cluster))
    if missing or not cluster.has("metastore_db"):
        pytest.skip(f"the main job ran no pilot to export: {missing or 'no metastore_db host'}")
    conn = endpoints.sql_connection(cluster, "spark", None, None, None, "--spark")
    try:
        rows = mart.query(conn, export.source_sql(DAY))[1]
    finally:
        conn.close()
    return {"inventory": inv, "cluster": cluster, "rows": rows, "target": export.inventory_target(cluster)}


def _export(lab: dict[str, Any], *args: str) -> dict[str, Any]:
    argv = [sys.executable, "-m", "bigdata_admin", "pilot", "export", "-i", str(lab["inventory"]),
            "--day", DAY, "--engine", "spark", *args, "--json"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=600, check=False,
                         env={**os.environ, "COLUMNS": "160"})
    assert out.returncode == 0, out.stderr[-3000:]
    assert lab["target"].password and lab["target"].password not in out.stdout + out.stderr
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


def test_export_replaces_one_day_and_keeps_the_others(lab: dict[str, Any]) -> None:
    target, rows = lab["target"], lab["rows"]
    n = len(rows)
    assert n > 0, f"the symptom mart of {DAY} is empty"
    first = _export(lab)
    assert (first["rows_read"], first["rows_inserted"], first["rows_now"]) == (n, n, n)
    assert first["target"] == target.display
    assert _table(target)[DAY] == rows

    # A stray row of DAY and a row of another day: the re-run replaces DAY whole, the other day stays.
    conn = export.connect(target)
    with conn.transaction():
        conn.execute(f"INSERT INTO {export.DEFAULT_TABLE} (biz_date, car_number) VALUES ('{DAY}', 'ZZ999')")
        conn.execute(f"INSERT INTO {export.DEFAULT_TABLE} (biz_date, car_number) "
                     f"VALUES ('{OTHER_DAY}', 'A0001')")
    conn.close()
    try:
        again = _export(lab)
        assert (again["rows_deleted"], again["rows_inserted"], again["rows_now"]) == (n + 1, n, n)
        held = _table(target)
        assert held[DAY] == rows
        assert [r[0] for r in held[OTHER_DAY]] == ["A0001"]
    finally:
        conn = export.connect(target)
        with conn.transaction():
            conn.execute(f"DELETE FROM {export.DEFAULT_TABLE} WHERE biz_date = '{OTHER_DAY}'")
        conn.close()
