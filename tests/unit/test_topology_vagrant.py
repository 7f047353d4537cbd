"""vagrant/Vagrantfile makes one VM per classroom host, with the inventory's address and memory.

Run with plain `ruby` (no Vagrant here: no nested virtualisation), the Vagrantfile prints the machines
it would define; they must match what bigdata-admin's own loader reads from the same inventory.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from bigdata_admin import inventory


def _machines(repo_root: Path, inv: Path | None = None) -> dict:
    ruby = shutil.which("ruby")
    if not ruby:
        pytest.skip("ruby is not installed (apt-get install ruby)")
    env = {**os.environ}
    if inv is not None:
        env["BIGDATA_INVENTORY"] = str(inv)
    proc = subprocess.run([ruby, "Vagrantfile"], cwd=repo_root / "vagrant", env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_vagrantfile_is_valid_ruby(repo_root: Path) -> None:
    ruby = shutil.which("ruby")
    if not ruby:
        pytest.skip("ruby is not installed (apt-get install ruby)")
    proc = subprocess.run([ruby, "-c", "Vagrantfile"], cwd=repo_root / "vagrant", capture_output=True,
                          text=True)
    assert proc.returncode == 0 and "Syntax OK" in proc.stdout, proc.stderr


def test_vms_match_the_classroom_inventory(repo_root: Path) -> None:
    data = _machines(repo_root)
    cluster = inventory.load(repo_root / "inventories" / "classroom")
    want = [{"name": h.name, "ip": h.address, "memory_mb": h.memory_mb} for h in cluster.hosts.values()]
    assert data["machines"] == want
    assert [m["ip"] for m in want] == ["192.168.56.11", "192.168.56.12", "192.168.56.13"]
    assert data["etc_hosts"].splitlines() == [f"{m['ip']} {m['name']}" for m in want]


def test_vagrantfile_follows_another_inventory(repo_root: Path, tmp_path: Path) -> None:
    inv = tmp_path / "two"
    inv.mkdir()
    (inv / "hosts.yml").write_text("all:\n  vars: {bigdata_host_memory_mb: 4096}\n  hosts:\n"
                                   "    a: {ansible_host: 192.168.56.21}\n"
                                   "    b: {ansible_host: 192.168.56.22, bigdata_host_memory_mb: 6144}\n")
    assert _machines(repo_root, inv)["machines"] == [
        {"name": "a", "ip": "192.168.56.21", "memory_mb": 4096},
        {"name": "b", "ip": "192.168.56.22", "memory_mb": 6144}]
