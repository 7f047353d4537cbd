"""`pilot run`: the whole pilot on a cluster in one command, resumable from the step that failed.

Steps, in order (each one a library call that the single-step verbs make too):

    generate  the day's files (status log, driving log, master, purchases) under DATA
    load      status log, master and purchases into HDFS, the text copy of the driving log
    stream    the topology started, the driving log produced into Kafka, HBase and Redis waited for
              (every record in DriverCarInfo, Redis equal to the recomputed overspeeding set)
    mart      the five marts (HiveServer2 or the Spark Thrift Server)
    ml        when the inventory has a deployed GPU worker: the accident-risk network trained there and
              served (role gpu_worker, action train; one prediction asked of the API), the other four
              models trained here (Spark ML, scikit-learn); metrics in MODELS/metrics.json. Skipped,
              with the reason, without a GPU worker
    analyze   the analyses and the HTML report, with the models' metrics when `ml` ran (Impala's
              queries on the Spark Thrift Server when the inventory has no deployed Impala)
    export    the symptom mart into PostgreSQL (the book's Sqoop step: the `pilot` database on the
              metastore_db host, or `export_url`), replacing that day only

The state lives in DATA/run.json: {"day", "options", "cluster", "steps": {name: {"status":
"done"|"failed", "seconds", "detail", "error"?}}}. A rerun skips the steps already done with the same
options on the same cluster ("cluster": the HDFS clusterID, which a rebuilt cluster changes) and starts
at the first one that is not; `restart=True` runs them all again. A step that does not apply to the
cluster (`ml` without a GPU worker) is reported "skipped" with the reason and not recorded.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bigdata_admin.errors import BadInput, BigdataAdminError, RunFailed

STEPS = ("generate", "load", "stream", "mart", "ml", "analyze", "export")
STATE_FILE = "run.json"


@dataclass
class RunOptions:
    day: str
    data: Path
    report: Path
    engine: str = "hive"
    cars: int = 100
    hours: float = 1.0
    seed: int = 0
    rate: float | None = None
    """Records/s for the driving log into Kafka (None: as fast as possible)."""
    drive_table: str | None = None
    pilot_root: str = "/pilot-pjt"
    stream_timeout_s: float = 1200.0
    export_url: str | None = None
    """postgresql://USER[:PASSWORD]@HOST[:PORT]/DB (default: the inventory's metastore_db host)."""
    incidents: int = 200_000
    """Rows of the accident-risk data set (CarDrivingIncidentInfo.csv) the GPU worker trains on."""
    models: Path | None = None
    """Models root (versions and metrics.json); default DATA/models."""

    @property
    def models_root(self) -> Path:
        return self.models if self.models is not None else self.data / "models"

    def key(self) -> dict[str, Any]:
        """What must match for a done step to be skipped on a rerun."""
        return {"day": self.day, "engine": self.engine, "cars": self.cars, "hours": self.hours,
                "seed": self.seed, "drive_table": self.drive_table, "pilot_root": self.pilot_root,
                "incidents": self.incidents}


@dataclass
class StepResult:
    name: str
    status: str
    """done, failed, skipped (done before), pending (not reached)."""
    seconds: float = 0.0
    detail: str = ""
    error: str | None = None
    fix: str | None = None


@dataclass
class RunResult:
    day: str
    steps: list[StepResult] = field(default_factory=list)
    report: str | None = None

    @property
    def ok(self) -> bool:
        return all(s.status in ("done", "skipped") for s in self.steps)


class StepSkipped(Exception):
    """A step that does not apply to this cluster; the message says why."""


Progress = Callable[[str, str, str], None]
"""progress(step, state, detail): state is "start", "detail", "done", "skipped" or "failed"."""


def _state(path: Path) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
        return data
    except (OSError, ValueError):
        return {}


