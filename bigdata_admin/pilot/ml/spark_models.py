"""The pilot's three Spark models (PILOT.md §5), through pyspark (local mode or a Spark master).

- car-status classification: status log records joined with the car master; label `abnormal` from the
  book's heuristic score (< 6); random forest, 5 trees, 70/30 split.
- customer clustering: k-means on the car master (capacity class, age class of the car, model, sex,
  marriage; one-hot encoded).
- item recommendation: item-to-item co-occurrence over the purchase list (the book used Mahout),
  3 items per car among those it has not bought; scored by hit rate on one held-out item per car.

Each `*_model` function saves a new version under `models_root` and returns (version, dir, metrics).
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import registry

STATUS_NAME = "car-status-rf"
CLUSTER_NAME = "customer-kmeans"
RECOMMEND_NAME = "item-recommendation"

STATUS_COLUMNS = ("reg_date", "car_number", "tire_fl", "tire_fr", "tire_bl", "tire_br", "light_fl",
                  "light_fr", "light_bl", "light_br", "engine", "brake", "battery")
MASTER_COLUMNS = ("car_number", "sex", "age", "marriage", "region", "job", "car_capacity", "car_year",
                  "car_model")
STATUS_FEATURES = ("car_capacity", "car_year", "model_idx", "tire_fl", "tire_fr", "tire_bl", "tire_br",
                   "light_fl", "light_fr", "light_bl", "light_br", "engine_idx", "brake_idx", "battery")

# The book's heuristic score (PILOT.md §5) as a Spark SQL expression; `abnormal` when below 6.
_TIRE = "(CASE WHEN {t} < 10 THEN 0.1 WHEN {t} < 20 THEN 0.2 WHEN {t} < 40 THEN 0.4 ELSE 0.5 END)"
_LIGHT = "(CASE WHEN {l} = 2 THEN 0.0 ELSE 0.5 END)"
_PART = "(CASE {p} WHEN 'A' THEN 1.0 WHEN 'B' THEN 0.5 ELSE 0.0 END)"
SCORE_SQL = " + ".join([
    "(CASE WHEN car_capacity < 1500 THEN -0.3 WHEN car_capacity < 2000 THEN -0.2 ELSE -0.1 END)",
    "(CASE WHEN car_year < 2005 THEN -0.3 WHEN car_year < 2010 THEN -0.2 ELSE -0.1 END)",
    "(CASE WHEN car_model IN ('B', 'D', 'F', 'H') THEN -0.3 ELSE 0.0 END)",
    *[_TIRE.format(t=t) for t in ("tire_fl", "tire_fr", "tire_bl", "tire_br")],
    *[_LIGHT.format(l=x) for x in ("light_fl", "light_fr", "light_bl", "light_br")],
    _PART.format(p="engine"), _PART.format(p="brake"),
    "(CASE WHEN battery < 20 THEN 0.2 WHEN battery < 40 THEN 0.4 WHEN battery < 60 THEN 0.6 ELSE 1.0 END)",
])
ABNORMAL_BELOW = 6.0


def book_score(master: dict[str, Any], status: dict[str, Any]) -> float:
    """The same heuristic in plain Python (for tests and single records)."""
    cap, year, model = int(master["car_capacity"]), int(master["car_year"]), master["car_model"]
    s = -0.3 if cap < 1500 else -0.2 if cap < 2000 else -0.1
    s += -0.3 if year < 2005 else -0.2 if year < 2010 else -0.1
    s += -0.3 if model in ("B", "D", "F", "H") else 0.0
    for t in ("tire_fl", "tire_fr", "tire_bl", "tire_br"):
        v = int(status[t])
        s += 0.1 if v < 10 else 0.2 if v < 20 else 0.4 if v < 40 else 0.5
    for x in ("light_fl", "light_fr", "light_bl", "light_br"):
        s += 0.0 if int(status[x]) == 2 else 0.5
    for p in ("engine", "brake"):
        s += {"A": 1.0, "B": 0.5}.get(status[p], 0.0)
    b = int(status["battery"])
    s += 0.2 if b < 20 else 0.4 if b < 40 else 0.6 if b < 60 else 1.0
    return round(s, 6)


@contextmanager
def session(master: str = "local[2]", app: str = "smartcar-pilot-ml") -> Iterator[Any]:
    """A SparkSession (UI off, few shuffle partitions), stopped at the end of the block."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (SparkSession.builder.master(master).appName(app)
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.sql.shuffle.partitions", "4")
             .config("spark.driver.memory", os.environ.get("SMARTCAR_SPARK_DRIVER_MEMORY", "1g"))
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    try:
        yield spark
    finally:
        spark.stop()


def _read_master(spark: Any, path: Path) -> Any:
    from pyspark.sql import functions as F

    raw = spark.read.option("sep", "|").option("encoding", "UTF-8").csv(str(path))
    df = raw.toDF(*MASTER_COLUMNS[: len(raw.columns)])
    # A header line (CarMaster2Income style) would not parse as a number: drop such rows.
    return (df.withColumn("age", F.col("age").cast("int"))
            .withColumn("car_capacity", F.col("car_capacity").cast("int"))
            .withColumn("car_year", F.col("car_year").cast("int"))
            .where(F.col("car_capacity").isNotNull() & F.col("car_year").isNotNull()))


