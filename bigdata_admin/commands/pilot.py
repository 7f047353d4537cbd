"""`bigdata-admin pilot ...`: the smart-car teaching pilot (generate, load, mart, analyze)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape as esc

from bigdata_admin.commands import common

pilot_app = typer.Typer(
    name="pilot",
    help="The smart-car pilot: generate a day of data, load it, build the data marts, analyse them.",
    no_args_is_help=True,
)

DayOpt = Annotated[str, typer.Option("--day", help="Working day, YYYYMMDD.", show_default=False)]
OptInventoryOpt = Annotated[
    Path | None,
    typer.Option("--inventory", "-i", help="Inventory directory (hosts.yml + group_vars/) or file.",
                 show_default=False),
]
DataOpt = Annotated[
    Path | None,
    typer.Option("--data", help="Directory of the day's files (default: ./pilot-data/DAY).",
                 show_default=False),
]
PilotRootOpt = Annotated[
    str, typer.Option("--pilot-root", help="The pilot's HDFS directory (or a URI, e.g. file:/tmp/pjt).")
]

Hs2Opt = Annotated[str | None, typer.Option(
    "--hs2", help="HOST:PORT of the HiveServer2-protocol server, instead of the inventory's.",
    show_default=False)]
AuthOpt = Annotated[str | None, typer.Option(
    "--auth", help="Server auth mode NONE or NOSASL (default: the inventory's setting, else NONE).",
    show_default=False)]


def _cluster(inventory: Path | None) -> Any:
    if inventory is None:
        return None
    from bigdata_admin import inventory as inv

    return inv.load(inventory)


def _data_dir(data: Path | None, day: str) -> Path:
    return data if data is not None else Path("pilot-data") / day


@pilot_app.command("generate")
def generate_cmd(
    day: DayOpt,
    cars: Annotated[int, typer.Option(
        "--cars", help="Cars in the status and driving logs (1-2600). 100 is the book's run; at least 6 "
        "are needed for any pedal z-score to exceed 2.")] = 100,
    seed: Annotated[int, typer.Option("--seed", help="Random seed: the same seed gives the same files.")] = 0,
    out: Annotated[Path | None, typer.Option("--out", help="Output directory (default ./pilot-data/DAY).",
                                             show_default=False)] = None,
    hours: Annotated[float, typer.Option(
        "--hours", help="Hours of driving from 00:00 (one record per car every 2 s). 4 h puts normal "
        "drivers near 1,440 sharp turns and wild ones near 2,880, either side of the 2,000 threshold; a full "
        "24 h day would put every car past it.")] = 4.0,
    purchases: Annotated[int, typer.Option("--purchases", help="Rows of the purchase list.")] = 100_000,
    incidents: Annotated[int, typer.Option("--incidents", help="Rows of the accident-risk set.")] = 200_000,
    only: Annotated[str | None, typer.Option(
        "--only", help="Comma-separated subset: status,drive,master,buy,income,incident.",
        show_default=False)] = None,
    json_out: common.JsonOpt = False,
) -> None:
    """Generate a day of smart-car data, deterministic for a seed.

    Writes the status log (full day), the driving log (--hours), the car master, the month's purchases,
    the income and the accident-risk data sets, streamed to disk in constant memory. Defaults: 100 cars
    (10 wild drivers) and 4 hours of driving, so the symptom mart shows normal and abnormal cars for
    all three measures (fewer than 6 cars: no z-score can exceed 2; a full day: every car is past the
    sharp-steering threshold).
    """
    from bigdata_admin.pilot import generate as gen

    datasets = tuple(s.strip() for s in only.split(",") if s.strip()) if only else gen.DATASETS
    options = gen.GenerateOptions(day=day, cars=cars, seed=seed, hours=hours, purchases=purchases,
                                  incidents=incidents, datasets=datasets)
    target = out if out is not None else Path("pilot-data") / day

    def progress(name: str, f: gen.GeneratedFile) -> None:
        if not json_out:
            rate = f.lines / f.seconds if f.seconds else 0
            common.console.print(esc(f"  {name:9} {f.lines:>11,} lines  {f.bytes / 1e6:8.1f} MB  "
                                     f"{f.seconds:6.2f} s  ({rate:,.0f} lines/s)  {f.path}"), highlight=False)

    result = gen.generate(options, target, progress)
    if json_out:
        from dataclasses import asdict

        common.print_json(asdict(result))
    else:
        wild = ", ".join(result.wild_cars) or "none"
        common.console.print(f"[green]generated[/] {esc(f'{len(result.files)} files in {result.out_dir}')} "
                             f"({len(result.cars)} cars, wild drivers: {esc(wild)})", highlight=False)


def _deidentified_dir(folder: Path, allow_inadequate: bool) -> Path:
    """The day's de-identified copies, once their record shows they may be loaded (else exit 2)."""
    from bigdata_admin.errors import BigdataAdminError
    from bigdata_admin.pilot import deidentify

    out = folder / deidentify.OUT_DIR
    try:
        deidentify.check_loadable(out, allow_inadequate)
    except BigdataAdminError as exc:
        common.fail(exc.message, exc.fix, exc.exit_code)
    return out


