"""The lab network: one bridge per lab on the control host, one network namespace per host with a
veth pair (one end on the bridge, `eth0` inside). Uses iproute2."""

from __future__ import annotations

import re
import time
from pathlib import Path

from bigdata_admin.lab.util import ok, run, wait_until

NETNS_DIR = Path("/run/netns")


def link_exists(name: str, netns: str | None = None) -> bool:
    cmd = ["ip", *(["-n", netns] if netns else []), "link", "show", name]
    return ok(cmd)


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def ensure_bridge(name: str, address_cidr: str) -> bool:
    """Create the bridge with its address and bring it up; True when something was changed."""
    changed = False
    if not link_exists(name):
        run(["ip", "link", "add", name, "type", "bridge"])
        changed = True
    addrs = run(["ip", "-o", "-4", "addr", "show", "dev", name]).stdout
    if f" {address_cidr} " not in addrs:
        run(["ip", "addr", "replace", address_cidr, "dev", name])
        changed = True
    if "UP" not in run(["ip", "-o", "link", "show", name]).stdout.split(">")[0]:
        run(["ip", "link", "set", name, "up"])
        changed = True
    return changed


def ensure_host(netns: str, veth: str, bridge: str, address_cidr: str, gateway: str) -> bool:
    """Namespace + veth pair + address + default route for one host; True when changed."""
    changed = False
    if not netns_exists(netns):
        run(["ip", "netns", "add", netns])
        changed = True
    if not link_exists("eth0", netns):
        if link_exists(veth):
            run(["ip", "link", "del", veth], check=False)
        # A namespace deleted a moment ago is torn down asynchronously: its veth name can still be
        # taken ("File exists"). Retry for a few seconds.
        deadline = time.monotonic() + 10
        while True:
            proc = run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns],
                       check=False)
            if proc.returncode == 0:
                break
            if time.monotonic() > deadline:
                run(["ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns])
            time.sleep(0.2)
        changed = True
    link = run(["ip", "-o", "link", "show", veth]).stdout
    if f"master {bridge} " not in link or "UP" not in link.split(">")[0]:
        run(["ip", "link", "set", veth, "master", bridge, "up"])
        changed = True
    inside = run(["ip", "-n", netns, "-o", "-4", "addr", "show", "dev", "eth0"]).stdout
    if f" {address_cidr} " not in inside:
        run(["ip", "-n", netns, "addr", "replace", address_cidr, "dev", "eth0"])
        changed = True
    for dev in ("lo", "eth0"):
        if "UP" not in run(["ip", "-n", netns, "-o", "link", "show", dev]).stdout.split(">")[0]:
            run(["ip", "-n", netns, "link", "set", dev, "up"])
            changed = True
    routes = run(["ip", "-n", netns, "route", "show", "default"]).stdout
    if f"via {gateway} " not in routes + " ":
        run(["ip", "-n", netns, "route", "replace", "default", "via", gateway])
        changed = True
    return changed


def peer_of(netns: str) -> tuple[str, str]:
    """(name of the veth paired with the namespace's eth0, the bridge it is attached to), or ''s."""
    proc = run(["ip", "-n", netns, "-o", "link", "show", "eth0"], check=False)
    m = re.search(r"eth0@if(\d+)", proc.stdout)
    if not m:
        return "", ""
    for line in run(["ip", "-o", "link", "show"]).stdout.splitlines():
        if line.startswith(f"{m.group(1)}: "):
            name = line.split(":")[1].strip().split("@")[0]
            master = re.search(r" master (\S+) ", line)
            return name, master.group(1) if master else ""
    return "", ""


def remove_host(netns: str, veth: str, timeout: float = 10.0) -> None:
    """Delete the namespace (which destroys eth0 and its peer) and wait for the veth to go."""
    if netns_exists(netns):
        run(["ip", "netns", "del", netns], check=False)
    if not veth:
        return
    if not wait_until(lambda: not link_exists(veth), timeout, 0.1) and link_exists(veth):
        run(["ip", "link", "del", veth], check=False)
        wait_until(lambda: not link_exists(veth), timeout, 0.1)


def remove_bridge(name: str) -> None:
    if link_exists(name):
        run(["ip", "link", "del", name], check=False)