def _read_status(spark: Any, path: Path) -> Any:
    from pyspark.sql import functions as F

    text = spark.read.text(str(path))
    # Keep only records (lines starting with 14 digits): the book's simulator writes header lines.
    lines = text.where(F.col("value").rlike(r"^[0-9]{14},"))
    parts = F.split(F.col("value"), ",")
    cols = [parts.getItem(i).alias(c) for i, c in enumerate(STATUS_COLUMNS)]
    df = lines.select(*cols)
    for c in ("tire_fl", "tire_fr", "tire_bl", "tire_br", "light_fl", "light_fr", "light_bl", "light_br",
              "battery"):
        df = df.withColumn(c, F.col(c).cast("int"))
    return df.dropna()


def status_model(status_path: Path, master_path: Path, models_root: Path, spark: Any, *,
                 sample: float = 1.0, trees: int = 5, seed: int = 0) -> tuple[str, Path, dict[str, Any]]:
    """Random forest (5 trees, 70/30) on status records joined with the master.

    `sample` (0-1] keeps that share of the records (a full day of 100 cars is 2.16 million).
    Metrics: accuracy, f1, area under ROC on the test split, abnormal share, rows.
    """
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import RandomForestClassifier
    from pyspark.ml.evaluation import BinaryClassificationEvaluator, MulticlassClassificationEvaluator
    from pyspark.ml.feature import StringIndexer, VectorAssembler
    from pyspark.sql import functions as F

    status = _read_status(spark, status_path)
    if sample < 1.0:
        status = status.sample(fraction=sample, seed=seed)
    data = (status.join(_read_master(spark, master_path), "car_number")
            .withColumn("score", F.expr(SCORE_SQL))
            .withColumn("label", (F.col("score") < ABNORMAL_BELOW).cast("double"))).cache()
    train, test = data.randomSplit([0.7, 0.3], seed=seed)
    train = train.cache()
    pipeline = Pipeline(stages=[
        StringIndexer(inputCol="car_model", outputCol="model_idx", handleInvalid="keep"),
        StringIndexer(inputCol="engine", outputCol="engine_idx", handleInvalid="keep"),
        StringIndexer(inputCol="brake", outputCol="brake_idx", handleInvalid="keep"),
        VectorAssembler(inputCols=list(STATUS_FEATURES), outputCol="features"),
        RandomForestClassifier(numTrees=trees, seed=seed, labelCol="label", featuresCol="features"),
    ])
    model = pipeline.fit(train)
    pred = model.transform(test).cache()
    counts = data.agg(F.count("*").alias("n"), F.sum("label").alias("abnormal")).first()
    rows = int(counts["n"])
    if rows == 0:
        raise ValueError(f"no status record of {status_path} joins the master {master_path}")
    multi = MulticlassClassificationEvaluator(labelCol="label", predictionCol="prediction")
    metrics: dict[str, Any] = {
        "accuracy": float(multi.setMetricName("accuracy").evaluate(pred)),
        "f1": float(multi.setMetricName("f1").evaluate(pred)),
        "area_under_roc": float(BinaryClassificationEvaluator(labelCol="label").evaluate(pred)),
        "rows": rows, "abnormal_share": float(counts["abnormal"] or 0) / rows,
        "train_rows": int(train.count()), "test_rows": int(pred.count()), "trees": trees,
    }
    for df in (train, pred, data):
        df.unpersist()

    def write(d: Path) -> dict[str, Any]:
        model.write().overwrite().save(str(d / "spark-model"))
        return metrics

    version, directory = registry.save(models_root, STATUS_NAME, write)
    return version, directory, metrics


