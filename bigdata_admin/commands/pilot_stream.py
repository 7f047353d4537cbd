"""`bigdata-admin pilot stream start|stop|status`, `pilot produce`, `pilot watch`: the pilot's real-time
path; `pilot run`: the whole pilot in one command."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape as esc

from bigdata_admin.commands import common

stream_app = typer.Typer(
    name="stream",
    help="The real-time topology (Kafka -> Storm -> HBase and Redis): start, stop, status.",
    no_args_is_help=True,
)


def _load(inventory: Path) -> Any:
    from bigdata_admin import inventory as inv

    return inv.load(inventory)


@stream_app.command("start")
def start_cmd(inventory: common.InventoryOpt,
              bolts: Annotated[int, typer.Option("--bolts", min=1, max=32,
                                                 help="Tasks of the Python bolt.")] = 2,
              json_out: common.JsonOpt = False) -> None:
    """Submit the smartcar-stream topology (a running one is left alone).

    Creates Kafka topic SmartCar-Topic and the pre-split HBase table DriverCarInfo when missing, copies
    the topology and its connector jars (from `artifacts fetch storm`) to the Nimbus host and waits
    until it is ACTIVE. It resumes from the offsets its consumer group committed.
    """
    from bigdata_admin import paths
    from bigdata_admin.pilot import stream

    with common.domain_errors():
        cluster = _load(inventory)

        def note(message: str) -> None:
            if not json_out:
                common.console.print(esc(f"  {message}"), highlight=False)

        result = stream.start(cluster, paths.cache_dir(), note=note, bolts=bolts)
    if json_out:
        common.print_json(result)
        return
    verb = "already running" if result["status"] == "running" else f"started in {result['seconds']} s"
    common.console.print(esc(f"{stream.TOPOLOGY}: {verb} ({result['workers']} worker(s), "
                             f"{result['tasks']} tasks, id {result['id']})"), highlight=False)


@stream_app.command("stop")
def stop_cmd(inventory: common.InventoryOpt,
             wait: Annotated[int, typer.Option("--wait", min=0, max=600, help="Seconds the topology is "
                                               "deactivated before it is killed (in-flight records finish).")]
             = 10,
             json_out: common.JsonOpt = False) -> None:
    """Kill the smartcar-stream topology and wait until Storm no longer lists it.

    Records read but not yet acked are read again on the next start: nothing is lost.
    """
    from bigdata_admin.pilot import stream

    with common.domain_errors():
        result = stream.stop(_load(inventory), wait_s=wait)
    if json_out:
        common.print_json(result)
    else:
        common.console.print(esc(f"{stream.TOPOLOGY}: {result['status']}"), highlight=False)


@stream_app.command("status")
def status_cmd(inventory: common.InventoryOpt, json_out: common.JsonOpt = False) -> None:
    """Whether the topology runs, its consumer group's lag on SmartCar-Topic and its counters."""
    from rich.table import Table

    from bigdata_admin.pilot import stream

    with common.domain_errors():
        result = stream.status(_load(inventory))
    if json_out:
        common.print_json(result)
        return
    row = result.get("storm")
    common.console.print(esc(f"{stream.TOPOLOGY}: " + (f"{row['status']}, {row['workers']} worker(s), up "
                                                      f"{row['uptime_s']} s" if row else "not running")),
                         highlight=False)
    kafka = result.get("kafka") or {}
    if "error" in kafka:
        common.console.print(esc(f"  Kafka: {kafka['error']}"), highlight=False)
    else:
        common.console.print(esc(f"  Kafka SmartCar-Topic: {kafka.get('end', 0):,} records, "
                                 f"{kafka.get('committed', 0):,} committed by {stream.CONSUMER_GROUP}, "
                                 f"lag {kafka.get('lag', 0):,}"), highlight=False)
    comps = result.get("components") or {}
    if comps:
        table = Table("component", "emitted", "acked", "failed", "latency ms",
                      caption="Storm UI counters, all time (Storm samples them: approximate)")
        for name, c in comps.items():
            latency = c.get("completeLatency") or c.get("processLatency") or ""
            table.add_row(esc(name), *(esc(str(c.get(k) if c.get(k) is not None else ""))
                                       for k in ("emitted", "acked", "failed")), esc(str(latency)))
        common.console.print(table)