def run(cluster: Any, opts: RunOptions, *, cache: Path, restart: bool = False,
        progress: Progress | None = None) -> RunResult:
    """Run the steps not yet done; stop at the first failure (recorded, and named in the result)."""
    from bigdata_admin.pilot import endpoints, generate

    generate.parse_day(opts.day)
    if opts.engine not in ("hive", "spark"):
        raise BadInput(f"--engine {opts.engine!r} is not hive or spark", fix="Use --engine hive or spark.")
    say: Progress = progress or (lambda _s, _t, _d: None)
    opts.data.mkdir(parents=True, exist_ok=True)
    state_path = opts.data / STATE_FILE
    state = _state(state_path)
    cluster_id = endpoints.hdfs_cluster_id(cluster)
    if state.get("steps") and not restart and state.get("options") == opts.key() \
            and state.get("cluster") != cluster_id:
        say("generate", "detail", f"the cluster is not the one the earlier run used (HDFS clusterID "
                                  f"{cluster_id or 'unknown'}, was {state.get('cluster') or 'unknown'}): "
                                  "every step runs again")
    if restart or state.get("options") != opts.key() or state.get("cluster") != cluster_id:
        state = {"day": opts.day, "options": opts.key(), "cluster": cluster_id, "steps": {}}
    result = RunResult(opts.day)
    actions: dict[str, Callable[[Callable[[str], None]], str]] = {
        "generate": lambda note: _generate(opts),
        "load": lambda note: _load(cluster, opts),
        "stream": lambda note: _stream(cluster, opts, cache, note),
        "mart": lambda note: _mart(cluster, opts, note),
        "ml": lambda note: _ml(cluster, opts, note),
        "analyze": lambda note: _analyze(cluster, opts,
                                         state["steps"].get("ml", {}).get("status") == "done"),
        "export": lambda note: _export(cluster, opts),
    }
    failed = False
    for name in STEPS:
        if failed:
            result.steps.append(StepResult(name, "pending"))
            continue
        before = state["steps"].get(name, {})
        if before.get("status") == "done":
            result.steps.append(StepResult(name, "skipped", before.get("seconds", 0.0),
                                           f"done before: {before.get('detail', '')}"))
            say(name, "skipped", before.get("detail", ""))
            continue
        say(name, "start", "")
        t0 = time.monotonic()
        try:
            detail = actions[name](lambda text, name=name: say(name, "detail", text))  # type: ignore[misc]
        except StepSkipped as why:
            state["steps"].pop(name, None)
            result.steps.append(StepResult(name, "skipped", detail=str(why)))
            say(name, "skipped", str(why))
            continue
        except BigdataAdminError as exc:
            step = StepResult(name, "failed", round(time.monotonic() - t0, 1), error=exc.message, fix=exc.fix)
            failed = True
        except Exception as exc:  # a client library's error: recorded, named, resumable
            step = StepResult(name, "failed", round(time.monotonic() - t0, 1),
                              error=f"{type(exc).__name__}: {exc}",
                              fix=f"Fix the cause, then run the same command again: it resumes at {name}.")
            failed = True
        else:
            step = StepResult(name, "done", round(time.monotonic() - t0, 1), detail)
        result.steps.append(step)
        state["steps"][name] = {k: v for k, v in asdict(step).items() if v is not None}
        state_path.write_text(json.dumps(state, indent=2) + "\n")
        say(name, step.status, step.detail or step.error or "")
    index = opts.report / "index.html"
    result.report = str(index) if index.is_file() else None
    return result


# --------------------------------------------------------------------------------------------------
# Steps

def _generate(opts: RunOptions) -> str:
    from bigdata_admin.pilot import generate

    res = generate.generate(generate.GenerateOptions(
        day=opts.day, cars=opts.cars, hours=opts.hours, seed=opts.seed, incidents=opts.incidents), opts.data)
    return ", ".join(f"{f.dataset} {f.lines:,} lines" for f in res.files)