def cluster_model(master_path: Path, models_root: Path, spark: Any, *, k: int = 5,
                  seed: int = 0) -> tuple[str, Path, dict[str, Any]]:
    """k-means over the master's indexed capacity class, car age class, model, sex and marriage.

    Car age class: (2020 - year) in 5-year classes. Metrics: silhouette, cluster sizes, k.
    Saves the Spark pipeline model and `assignments.csv` (car_number, cluster).
    """
    from pyspark.ml import Pipeline
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.evaluation import ClusteringEvaluator
    from pyspark.ml.feature import OneHotEncoder, StringIndexer, VectorAssembler
    from pyspark.sql import functions as F

    master = (_read_master(spark, master_path)
              .withColumn("capacity_class", F.col("car_capacity").cast("string"))
              .withColumn("age_class", F.floor((F.lit(2020) - F.col("car_year")) / 5).cast("string")))
    cats = ("capacity_class", "age_class", "car_model", "sex", "marriage")
    stages: list[Any] = [StringIndexer(inputCol=c, outputCol=f"{c}_idx", handleInvalid="keep") for c in cats]
    stages.append(OneHotEncoder(inputCols=[f"{c}_idx" for c in cats], outputCols=[f"{c}_vec" for c in cats]))
    stages.append(VectorAssembler(inputCols=[f"{c}_vec" for c in cats], outputCol="features"))
    stages.append(KMeans(k=k, seed=seed, featuresCol="features", predictionCol="cluster"))
    model = Pipeline(stages=stages).fit(master)
    out = model.transform(master).cache()
    rows = out.count()
    if rows < k:
        raise ValueError(f"{master_path}: {rows} cars are fewer than k={k} clusters")
    silhouette = ClusteringEvaluator(featuresCol="features", predictionCol="cluster").evaluate(out)
    sizes = {int(r["cluster"]): int(r["count"]) for r in out.groupBy("cluster").count().collect()}
    assignments = [(r["car_number"], int(r["cluster"]))
                   for r in out.select("car_number", "cluster").collect()]
    out.unpersist()
    metrics: dict[str, Any] = {"k": k, "silhouette": float(silhouette), "rows": rows,
                               "cluster_sizes": [sizes.get(i, 0) for i in range(k)]}

    def write(d: Path) -> dict[str, Any]:
        model.write().overwrite().save(str(d / "spark-model"))
        with (d / "assignments.csv").open("w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["car_number", "cluster"])
            w.writerows(sorted(assignments))
        return metrics

    version, directory = registry.save(models_root, CLUSTER_NAME, write)
    return version, directory, metrics


def _recommend(spark: Any, pairs: Any, top: int) -> Any:
    """(car_number, item, score, rank) for items a car has not bought, by summed co-occurrence."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    a, b = pairs.alias("a"), pairs.alias("b")
    cooc = (a.join(b, (F.col("a.car_number") == F.col("b.car_number")) & (F.col("a.item") != F.col("b.item")))
            .groupBy(F.col("a.item").alias("item_a"), F.col("b.item").alias("item_b"))
            .agg(F.count("*").alias("cooc")))
    scored = (pairs.join(cooc, pairs["item"] == cooc["item_a"])
              .groupBy("car_number", F.col("item_b").alias("item")).agg(F.sum("cooc").alias("score"))
              .join(pairs, ["car_number", "item"], "left_anti"))
    w = Window.partitionBy("car_number").orderBy(F.desc("score"), F.asc("item"))
    return scored.withColumn("rank", F.row_number().over(w)).where(F.col("rank") <= top)


def recommend_model(buy_path: Path, models_root: Path, spark: Any, *, top: int = 3,
                    seed: int = 0) -> tuple[str, Path, dict[str, Any]]:
    """Item co-occurrence recommendations, `top` per car.

    Evaluation: one bought item per car (at random) is held out, recommendations are made from the
    rest, hit_rate = share of cars whose held-out item is among their `top`; `baseline` is the hit rate
    of `top` random unbought items. The saved `recommendations.csv` uses every purchase.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    raw = spark.read.csv(str(buy_path)).toDF("car_number", "item", "score", "month")
    pairs = raw.select("car_number", "item").where(F.col("item").isNotNull()).distinct().cache()
    if pairs.count() == 0:
        raise ValueError(f"{buy_path}: no purchases")
    w = Window.partitionBy("car_number").orderBy(F.rand(seed))
    ranked = pairs.withColumn("_r", F.row_number().over(w)).withColumn(
        "_n", F.count("*").over(Window.partitionBy("car_number")))
    is_held = (F.col("_r") == 1) & (F.col("_n") > 1)
    held = ranked.where(is_held).select("car_number", F.col("item").alias("held"))
    rest = ranked.where(~is_held).select("car_number", "item")
    recs_eval = _recommend(spark, rest, top)
    evaluated = held.join(recs_eval.groupBy("car_number").agg(F.collect_list("item").alias("recs")),
                          "car_number", "left")
    stats = evaluated.agg(
        F.count("*").alias("cars"),
        F.sum(F.when(F.array_contains(F.coalesce(F.col("recs"), F.array()), F.col("held")), 1).otherwise(0))
        .alias("hits")).first()
    items_total = pairs.select("item").distinct().count()
    unbought = (rest.groupBy("car_number").count()
                .agg(F.avg(F.lit(items_total) - F.col("count")).alias("u")).first()["u"]) or 0.0
    recs = [(r["car_number"], int(r["rank"]), r["item"], int(r["score"]))
            for r in _recommend(spark, pairs, top).orderBy("car_number", "rank").collect()]
    cars = int(stats["cars"] or 0)
    metrics: dict[str, Any] = {
        "top": top, "cars": pairs.select("car_number").distinct().count(), "items": items_total,
        "purchases_distinct": pairs.count(), "recommendations": len(recs),
        "evaluated_cars": cars, "hit_rate": float(stats["hits"] or 0) / cars if cars else None,
        "baseline": min(1.0, top / unbought) if unbought else None,
    }
    pairs.unpersist()

    def write(d: Path) -> dict[str, Any]:
        with (d / "recommendations.csv").open("w", newline="") as f:
            wr = csv.writer(f)
            wr.writerow(["car_number", "rank", "item", "score"])
            wr.writerows(recs)
        return metrics

    version, directory = registry.save(models_root, RECOMMEND_NAME, write)
    return version, directory, metrics
