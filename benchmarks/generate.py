"""Lines per second of the pilot's status-log generator: 100 cars x 1 simulated day (2,160,100 lines).

The book's Java simulator took 18.9 s for exactly this on a 2-core machine (114,000 lines/s);
the goal is at least 10x faster (< 1.9 s), aiming at 20x (< 0.95 s).

    python benchmarks/generate.py [--repeat 3] [--cars 100] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from bigdata_admin.pilot import generate as gen

BOOK_SECONDS = 18.9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cars", type=int, default=100)
    parser.add_argument("--out", type=Path, default=None, help="directory to write into (default: a tmp dir)")
    args = parser.parse_args()
    times, cpu = [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = args.out or Path(tmp)
        for _ in range(args.repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            options = gen.GenerateOptions(day="20200322", cars=args.cars, datasets=("status",))
            result = gen.generate(options, out)
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        lines, size = result.files[0].lines, result.files[0].bytes
    best, median = min(times), statistics.median(times)
    print(f"status log: {args.cars} cars x 1 day = {lines:,} lines, {size / 1e6:.1f} MB")
    print(f"runs: {', '.join(f'{t:.3f}' for t in times)} s wall; "
          f"{', '.join(f'{t:.3f}' for t in cpu)} s CPU (this process; wall >> CPU means a busy machine)")
    load1 = os.getloadavg()[0]
    print(f"load average (1 min) at the end: {load1:.1f} on {os.cpu_count()} CPUs")
    print(f"best {best:.3f} s = {lines / best:,.0f} lines/s ({size / best / 1e6:.0f} MB/s); "
          f"median {median:.3f} s = {lines / median:,.0f} lines/s")
    if args.cars == 100:
        print(f"speed-up over the book's simulator ({BOOK_SECONDS} s): best {BOOK_SECONDS / best:.1f}x, "
              f"median {BOOK_SECONDS / median:.1f}x")


if __name__ == "__main__":
    main()