LocalOpt = Annotated[bool, typer.Option(
    "--local", help="No cluster: use this machine (a Spark Thrift Server started from pyspark, Java 17; "
    "the pilot root under --local-dir). Run load, mart and analyze with --local.")]
LocalDirOpt = Annotated[Path, typer.Option(
    "--local-dir", help="Working directory of --local: the pilot root (pjt/), the Spark metastore and "
    "warehouse (spark/).")]
DEFAULT_LOCAL_DIR = Path("pilot-local")
DEFAULT_PILOT_ROOT = "/pilot-pjt"


def local_pilot_root(local_dir: Path) -> str:
    """The pilot root --local uses: `file:` URI of LOCAL_DIR/pjt."""
    return f"file:{(local_dir / 'pjt').resolve()}"


@contextmanager
def _local_server(local_dir: Path, json_out: bool) -> Iterator[str]:
    """A Spark Thrift Server on 127.0.0.1 for --local (metastore kept in LOCAL_DIR/spark); yields
    its HOST:PORT and stops it on exit."""
    from bigdata_admin import sqlclient
    from bigdata_admin.pilot import localspark

    workdir = local_dir / "spark"
    if not json_out:
        common.err_console.print(esc(f"starting a local Spark Thrift Server in {workdir} (about 30 s) ..."),
                                 highlight=False)
    with common.domain_errors():
        server = localspark.start(workdir, auth=sqlclient.default_auth("spark"))
    try:
        yield f"{server.host}:{server.port}"
    finally:
        localspark.stop(server)


