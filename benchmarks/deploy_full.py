"""Deploy timings of the Hadoop-family services from Maven bundles on a 3-host lab (root needed).

Prints, each measured once on a fresh lab with a warm artifact cache (the bundles already fetched):
- first deploy of common + java + ZooKeeper + HDFS (NameNode, SecondaryNameNode, 2 DataNodes) +
  YARN (ResourceManager, 2 NodeManagers) + Kafka (3 combined KRaft nodes)   (goal < 6 min)
- the no-op re-deploy, with its changed count                                  (goal < 60 s)
- per daemon, seconds from `systemctl restart` of its unit to its status probe reporting healthy
- the machine's load average at the end (other work on the machine slows every figure)

    sudo .venv/bin/python benchmarks/deploy_full.py [--lab NAME] [--keep]

The lab (default name `bench`) is created fresh (an existing one of that name is taken down first)
and taken down at the end unless --keep.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from bigdata_admin import inventory, lab, paths
from bigdata_admin.health import PROBES, load_plugins, remote
from bigdata_admin.lab.labinventory import with_groups
from bigdata_admin.runner import run_playbook

TAGS = ["common", "java", "zookeeper", "hdfs", "yarn", "kafka"]
GOALS = {"first deploy": 360.0, "no-op re-deploy": 60.0}


def bench_inventory(lab_inventory: Path, dest: Path) -> Path:
    hosts_file = lab_inventory / "hosts.yml" if lab_inventory.is_dir() else lab_inventory
    h = list(yaml.safe_load(hosts_file.read_text())["all"]["hosts"])
    return with_groups(lab_inventory, dest, {
        "zookeeper": h[:3], "kafka_controller": h[:3], "kafka_broker": h[:3], "hdfs_namenode": h[:1],
        "hdfs_datanode": h[1:3], "yarn_resourcemanager": h[:1], "yarn_nodemanager": h[1:3]})


def restart_to_healthy(cluster: inventory.Cluster, timeout: float = 300) -> list[tuple[str, str, float]]:
    """(unit, host, seconds) from `systemctl restart` to the probe's healthy verdict, one at a time."""
    from bigdata_admin.services import SERVICES

    load_plugins()
    out = []
    for svc in SERVICES:
        if svc.group not in PROBES or not cluster.has(svc.group):
            continue
        for host in cluster.hosts_in(svc.group):
            t = time.monotonic()
            res = remote.run(host, ["systemctl", "restart", svc.unit], become=True, timeout=120)
            if not res.ok:
                out.append((svc.unit, host.name, float("nan")))
                continue
            while time.monotonic() - t < timeout:
                try:
                    if PROBES[svc.group](cluster, host).healthy:
                        break
                except Exception:  # not up yet
                    pass
                time.sleep(0.5)
            out.append((svc.unit, host.name, time.monotonic() - t))
    return out


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
        with tempfile.TemporaryDirectory(prefix="bench-full-") as tmp:
            inv = bench_inventory(Path(lb.inventory), Path(tmp) / "inv")
            fetch = subprocess.run([sys.executable, "-m", "bigdata_admin", "artifacts", "fetch", "-i",
                                    str(inv)], capture_output=True, text=True, check=False)
            if fetch.returncode != 0:
                print(fetch.stdout + fetch.stderr, file=sys.stderr)
                return 1
            timings: dict[str, float] = {}
            for label in ("first deploy", "no-op re-deploy"):
                t = time.monotonic()
                result = run_playbook(paths.playbook("site"), inv, tags=TAGS, label=f"bench-{label}",
                                      show_progress=False)
                timings[label] = time.monotonic() - t
                changed = sum(r.changed for r in result.recap.values())
                goal = GOALS[label]
                print(f"{label}: {timings[label]:.1f} s (rc {result.rc}, changed {changed}; "
                      f"goal < {goal:.0f} s: {'met' if timings[label] < goal else 'MISSED'})")
                if result.rc != 0:
                    for f in result.failures:
                        print(f"  failed: {f.host} | {f.task} | {f.message}", file=sys.stderr)
                    return 1
            cluster = inventory.load(inv)
            print("seconds from unit restart to healthy:")
            for unit, host, secs in restart_to_healthy(cluster):
                print(f"  {unit:<24} {host:<4} {secs:6.1f}")
            print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        if not args.keep:
            lab.down(args.lab)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
