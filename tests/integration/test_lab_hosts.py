"""The shared 3-node lab (`lab` fixture): real systemd hosts reached over SSH by Ansible and Fabric,
talking to each other, installing OS packages through the relay and fetching artifacts over HTTP."""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bigdata_admin import remote

pytestmark = [pytest.mark.integration, pytest.mark.lab]

PLAYBOOK = """\
---
- name: Prove the lab hosts are real systemd machines reached over SSH
  hosts: all
  become: true
  gather_facts: true
  gather_subset: [min, network]
  tasks:
    - name: Check that systemd runs the host and the deploy user has sudo
      ansible.builtin.assert:
        that:
          - ansible_service_mgr == 'systemd'
          - ansible_user_id == 'root'
          - ansible_distribution == 'Debian'
    - name: Write a marker naming the host
      ansible.builtin.copy:
        dest: /etc/bigdata-lab-marker
        content: "{{ inventory_hostname }} {{ ansible_default_ipv4.address }}\\n"
        mode: "0644"
"""


def _run(lab: Any, command: str, **kw: Any) -> dict[str, remote.HostResult]:
    return {r.host: r for r in remote.run_on(lab.inventory, command, **kw)}


def test_hosts_answer_ssh_with_their_own_identity(lab: Any) -> None:
    assert sorted(lab.hosts) == ["h1", "h2", "h3"]
    res = _run(lab, "hostname; cat /etc/machine-id; systemctl is-system-running --wait; id -un")
    ids = set()
    for h, r in res.items():
        assert r.ok, (h, r.error, r.stderr)
        name, machine_id, state, user = r.stdout.split()
        assert name == h and user == "deploy"
        assert state in ("running", "degraded")
        ids.add(machine_id)
    assert len(ids) == 3, "each host has its own machine-id"
    keys = {line.split()[2] for line in lab.known_hosts.read_text().splitlines() if "ed25519" in line}
    assert len(keys) == 3, "each host generated its own SSH host key"


def test_a_playbook_runs_on_all_hosts_and_is_idempotent(lab: Any, tmp_path: Path) -> None:
    from bigdata_admin.runner import run_playbook

    pb = tmp_path / "lab-check.yml"
    pb.write_text(PLAYBOOK)
    first = run_playbook(pb, lab.inventory, label="lab-test", show_progress=False)
    assert first.ok, first.failures
    assert set(first.recap) == {"h1", "h2", "h3"}
    second = run_playbook(pb, lab.inventory, label="lab-test", show_progress=False)
    assert second.ok, second.failures
    assert all(r.changed == 0 for r in second.recap.values()), second.recap
    res = _run(lab, "cat /etc/bigdata-lab-marker")
    for h, r in res.items():
        assert r.stdout == f"{h} {lab.hosts[h]}\n"


def test_hosts_reach_each_other_by_name(lab: Any) -> None:
    probe = ("python3 -c \"import socket,sys\n"
             "for h in sys.argv[1:]:\n"
             "    s=socket.create_connection((h,22),timeout=3); print(h, socket.gethostbyname(h),"
             " s.recv(8).decode().strip()); s.close()\" h1 h2 h3")
    res = _run(lab, probe)
    for h, r in res.items():
        assert r.ok, (h, r.stderr)
        lines = [line.split() for line in r.stdout.splitlines()]
        assert [(n, a) for n, a, _ in lines] == [(n, lab.hosts[n]) for n in ("h1", "h2", "h3")]
        assert all(banner.startswith("SSH-2.0") for _, _, banner in lines)


def test_hosts_have_no_route_outside_the_lab(lab: Any) -> None:
    res = _run(lab, "ip -4 route; python3 -c \"import socket;socket.create_connection(('192.0.2.2',22),2)\"",
               limit="h1")
    assert not res["h1"].ok
    assert f"default via {lab.gateway}" in res["h1"].stdout


