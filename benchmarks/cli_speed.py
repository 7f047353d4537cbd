"""Wall time of `bigdata-admin --help` and `bigdata-admin check -i inventories/classroom`.

Each command runs as a fresh subprocess (what an admin waits for), several times; the median is
printed. Goal on the reference machine: under 0.5 s each, which needs lazy imports of heavy
libraries (ansible, ansible-runner, client libraries) in the command modules.

    python benchmarks/cli_speed.py [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOAL_S = 0.5


def _command() -> list[str]:
    local = Path(sys.executable).parent / "bigdata-admin"
    if local.exists():
        return [str(local)]
    found = shutil.which("bigdata-admin")
    return [found] if found else [sys.executable, "-m", "bigdata_admin"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(args: list[str], runs: int) -> tuple[list[float], list[float]]:
    """Wall and CPU (user + system) seconds of each run."""
    walls, cpus = [], []
    for _ in range(runs):
        cpu0, start = _children_cpu(), time.perf_counter()
        proc = subprocess.run([*_command(), *args], cwd=REPO, capture_output=True, text=True)
        walls.append(time.perf_counter() - start)
        cpus.append(_children_cpu() - cpu0)
        if proc.returncode != 0:
            raise SystemExit(f"`bigdata-admin {' '.join(args)}` failed ({proc.returncode}): {proc.stderr}")
    return walls, cpus


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    ns = parser.parse_args()
    measure(["--help"], 1)  # warm the page cache and .pyc files
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPU(s)"
          + ("  (busy machine: wall times are inflated; CPU times are the better guide)"
             if load > (os.cpu_count() or 1) else ""))
    failed = False
    for label, args in (("bigdata-admin --help", ["--help"]),
                        ("bigdata-admin check -i inventories/classroom",
                         ["check", "-i", str(REPO / "inventories" / "classroom")])):
        times, cpus = measure(args, ns.runs)
        median = statistics.median(times)
        verdict = "ok" if median < GOAL_S else f"SLOW (goal {GOAL_S} s)"
        failed |= median >= GOAL_S
        print(f"{label:46s} wall median {median:.3f} s (min {min(times):.3f}, max {max(times):.3f})  "
              f"cpu median {statistics.median(cpus):.3f} s  ({ns.runs} runs)  {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
