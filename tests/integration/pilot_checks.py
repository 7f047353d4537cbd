"""Row-by-row checks of the pilot's marts and analyses against pilot_expected.py (pure Python over the
generated files), shared by the tests that build the marts on a local Spark Thrift Server
(test_pilot_mart.py) and on the lab's HiveServer2 and Spark Thrift Server (test_pilot_lab.py).

`rows(sql)` runs a SELECT on the engine holding the marts and returns its rows (tuples).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pilot_expected as expected
import pytest

from bigdata_admin.pilot import generate

Rows = Callable[[str], list[tuple[Any, ...]]]


def truth(data: Path, day: str) -> dict[str, Any]:
    """The day's adult drivers, status and driving records, and the purchases file (DATA = the day's
    directory of `pilot generate`)."""
    names = generate.file_names(day)
    return {"adult": expected.adults(data / names["master"]),
            "status": expected.status_rows(data / names["status"], day),
            "drive": expected.drive_rows(data / names["drive"], day),
            "buy": data / names["buy"]}


def check_counts(counts: Mapping[str, int | None], t: dict[str, Any], day: str) -> None:
    """The row counts `mart.build` reported (subject -> rows) against Python's."""
    assert counts["status"] == expected.status_mart_count(t["status"], t["adult"])
    assert counts["drive"] == expected.drive_mart_count(t["drive"], t["adult"])
    assert (counts["status"] or 0) > 0 and (counts["drive"] or 0) > 0
    assert counts["buylist"] == expected.purchases(t["buy"], day[:6], t["adult"])[0]


def check_marts(rows: Rows, t: dict[str, Any], day: str) -> None:
    """Every mart table's rows for `day` against Python's: drive (cars), symptom, emergency, item list."""
    cars = {r[0] for r in rows("SELECT DISTINCT car_number FROM Managed_SmartCar_Drive_Info "
                               f"WHERE biz_date = '{day}'")}
    # Minors (age < 18) are missing from the marts.
    assert cars == {f[1] for f in t["drive"]} & set(t["adult"])

    want = expected.symptoms(t["drive"], t["adult"])
    got = {r[0]: r[1:] for r in rows(
        "SELECT car_number, speed_p_avg, speed_p_symptom_score, break_p_avg, break_p_symptom_score, "
        f"steer_a_cnt, steer_p_symptom_score FROM Managed_SmartCar_Symptom_Info WHERE biz_date = '{day}'")}
    assert set(got) == set(want)
    for car, w in want.items():
        g = got[car]
        assert float(g[0]) == pytest.approx(w[0], abs=1e-9) and float(g[2]) == pytest.approx(w[2], abs=1e-9)
        assert (g[1], g[3], int(g[4]), g[5]) == (w[1], w[3], w[4], w[5]), car

    want_e = expected.emergencies(t["status"], t["adult"])
    got_e = {r[0]: r[1:] for r in rows(
        "SELECT car_number, tire_fl_avg, tire_fr_avg, tire_bl_avg, tire_br_avg, light_fault_cnt, "
        "engine_c_cnt, break_c_cnt, battery_avg, checks FROM Managed_SmartCar_Emergency_Check_Info "
        f"WHERE biz_date = '{day}'")}
    assert set(got_e) == set(want_e)
    for car, w in want_e.items():
        g = got_e[car]
        assert [float(x) for x in g[:4]] == pytest.approx(list(w[:4]), abs=1e-9)
        assert (int(g[4]), int(g[5]), int(g[6])) == w[4:7]
        assert float(g[7]) == pytest.approx(w[7], abs=1e-9)
        assert g[8] == w[8], car

    _, per_car = expected.purchases(t["buy"], day[:6], t["adult"])
    got_b = {r[0]: (int(r[1]), r[2]) for r in rows(
        "SELECT car_number, buy_cnt, items FROM Managed_SmartCar_Item_List_Info "
        f"WHERE biz_month = '{day[:6]}'")}
    assert got_b == per_car


Results = Mapping[str, list[tuple[Any, ...]] | list[list[Any]]]


def check_analyses(results: Results, t: dict[str, Any], buylist_rows: int, min_speed: float = 60) -> None:
    """`pilot analyze` results (analysis name -> rows) against Python's."""
    check_spark_analyses(results, t, min_speed)
    check_impala_analyses(results, t, buylist_rows)


def check_spark_analyses(results: Results, t: dict[str, Any], min_speed: float = 60) -> None:
    """The Spark SQL analyses (area_speed, fast_areas) against Python's."""
    speeds = expected.area_speeds(t["drive"], t["adult"])
    got_speeds = {r[0]: float(r[1]) for r in results["area_speed"]}
    assert got_speeds.keys() == speeds.keys()
    for area, v in speeds.items():
        assert got_speeds[area] == pytest.approx(v, abs=1e-9)
    assert {r[0] for r in results["fast_areas"]} == {a for a, v in speeds.items() if v >= min_speed}


def check_impala_analyses(results: Results, t: dict[str, Any], buylist_rows: int) -> None:
    """Impala's analyses (fastest_car, symptom, emergency, purchases) against Python's."""
    fastest = expected.fastest_cars(t["drive"], t["adult"])
    got_fastest: dict[str, set[str]] = {}
    for area, car, avg in results["fastest_car"]:
        got_fastest.setdefault(area, set()).add(car)
        assert float(avg) == pytest.approx(fastest[area][1], abs=1e-9)
    assert got_fastest == {a: cars for a, (cars, _) in fastest.items()}
    assert len(results["symptom"]) == len(expected.symptoms(t["drive"], t["adult"]))
    assert len(results["emergency"]) == len(expected.emergencies(t["status"], t["adult"]))
    assert sum(int(r[1]) for r in results["purchases"]) == buylist_rows
