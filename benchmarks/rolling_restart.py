"""Rolling-restart time of a lab's DataNodes and RegionServers (issue 15), health gates included.

    python benchmarks/rolling_restart.py --lab ops        # or --inventory PATH

Runs `restart hdfs --rolling --limit <DataNode hosts>` then `restart hbase --rolling --limit <RegionServer
hosts>` through the library (one Ansible run per host, then the health gate: DataNode live with a fresh
heartbeat and blocks re-replicated; RegionServer registered and no regions in transition), and prints
per host the restart and gate seconds, the total per service, and the machine load (/proc/loadavg)
before and after: the figures are only comparable on a similarly loaded machine.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bigdata_admin import dayops, inventory


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lab", help="Lab name (its inventory).")
    p.add_argument("--inventory", type=Path, help="Inventory path (instead of --lab).")
    a = p.parse_args()
    if a.inventory is None:
        if a.lab is None:
            sys.exit("give --lab NAME or --inventory PATH")
        from bigdata_admin import lab

        lb = lab.get(a.lab)
        if lb is None:
            sys.exit(f"no lab {a.lab!r}")
        a.inventory = Path(lb.inventory)
    cluster = inventory.load(a.inventory)
    deployed = dayops.deployed_roles(cluster)
    print(f"cluster {cluster.name}, load before {load()}")
    failed = False
    for role, group in (("hdfs", "hdfs_datanode"), ("hbase", "hbase_regionserver")):
        hosts = [h.name for h in cluster.hosts_in(group)]
        if role not in deployed or not hosts:
            print(f"{group}: not deployed, skipped")
            continue
        report = dayops.rolling_restart(cluster, [role], limit=hosts)
        for s in report.steps:
            print(f"  {group} {s.host}: restart {s.restart_s:6.1f} s, gate {s.gate_s:6.1f} s"
                  f"  ({s.gate}: {s.detail})")
        verdict = "ok" if report.ok else f"STOPPED: {report.next_step()}"
        print(f"{group}: {len(report.steps)} host(s) rolled in {report.seconds:.1f} s "
              f"({report.seconds / max(1, len(report.steps)):.1f} s per host) - {verdict}")
        failed |= not report.ok
    print(f"load after {load()}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