@pilot_app.command("load")
def load_cmd(
    day: DayOpt,
    inventory: OptInventoryOpt = None,
    data: DataOpt = None,
    targets: Annotated[str, typer.Option(
        "--to", help="Comma-separated: hdfs (status, master, purchases), kafka (driving log), hbase (create "
        "DriverCarInfo), hbase-rows (also write the driving records into it, as Storm would), drive-text "
        "(driving records as text on HDFS for the text SmartCar_Drive_Info).")] = "hdfs,kafka,hbase",
    speedup: Annotated[float | None, typer.Option(
        "--speedup", help="Replay the driving log in simulated real time, this many times faster (the book "
        "runs at 20). Default: as fast as possible.", show_default=False)] = None,
    pilot_root: PilotRootOpt = DEFAULT_PILOT_ROOT,
    local: LocalOpt = False,
    local_dir: LocalDirOpt = DEFAULT_LOCAL_DIR,
    deidentified: Annotated[bool, typer.Option(
        "--deidentified", help="Load the copies made by `pilot deidentify` (DATA/deidentified/).")] = False,
    allow_inadequate: Annotated[bool, typer.Option(
        "--allow-inadequate", help="With --deidentified: load data sets under the k/l thresholds too.")
    ] = False,
    json_out: common.JsonOpt = False,
) -> None:
    """Load a day into HDFS, Kafka and HBase.

    Status log, master and purchases go to HDFS under --pilot-root (re-loading replaces the day), the
    driving log to Kafka topic SmartCar-Topic, and HBase table DriverCarInfo is created pre-split when
    missing. Malformed lines are counted and listed with their line numbers; they never stop a load.
    With --local (no cluster), the files go under --local-dir as the local marts read them.
    """
    from bigdata_admin.pilot import endpoints, generate, load

    if local:
        if pilot_root == DEFAULT_PILOT_ROOT:
            pilot_root = local_pilot_root(local_dir)
        if targets == "hdfs,kafka,hbase":
            targets = "hdfs,drive-text"
    generate.parse_day(day)
    deid = _deidentified_dir(_data_dir(data, day), allow_inadequate) if deidentified else None
    cluster = _cluster(inventory)
    folder = deid or _data_dir(data, day)
    names = generate.file_names(day)
    wanted = {t.strip() for t in targets.split(",") if t.strip()}
    unknown = wanted - {"hdfs", "kafka", "hbase", "hbase-rows", "drive-text"}
    if unknown:
        common.fail(f"unknown --to target(s): {', '.join(sorted(unknown))}",
                    "Use hdfs, kafka, hbase, hbase-rows and/or drive-text.")
    # Local input first: a missing file is reported before any service is contacted.
    needed = {"hdfs": ("status", "master", "buy"), "drive-text": ("drive",), "hbase-rows": ("drive",),
              "kafka": ("drive",)}
    files = sorted({folder / names[k] for t in wanted for k in needed.get(t, ())})
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        common.fail(f"the day's files are missing: {', '.join(missing)}",
                    f"Generate them (`bigdata-admin pilot generate --day {day} --out {folder}`) "
                    "or pass --data DIR.")
    local_root = load.is_local_root(pilot_root)
    remote = [t for t in sorted(wanted) if t in ("kafka", "hbase", "hbase-rows")
              or (t in ("hdfs", "drive-text") and not local_root)]
    if remote and cluster is None:
        common.fail(f"--to {','.join(remote)} needs the cluster: pass its inventory with -i",
                    "Add `-i INVENTORY` (or load only hdfs/drive-text into --pilot-root file:/DIR).")
    steps: list[load.LoadStep] = []
    extra: dict[str, str] = {}

    def show(step: load.LoadStep) -> None:
        if not json_out:
            common.console.print(esc(f"  {step.name:10} -> {step.target}: {step.report.summary()} "
                                     f"({step.seconds} s)"), highlight=False)
            for bad in step.report.examples[:10]:
                common.console.print(esc(f"      line {bad.line}: {bad.reason}: {bad.text}"), highlight=False)

    if "hdfs" in wanted or "drive-text" in wanted:
        client = load.LocalFsClient() if local_root else endpoints.webhdfs(cluster)
        hdfs_steps = load.load_hdfs(
            client, day,
            status=folder / names["status"] if "hdfs" in wanted else None,
            master=folder / names["master"] if "hdfs" in wanted else None,
            buy=folder / names["buy"] if "hdfs" in wanted else None,
            drive_text=folder / names["drive"] if "drive-text" in wanted else None,
            root=pilot_root.rstrip("/"), progress=show, inventory=str(inventory) if inventory else None)
        steps.extend(hdfs_steps)
    if "hbase" in wanted or "hbase-rows" in wanted:
        conn = endpoints.hbase(cluster)
        extra["hbase_table"] = load.ensure_hbase_table(conn, load.cluster_hbase_shell(cluster))
        if not json_out:
            common.console.print(esc(f"  hbase      {load.HBASE_TABLE}: {extra['hbase_table']}"),
                                 highlight=False)
        if "hbase-rows" in wanted:
            step = load.load_hbase(conn, folder / names["drive"], inventory=str(inventory))
            steps.append(step)
            show(step)
    if "kafka" in wanted:
        step = load.load_kafka(endpoints.kafka_bootstrap(cluster), folder / names["drive"], speedup=speedup)
        steps.append(step)
        show(step)
    if json_out:
        from dataclasses import asdict

        common.print_json({"day": day, "steps": [asdict(s) for s in steps], **extra})


