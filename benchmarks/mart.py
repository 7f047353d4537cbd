"""Time to build all five pilot marts for one day: on a local Spark Thrift Server, or on a deployed
cluster's HiveServer2 and Spark Thrift Server side by side.

Local (default): generates 100 cars x 1 day of status logs (2,160,100 lines), the driving log
(default 4 hours), the master and the month's purchases, lays them out where the external tables look
(local directories standing in for HDFS), starts a Spark Thrift Server (pyspark, local[2]) and times
`mart.build` per subject.

    python benchmarks/mart.py [--cars 100] [--hours 4] [--workdir DIR]

Cluster (--inventory): the day must be loaded already (`bigdata-admin pilot generate --day DAY`, then
`bigdata-admin pilot load --day DAY -i INV --to hdfs,hbase,hbase-rows,drive-text`). Builds the five
marts on HiveServer2 (database `default`, SmartCar_Drive_Info per --hive-drive-table: over HBase by
default, `text` where HiveServer2 has no HBase storage handler) and then on the Spark Thrift Server
(database --spark-database, the text SmartCar_Drive_Info), and prints each subject's seconds side by
side with the rows each engine counted.

    python benchmarks/mart.py --inventory inventories/lab-pilot --day 20200322 [--hive-drive-table text]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bigdata_admin.pilot import generate as gen
from bigdata_admin.pilot import load, localspark, mart, records
from bigdata_admin.sqlclient import hs2_connect

DAY = "20200322"


def lay_out(data: Path, root: Path) -> None:
    names = gen.file_names(DAY)
    jobs = [
        (root / load.STATUS_DIR / f"wrk_date={DAY}" / names["status"],
         lambda r: load.status_payload(data / names["status"], r)),
        (root / load.DRIVE_TEXT_DIR / load.drive_text_name(DAY),
         lambda r: load.drive_text_payload(data / names["drive"], r)),
        (root / load.MASTER_DIR / "CarMaster.txt", lambda r: load.delimited_payload(data / names["master"],
                                                                                    "master", r)),
        (root / load.BUY_DIR / names["buy"], lambda r: load.delimited_payload(data / names["buy"], "buy", r)),
    ]
    for target, payload in jobs:
        target.parent.mkdir(parents=True, exist_ok=True)
        with target.open("wb") as out:
            for chunk in payload(records.ParseReport(str(target))):
                out.write(chunk)


def _timed(conn: Any, day: str, engine: str, pilot_root: str, drive_table: str | None
           ) -> tuple[list[mart.SubjectResult], float]:
    t0 = time.perf_counter()
    results = mart.build(conn, day, engine=engine, pilot_root=pilot_root, drive_table=drive_table)
    return results, time.perf_counter() - t0


def cluster_mode(args: argparse.Namespace) -> None:
    """Five marts on the inventory's HiveServer2, then on its Spark Thrift Server, side by side."""
    from bigdata_admin import inventory, sqlclient

    cluster = inventory.load(args.inventory)

    def connect(service: str, database: str = "default") -> Any:
        ep = sqlclient.endpoint(cluster, service)
        return sqlclient.hs2_connect(ep.host, ep.port, ep.auth, "bench", setting=ep.setting,
                                     database=database, inventory=str(args.inventory))

    runs: dict[str, tuple[list[mart.SubjectResult], float]] = {}
    conn = connect("hive")
    try:
        print(f"HiveServer2: building the marts of {args.day} "
              f"(SmartCar_Drive_Info: {args.hive_drive_table}) ...", flush=True)
        runs["hive"] = _timed(conn, args.day, "hive", args.pilot_root, args.hive_drive_table)
    finally:
        conn.close()
    spark_error = ""
    try:
        conn = connect("spark")
        try:
            mart.execute(conn, f"CREATE DATABASE IF NOT EXISTS {args.spark_database}")
        finally:
            conn.close()
        conn = connect("spark", args.spark_database)
        try:
            print(f"Spark Thrift Server: building the marts of {args.day} "
                  f"(database {args.spark_database}) ...", flush=True)
            runs["spark"] = _timed(conn, args.day, "spark", args.pilot_root, "text")
        finally:
            conn.close()
    except Exception as exc:  # the Hive column is still worth printing
        spark_error = " ".join(str(exc).split())[:300]
    hive = {r.name: r for r in runs["hive"][0]}
    spark = {r.name: r for r in runs["spark"][0]} if "spark" in runs else {}
    print(f"{'subject':10} {'HiveServer2 s':>14} {'Spark TS s':>11} {'rows (Hive)':>12} {'rows (Spark)':>13}")
    for name in mart.SUBJECT_NAMES:
        h, s = hive[name], spark.get(name)
        rows_h = f"{h.rows:,}" if h.rows is not None else "-"
        rows_s = f"{s.rows:,}" if s is not None and s.rows is not None else "-"
        secs_s = f"{s.seconds:11.1f}" if s is not None else f"{'failed':>11}"
        print(f"{name:10} {h.seconds:14.1f} {secs_s} {rows_h:>12} {rows_s:>13}")
    total_s = f"{runs['spark'][1]:11.1f}" if "spark" in runs else f"{'failed':>11}"
    print(f"{'all':10} {runs['hive'][1]:14.1f} {total_s}")
    if spark_error:
        print(f"Spark Thrift Server failed: {spark_error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cars", type=int, default=100)
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--inventory", "-i", type=Path, default=None,
                        help="time the marts on this cluster's HiveServer2 and Spark Thrift Server instead")
    parser.add_argument("--day", default=DAY, help="with --inventory: the loaded day (YYYYMMDD)")
    parser.add_argument("--pilot-root", default=mart.DEFAULT_PILOT_ROOT, help="with --inventory")
    parser.add_argument("--hive-drive-table", choices=mart.DRIVE_TABLES, default="hbase",
                        help="with --inventory: SmartCar_Drive_Info on HiveServer2")
    parser.add_argument("--spark-database", default="pilot_bench_spark",
                        help="with --inventory: the Spark Thrift Server's database (apart from Hive's)")
    args = parser.parse_args()
    if args.inventory is not None:
        cluster_mode(args)
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="pilot-mart-bench-"))
    try:
        t0 = time.perf_counter()
        gen.generate(gen.GenerateOptions(day=DAY, cars=args.cars, hours=args.hours,
                                         datasets=("status", "drive", "master", "buy")), work / "data")
        lay_out(work / "data", work / "pilot-pjt")
        print(f"generated and laid out the day in {time.perf_counter() - t0:.1f} s "
              f"({args.cars} cars, {args.hours} h of driving)")
        t0 = time.perf_counter()
        server = localspark.start(work / "sts")
        print(f"Spark Thrift Server up in {time.perf_counter() - t0:.1f} s on port {server.port}")
        try:
            conn = hs2_connect(server.host, server.port, "NONE", "bench")
            t0 = time.perf_counter()
            results = mart.build(conn, DAY, engine="spark", pilot_root=(work / "pilot-pjt").as_uri())
            total = time.perf_counter() - t0
            conn.close()
        finally:
            localspark.stop(server)
        for r in results:
            rows = f"{r.rows:>10,} rows" if r.rows is not None else " " * 15
            print(f"  {r.name:10} {rows}  {r.seconds:7.2f} s  {r.table}")
        print(f"all five marts (with the external tables): {total:.1f} s")
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
