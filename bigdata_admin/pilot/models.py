"""`pilot ml`: train the five models of PILOT.md §5 on a day's generated files, save versions, report.

Models (names used by `--only`):
- `status`    car-status random forest (Spark ML, 5 trees, 70/30) on the status log + car master
- `cluster`   customer k-means (Spark ML) on the car master
- `recommend` item co-occurrence recommendations, 3 per car (Spark) on the purchase list
- `income`    income from capacity, least squares (scikit-learn) on CarMaster2Income.txt
- `accident`  the accident-risk network (Keras 3) on CarDrivingIncidentInfo.csv: here, or on the
              inventory's GPU worker through role gpu_worker's `train` action

Versions go under `models_root/<model name>/vNNNN/`; `metrics.json` beside them in `models_root`
collects the latest run.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bigdata_admin.errors import BadInput, RunFailed
from bigdata_admin.pilot import generate as gen

MODELS = ("status", "cluster", "recommend", "income", "accident")
SPARK_MODELS = ("status", "cluster", "recommend")


@dataclass
class ModelResult:
    model: str
    name: str
    """Registry name (directory under the models root)."""
    version: str
    where: str
    """"local" or the GPU worker's host name."""
    seconds: float
    metrics: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class MlOptions:
    day: str
    data_dir: Path
    models_root: Path
    only: tuple[str, ...] = MODELS
    spark_master: str = "local[2]"
    status_sample: float = 0.05
    clusters: int = 5
    epochs: int = 50
    batch_size: int = 2000
    seed: int = 0

    def validate(self) -> None:
        gen.parse_day(self.day)
        unknown = [m for m in self.only if m not in MODELS]
        if unknown:
            raise BadInput(f"unknown model(s) {', '.join(unknown)}", fix=f"Pick from: {', '.join(MODELS)}.")
        if not 0 < self.status_sample <= 1:
            raise BadInput(f"--status-sample {self.status_sample} is not in (0, 1]",
                           fix="Give a share of the status records, e.g. 0.05.")
        if self.epochs < 1 or self.batch_size < 1 or self.clusters < 2:
            raise BadInput("--epochs and --batch-size must be at least 1 and --clusters at least 2",
                           fix="Use the book's values: 50 epochs, batch 2000.")


def input_files(opts: MlOptions) -> dict[str, Path]:
    names = gen.file_names(opts.day)
    return {k: opts.data_dir / names[k] for k in ("status", "master", "buy", "income", "incident")}


NEEDS = {"status": ("status", "master"), "cluster": ("master",), "recommend": ("buy",),
         "income": ("income",), "accident": ("incident",)}


def check_inputs(opts: MlOptions) -> dict[str, Path]:
    files = input_files(opts)
    missing = sorted({str(files[k]) for m in opts.only for k in NEEDS[m] if not files[k].is_file()})
    if missing:
        raise BadInput(f"missing input file(s): {', '.join(missing)}",
                       fix=f"Generate the day first: `bigdata-admin pilot generate --day {opts.day} "
                           f"--out {opts.data_dir}` (or pass --data DIR).")
    return files


def _need(module: str, extra: str = "ml") -> None:
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise BadInput(f"{module} is not installed in this Python environment",
                       fix=f"pip install 'bigdata-admin[{extra}]'")


def run_local(opts: MlOptions, on_result: Callable[[ModelResult], None] | None = None,
              skip: Iterable[str] = ()) -> list[ModelResult]:
    """Train every model of `opts.only` (except `skip`) here; return their results in order."""
    opts.validate()
    files = check_inputs(opts)
    todo = [m for m in opts.only if m not in set(skip)]
    results: list[ModelResult] = []

    def done(model: str, name: str, version: str, metrics: dict[str, Any], t0: float) -> None:
        r = ModelResult(model, name, version, "local", round(time.perf_counter() - t0, 2), metrics)
        results.append(r)
        if on_result:
            on_result(r)

    if "income" in todo:
        _need("sklearn")
        from bigdata_admin.pilot.ml import income

        t0 = time.perf_counter()
        try:
            cap, inc = income.load_income(files["income"])
        except ValueError as exc:
            raise BadInput(str(exc), fix="Regenerate it with `bigdata-admin pilot generate`.") from None
        version, _, metrics = income.fit(cap, inc, opts.models_root, seed=opts.seed)
        done("income", income.NAME, version, metrics, t0)
    if "accident" in todo:
        _need("keras")
        os.environ.setdefault("KERAS_BACKEND", "jax")
        from bigdata_admin.pilot.ml import accident

        t0 = time.perf_counter()
        try:
            x, y = accident.load_csv(files["incident"])
        except ValueError as exc:
            raise BadInput(str(exc), fix="Regenerate it with `bigdata-admin pilot generate`.") from None
        version, _, metrics = accident.train(x, y, opts.models_root, epochs=opts.epochs,
                                             batch_size=opts.batch_size, seed=opts.seed)
        done("accident", accident.NAME, version, metrics, t0)
    spark_todo = [m for m in SPARK_MODELS if m in todo]
    if spark_todo:
        _need("pyspark", "test")
        from bigdata_admin.pilot.ml import spark_models as sm

        with sm.session(opts.spark_master) as spark:
            if "status" in spark_todo:
                t0 = time.perf_counter()
                version, _, metrics = sm.status_model(files["status"], files["master"], opts.models_root,
                                                      spark, sample=opts.status_sample, seed=opts.seed)
                done("status", sm.STATUS_NAME, version, metrics, t0)
            if "cluster" in spark_todo:
                t0 = time.perf_counter()
                version, _, metrics = sm.cluster_model(files["master"], opts.models_root, spark,
                                                       k=opts.clusters, seed=opts.seed)
                done("cluster", sm.CLUSTER_NAME, version, metrics, t0)
            if "recommend" in spark_todo:
                t0 = time.perf_counter()
                version, _, metrics = sm.recommend_model(files["buy"], opts.models_root, spark,
                                                         seed=opts.seed)
                done("recommend", sm.RECOMMEND_NAME, version, metrics, t0)
    return results