def _files(opts: RunOptions) -> dict[str, Path]:
    from bigdata_admin.pilot import generate

    return {k: opts.data / v for k, v in generate.file_names(opts.day).items()}


def _load(cluster: Any, opts: RunOptions) -> str:
    from bigdata_admin.pilot import endpoints, load

    f = _files(opts)
    steps = load.load_hdfs(endpoints.webhdfs(cluster), opts.day, status=f["status"], master=f["master"],
                           buy=f["buy"], drive_text=f["drive"], root=opts.pilot_root.rstrip("/"),
                           inventory=str(cluster.source))
    return "; ".join(f"{s.name} {s.report.records:,} records" for s in steps)


def _stream(cluster: Any, opts: RunOptions, cache: Path, note: Callable[[str], None]) -> str:
    from bigdata_admin.pilot import endpoints, load, records, stream

    started = stream.start(cluster, cache, note=note)
    note(f"topology {started['status']}")
    drive = _files(opts)["drive"]
    recs = [f for _, f in records.read_log(drive, "drive")]
    sent = load.load_kafka(endpoints.kafka_bootstrap(cluster), drive, rate=opts.rate, progress_every=20_000,
                           progress=lambda n: note(f"produced {n:,} of {len(recs):,} records"))
    t0 = time.monotonic()
    count = stream.wait_for_day(cluster, opts.day, len(recs), opts.stream_timeout_s,
                                note=lambda lag: note(f"{lag:,} records still to go through the topology"))
    if count < len(recs):
        raise RunFailed(f"HBase DriverCarInfo holds {count:,} of the day's {len(recs):,} records "
                        f"{opts.stream_timeout_s:g} s after they were sent",
                        fix="See `bigdata-admin pilot stream status`; rerun to resume at this step.")
    want = stream.overspeeding(recs).get(opts.day, set())
    got: set[str] = set()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the last windows close after their idle time
        got = stream.overspeeding_in_redis(cluster, opts.day)
        if got == want:
            break
        time.sleep(2)
    if got != want:
        raise RunFailed(f"Redis {opts.day} holds {len(got)} overspeeding windows, the recomputation "
                        f"{len(want)} (missing {sorted(want - got)[:3]}, extra {sorted(got - want)[:3]})",
                        fix="See the smartcar bolt's worker log on the supervisors.")
    return (f"{sent.extra.get('sent', 0):,} records through Kafka and Storm into HBase in "
            f"{sent.seconds + time.monotonic() - t0:.0f} s; {len(got)} overspeeding windows in Redis")


def drive_table(cluster: Any, opts: RunOptions) -> str:
    """SmartCar_Drive_Info's definition: the option, else text on Spark and on a Hive from the Maven
    bundle (Maven Central has no hive-hbase-handler for Hive 4), else HBase (the book's)."""
    from bigdata_admin import catalog

    if opts.drive_table:
        return opts.drive_table
    if opts.engine == "spark" or catalog.install_source(cluster, "hive") == "maven":
        return "text"
    return "hbase"


def _mart(cluster: Any, opts: RunOptions, note: Callable[[str], None]) -> str:
    from bigdata_admin.pilot import endpoints, mart

    conn = endpoints.sql_connection(cluster, opts.engine, None, None, None, "--engine")
    try:
        results = mart.build(conn, opts.day, engine=opts.engine, pilot_root=opts.pilot_root,
                             drive_table=drive_table(cluster, opts),
                             progress=lambda name, r: note(f"{name} done" if r else f"building {name}"))
    finally:
        conn.close()
    return ", ".join(f"{r.name} {r.rows:,}" for r in results if r.table)