def produce_cmd(
    inventory: common.InventoryOpt,
    day: Annotated[str | None, typer.Option("--day", help="Send DATA/SmartCarDriverInfo_DAY.log (made by "
                                            "`pilot generate`).", show_default=False)] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Directory of the day's files (default "
                                              "./pilot-data/DAY).", show_default=False)] = None,
    file: Annotated[Path | None, typer.Option("--file", help="Send this driving log instead (e.g. the "
                                              "book's SmartCarDriverInfo.log).", show_default=False)] = None,
    rate: Annotated[float | None, typer.Option("--rate", min=1, help="Records per second (the book's "
                                               "simulator: 1000). Default: as fast as possible.",
                                               show_default=False)] = None,
    json_out: common.JsonOpt = False,
) -> None:
    """Send a driving log into Kafka topic SmartCar-Topic, keyed by car number, lines unchanged."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from bigdata_admin.pilot import endpoints, generate, load, records

    if (day is None) == (file is None):
        common.fail("give either --day (a generated day) or --file (a driving log)",
                    "Add `--day YYYYMMDD` or `--file PATH`.")
    if file is None:
        assert day is not None
        generate.parse_day(day)
        file = (data if data is not None else Path("pilot-data") / day) / generate.file_names(day)["drive"]
    if not file.is_file():
        common.fail(f"the driving log {file} does not exist",
                    f"Generate it (`bigdata-admin pilot generate --day {day or 'YYYYMMDD'}`) or pass --file.")
    with common.domain_errors():
        cluster = _load(inventory)
        bootstrap = endpoints.kafka_bootstrap(cluster)
        total = sum(1 for _ in records.read_log(file, "drive"))
        with Progress(TextColumn("producing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=common.err_console, disable=json_out, transient=False) as bar:
            task = bar.add_task("kafka", total=total)
            step = load.load_kafka(bootstrap, file, rate=rate, progress_every=1000,
                                   progress=lambda n: bar.update(task, completed=n))
    sent = int(step.extra.get("sent", 0))
    result = {"file": str(file), "sent": sent, "seconds": step.seconds,
              "records_per_s": round(sent / step.seconds, 1) if step.seconds else None,
              "malformed": step.report.malformed}
    if json_out:
        common.print_json(result)
    else:
        common.console.print(esc(f"sent {sent:,} records to SmartCar-Topic in {step.seconds} s "
                                 f"({result['records_per_s']} records/s); {step.report.summary()}"),
                             highlight=False)


def watch_cmd(
    inventory: common.InventoryOpt,
    day: Annotated[str, typer.Option("--day", help="The day whose overspeeding set (Redis key) to follow.",
                                     show_default=False)],
    interval: Annotated[float, typer.Option("--interval", min=0.5, help="Seconds between samples.")] = 2.0,
    duration: Annotated[float | None, typer.Option("--duration", min=0, help="Stop after this many "
                                                   "seconds (default: until Ctrl-C).", show_default=False)]
    = None,
    json_out: common.JsonOpt = False,
) -> None:
    """A live view of the stream: records/s into Kafka and through the topology, consumer lag, and the
    overspeeding cars as Redis gets them. With --json, one JSON object per sample (JSON lines)."""
    import json
    import time

    from rich.live import Live

    from bigdata_admin.pilot import generate, stream

    generate.parse_day(day)
    with common.domain_errors():
        cluster = _load(inventory)
        watcher = stream.Watcher(cluster, day)
        started = time.monotonic()
        with Live(console=common.console, auto_refresh=False, transient=False) as live:
            try:
                while True:
                    sample = watcher.sample()
                    if json_out:
                        print(json.dumps(sample), flush=True)
                    else:
                        live.update(watcher.render(), refresh=True)
                    if duration is not None and time.monotonic() - started >= duration:
                        break
                    time.sleep(interval)
            except KeyboardInterrupt:
                pass


def run_cmd(
    inventory: common.InventoryOpt,
    day: Annotated[str, typer.Option("--day", help="Working day, YYYYMMDD.", show_default=False)],
    data: Annotated[Path | None, typer.Option("--data", help="Directory of the day's files and run.json "
                                              "(default ./pilot-data/DAY).", show_default=False)] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Report directory (default "
                                                "./pilot-report/DAY).", show_default=False)] = None,
    engine: Annotated[str, typer.Option("--engine", help="Marts on hive (HiveServer2) or spark (the Spark "
                                        "Thrift Server).")] = "hive",
    cars: Annotated[int, typer.Option("--cars", min=1, max=2600, help="Cars to generate.")] = 100,
    hours: Annotated[float, typer.Option("--hours", min=0.01, max=24, help="Hours of driving log.")] = 1.0,
    seed: Annotated[int, typer.Option("--seed", help="Generator seed.")] = 0,
    rate: Annotated[float | None, typer.Option("--rate", min=1, help="Records/s into Kafka (default: as "
                                               "fast as possible).", show_default=False)] = None,
    incidents: Annotated[int, typer.Option("--incidents", min=100, help="Rows of the accident-risk data "
                                           "set the GPU worker trains on.")] = 200_000,
    models: Annotated[Path | None, typer.Option("--models", help="Models root (default DATA/models).",
                                                show_default=False)] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Run every step again, even those done.")]
    = False,
    json_out: common.JsonOpt = False,
) -> None:
    """The whole pilot: generate, load, stream (Kafka -> Storm -> HBase, Redis), marts, the models
    (trained and served on the GPU worker, when the inventory has one), analyses and the HTML report,
    in one progress view.

    A failed step stops the run and is named with its fix; the same command again resumes at that
    step (DATA/run.json records what is done). Ends with the report's path.
    """
    from rich.table import Table

    from bigdata_admin import paths
    from bigdata_admin.pilot import run as pilot_run

    opts = pilot_run.RunOptions(day=day, data=data if data is not None else Path("pilot-data") / day,
                                report=report if report is not None else Path("pilot-report") / day,
                                engine=engine, cars=cars, hours=hours, seed=seed, rate=rate,
                                incidents=incidents, models=models)
    with common.domain_errors():
        cluster = _load(inventory)
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        with Progress(SpinnerColumn(), TextColumn("{task.fields[step]:9}"), TextColumn("{task.description}"),
                      TimeElapsedColumn(), console=common.err_console, disable=json_out) as bar:
            tasks = {name: bar.add_task("pending", step=name, start=False) for name in pilot_run.STEPS}

            def progress(step: str, state: str, detail: str) -> None:
                task = tasks[step]
                if state == "start":
                    bar.start_task(task)
                    bar.update(task, description="running")
                elif state == "detail":
                    bar.update(task, description=esc(detail[:100]))
                else:
                    bar.update(task, description=esc(f"{state}: {detail[:100]}"))
                    bar.stop_task(task)

            result = pilot_run.run(cluster, opts, cache=paths.cache_dir(), restart=restart, progress=progress)
    if json_out:
        from dataclasses import asdict

        common.print_json({"day": day, "ok": result.ok, "report": result.report,
                           "steps": [asdict(s) for s in result.steps]})
    else:
        table = Table("step", "result", "seconds", "detail")
        colours = {"done": "green", "skipped": "dim", "failed": "bold red", "pending": "dim"}
        for s in result.steps:
            table.add_row(s.name, f"[{colours[s.status]}]{s.status}[/]", f"{s.seconds:.0f}",
                          esc(s.detail or s.error or ""))
        common.console.print(table)
        if result.report:
            common.console.print(f"[green]report[/] {esc(result.report)}", highlight=False)
    failed = next((s for s in result.steps if s.status == "failed"), None)
    if failed is not None:
        fix = failed.fix or f"Fix the cause and run the same command again: it resumes at {failed.name}."
        common.fail(f"pilot run stopped at {failed.name}: {failed.error}", fix, code=1)


def add_commands(app: typer.Typer) -> None:
    """Add `stream` and `produce` to the pilot's app."""
    app.add_typer(stream_app, name="stream")
    app.command("produce")(produce_cmd)
    app.command("watch")(watch_cmd)
    app.command("run")(run_cmd)