@pilot_app.command("deidentify")
def deidentify_cmd(
    day: Annotated[str | None, typer.Option("--day", help="Working day, YYYYMMDD.",
                                            show_default=False)] = None,
    inventory: OptInventoryOpt = None,
    key: Annotated[Path | None, typer.Option(
        "--key", help="Pseudonym key file instead of the cluster's (made, mode 0600, when missing).",
        show_default=False)] = None,
    policy: Annotated[Path | None, typer.Option(
        "--policy", help="YAML policy (default: the documented one, see --show-policy).",
        show_default=False)] = None,
    data: DataOpt = None,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Report directory (default ./pilot-report/DAY).", show_default=False)] = None,
    show_policy: Annotated[bool, typer.Option("--show-policy",
                                              help="Print the default policy and exit.")] = False,
    json_out: common.JsonOpt = False,
) -> None:
    """De-identify a day before load: keyed pseudonyms, generalisation, and a k/l adequacy check.

    Writes DATA/deidentified/ (same file names; `pilot load --deidentified` loads it) with the follow-up
    record deidentification.json, and the assessment into the report directory. The key lives in the
    cluster's secrets directory (-i) or in --key; it is never printed. Exits 1 when a data set is under
    the k or l threshold (such a day is not loaded without --allow-inadequate).
    """
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from bigdata_admin.errors import BadInput, BigdataAdminError
    from bigdata_admin.pilot import deidentify as deid

    if show_policy:
        typer.echo(deid.DEFAULT_POLICY, nl=False)
        return
    try:
        if day is None:
            raise BadInput("--day is missing", "Pass e.g. --day 20200322.")
        if key is None and inventory is None:
            raise BadInput("no pseudonym key: pass -i INVENTORY (key in its secrets directory) or --key FILE",
                           "Use -i mycluster, or --key ./pilot.key for a local run.")
        rules = deid.load_policy(policy)
        if key is None:
            from bigdata_admin.health.core import secrets_dir

            key = deid.key_path(secrets_dir(_cluster(inventory)))
        result = deid.deidentify(day, _data_dir(data, day), deid.ensure_key(key), rules)
        page = deid.write_report(result, report if report is not None else Path("pilot-report") / day)
    except BigdataAdminError as exc:
        common.fail(exc.message, exc.fix, exc.exit_code)
    if json_out:
        from dataclasses import asdict

        common.print_json({**asdict(result), "report": str(page)})
    else:
        table = Table(title=f"De-identification of {day} (key id {result.key_id})", box=box.SIMPLE_HEAD,
                      show_edge=False, pad_edge=False)
        rows = deid.table_rows(result)
        for column in rows[0]:
            table.add_column(column)
        for row in rows:
            table.add_row(*[escape(str(v)) for v in row.values()])
        common.console.print(table)
        common.console.print("  -: only the car number, pseudonymised; skipped: header or malformed lines")
        for d in result.datasets:
            for g in d.offending_groups[:20]:
                common.console.print(f"  {escape(d.dataset)}: group {escape('/'.join(g['group'].values()))}: "
                                     f"{g['records']} records, {g['distinct_sensitive']} distinct "
                                     f"sensitive values (fails {' '.join(g['fails'])})", highlight=False)
        common.console.print(f"record {escape(result.out_dir)}/{deid.RECORD}; report {escape(str(page))}",
                             highlight=False)
    if not result.passed:
        common.err_console.print(f"[bold red]under the thresholds:[/] {escape(', '.join(result.failed))} "
                                 "(not loaded without --allow-inadequate)", highlight=False)
        raise typer.Exit(1)


