"""`bigdata-admin check --hosts` for real: the read-only preflight playbook through the runner, on the
control host itself (ansible_connection: local) and on the lab's systemd-nspawn hosts."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bigdata_admin.cli import app

pytestmark = pytest.mark.integration
ENV = {"COLUMNS": "250", "NO_COLOR": "1"}


@pytest.fixture(autouse=True)
def _state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGDATA_ADMIN_STATE_DIR", str(tmp_path / "state"))


def _local_inventory(root: Path, redis_port: int, ghost: bool = False) -> Path:
    hosts: dict[str, Any] = {"localhost": {"ansible_connection": "local",
                                           "ansible_python_interpreter": "/usr/bin/python3",
                                           "bigdata_host_memory_mb": 2048}}
    children: dict[str, Any] = {"zookeeper": {"hosts": {"localhost": None}},
                                "redis": {"hosts": {"localhost": None}}}
    if ghost:  # nothing listens on port 1: unreachable
        hosts["ghost"] = {"ansible_host": "127.0.0.1", "ansible_port": 1, "bigdata_host_memory_mb": 2048}
        children["redis"]["hosts"]["ghost"] = None
    root.mkdir(parents=True)
    (root / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts, "children": children}}))
    (root / "group_vars").mkdir()
    (root / "group_vars" / "all.yml").write_text(yaml.safe_dump({"redis_port": redis_port,
                                                                 "bigdata_preflight_min_free_disk_mb": 64}))
    return root


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (sudo must work for the preflight to pass)")
def test_check_hosts_on_the_control_host(tmp_path: Path) -> None:
    inv = _local_inventory(tmp_path / "inv", _free_port())
    result = CliRunner().invoke(app, ["check", "--hosts", "-i", str(inv), "--json"], env=ENV)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    local = data["hosts"]["localhost"]
    assert data["ok"] is True and local["ok"] is True
    assert local["sudo"]["text"] == "yes" and local["ports"]["text"] == "free"
    assert local["os"]["text"].split()[0] in ("Debian", "Ubuntu")
    assert abs(float(local["clock"]["text"].split()[0])) < 5


def test_check_hosts_reports_taken_port_and_unreachable_host(tmp_path: Path) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        inv = _local_inventory(tmp_path / "inv", port, ghost=True)
        result = CliRunner().invoke(app, ["check", "--hosts", "-i", str(inv)], env=ENV)
    out = " ".join(result.output.split())
    assert result.exit_code == 1, result.output
    assert f"taken: {port} (redis)" in out
    assert "preflight failed on" in out and "ghost" in out
    assert "unreachable" in out
    assert f"stop what listens on {port}" in out


@pytest.mark.lab
def test_check_hosts_on_the_lab(lab: Any) -> None:
    result = CliRunner().invoke(app, ["check", "--hosts", "-i", str(lab.inventory), "--json"], env=ENV)
    data = json.loads(result.stdout)
    assert set(data["hosts"]) == set(lab.hosts)
    for host, row in data["hosts"].items():
        assert row["reachable"], (host, row)
        assert row["os"]["text"].startswith("Debian 12"), row
        assert row["sudo"]["ok"] and row["names"]["ok"] and row["clock"]["ok"], row
    assert result.exit_code == (0 if data["ok"] else 1)
