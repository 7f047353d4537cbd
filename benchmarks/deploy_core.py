"""Deploy timings of the core services on a 3-node lab (root needed).

Prints: first deploy (common + java + ZooKeeper package method + PostgreSQL + Redis on fresh hosts),
no-op re-deploy (goal < 60 s), and `status` (goal < 3 s), each measured once.

    sudo /opt/bda-venv/bin/python benchmarks/deploy_core.py [--lab NAME] [--keep]

The lab (default name `bench`) is created fresh (an existing one of that name is taken down first)
and taken down at the end unless --keep.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bigdata_admin import inventory, lab, paths
from bigdata_admin.health.status import collect
from bigdata_admin.lab.labinventory import with_groups
from bigdata_admin.runner import run_playbook

CORE_TAGS = ["common", "java", "zookeeper", "postgresql", "redis"]


def core_inventory(lab_inventory: Path, dest: Path) -> Path:
    hosts_file = lab_inventory / "hosts.yml" if lab_inventory.is_dir() else lab_inventory
    hosts = list(yaml.safe_load(hosts_file.read_text())["all"]["hosts"])
    return with_groups(lab_inventory, dest, {"zookeeper": hosts[:3], "metastore_db": [hosts[0]],
                                             "redis": [hosts[1]]})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lab", default="bench", help="lab name (default: bench)")
    parser.add_argument("--keep", action="store_true", help="leave the lab running afterwards")
    args = parser.parse_args()

    if lab.get(args.lab) is not None:
        lab.down(args.lab)
    t0 = time.monotonic()
    lb = lab.up(name=args.lab, nodes=3)
    print(f"lab {args.lab} up with 3 hosts: {time.monotonic() - t0:.1f} s")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-core-") as tmp:
            inv = core_inventory(Path(lb.inventory), Path(tmp) / "inv")
            timings: dict[str, float] = {}
            for label in ("first deploy", "no-op re-deploy"):
                t = time.monotonic()
                result = run_playbook(paths.playbook("site"), inv, tags=CORE_TAGS, label=f"bench-{label}",
                                      show_progress=False)
                timings[label] = time.monotonic() - t
                changed = sum(r.changed for r in result.recap.values())
                print(f"{label}: {timings[label]:.1f} s (rc {result.rc}, changed {changed})")
                if result.rc != 0:
                    for f in result.failures:
                        print(f"  failed: {f.host} | {f.task} | {f.message}", file=sys.stderr)
                    return 1
            cluster = inventory.load(inv)
            t = time.monotonic()
            report = collect(cluster)
            cold_s = time.monotonic() - t
            print(f"status (cold SSH): {cold_s:.2f} s ({len(report.rows)} services, "
                  f"healthy={report.healthy})")
            t = time.monotonic()
            report = collect(cluster)
            status_s = time.monotonic() - t
            print(f"status (SSH connections reused, as in --watch): {status_s:.2f} s "
                  f"(healthy={report.healthy})")
            status_s = max(status_s, cold_s)
            print(f"goals: re-deploy < 60 s: {'met' if timings['no-op re-deploy'] < 60 else 'MISSED'}; "
                  f"status < 3 s: {'met' if status_s < 3 else 'MISSED'}")
    finally:
        if not args.keep:
            lab.down(args.lab)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
