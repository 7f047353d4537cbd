"""Run a command on an inventory host: over SSH with the inventory's connection variables, or
locally for `ansible_connection: local` hosts.

Used by status (systemd state) and by other areas that need a quick look at a host. It calls the
OpenSSH client directly (no Ansible, no Python SSH library), so it starts in milliseconds.

    result = run(host, ["systemctl", "is-active", "zookeeper"], timeout=5)
    result.ok, result.rc, result.stdout, result.stderr
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from bigdata_admin.inventory import Host

SSH_CONNECT_TIMEOUT = 3
"""Seconds for the TCP/SSH handshake; an unreachable host must not stall `status`."""


@dataclass
class RemoteResult:
    host: str
    rc: int
    stdout: str
    stderr: str
    reachable: bool = True
    """False when SSH itself failed (rc 255) or the command timed out."""

    @property
    def ok(self) -> bool:
        return self.reachable and self.rc == 0


def is_local(host: Host) -> bool:
    return host.var("ansible_connection") == "local"


def ssh_argv(host: Host, *, connect_timeout: int = SSH_CONNECT_TIMEOUT) -> list[str]:
    """The `ssh ... TARGET` prefix for a host, from its ansible_* variables."""
    address = host.var("ansible_host") or host.address or host.name
    argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={connect_timeout}",
            "-o", "LogLevel=ERROR", "-o", "ControlMaster=auto", "-o", "ControlPersist=60",
            "-o", "ControlPath=/tmp/bda-ssh-%C"]
    port = host.var("ansible_port") or host.var("ansible_ssh_port")
    if port:
        argv += ["-p", str(port)]
    key = host.var("ansible_ssh_private_key_file") or host.var("ansible_private_key_file")
    if key:
        argv += ["-i", str(key)]
    for extra in ("ansible_ssh_common_args", "ansible_ssh_extra_args"):
        value = host.var(extra)
        if value and "{{" not in str(value):
            argv += shlex.split(str(value))
    if str(host.var("host_key_checking", "")).lower() in ("false", "no"):
        argv += ["-o", "StrictHostKeyChecking=no"]
    user = host.var("ansible_user") or host.var("ansible_ssh_user")
    argv.append(f"{user}@{address}" if user else str(address))
    return argv


def run(host: Host, command: Sequence[str], *, timeout: float = 10, become: bool = False) -> RemoteResult:
    """Run `command` (an argv list) on `host`. Never raises for remote failures: look at the result."""
    cmd = list(command)
    user = host.var("ansible_user") or host.var("ansible_ssh_user")
    if become and (is_local(host) or (user and user != "root")):
        cmd = ["sudo", "-n", "--", *cmd]
    argv = cmd if is_local(host) else [*ssh_argv(host), "--", shlex.join(cmd)]
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return RemoteResult(host.name, 124, "", f"timed out after {timeout:g} s", reachable=False)
    except FileNotFoundError as exc:
        return RemoteResult(host.name, 127, "", str(exc), reachable=False)
    reachable = is_local(host) or proc.returncode != 255
    return RemoteResult(host.name, proc.returncode, proc.stdout, proc.stderr.strip(), reachable=reachable)


def unit_states(host: Host, units: Sequence[str], *, timeout: float = 8) -> dict[str, str]:
    """`systemctl is-active` of each unit on the host: active, inactive, failed, activating, ...

    One round trip for all units. When the host cannot be reached every unit maps to `unreachable`.
    """
    if not units:
        return {}
    result = run(host, ["systemctl", "is-active", *units], timeout=timeout)
    if not result.reachable:
        return dict.fromkeys(units, "unreachable")
    lines = result.stdout.splitlines()
    states = {unit: (lines[i].strip() if i < len(lines) else "unknown") for i, unit in enumerate(units)}
    return states