def gpu_worker_url(cluster: Any) -> tuple[str, str]:
    """(host name, base URL) of the inventory's first GPU worker; BadInput when it has none."""
    hosts = cluster.hosts_in("gpu_worker") if cluster is not None else []
    if not hosts:
        raise BadInput("the inventory has no host in group gpu_worker",
                       fix="Add one (or train here: run `pilot ml` without --inventory).")
    host = hosts[0]
    port = int(host.vars.get("gpu_worker_api_port", cluster.var("gpu_worker_api_port", 9001)))
    return host.name, f"http://{host.address or host.name}:{port}"


def http_json(url: str, timeout: float = 10) -> tuple[int, dict[str, Any]]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def accident_features() -> tuple[str, ...]:
    """The accident-risk network's ten input names (the CSV's), in order."""
    from bigdata_admin.pilot.ml import accident

    return accident.FEATURES


def predict(base: str, features: dict[str, int], timeout: float = 30) -> tuple[int, dict[str, Any]]:
    """POST one driving state to the model API at `base`; (HTTP status, JSON answer)."""
    import urllib.error
    import urllib.request

    req = urllib.request.Request(base + "/smartcar/predict", data=json.dumps(features).encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def train_on_worker(inventory: Path, cluster: Any, opts: MlOptions,
                    show_progress: bool = True) -> ModelResult:
    """Train the accident-risk network on the GPU worker (role gpu_worker, action train) and report it."""
    from bigdata_admin import paths
    from bigdata_admin.runner import run_playbook

    files = check_inputs(MlOptions(opts.day, opts.data_dir, opts.models_root, only=("accident",)))
    host, base = gpu_worker_url(cluster)
    t0 = time.perf_counter()
    # The service play, not site.yml: only role gpu_worker knows the `train` action (every role checks it).
    result = run_playbook(paths.playbook("services/gpu_worker"), inventory, label="pilot-ml",
                          show_progress=show_progress,
                          extravars={"bigdata_action": "train",
                                     "gpu_worker_train_file": str(files["incident"].resolve()),
                                     "gpu_worker_train_epochs": opts.epochs,
                                     "gpu_worker_train_batch_size": opts.batch_size})
    if result.rc != 0:
        raise RunFailed("training on the GPU worker failed: " + "; ".join(
            f"{f.host}: {f.task}: {f.message}" for f in result.failures)[:2000],
            fix="See `bigdata-admin runs show last --log`; deploy the worker first "
                "(`bigdata-admin deploy -i INV --tags gpu_worker`).")
    status, health = http_json(base + "/health")
    if status != 200:
        raise RunFailed(f"the model API on {host} answers {status}: {health}")
    return ModelResult("accident", "accident-risk", str(health.get("model_version")), host,
                       round(time.perf_counter() - t0, 2),
                       {"accuracy": health.get("accuracy"), "backend": health.get("backend"), "url": base})


def save_report(results: list[ModelResult], models_root: Path) -> Path:
    models_root.mkdir(parents=True, exist_ok=True)
    out = models_root / "metrics.json"
    out.write_text(json.dumps({"models": [r.as_dict() for r in results]}, indent=2, default=str) + "\n")
    return out


def headline(r: ModelResult) -> str:
    """The one metric line a student reads for each model."""
    m = r.metrics
    if r.model == "status":
        return (f"accuracy {m['accuracy']:.3f}, f1 {m['f1']:.3f}, AUC {m['area_under_roc']:.3f} "
                f"({m['rows']} records)")
    if r.model == "cluster":
        return f"k={m['k']}, silhouette {m['silhouette']:.3f}, sizes {m['cluster_sizes']}"
    if r.model == "recommend":
        hit = "n/a" if m.get("hit_rate") is None else f"{m['hit_rate']:.3f}"
        base = "n/a" if m.get("baseline") is None else f"{m['baseline']:.3f}"
        return f"hit rate@{m['top']} {hit} (random {base}), {m['recommendations']} recommendations"
    if r.model == "income":
        return f"R² {m['r2']:.3f}, income = {m['coef']:.3f} x capacity + {m['intercept']:.0f}"
    acc = m.get("accuracy")
    if acc is None:
        return "trained"
    return f"accuracy {acc:.3f}" + (f", backend {m['backend']}" if m.get("backend") else "")
