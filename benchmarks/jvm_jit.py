"""CPU seconds of short-lived JVMs with both JIT compilers (C1 + C2, Java's default) and with C1 only
(`-XX:TieredStopAtLevel=1`, what a lab's `bigdata_jvm_extra_opts` sets). Prints, per command, the
median wall time and the median user + system CPU time of each variant over --runs runs, and the CPU
saved; then the machine's load average (other work on the machine slows every figure).

- Always: a Spark SQL job on this machine (`spark-sql --master local[1]` from the venv's pyspark,
  an aggregate over 3,000,000 rows).
- With --inventory: `hdfs dfs -ls -R /` on the cluster's NameNode host, as the hdfs user (the admin
  command's wrapper; the variants add their flag after the inventory's options, and the last flag wins).

    python benchmarks/jvm_jit.py [--runs 3] [--inventory inventories/lab-main]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

VARIANTS = {"C1 + C2": "-XX:TieredStopAtLevel=4", "C1 only": "-XX:TieredStopAtLevel=1"}
SQL = "select count(*), sum(id * id) from range(3000000)"
TIMED = re.compile(r"^TIMED (\S+) (\S+) (\S+)$", re.M)


def _timed(script: str) -> str:
    """A bash script that runs `script` and prints `TIMED real user sys` (seconds)."""
    return f'TIMEFORMAT="TIMED %R %U %S"; {{ time {{ {script} ; }} >/dev/null 2>&1 ; }} 2>&1'


def _parse(out: str) -> tuple[float, float]:
    m = TIMED.search(out)
    if not m:
        raise RuntimeError(f"no timing in: {out[-500:]}")
    real, user, system = (float(x) for x in m.groups())
    return real, user + system


def spark_sql(flag: str) -> tuple[float, float]:
    import pyspark

    home = Path(pyspark.__file__).parent
    env = {**os.environ, "SPARK_HOME": str(home), "SPARK_SUBMIT_OPTS": flag,
           "PYSPARK_PYTHON": sys.executable}
    script = f"{home}/bin/spark-sql --master 'local[1]' -e '{SQL}'"
    with tempfile.TemporaryDirectory(prefix="jvm-jit-") as work:  # its Derby metastore and warehouse
        out = subprocess.run(["bash", "-c", _timed(script)], env=env, cwd=work, capture_output=True,
                             text=True, check=True, timeout=600).stdout
    return _parse(out)


def hdfs_ls(inventory_dir: str) -> Callable[[str], tuple[float, float]]:
    from bigdata_admin import inventory
    from bigdata_admin.health import remote

    cluster = inventory.load(Path(inventory_dir))
    host = cluster.first("hdfs_namenode")
    if host is None:
        raise SystemExit(f"{inventory_dir}: no hdfs_namenode host")

    def run(flag: str) -> tuple[float, float]:
        script = f"sudo -u hdfs env HADOOP_CLIENT_OPTS={flag} hdfs dfs -ls -R /"
        result = remote.run(host, ["bash", "-c", _timed(script)], become=True, timeout=300)
        if not result.ok:
            raise RuntimeError(f"{host.name}: {result.stderr[-500:]}")
        return _parse(result.stdout)

    return run


def measure(name: str, run: Callable[[str], tuple[float, float]], runs: int) -> None:
    cpu: dict[str, float] = {}
    for label, flag in VARIANTS.items():
        samples = [run(flag) for _ in range(runs)]
        wall = statistics.median(s[0] for s in samples)
        cpu[label] = statistics.median(s[1] for s in samples)
        print(f"{name:34} {label:8} wall {wall:6.2f} s   CPU {cpu[label]:6.2f} s   (median of {runs})")
    saved = 1 - cpu["C1 only"] / cpu["C1 + C2"]
    print(f"{name:34} C1 only saves {saved:.0%} of the CPU")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--inventory", help="also time `hdfs dfs -ls -R /` on this cluster's NameNode host")
    args = ap.parse_args()
    measure("spark-sql, 3,000,000 rows (local)", spark_sql, args.runs)
    if args.inventory:
        measure("hdfs dfs -ls -R / (NameNode host)", hdfs_ls(args.inventory), args.runs)
    print("load average (1/5/15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
