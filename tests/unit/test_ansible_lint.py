"""Every playbook passes `ansible-playbook --syntax-check`, and the whole tree passes ansible-lint's
production profile."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed")
    return found


def _env() -> dict[str, str]:
    return {**os.environ, "ANSIBLE_ROLES_PATH": str(REPO / "roles"), "ANSIBLE_NOCOLOR": "1"}


# The root playbooks; site.yml imports every play under playbooks/services/, so they are checked too.
PLAYBOOKS = sorted((REPO / "playbooks").glob("*.yml"))


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: str(p.relative_to(REPO)))
@pytest.mark.parametrize("inventory", ["single-node", "classroom", "ha"])
def test_syntax_check(playbook: Path, inventory: str) -> None:
    proc = subprocess.run(
        [_tool("ansible-playbook"), "--syntax-check", "-i", str(REPO / "inventories" / inventory),
         str(playbook)],
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ansible_lint_production_profile() -> None:
    proc = subprocess.run(
        [_tool("ansible-lint"), "--offline", "--profile", "production", "--nocolor", "-q"],
        cwd=REPO, env=_env(), capture_output=True, text=True, timeout=900,
    )
    assert proc.returncode == 0, proc.stdout[-20000:] + proc.stderr[-5000:]


def test_stop_playbook_reverses_the_deploy_order() -> None:
    """`stop` must stop HBase before HDFS and ZooKeeper: the service plays of site.yml, reversed."""
    import yaml

    root = Path(__file__).resolve().parents[2] / "playbooks"
    site = [p["ansible.builtin.import_playbook"] for p in yaml.safe_load((root / "site.yml").read_text())]
    stop = [p["ansible.builtin.import_playbook"] for p in yaml.safe_load((root / "stop.yml").read_text())]
    services = [p for p in site if p.startswith("services/")
                and p not in ("services/common.yml", "services/java.yml")]
    assert stop[0] == "validate.yml"
    assert stop[1:] == list(reversed(services))
    assert stop.index("services/hbase.yml") < stop.index("services/hdfs.yml") < stop.index(
        "services/zookeeper.yml")
