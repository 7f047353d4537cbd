"""Seconds to de-identify a pilot day of 100 cars (`pilot deidentify` with the default policy).

The day is generated first (not timed): status log 100 cars x 1 day (2,160,100 lines), driving log
100 cars x 4 h (720,000 lines), the master and income data (2,600 rows each), 100,000 purchases and
200,000 accident-risk rows. Timed: pseudonymising every data set, generalising the master and income
data, the k/l assessment (pyCANON) and the follow-up record.

    python benchmarks/deidentify.py [--repeat 3] [--cars 100] [--hours 4]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from bigdata_admin.pilot import deidentify as deid
from bigdata_admin.pilot import generate as gen

DAY = "20200322"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cars", type=int, default=100)
    parser.add_argument("--hours", type=float, default=gen.DEFAULT_HOURS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / DAY
        gen.generate(gen.GenerateOptions(day=DAY, cars=args.cars, hours=args.hours), data)
        key = deid.ensure_key(Path(tmp) / "secrets" / deid.KEY_NAME)
        policy = deid.load_policy(None)
        times, cpu = [], []
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            result = deid.deidentify(DAY, data, key, policy)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        size = sum(Path(d.source).stat().st_size for d in result.datasets)
    print(f"day of {args.cars} cars ({args.hours:g} h of driving): {size / 1e6:.0f} MB in "
          f"{len(result.datasets)} data sets")
    for d in result.datasets:
        kl = f", k={d.k} l={d.l} {'pass' if d.passed else 'FAIL'}" if d.k is not None else ""
        print(f"  {d.dataset:9} {d.records_in:>10,} records  {d.seconds:6.2f} s{kl}")
    print(f"runs: {', '.join(f'{t:.2f}' for t in times)} s wall; "
          f"{', '.join(f'{t:.2f}' for t in cpu)} s CPU (this process; wall >> CPU means a busy machine)")
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    best, median = min(times), statistics.median(times)
    print(f"best {best:.2f} s ({size / best / 1e6:.0f} MB/s); median {median:.2f} s")


if __name__ == "__main__":
    main()