@pilot_app.command("mart")
def mart_cmd(
    day: DayOpt,
    inventory: OptInventoryOpt = None,
    engine: Annotated[str, typer.Option(
        "--engine", help="hive: HiveServer2 (SmartCar_Drive_Info over HBase); spark: the Spark Thrift Server "
        "(SmartCar_Drive_Info as text, see `pilot load --to drive-text`).")] = "hive",
    hs2: Hs2Opt = None,
    auth: AuthOpt = None,
    user: Annotated[str | None, typer.Option("--user", help="User name for the session.",
                                             show_default=False)] = None,
    subjects: Annotated[str | None, typer.Option(
        "--subjects", help="Comma-separated subset of tables,status,drive,symptom,emergency,buylist.",
        show_default=False)] = None,
    pilot_root: PilotRootOpt = DEFAULT_PILOT_ROOT,
    drive_table: Annotated[str | None, typer.Option(
        "--drive-table", help="SmartCar_Drive_Info over HBase (hbase: Hive's HBaseStorageHandler, the "
        "default with --engine hive) or over the text copy of `pilot load --to drive-text` (text: the "
        "default with --engine spark).", show_default=False)] = None,
    local: LocalOpt = False,
    local_dir: LocalDirOpt = DEFAULT_LOCAL_DIR,
    json_out: common.JsonOpt = False,
) -> None:
    """Build the five subject marts of a day through HiveServer2.

    Creates the external tables, then builds status, drive, symptom, emergency and item-purchase marts
    one subject at a time. Re-running a day overwrites only that day's partitions. With --local, on a
    Spark Thrift Server started on this machine over the files `pilot load --local` wrote.
    """
    from bigdata_admin.pilot import mart

    if local:
        if inventory is not None or hs2 is not None:
            common.fail("--local runs without a cluster: it cannot be combined with -i or --hs2",
                        "Drop --local to use the cluster, or drop -i/--hs2.")
        if pilot_root == DEFAULT_PILOT_ROOT:
            pilot_root = local_pilot_root(local_dir)
        mart.params_for(day)
        with _local_server(local_dir, json_out) as endpoint:
            _mart(day, None, "spark", endpoint, auth, user, subjects, pilot_root, json_out, drive_table)
        return
    _mart(day, inventory, engine, hs2, auth, user, subjects, pilot_root, json_out, drive_table)


def _mart(day: str, inventory: Path | None, engine: str, hs2: str | None, auth: str | None,
          user: str | None, subjects: str | None, pilot_root: str, json_out: bool,
          drive_table: str | None = None) -> None:
    from bigdata_admin.pilot import endpoints, mart

    if engine not in mart.ENGINES:
        common.fail(f"--engine {engine!r} is not one of {', '.join(mart.ENGINES)}",
                    "Use --engine hive or spark.")
    if drive_table is not None and drive_table not in mart.DRIVE_TABLES:
        common.fail(f"--drive-table {drive_table!r} is not one of {', '.join(mart.DRIVE_TABLES)}",
                    "Use --drive-table hbase (HiveServer2 with the HBase storage handler) or text.")
    if drive_table == "hbase" and engine != "hive":
        common.fail("--drive-table hbase needs --engine hive (Spark SQL has no STORED BY storage handlers)",
                    "Use --drive-table text with --engine spark.")
    mart.params_for(day)
    cluster = _cluster(inventory)
    conn = endpoints.sql_connection(cluster, engine, hs2, auth, user, "--hs2")
    wanted = [s.strip() for s in subjects.split(",")] if subjects else None

    def progress(name: str, result: mart.SubjectResult | None) -> None:
        if json_out:
            return
        if result is None:
            common.console.print(esc(f"  building {name} ..."), highlight=False)
        else:
            rows = f"{result.rows:,} rows in {result.table}" if result.table else "ready"
            common.console.print(f"  [green]done[/] {esc(f'{name}: {rows} ({result.seconds} s)')}",
                                 highlight=False)

    try:
        results = mart.build(conn, day, engine=engine, pilot_root=pilot_root, subjects=wanted,
                             progress=progress, drive_table=drive_table)
    finally:
        conn.close()
    if json_out:
        from dataclasses import asdict

        common.print_json({"day": day, "engine": engine, "subjects": [asdict(r) for r in results]})