def _ml(cluster: Any, opts: RunOptions, note: Callable[[str], None]) -> str:
    import importlib.util

    from bigdata_admin import deployment
    from bigdata_admin.pilot import models as ml

    if not cluster.has("gpu_worker"):
        raise StepSkipped("no host in group gpu_worker: no models trained")
    why = deployment.not_deployed(cluster).get("gpu_worker")
    if why:
        raise StepSkipped(f"gpu_worker not deployed ({why}): no models trained")
    here = [m for m, module in (("status", "pyspark"), ("cluster", "pyspark"), ("recommend", "pyspark"),
                                 ("income", "sklearn")) if importlib.util.find_spec(module) is not None]
    mopts = ml.MlOptions(opts.day, opts.data, opts.models_root, only=("accident", *here), seed=opts.seed)
    mopts.validate()
    host, base = ml.gpu_worker_url(cluster)
    note(f"training the accident-risk network on {host}, the other models here")
    # The worker trains while this host trains the others: two machines' work, overlapped.
    with ThreadPoolExecutor(1) as pool:
        remote = pool.submit(ml.train_on_worker, Path(cluster.source), cluster, mopts, show_progress=False)
        trained = ml.run_local(mopts, on_result=lambda r: note(f"{r.model}: {ml.headline(r)}"),
                               skip=("accident",))
        results = [remote.result(), *trained]
    status, answer = ml.predict(base, dict.fromkeys(ml.accident_features(), 1))
    if status != 200 or "prediction" not in answer:
        raise RunFailed(f"the model API {base} answered {status} to a valid prediction request: {answer}",
                        fix=f"See `journalctl -u smartcar-model-api` on {host}.")
    results[0].metrics["served"] = f"{base}/smartcar/predict"
    ml.save_report(results, opts.models_root)
    skipped = sorted({"status", "cluster", "recommend", "income"} - set(here))
    tail = f"; not trained (pyspark/scikit-learn absent here): {', '.join(skipped)}" if skipped else ""
    return "; ".join(f"{r.model} {ml.headline(r)}" for r in results) + f"; served at {base}" + tail


def _analyze(cluster: Any, opts: RunOptions, with_models: bool = False) -> str:
    from bigdata_admin import deployment
    from bigdata_admin.pilot import analyze, endpoints

    impala = cluster.has("impala_daemon") and "impala_daemon" not in deployment.not_deployed(cluster)
    spark_conn = endpoints.sql_connection(cluster, "spark", None, None, None, "--spark")
    try:
        impala_conn = (endpoints.sql_connection(cluster, "impala", None, None, None, "--impala")
                       if impala else spark_conn)
        try:
            results = analyze.run(impala_conn, spark_conn, opts.day, impala_is_impala=impala)
        finally:
            if impala_conn is not spark_conn:
                impala_conn.close()
    finally:
        spark_conn.close()
    index = analyze.write_report(results, opts.report, opts.day,
                                 models=_models_for_report(opts.models_root / "metrics.json")
                                 if with_models else None)
    where = "" if impala else " (Impala's queries on the Spark Thrift Server: no Impala deployed)"
    return f"{len(results)} analyses, report {index}{where}"


def _models_for_report(metrics: Path) -> list[dict[str, Any]] | None:
    """The `ml` step's results (models/metrics.json) as report rows, or None when it did not run."""
    from bigdata_admin.pilot import models as ml

    try:
        data = json.loads(metrics.read_text())
        results = [ml.ModelResult(**m) for m in data["models"]]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return [{"model": r.model, "name": r.name, "version": r.version, "where": r.where,
             "seconds": r.seconds, "metrics": ml.headline(r)} for r in results]


def _export(cluster: Any, opts: RunOptions) -> str:
    from bigdata_admin.pilot import endpoints, export

    target = export.parse_url(opts.export_url) if opts.export_url else export.inventory_target(cluster)
    conn = endpoints.sql_connection(cluster, opts.engine, None, None, None, "--engine")
    try:
        r = export.export_day(conn, target, opts.day, source=opts.engine)
    finally:
        conn.close()
    return (f"{r.rows_now:,} symptom rows of {opts.day} in {r.target} table {r.table} "
            f"({r.rows_deleted:,} replaced)")
