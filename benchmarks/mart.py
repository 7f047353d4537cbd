"""Time to build all five pilot marts for one day on a local Spark Thrift Server.

Generates 100 cars x 1 day of status logs (2,160,100 lines), the driving log (default 4 hours),
the master and the month's purchases, lays them out where the external tables look (local
directories standing in for HDFS), starts a Spark Thrift Server (pyspark, local[2]) and times
`mart.build` per subject.

    python benchmarks/mart.py [--cars 100] [--hours 4] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cars", type=int, default=100)
    parser.add_argument("--hours", type=float, default=4.0)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
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
