"""The pilot's mart and analysis SQL on a real Spark Thrift Server started by the tests.

External tables point at local directories standing in for the HDFS locations (`pilot_root` is a
file: URI); the SQL is the packaged SQL, unchanged. Every mart is checked row by row against an
independent pure-Python computation (pilot_expected.py) from the same generated files, with the
checks of pilot_checks.py that test_pilot_lab.py also runs on the lab's HiveServer2 and Spark.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pilot_checks as checks
import pilot_expected as expected
import pytest

from bigdata_admin.pilot import analyze, generate, load, localspark, mart, records

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAY = "20200322"
DAY2 = "20200323"
CARS = 20   # two wild drivers among 20: their pedal z-scores reach about 3
HOURS = 4   # 7,200 records per car: normal drivers ~1,440 sharp turns, wild ~2,880 (threshold 2,000)
SEED = 7


def _have_java() -> bool:
    return shutil.which("java") is not None


def _lay_out(data: Path, root: Path, day: str) -> None:
    """Put a generated day where the external tables look, as `pilot load` does on HDFS."""
    names = generate.file_names(day)
    targets = {
        "status": (root / load.STATUS_DIR / f"wrk_date={day}" / names["status"],
                   lambda r: load.status_payload(data / names["status"], r)),
        "drive": (root / load.DRIVE_TEXT_DIR / load.drive_text_name(day),
                  lambda r: load.drive_text_payload(data / names["drive"], r)),
        "master": (root / load.MASTER_DIR / "CarMaster.txt",
                   lambda r: load.delimited_payload(data / names["master"], "master", r)),
        "buy": (root / load.BUY_DIR / names["buy"],
                lambda r: load.delimited_payload(data / names["buy"], "buy", r)),
    }
    for name, (target, payload) in targets.items():
        if not (data / names[name]).is_file():
            continue  # a day generated without this data set keeps what is there
        if target.parent.exists() and "wrk_date=" in target.parent.name:
            shutil.rmtree(target.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        report = records.ParseReport(str(target))
        with target.open("wb") as out:
            for chunk in payload(report):
                out.write(chunk)
        assert report.malformed == 0, report.summary()


@pytest.fixture(scope="session")
def pilot_env() -> Iterator[dict[str, Any]]:
    if not _have_java():
        pytest.skip("java is not installed: the Spark Thrift Server needs a JRE 17")
    pytest.importorskip("pyspark")
    from bigdata_admin.sqlclient import hs2_connect

    # Not under pytest's basetemp: concurrent pytest sessions prune old basetemps, and this one
    # lives for minutes (a Spark Thrift Server and its warehouse).
    base = Path(tempfile.mkdtemp(prefix="bda-pilot-it-"))
    data = base / "data"
    root = base / "pilot-pjt"
    generate.generate(generate.GenerateOptions(day=DAY, cars=CARS, hours=HOURS, seed=SEED, purchases=20_000,
                                               datasets=("status", "drive", "master", "buy")), data / DAY)
    generate.generate(generate.GenerateOptions(day=DAY2, cars=8, hours=1, seed=SEED + 1, purchases=0,
                                               datasets=("status", "drive")), data / DAY2)
    _lay_out(data / DAY, root, DAY)
    server = localspark.start(base / "sts")
    try:
        conn = hs2_connect(server.host, server.port, "NONE", "pilot-test")
        yield {"conn": conn, "data": data, "root": root, "server": server}
        conn.close()
    finally:
        localspark.stop(server)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def built(pilot_env: dict[str, Any]) -> dict[str, Any]:
    conn = pilot_env["conn"]
    results = mart.build(conn, DAY, engine="spark", pilot_root=pilot_env["root"].as_uri())
    return {**pilot_env, "results": {r.name: r for r in results}}


def _rows(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    return mart.query(conn, sql)[1]


@pytest.fixture(scope="session")
def truth(pilot_env: dict[str, Any]) -> dict[str, Any]:
    return checks.truth(pilot_env["data"] / DAY, DAY)


def test_marts_match_python(built: dict[str, Any], truth: dict[str, Any]) -> None:
    checks.check_counts({name: r.rows for name, r in built["results"].items()}, truth, DAY)
    checks.check_marts(lambda sql: _rows(built["conn"], sql), truth, DAY)
    # The data is sized so that every label shows up (PILOT.md §6), and some car needs a check.
    want = expected.symptoms(truth["drive"], truth["adult"])
    for i in (1, 3, 5):
        labels = {w[i] for w in want.values()}
        assert labels == {"normal", "abnormal"}, f"column {i} has only {labels}"
    assert expected.emergencies(truth["status"], truth["adult"]), "the day should have a car needing a check"


def test_analyses_match_python_and_report_is_written(built: dict[str, Any], truth: dict[str, Any],
                                                     tmp_path: Path) -> None:
    conn = built["conn"]
    results = {a.name: a for a in analyze.run(conn, conn, DAY, min_speed=60, impala_is_impala=False)}
    checks.check_analyses({name: a.rows for name, a in results.items()}, truth,
                          built["results"]["buylist"].rows)
    index = analyze.write_report(list(results.values()), tmp_path / "report", DAY)
    text = index.read_text(encoding="utf-8")
    for chart in ("area_speed", "fastest_car", "symptom", "emergency"):
        png = tmp_path / "report" / f"{chart}.png"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"{chart}.png" in text
    assert "abnormal" in text


def test_rerunning_a_day_replaces_only_that_day(built: dict[str, Any], truth: dict[str, Any]) -> None:
    conn, root, data = built["conn"], built["root"], built["data"]
    _lay_out(data / DAY2, root, DAY2)
    day2 = {r.name: r for r in mart.build(conn, DAY2, engine="spark", pilot_root=root.as_uri(),
                                          subjects=["tables", "status", "drive", "symptom"])}
    assert day2["status"].rows and day2["drive"].rows
    again = {r.name: r for r in mart.build(conn, DAY, engine="spark", pilot_root=root.as_uri())}
    for name in ("status", "drive", "symptom", "emergency", "buylist"):
        assert again[name].rows == built["results"][name].rows, name
    for table, n in (("Managed_SmartCar_Status_Info", day2["status"].rows),
                     ("Managed_SmartCar_Drive_Info", day2["drive"].rows),
                     ("Managed_SmartCar_Symptom_Info", day2["symptom"].rows)):
        assert _rows(conn, f"SELECT count(*) FROM {table} WHERE biz_date = '{DAY2}'")[0][0] == n


def test_cli_mart_and_analyze_against_the_server(built: dict[str, Any], tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    server = built["server"]
    endpoint = f"{server.host}:{server.port}"

    def cli(*args: str) -> dict[str, Any]:
        proc = subprocess.run([sys.executable, "-m", "bigdata_admin", "pilot", *args, "--json"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=900, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        data: dict[str, Any] = json.loads(proc.stdout)
        return data

    before = built["results"]["symptom"].rows
    out = cli("mart", "--day", DAY, "--engine", "spark", "--hs2", endpoint, "--auth", "NONE",
              "--pilot-root", built["root"].as_uri(), "--subjects", "symptom")
    assert [(s["name"], s["rows"]) for s in out["subjects"]] == [("symptom", before)]
    report = tmp_path / "report"
    out = cli("analyze", "--day", DAY, "--impala", endpoint, "--impala-auth", "NONE", "--impala-is-hs2",
              "--spark", endpoint, "--report", str(report))
    assert set(out["analyses"]) == {"symptom", "fastest_car", "emergency", "purchases", "area_speed",
                                    "fast_areas"}
    assert len(out["analyses"]["symptom"]["rows"]) == before
    assert (report / "index.html").is_file() and (report / "area_speed.png").is_file()


def test_marts_on_deidentified_data_give_the_same_per_car_results(built: dict[str, Any]) -> None:
    """`pilot deidentify` then the unchanged SQL, in a second database of the same server."""
    pytest.importorskip("pycanon")
    from bigdata_admin.pilot import deidentify
    from bigdata_admin.sqlclient import hs2_connect

    conn, server, data = built["conn"], built["server"], built["data"]
    base = built["root"].parent / "deid"
    key = deidentify.ensure_key(base / "secrets" / deidentify.KEY_NAME)
    result = deidentify.deidentify(DAY, data / DAY, key, deidentify.load_policy(None), out_dir=base / DAY)
    assert result.passed, result.failed
    root = base / "pilot-pjt"
    _lay_out(base / DAY, root, DAY)  # the loaders accept the pseudonyms (no malformed line)
    mart.execute(conn, "CREATE DATABASE IF NOT EXISTS pilot_deid")
    deid_conn = hs2_connect(server.host, server.port, "NONE", "pilot-test", database="pilot_deid")
    try:
        got = {r.name: r for r in mart.build(deid_conn, DAY, engine="spark", pilot_root=root.as_uri())}
        for name in ("status", "drive", "symptom", "emergency", "buylist"):
            assert got[name].rows == built["results"][name].rows, name
        names = deidentify.Pseudonyms(key)
        for table, columns, period in (
                ("Managed_SmartCar_Symptom_Info", "speed_p_avg, speed_p_symptom_score, break_p_avg, "
                 "break_p_symptom_score, steer_a_cnt, steer_p_symptom_score", f"biz_date = '{DAY}'"),
                ("Managed_SmartCar_Emergency_Check_Info", "tire_fl_avg, tire_fr_avg, tire_bl_avg, "
                 "tire_br_avg, light_fault_cnt, engine_c_cnt, break_c_cnt, battery_avg, checks",
                 f"biz_date = '{DAY}'"),
                ("Managed_SmartCar_Item_List_Info", "buy_cnt, items", f"biz_month = '{DAY[:6]}'")):
            sql = f"SELECT car_number, {columns} FROM {table} WHERE {period}"
            before = {names.of(r[0]): tuple(r[1:]) for r in _rows(conn, sql)}
            after = {r[0]: tuple(r[1:]) for r in _rows(deid_conn, sql)}
            assert before and after == before, table
        analyses = {a.name: a for a in analyze.run(deid_conn, deid_conn, DAY, min_speed=60,
                                                   impala_is_impala=False)}
        originals = {a.name: a for a in analyze.run(conn, conn, DAY, min_speed=60, impala_is_impala=False)}
        assert sorted(analyses["area_speed"].rows) == sorted(originals["area_speed"].rows)
        assert sorted(analyses["fastest_car"].rows) == sorted(
            (area, names.of(car), avg) for area, car, avg in originals["fastest_car"].rows)
    finally:
        deid_conn.close()