def test_apt_installs_through_the_relay_and_fetches_each_package_once(lab: Any) -> None:
    install = ("apt-get clean && apt-get update -q >/dev/null && "
               "apt-get install -y -q --reinstall --no-install-recommends tree >/dev/null && "
               "dpkg-query -W -f='${Status}' tree")
    for host in ("h2", "h3"):
        r = _run(lab, install, limit=host, sudo=True, timeout=300)[host]
        assert r.ok, (host, r.stdout, r.stderr)
        assert r.stdout.strip().endswith("install ok installed")
    log = lab.relay_log.read_text()
    deb_lines = [line for line in log.splitlines() if "/pool/main/t/tree/tree_" in line]
    h3 = lab.hosts["h3"]
    assert any(line.startswith(f"proxy {h3} ") and "cache HIT" in line for line in deb_lines), deb_lines


def test_artifacts_are_served_over_http_to_hosts(lab: Any) -> None:
    name = f"lab-selftest-{uuid.uuid4().hex[:8]}.bin"
    path = lab.artifacts_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(os.urandom(300_000))
    try:
        url = f"{lab.artifact_url}/{name}"
        res = _run(lab, f"python3 -c \"import hashlib,urllib.request;"
                        f"print(hashlib.sha256(urllib.request.urlopen('{url}').read()).hexdigest())\"")
        want = hashlib.sha256(path.read_bytes()).hexdigest()
        for h, r in res.items():
            assert r.ok, (h, r.stderr)
            assert r.stdout.strip() == want
    finally:
        path.unlink()


def test_exec_cli_on_all_hosts_and_a_group(lab: Any) -> None:
    from bigdata_admin.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["exec", "-i", str(lab.inventory), "--json", "--", "hostname"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {d["host"]: d["stdout"].strip() for d in data} == {"h1": "h1", "h2": "h2", "h3": "h3"}
    failing = runner.invoke(app, ["exec", "-i", str(lab.inventory), "--group", "spark_worker", "--",
                                  "test", "$(hostname)", "=", "h2"])
    assert failing.exit_code == 1
    assert "== h2" in failing.output and "exit 0" in failing.output
    assert "== h3" in failing.output and "exit 1" in failing.output
    assert "== h1" not in failing.output


def test_exec_reports_unreachable_hosts(lab: Any, tmp_path: Path) -> None:
    inv = tmp_path / "hosts.yml"
    inv.write_text(
        "all:\n  vars:\n    ansible_user: deploy\n"
        f"    ansible_ssh_private_key_file: {lab.key}\n"
        f"    ansible_ssh_common_args: -o UserKnownHostsFile={lab.known_hosts}\n"
        f"  hosts:\n    good: {{ansible_host: {lab.hosts['h1']}}}\n"
        f"    closed: {{ansible_host: {lab.hosts['h1']}, ansible_port: 2}}\n")
    res = {r.host: r for r in remote.run_on(inv, "true", timeout=20)}
    assert res["good"].ok
    assert not res["closed"].ok and res["closed"].exit_status is None
    assert res["closed"].error and "ssh deploy@" in res["closed"].error


def test_up_again_changes_nothing(lab: Any) -> None:
    from bigdata_admin import lab as labmod

    pids = {h: s.pid for h, s in labmod.get(lab.name).state.hosts.items()}
    inv_mtime = (lab.inventory / "hosts.yml").stat().st_mtime_ns
    again = labmod.up(name=lab.name, nodes=3)
    assert again.changed == []
    assert {h: s.pid for h, s in again.state.hosts.items()} == pids
    assert (lab.inventory / "hosts.yml").stat().st_mtime_ns == inv_mtime


def test_status_reports_running_hosts_and_memory(lab: Any) -> None:
    from bigdata_admin.cli import app

    result = CliRunner().invoke(app, ["lab", "status", "--name", lab.name, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["relay"]["running"]
    assert [h["host"] for h in data["hosts"]] == ["h1", "h2", "h3"]
    for h in data["hosts"]:
        assert h["state"] == "ssh" and h["address"] == lab.hosts[h["host"]]
        assert h["processes"] >= 3 and 1 < h["memory_pss_mib"] < 500


def test_inventory_passes_check(lab: Any) -> None:
    validate = pytest.importorskip("bigdata_admin.validate")
    from bigdata_admin import inventory

    problems = validate.validate(inventory.load(lab.inventory))
    assert [p for p in problems if p.severity == "error"] == []
