"""Issue 11 item 6: a host must not resolve its own name to loopback.

The common role's /etc/hosts tasks run for real (ansible-playbook, local connection) on a Debian-style
hosts file; its check refuses a host whose own name resolves to loopback (`localhost` does, through
the real resolver) and passes one whose name does not.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
DEBIAN_HOSTS = """127.0.0.1\tlocalhost
127.0.1.1\tn1.example.org n1

# The following lines are desirable for IPv6 capable hosts
::1     localhost ip6-localhost ip6-loopback n1
ff02::1 ip6-allnodes
"""


def _play(tmp: Path, hosts: dict[str, Any], tasks_from: str,
          extra: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    inv = tmp / "hosts.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": hosts,
                                           "vars": {"ansible_python_interpreter": sys.executable}}}))
    play = [{"name": "Common", "hosts": "all", "gather_facts": False, "roles": ["bigdata_defaults"],
             "tasks": [{"name": "Run", "ansible.builtin.include_role": {"name": "common",
                                                                        "tasks_from": tasks_from}}]}]
    (tmp / "play.yml").write_text(yaml.safe_dump(play, sort_keys=False))
    env = {**os.environ, "BIGDATA_ADMIN_STATE_DIR": str(tmp / "state"),
           "ANSIBLE_ROLES_PATH": str(REPO / "roles"), "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    args = [str(ANSIBLE_PLAYBOOK), "-i", str(inv), str(tmp / "play.yml"), "-c", "local"]
    for key, value in extra.items():
        args += ["-e", f"{key}={value}"]
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_own_name_leaves_the_loopback_lines_and_the_cluster_block_is_added(tmp_path: Path) -> None:
    hosts_file = tmp_path / "etc-hosts"
    hosts_file.write_text(DEBIAN_HOSTS)
    hosts = {"n1.example.org": {"ansible_host": "10.9.9.1"}, "n2": {"ansible_host": "10.9.9.2"}}
    proc = _play(tmp_path, {"n1.example.org": hosts["n1.example.org"], **hosts}, "etc_hosts",
                 {"common_etc_hosts": str(hosts_file)})
    assert proc.returncode == 0, proc.stdout[-3000:]
    lines = hosts_file.read_text().splitlines()
    assert "127.0.0.1\tlocalhost" in lines
    assert "::1     localhost ip6-localhost ip6-loopback" in lines
    assert not any(line.startswith("127.0.1.1") for line in lines)
    assert "10.9.9.1 n1.example.org" in lines and "10.9.9.2 n2" in lines
    loopback = [line for line in lines if line.startswith(("127.", "::1"))]
    assert not any("n1" in line.split() for line in loopback)
    again = _play(tmp_path, hosts, "etc_hosts", {"common_etc_hosts": str(hosts_file)})
    assert again.returncode == 0 and "changed=0" in again.stdout, again.stdout[-2000:]


def test_single_node_inventory_keeps_its_loopback_lines(tmp_path: Path) -> None:
    hosts_file = tmp_path / "etc-hosts"
    hosts_file.write_text(DEBIAN_HOSTS)
    proc = _play(tmp_path, {"n1": {"ansible_connection": "local"}}, "etc_hosts",
                 {"common_etc_hosts": str(hosts_file)})
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "127.0.1.1\tn1.example.org n1" in hosts_file.read_text()


def test_check_refuses_a_host_resolving_its_own_name_to_loopback(tmp_path: Path) -> None:
    # `localhost` resolves to 127.0.0.1 / ::1 on every machine: as a host reached at 10.9.9.9 it is the
    # Debian 127.0.1.1 case.
    proc = _play(tmp_path, {"localhost": {"ansible_host": "10.9.9.9"}}, "check",
                 {"common_disable_thp": "false"})
    assert proc.returncode != 0
    assert "localhost resolves its own name to 127.0.0.1" in proc.stdout
    assert "127.0.1.1 localhost" in proc.stdout  # the fix names the line to remove


def test_check_passes_a_host_whose_name_is_not_loopback(tmp_path: Path) -> None:
    proc = _play(tmp_path, {"bigdata-admin-no-such-host-xyz": {"ansible_host": "10.9.9.9"}}, "check",
                 {"common_disable_thp": "false", "common_manage_etc_hosts": "false"})
    assert proc.returncode == 0, proc.stdout[-3000:]
