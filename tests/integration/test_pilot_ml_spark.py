"""The pilot's three Spark models for real on pyspark (local[2]) with small generated data."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyspark")

from bigdata_admin.pilot import generate as gen
from bigdata_admin.pilot.ml import registry
from bigdata_admin.pilot.ml import spark_models as sm

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    with sm.session("local[2]") as s:
        yield s


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("ml-data")
    cars = [gen.car_number(i) for i in range(3)]
    (d / "status.txt").write_bytes(b"".join(gen.status_log_chunks("20200322", cars, 0)))
    (d / "master.txt").write_text(gen.master_text(0))
    return d


def test_score_sql_matches_the_python_heuristic(spark: Any) -> None:
    rnd = random.Random(1)
    rows = []
    for _ in range(300):
        m = {"car_capacity": rnd.choice(gen.CAPACITIES), "car_year": rnd.randint(2000, 2016),
             "car_model": rnd.choice(gen.MODELS)}
        s = {**{t: rnd.randint(0, 100) for t in ("tire_fl", "tire_fr", "tire_bl", "tire_br", "battery")},
             **{x: rnd.choice([1, 1, 2]) for x in ("light_fl", "light_fr", "light_bl", "light_br")},
             "engine": rnd.choice("ABC"), "brake": rnd.choice("ABC")}
        rows.append({**m, **s, "expected": sm.book_score(m, s)})
    df = spark.createDataFrame(rows).selectExpr("expected", f"{sm.SCORE_SQL} AS score")
    for r in df.collect():
        assert abs(float(r["score"]) - r["expected"]) < 1e-6


def test_status_random_forest(data: Path, spark: Any, tmp_path: Path) -> None:
    version, directory, m = sm.status_model(data / "status.txt", data / "master.txt", tmp_path, spark,
                                            sample=0.1)
    assert version == "v0001" and (directory / "spark-model").is_dir()
    assert m["trees"] == 5 and 0 < m["abnormal_share"] < 1
    assert abs(m["train_rows"] / m["rows"] - 0.7) < 0.05
    assert m["accuracy"] >= 0.85, m  # the label is a fixed function of the features
    assert registry.read_metrics(directory)["accuracy"] == m["accuracy"]


def test_customer_kmeans(data: Path, spark: Any, tmp_path: Path) -> None:
    _, directory, m = sm.cluster_model(data / "master.txt", tmp_path, spark, k=4)
    assert m["rows"] == gen.MASTER_CARS and sum(m["cluster_sizes"]) == gen.MASTER_CARS
    assert len(m["cluster_sizes"]) == 4 and min(m["cluster_sizes"]) > 0
    assert -1 <= m["silhouette"] <= 1
    assert len((directory / "assignments.csv").read_text().splitlines()) == gen.MASTER_CARS + 1


def test_recommendations_find_planted_co_occurrence(tmp_path: Path, spark: Any) -> None:
    # Three groups of cars, each buying only from its own 10 items: the held-out item must come back.
    rnd = random.Random(2)
    lines = []
    for i in range(150):
        group = i % 3
        items = [f"Item-{group * 10 + k + 1:03d}" for k in range(10)]
        for item in rnd.sample(items, 5):
            lines.append(f"{gen.car_number(i)},{item},{rnd.randint(1, 5)},202003\n")
    buy = tmp_path / "buy.txt"
    buy.write_text("".join(lines))
    _, directory, m = sm.recommend_model(buy, tmp_path / "models", spark, top=3)
    assert m["cars"] == 150 and m["recommendations"] == 450
    assert m["hit_rate"] >= 2 * m["baseline"], m
    recs = (directory / "recommendations.csv").read_text().splitlines()[1:]
    by_car: dict[str, list[str]] = {}
    for r in recs:
        car, _, item, _ = r.split(",")
        by_car.setdefault(car, []).append(item)
    bought = {}
    for line in lines:
        car, item = line.split(",")[:2]
        bought.setdefault(car, set()).add(item)
    for car, items in by_car.items():
        assert len(items) == 3 and not set(items) & bought[car]