@pilot_app.command("analyze")
def analyze_cmd(
    day: DayOpt,
    inventory: OptInventoryOpt = None,
    impala: Annotated[str | None, typer.Option(
        "--impala", help="HOST:PORT of Impala's HiveServer2 port instead of the inventory's.",
        show_default=False)] = None,
    spark: Annotated[str | None, typer.Option(
        "--spark", help="HOST:PORT of the Spark Thrift Server instead of the inventory's.",
        show_default=False)] = None,
    impala_auth: Annotated[str | None, typer.Option("--impala-auth", help="NONE or NOSASL.",
                                                    show_default=False)] = None,
    spark_auth: Annotated[str | None, typer.Option("--spark-auth", help="NONE or NOSASL.",
                                                   show_default=False)] = None,
    not_impala: Annotated[bool, typer.Option(
        "--impala-is-hs2", help="The --impala endpoint is a HiveServer2/Spark server standing in for "
        "Impala (skip INVALIDATE METADATA).")] = False,
    min_speed: Annotated[float, typer.Option("--min-speed", help="Speed threshold (km/h) for areas.")] = 60,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Report directory (default ./pilot-report/DAY).", show_default=False)] = None,
    local: LocalOpt = False,
    local_dir: LocalDirOpt = DEFAULT_LOCAL_DIR,
    json_out: common.JsonOpt = False,
) -> None:
    """Run the Impala and Spark SQL analyses of a day and write an HTML report.

    Prints each result as a table and writes index.html with PNG charts (average speed per area,
    fastest car per area, symptom counts, emergency checks) and results.json.
    """
    from bigdata_admin.pilot import mart

    mart.params_for(day)
    if local:
        if inventory is not None or impala is not None or spark is not None:
            common.fail("--local runs without a cluster: it cannot be combined with -i, --impala or --spark",
                        "Drop --local to use the cluster, or drop -i/--impala/--spark.")
        with _local_server(local_dir, json_out) as endpoint:
            _analyze(day, None, endpoint, endpoint, impala_auth or spark_auth, spark_auth, True, min_speed,
                     report, json_out)
        return
    _analyze(day, inventory, impala, spark, impala_auth, spark_auth, not_impala, min_speed, report, json_out)


def _analyze(day: str, inventory: Path | None, impala: str | None, spark: str | None,
             impala_auth: str | None, spark_auth: str | None, not_impala: bool, min_speed: float,
             report: Path | None, json_out: bool) -> None:
    from bigdata_admin.pilot import analyze, endpoints

    cluster = _cluster(inventory)
    impala_conn = endpoints.sql_connection(cluster, "impala", impala, impala_auth, None, "--impala",
                                           server_kind="spark" if not_impala else None)
    try:
        spark_conn = endpoints.sql_connection(cluster, "spark", spark, spark_auth, None, "--spark")
    except BaseException:
        impala_conn.close()
        raise
    try:
        results = analyze.run(impala_conn, spark_conn, day, min_speed=min_speed,
                              impala_is_impala=not not_impala)
    finally:
        impala_conn.close()
        spark_conn.close()
    out = report if report is not None else Path("pilot-report") / day
    index = analyze.write_report(results, out, day)
    if json_out:
        common.print_json({"day": day, "report": str(index),
                           "analyses": {r.name: {"columns": r.columns, "rows": r.rows} for r in results}})
        return
    for r in results:
        common.console.print(analysis_table(r, out / "results.json"))
    common.console.print(f"[green]report[/] {esc(str(index))}", highlight=False)


DEFAULT_EXPORT_TABLE = "managed_smartcar_symptom_info"


