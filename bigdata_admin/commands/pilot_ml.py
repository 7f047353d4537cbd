"""`bigdata-admin pilot ml` and `pilot serve`: the pilot's models and the accident-risk REST API."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from bigdata_admin.commands import common

ModelsOpt = Annotated[Path, typer.Option("--models", help="Models root (versions go under <model>/vNNNN/).")]


def ml_cmd(
    day: Annotated[str, typer.Option("--day", help="Working day, YYYYMMDD.", show_default=False)],
    data: Annotated[Path | None, typer.Option("--data", help="Directory of the day's files (default "
                                              "./pilot-data/DAY).", show_default=False)] = None,
    models: ModelsOpt = Path("pilot-models"),
    only: Annotated[str, typer.Option("--only", help="Comma-separated: status, cluster, recommend, income, "
                                      "accident.")] = "status,cluster,recommend,income,accident",
    inventory: Annotated[Path | None, typer.Option(
        "--inventory", "-i", help="Train the accident-risk network on this inventory's gpu_worker (deployed "
        "with `deploy --tags gpu_worker`) instead of here.", show_default=False)] = None,
    spark_master: Annotated[str, typer.Option("--spark-master", help="Spark master URL for the Spark "
                                              "models.")] = "local[2]",
    status_sample: Annotated[float, typer.Option("--status-sample", help="Share of the status records the "
                                                 "random forest uses (a day of 100 cars is 2.16 M).")] = 0.05,
    clusters: Annotated[int, typer.Option("--clusters", help="k of the customer k-means.")] = 5,
    epochs: Annotated[int, typer.Option("--epochs", help="Epochs of the accident-risk network.")] = 50,
    batch_size: Annotated[int, typer.Option("--batch-size", help="Its batch size.")] = 2000,
    json_out: common.JsonOpt = False,
) -> None:
    """Train the book's five models (PILOT.md §5); print and save their metrics (versioned model files)."""
    from bigdata_admin.pilot import models as ml

    with common.domain_errors():
        opts = ml.MlOptions(day, data if data is not None else Path("pilot-data") / day, models,
                            tuple(m.strip() for m in only.split(",") if m.strip()), spark_master,
                            status_sample, clusters, epochs, batch_size)
        opts.validate()
        cluster = None
        if inventory is not None:
            from bigdata_admin import inventory as inv

            cluster = inv.load(inventory)
            ml.gpu_worker_url(cluster)
        ml.check_inputs(opts)

        def show(r: ml.ModelResult) -> None:
            if not json_out:
                common.console.print(f"[green]{r.model:<9}[/] {escape(r.name)} {r.version} "
                                     f"({escape(r.where)}, {r.seconds:.1f} s): {escape(ml.headline(r))}",
                                     highlight=False)

        results: list[Any] = []
        if inventory is not None and "accident" in opts.only:
            r = ml.train_on_worker(inventory, cluster, opts, show_progress=not json_out)
            show(r)
            results.append(r)
        results += ml.run_local(opts, show, skip=("accident",) if inventory is not None else ())
        report = ml.save_report(results, models)
    if json_out:
        common.print_json({"models": [r.as_dict() for r in results], "report": str(report)})
    else:
        common.console.print(f"[green]metrics[/] {escape(str(report))}", highlight=False)


def serve_cmd(
    models: ModelsOpt = Path("pilot-models"),
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (the book's 9001).")] = 9001,
    inventory: Annotated[Path | None, typer.Option(
        "--inventory", "-i", help="Deploy (or update) the API on this inventory's gpu_worker under systemd "
        "instead of serving here.", show_default=False)] = None,
    json_out: common.JsonOpt = False,
) -> None:
    """Serve the newest accident-risk model: POST /smartcar/predict, GET /health, OpenAPI at /docs."""
    import importlib.util

    if inventory is not None:
        from bigdata_admin import inventory as inv
        from bigdata_admin import paths
        from bigdata_admin.pilot import models as ml
        from bigdata_admin.runner import run_playbook

        with common.domain_errors():
            cluster = inv.load(inventory)
            name, base = ml.gpu_worker_url(cluster)
            result = run_playbook(paths.playbook("site"), inventory, tags=["gpu_worker"], label="pilot-serve",
                                  show_progress=not json_out)
            if result.rc != 0:
                common.fail("deploying the model API failed: " + "; ".join(
                    f"{f.host}: {f.task}: {f.message}" for f in result.failures)[:2000],
                    "See `bigdata-admin runs show last --log`.", code=1)
            status, health = ml.http_json(base + "/health")
        if json_out:
            common.print_json({"host": name, "url": base, "status": status, "health": health})
        else:
            common.console.print(f"[green]serving[/] {escape(base)}/smartcar/predict on {escape(name)} "
                                 f"(health {status}: {escape(str(health.get('status')))}, model "
                                 f"{escape(str(health.get('model_version')))})", highlight=False)
        return
    for module in ("fastapi", "uvicorn", "keras"):
        if importlib.util.find_spec(module) is None:
            common.fail(f"{module} is not installed in this Python environment",
                        "pip install 'bigdata-admin[ml]'")
    if not 0 < port < 65536:
        common.fail(f"--port {port} is not a TCP port", "Give a port between 1 and 65535.")
    import os

    os.environ.setdefault("KERAS_BACKEND", "jax")
    from bigdata_admin.pilot.ml import serve

    common.console.print(f"serving {escape(str(models))} on http://{escape(host)}:{port} (Ctrl-C stops)",
                         highlight=False)
    serve.run(models, host, port)


def add_commands(app: typer.Typer) -> None:
    """Add `ml` and `serve` to the `pilot` Typer app."""
    app.command("ml")(ml_cmd)
    app.command("serve")(serve_cmd)
