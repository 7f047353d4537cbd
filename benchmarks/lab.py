"""Lab timings and memory (root needed): prints
- time from `lab up` (3 nodes, cached image) to all hosts answering `ansible all -m ping`,
- time of `lab down`, and of a restart with kept disks,
- memory per idle host (PSS of all its processes).

Usage: sudo /opt/bda-venv/bin/python benchmarks/lab.py [--nodes 3] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bigdata_admin import lab
from bigdata_admin.lab import image

NAME = "bench"


def ansible_ping(inventory: Path) -> bool:
    binary = shutil.which("ansible") or str(Path(sys.executable).parent / "ansible")
    env = {**os.environ, "ANSIBLE_LOCALHOST_WARNING": "false", "ANSIBLE_DEPRECATION_WARNINGS": "false"}
    proc = subprocess.run([binary, "-i", str(inventory), "all", "-m", "ansible.builtin.ping"],
                          capture_output=True, text=True, env=env, check=False)
    return proc.returncode == 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--nodes", type=int, default=3)
    p.add_argument("--runs", type=int, default=3)
    a = p.parse_args()
    if os.geteuid() != 0:
        sys.exit("benchmarks/lab.py needs root (it brings a lab up)")
    started = time.monotonic()
    image.ensure()
    print(f"base image ready in {time.monotonic() - started:.1f} s (cached after the first build)")
    lab.down(NAME)

    load_before = os.getloadavg()[0]
    to_ssh, to_ping, downs, restarts, ping_alone = [], [], [], [], []
    pss: list[float] = []
    for run in range(1, a.runs + 1):
        t0 = time.monotonic()
        lb = lab.up(name=NAME, nodes=a.nodes)
        t_up = time.monotonic() - t0
        while not ansible_ping(lb.inventory):
            if time.monotonic() - t0 > 120:
                sys.exit("hosts did not answer ansible ping within 120 s")
            time.sleep(0.2)
        t_ping = time.monotonic() - t0
        to_ssh.append(t_up)
        to_ping.append(t_ping)
        t0 = time.monotonic()
        ansible_ping(lb.inventory)
        ping_alone.append(time.monotonic() - t0)
        if run == 1:
            time.sleep(5)  # let the hosts settle before measuring idle memory
            pss = [h["memory_pss_mib"] for h in lab.status(NAME)["hosts"]]
        t0 = time.monotonic()
        lab.down(NAME, keep_state=True)
        t1 = time.monotonic()
        lab.up(name=NAME, nodes=a.nodes)
        restarts.append(time.monotonic() - t1)
        downs.append(time.monotonic() - t0 - restarts[-1])
        t0 = time.monotonic()
        lab.down(NAME)
        downs.append(time.monotonic() - t0)
        print(f"run {run}: up {t_up:.2f} s (SSH on all hosts), ansible ping green {t_ping:.2f} s, "
              f"down --keep-state {downs[-2]:.2f} s, restart with kept disks {restarts[-1]:.2f} s, "
              f"down {downs[-1]:.2f} s")

    med = statistics.median
    print(f"\n{a.nodes} nodes, cached image, median of {a.runs} runs:")
    print(f"  lab up -> all hosts answer `ansible -m ping`: {med(to_ping):.2f} s (goal < 10 s; "
          f"SSH answering: {med(to_ssh):.2f} s)")
    print(f"  of which `ansible -m ping` itself (hosts already up): {med(ping_alone):.2f} s")
    print(f"  lab down: {med(downs):.2f} s")
    print(f"  restart with kept disks (to SSH): {med(restarts):.2f} s")
    print(f"  memory per idle host (PSS): {', '.join(f'{m:.1f} MiB' for m in pss)}")
    print(f"  load average (1 min) before/after: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
