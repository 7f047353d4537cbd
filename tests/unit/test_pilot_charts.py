"""The pilot report's charts are readable at their size and show what differs (issue 16, item 11)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bigdata_admin.pilot.analyze import Analysis, _charts

image = pytest.importorskip("matplotlib.image")

SYMPTOM_COLUMNS = ["car_number", "speed_p_avg", "speed_p_symptom_score", "break_p_avg",
                   "break_p_symptom_score", "steer_a_cnt", "steer_p_symptom_score"]


def _height(path: Path) -> int:
    return int(image.imread(path).shape[0])


def test_fastest_car_labels_get_room_however_many_areas(tmp_path: Path) -> None:
    areas = [f"{g}{i:02d}" for g in "ABCDEF" for i in range(1, 11)]
    rows = [(a, f"A{n:04d}", 60.0 + n % 17) for n, a in enumerate(areas)]
    _charts({"fastest_car": Analysis("fastest_car", "", "impala", ["area_number", "car_number", "avg_speed"],
                                     rows)}, tmp_path)
    # One horizontal label per area, at least 16 px apart (8-point labels at 100 dpi are about 11 px).
    assert _height(tmp_path / "fastest_car.png") >= 16 * len(rows)


def test_symptom_chart_shows_which_cars_are_abnormal_not_equal_totals(tmp_path: Path) -> None:
    def rows(flagged: int) -> list[tuple[object, ...]]:
        out = []
        for n in range(100):
            bad = n < flagged
            out.append((f"A{n:04d}", 1.0, "abnormal" if bad else "normal", 1.0, "normal", 10,
                        "abnormal" if bad and n % 2 else "normal"))
        return out

    few, many = tmp_path / "few", tmp_path / "many"
    few.mkdir()
    many.mkdir()
    _charts({"symptom": Analysis("symptom", "", "impala", SYMPTOM_COLUMNS, rows(2))}, few)
    _charts({"symptom": Analysis("symptom", "", "impala", SYMPTOM_COLUMNS, rows(12))}, many)
    # One row per abnormal car: the chart grows with them (equal stacked totals would not).
    assert _height(many / "symptom.png") > _height(few / "symptom.png") + 100
    pixels = image.imread(many / "symptom.png")
    red = ((pixels[..., 0] > 0.7) & (pixels[..., 1] < 0.3) & (pixels[..., 2] < 0.2)).sum()
    assert red > 1000, "abnormal cells are drawn in red"
