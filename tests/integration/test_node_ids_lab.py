"""Issue 11 item 1 on the 3-node lab: ZooKeeper myids stay with the members' storage.

Deploy common + java + ZooKeeper (a 3-member ensemble), then deploy again from an inventory listing the
same hosts in another order: every member keeps its myid, zoo.cfg's server lines agree with them on
every host, and the ensemble is healthy with one leader. An explicit zookeeper_myid that contradicts a
member's stored id stops the deploy, naming the host and the fix, and changes nothing.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from bigdata_admin import inventory, paths
from bigdata_admin.health import remote
from bigdata_admin.health.status import collect

pytestmark = [pytest.mark.integration, pytest.mark.lab]

TAGS = ["common", "java", "zookeeper"]


def _lab_hosts(lab: Any) -> list[str]:
    inv = Path(lab.inventory)
    hosts_file = inv / "hosts.yml" if inv.is_dir() else inv
    return list(yaml.safe_load(hosts_file.read_text())["all"]["hosts"])


def write_inventory(lab: Any, dest: Path, children: dict[str, Any]) -> Path:
    """The lab's inventory (connection vars, group_vars) with only `children` (group -> hosts or a
    host -> vars mapping)."""
    inv = Path(lab.inventory)
    hosts_file = inv / "hosts.yml" if inv.is_dir() else inv
    data = yaml.safe_load(hosts_file.read_text())
    dest.mkdir(parents=True, exist_ok=True)
    groups = {g: {"hosts": hs if isinstance(hs, dict) else {h: {} for h in hs}} for g, hs in children.items()}
    doc = {"all": {"vars": data["all"].get("vars", {}), "hosts": data["all"]["hosts"], "children": groups}}
    (dest / "hosts.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    if (hosts_file.parent / "group_vars").is_dir():
        shutil.copytree(hosts_file.parent / "group_vars", dest / "group_vars", dirs_exist_ok=True)
    return dest


def _deploy(inv: Path, label: str) -> Any:
    from bigdata_admin.runner import run_playbook

    return run_playbook(paths.playbook("site"), inv, tags=TAGS, label=label, show_progress=False)


def _failures(result: Any) -> str:
    return "\n".join(f"{f.host} | {f.task} | {f.message}" for f in result.failures)


def _myids(inv: Path) -> dict[str, str]:
    cluster = inventory.load(inv)
    data_dir = f"{cluster.var('bigdata_data_root')}/zookeeper/data"
    out = {}
    for host in cluster.hosts_in("zookeeper"):
        res = remote.run(host, ["cat", f"{data_dir}/myid"], become=True, timeout=30)
        assert res.rc == 0, res.stderr
        out[host.name] = res.stdout.strip()
    return out


def _servers(inv: Path) -> dict[str, dict[str, str]]:
    cluster = inventory.load(inv)
    conf = f"{cluster.var('bigdata_config_root')}/zookeeper/zoo.cfg"
    out = {}
    for host in cluster.hosts_in("zookeeper"):
        res = remote.run(host, ["cat", conf], become=True, timeout=30)
        assert res.rc == 0, res.stderr
        pairs = (line.partition("=") for line in res.stdout.splitlines())
        out[host.name] = {k: v.split(":")[0] for k, _, v in pairs if k.startswith("server.")}
    return out


def _healthy(inv: Path, timeout: float = 90) -> Any:
    cluster = inventory.load(inv)
    deadline = time.monotonic() + timeout
    report = collect(cluster)
    while not report.healthy and time.monotonic() < deadline:
        time.sleep(3)
        report = collect(cluster)
    return report


def test_reordered_inventory_keeps_myids_and_a_healthy_ensemble(lab: Any, tmp_path: Path) -> None:
    hosts = _lab_hosts(lab)[:3]
    first_inv = write_inventory(lab, tmp_path / "first", {"zookeeper": hosts})
    first = _deploy(first_inv, "test-ids-first")
    assert first.rc == 0, _failures(first)
    before = _myids(first_inv)
    assert sorted(before.values()) == ["1", "2", "3"]

    reordered = write_inventory(lab, tmp_path / "reordered", {"zookeeper": [hosts[2], hosts[0], hosts[1]]})
    second = _deploy(reordered, "test-ids-reordered")
    assert second.rc == 0, _failures(second)
    assert _myids(reordered) == before
    cluster = inventory.load(reordered)
    addresses = {h.address: h.name for h in cluster.hosts_in("zookeeper")}
    for host, servers in _servers(reordered).items():
        assert {n.removeprefix("server."): addresses[a] for n, a in servers.items()} == \
            {v: k for k, v in before.items()}, host
    report = _healthy(reordered)
    assert report.healthy, [(r.host, r.group, r.problem) for r in report.unhealthy]
    modes = sorted(r.probe.state for r in report.rows if r.group == "zookeeper" and r.probe)
    assert modes == ["follower", "follower", "leader"]

    # An explicit id contradicting what a member stores stops the deploy before any change.
    victim = hosts[0]
    wrong = "9" if before[victim] != "9" else "8"
    members = {h: ({"zookeeper_myid": int(wrong)} if h == victim else {}) for h in hosts}
    bad_inv = write_inventory(lab, tmp_path / "contradicting", {"zookeeper": members})
    third = _deploy(bad_inv, "test-ids-contradicting")
    assert third.rc != 0
    text = _failures(third)
    assert f"{victim} stores myid id {before[victim]}" in text and f"zookeeper_myid: {before[victim]}" in text
    assert _myids(reordered) == before