@pilot_app.command("export")
def export_cmd(
    day: DayOpt,
    inventory: OptInventoryOpt = None,
    url: Annotated[str | None, typer.Option(
        "--url", help="Target postgresql://USER:PASSWORD@HOST:PORT/DB (default: the pilot database on the "
        "inventory's metastore_db host, password from its secrets directory).", show_default=False)] = None,
    engine: Annotated[str, typer.Option(
        "--engine", help="Read the mart through hive (HiveServer2) or spark (the Spark Thrift Server).")
    ] = "hive",
    hs2: Hs2Opt = None,
    auth: AuthOpt = None,
    table: Annotated[str, typer.Option("--table", help="Target table, [schema.]name.")
                     ] = DEFAULT_EXPORT_TABLE,
    local: LocalOpt = False,
    local_dir: LocalDirOpt = DEFAULT_LOCAL_DIR,
    json_out: common.JsonOpt = False,
) -> None:
    """Copy the day's symptom mart into PostgreSQL (the book's Sqoop step).

    Creates the target table when missing (primary key day + car), then in one transaction deletes that
    day's rows and inserts the mart's: re-running a day replaces that day only, other days are untouched
    and nothing is dropped. With --local the mart is read from the local Spark Thrift Server (`pilot mart
    --local`); -i then only names the target database.
    """
    from bigdata_admin.pilot import export, mart

    with common.domain_errors():
        mart.params_for(day)
        export.check_table_name(table)
        if engine not in mart.ENGINES:
            common.fail(f"--engine {engine!r} is not one of {', '.join(mart.ENGINES)}",
                        "Use --engine hive or spark.")
        if local and hs2 is not None:
            common.fail("--local reads the local Spark Thrift Server: it cannot be combined with --hs2",
                        "Drop --local to use --hs2, or drop --hs2.")
        cluster = _cluster(inventory)
        if url is not None:
            target = export.parse_url(url)
        elif cluster is not None:
            target = export.inventory_target(cluster)
        else:
            common.fail("no target database: pass --url or an inventory with -i",
                        "Add `--url postgresql://USER:PASSWORD@HOST:PORT/DB`, or `-i INVENTORY` to use the "
                        "pilot database on its metastore_db host.")
        export.check_target(target)  # before a local server takes 30 s to start
        if local:
            with _local_server(local_dir, json_out) as endpoint:
                result = _export(export, None, "spark", endpoint, auth, target, day, table)
        else:
            if cluster is None and hs2 is None:
                common.fail("no SQL endpoint to read the mart from: pass -i INVENTORY, --hs2 HOST:PORT or "
                            "--local",
                            "Add `-i INVENTORY` (its HiveServer2 or Spark Thrift Server), --hs2, or --local.")
            result = _export(export, cluster, engine, hs2, auth, target, day, table)
    if json_out:
        from dataclasses import asdict

        common.print_json(asdict(result))
        return
    what = (f"{result.rows_read:,} rows of {result.day} from {result.source} into {result.target} table "
            f"{result.table} (replaced {result.rows_deleted:,}, now {result.rows_now:,}; "
            f"read {result.read_seconds} s, write {result.write_seconds} s)")
    common.console.print(f"[green]exported[/] {esc(what)}", highlight=False)


def _export(export: Any, cluster: Any, engine: str, hs2: str | None, auth: str | None, target: Any,
            day: str, table: str) -> Any:
    from bigdata_admin.pilot import endpoints

    conn = endpoints.sql_connection(cluster, engine, hs2, auth, None, "--hs2")
    try:
        return export.export_day(conn, target, day, source=hs2 or engine, table=table)
    finally:
        conn.close()


TABLE_ROWS = 30
"""Rows of each analysis printed as a table; the report and results.json hold them all."""


def analysis_table(r: Any, results_json: Path, limit: int = TABLE_ROWS) -> Any:
    """One analysis as a table of at most `limit` rows; a cut table says so, and where the rest is."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    shown = r.rows[:limit]
    cut = len(r.rows) > len(shown)
    table = Table(title=esc(f"{r.title}: {len(r.rows)} rows"))
    for c in r.columns:
        table.add_column(esc(c))
    for row in shown:
        table.add_row(*[esc(f"{v:.2f}" if isinstance(v, float) else str(v)) for v in row])
    if not cut:
        return table
    return Group(table, Text(f"the first {len(shown)} of {len(r.rows)} rows shown; the other "
                             f"{len(r.rows) - len(shown)} are in {results_json}", style="yellow"))


def register(app: typer.Typer) -> None:
    """Add this module's verbs to `app`."""
    from bigdata_admin.commands import pilot_ml, pilot_stream

    pilot_ml.add_commands(pilot_app)
    pilot_stream.add_commands(pilot_app)
    app.add_typer(pilot_app, name="pilot")
