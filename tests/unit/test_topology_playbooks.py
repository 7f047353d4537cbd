"""The validate and preflight playbooks: syntax, and real runs of the validate play on localhost.

The validate play only touches the control host (its action plugin reads Ansible's inventory and
applies bigdata-admin's rules), so it really runs here, against real inventories.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def _ansible_playbook() -> str:
    local = Path(sys.executable).parent / "ansible-playbook"
    found = str(local) if local.exists() else shutil.which("ansible-playbook")
    if not found:
        pytest.skip("ansible-playbook is not installed")
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANSIBLE_ROLES_PATH": str(REPO / "roles"), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_FORCE_COLOR": "0"}
    return subprocess.run([_ansible_playbook(), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("playbook", ["validate.yml", "preflight.yml"])
def test_syntax_check(playbook: str) -> None:
    proc = _run("--syntax-check", "-i", str(REPO / "inventories" / "classroom"), f"playbooks/{playbook}")
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("name", ["single-node", "ha"])
def test_validate_play_passes_shipped_inventories(name: str) -> None:
    proc = _run("-i", str(REPO / "inventories" / name), "playbooks/validate.yml")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "failed=0" in proc.stdout


def test_validate_play_fails_listing_every_problem(tmp_path: Path) -> None:
    inv = tmp_path / "bad"
    shutil.copytree(REPO / "inventories" / "ha", inv)
    hosts = (inv / "hosts.yml").read_text()
    hosts = hosts.replace("    hbase_thrift:", "    hbase_thirft:")
    hosts = hosts.replace("gpu1: {ansible_host: 10.0.10.31, ", "gpu1: {")
    (inv / "hosts.yml").write_text(hosts)
    proc = _run("-i", str(inv), "playbooks/validate.yml")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "did you mean 'hbase_thrift'" in out
    assert "host 'gpu1' has no address" in out
    assert "nothing was changed on any host" in out


def test_validate_play_sees_extra_vars() -> None:
    """Extra vars are part of what Ansible deploys, so the play judges them too."""
    proc = _run("-i", str(REPO / "inventories" / "classroom"), "playbooks/validate.yml",
                "-e", '{"hdfs_replication": 3, "kafka_broker_port": "x"}')
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "hdfs_replication is 3 but there are only 2 DataNode(s)" in out
    assert "kafka_broker_port is 'x'" in out
