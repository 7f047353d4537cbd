"""Classroom deploy: three students in parallel against one after another (root needed).

Prints the wall time of `classroom deploy --parallel N` and of `--parallel 1` for the same students,
the speed-up, and the load average before and after each run.

    sudo .venv/bin/python benchmarks/classroom.py [--dir DIR] [--name class] [--students 3]
                                                  [--profile slim|mini] [--fresh] [--keep]

Without --profile, practice labs use `slim` (the issue's: ZooKeeper, HDFS, YARN, Hive with its
PostgreSQL, Kafka; 4096 MiB declared each) when this machine's memory budget (`lab up --students`)
allows N of them, else `mini` (no Hive); with --dir the classroom's own inventories are used.
Without --dir, practice labs NAME-s1..sN are brought up (`lab up --students N`) and a classroom is
made of them in a temporary directory. Without --fresh, both runs deploy onto clusters that are
already deployed (a converged re-deploy: the Ansible work of every student without the downloads);
with --fresh the labs are recreated before each run, so both measure a first deploy (slow: twice N
first deploys). Labs this script brought up are taken down at the end unless --keep.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bigdata_admin import classroom, lab
from bigdata_admin.errors import BadInput
from bigdata_admin.lab.util import lab_root


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.1f}/{five:.1f} (1/5 min, {os.cpu_count()} CPUs)"


def _labs(name: str, students: int, profile: str, fresh: bool) -> Path:
    names = [f"{name}-s{i}" for i in range(1, students + 1)]
    if fresh:
        for n in names:
            if lab.get(n) is not None:
                lab.down(n)
    new = [n for n in names if lab.get(n) is None]
    if new:
        classroom.check_lab_budget(len(new), profile, classroom.available_memory_mb())
    rows = []
    for i, n in enumerate(names, start=1):
        lb = lab.up(name=n, nodes=1)
        rows.append((f"student{i}", n, next(iter(lb.hosts.values()))))
    return classroom.write_lab_roster(lab_root() / "classrooms" / f"{name}-roster.csv", rows,
                                      classroom.lab_student_need_mb(profile))


def _default_profile(name: str, students: int, fresh: bool) -> str:
    """`slim` when the labs still to bring up fit the memory budget as slim students, else `mini`."""
    names = [f"{name}-s{i}" for i in range(1, students + 1)]
    new = len(names) if fresh else sum(lab.get(n) is None for n in names)
    try:
        if new:
            classroom.check_lab_budget(new, "slim", classroom.available_memory_mb())
        return "slim"
    except BadInput as exc:
        print(f"profile mini: {exc.message}", flush=True)
        return "mini"


def _run(d: Path, parallel: int) -> tuple[float, int]:
    t = time.monotonic()
    results = classroom.deploy(d, parallel=parallel,
                               on_done=lambda r: print(f"  {r.student}: rc {r.rc} in {r.seconds:.0f} s"
                                                       + ("" if r.ok else f" ({r.summary})"), flush=True))
    return time.monotonic() - t, sum(not r.ok for r in results)


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dir", type=Path, help="an existing classroom (default: practice labs)")
    parser.add_argument("--name", default="class", help="practice lab prefix (default: class)")
    parser.add_argument("--students", type=int, default=3)
    parser.add_argument("--profile", choices=sorted(classroom.PROFILES),
                        help="practice labs' profile (default: slim if N fit the memory budget, else mini)")
    parser.add_argument("--fresh", action="store_true", help="recreate the labs before each run")
    parser.add_argument("--keep", action="store_true", help="leave the labs up afterwards")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-classroom-") as tmp:
        d = args.dir
        profile = args.profile
        if d is None:
            profile = profile or _default_profile(args.name, args.students, args.fresh)
            roster = _labs(args.name, args.students, profile, args.fresh)
            d = Path(tmp) / "class"
            classroom.create(classroom.read_roster(roster), d, profile=profile)
        n = len(classroom.load(d))
        timings: dict[int, float] = {}
        try:
            for parallel in (n, 1):
                if args.fresh and args.dir is None and parallel == 1:
                    _labs(args.name, args.students, profile or "slim", True)
                print(f"deploy --parallel {parallel} of {n} student(s); before: {_load()}", flush=True)
                seconds, failed = _run(d, parallel)
                timings[parallel] = seconds
                print(f"--parallel {parallel}: {seconds:.0f} s, {failed} failed; after: {_load()}",
                      flush=True)
        finally:
            if args.dir is None and not args.keep:
                for i in range(1, args.students + 1):
                    lab.down(f"{args.name}-s{i}")
    kind = "first deploy" if args.fresh else "converged re-deploy"
    on = f", profile {profile}" if profile else ""
    print(f"{n} students ({kind}{on}): parallel {timings[n]:.0f} s vs one after another {timings[1]:.0f} s "
          f"(speed-up x{timings[1] / timings[n]:.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
