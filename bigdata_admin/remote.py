"""Ad-hoc commands on inventory hosts over SSH (Fabric), in parallel: `bigdata-admin exec`.

SSH settings come from each host's Ansible variables: `ansible_host`, `ansible_user`,
`ansible_port`, `ansible_ssh_private_key_file`, and from `ansible_ssh_common_args` /
`ansible_ssh_extra_args` the options `UserKnownHostsFile=` and `StrictHostKeyChecking=`.
Hosts with `ansible_connection: local` run the command here.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bigdata_admin import inventory
from bigdata_admin.errors import BadInput


@dataclass
class HostResult:
    host: str
    address: str
    exit_status: int | None
    """The command's exit status; None when it could not run (see `error`)."""
    stdout: str = ""
    stderr: str = ""
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and self.exit_status == 0

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


@dataclass(frozen=True)
class SshTarget:
    host: str
    address: str
    user: str | None
    port: int
    key_file: str | None
    known_hosts: str | None
    strict: bool
    local: bool = False


def ssh_options(args: str) -> dict[str, str]:
    """`-o Name=value` options in an ansible_ssh_*_args string (names lower-cased)."""
    words = shlex.split(args or "")
    out: dict[str, str] = {}
    for i, w in enumerate(words):
        opt = None
        if w == "-o" and i + 1 < len(words):
            opt = words[i + 1]
        elif w.startswith("-o") and len(w) > 2:
            opt = w[2:]
        if opt and "=" in opt:
            k, v = opt.split("=", 1)
            out[k.strip().lower()] = v.strip()
    return out


def target(host: inventory.Host) -> SshTarget:
    v = host.vars
    opts = {**ssh_options(str(v.get("ansible_ssh_common_args", ""))),
            **ssh_options(str(v.get("ansible_ssh_extra_args", "")))}
    known = opts.get("userknownhostsfile")
    strict = opts.get("stricthostkeychecking", "yes" if known else "no").lower() in ("yes", "true")
    key = v.get("ansible_ssh_private_key_file") or v.get("ansible_private_key_file")
    return SshTarget(
        host=host.name, address=host.address or host.name,
        user=v.get("ansible_user") or v.get("ansible_ssh_user"),
        port=int(v.get("ansible_port") or v.get("ansible_ssh_port") or 22),
        key_file=str(Path(str(key)).expanduser()) if key else None,
        known_hosts=str(Path(known).expanduser()) if known and known != "/dev/null" else None,
        strict=strict, local=v.get("ansible_connection") == "local")


def select(cluster: inventory.Cluster, group: str | None, limit: str | None) -> list[inventory.Host]:
    """Hosts of `group` (default: all), narrowed to the comma-separated names in `limit`."""
    if group is not None:
        if group not in cluster.groups:
            import difflib

            near = difflib.get_close_matches(group, list(cluster.groups), n=1)
            raise BadInput(f"the inventory has no group {group!r}",
                           fix=f"Did you mean {near[0]!r}?" if near else
                           f"Use one of: {', '.join(g for g in cluster.groups if cluster.groups[g])}.")
        hosts = cluster.hosts_in(group)
    else:
        hosts = list(cluster.hosts.values())
    if limit:
        wanted = [h.strip() for h in limit.split(",") if h.strip()]
        unknown = [h for h in wanted if h not in cluster.hosts]
        if unknown:
            raise BadInput(f"--limit names unknown host(s): {', '.join(unknown)}",
                           fix=f"Use host names of the inventory: {', '.join(cluster.hosts)}.")
        hosts = [h for h in hosts if h.name in wanted]
    if not hosts:
        raise BadInput("no host matches", fix="Check --group and --limit against the inventory.")
    return hosts


def _run_local(t: SshTarget, command: str, timeout: float) -> HostResult:
    started = time.monotonic()
    try:
        proc = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return HostResult(t.host, t.address, None, error=f"timed out after {timeout:.0f} s",
                          seconds=time.monotonic() - started)
    return HostResult(t.host, t.address, proc.returncode, proc.stdout, proc.stderr,
                      seconds=time.monotonic() - started)


def _run_ssh(t: SshTarget, command: str, timeout: float) -> HostResult:
    import paramiko
    from fabric import Connection
    from invoke.exceptions import CommandTimedOut

    started = time.monotonic()
    connect_kwargs: dict[str, Any] = {"banner_timeout": 15, "auth_timeout": 15}
    if t.key_file:
        connect_kwargs["key_filename"] = [t.key_file]
    conn = Connection(t.address, user=t.user, port=t.port, connect_timeout=10,
                      connect_kwargs=connect_kwargs)
    # Host keys as OpenSSH would check them with these options: only the named known_hosts file.
    client = paramiko.SSHClient()
    if t.known_hosts:
        try:
            client.load_host_keys(t.known_hosts)
        except OSError as exc:
            return HostResult(t.host, t.address, None, error=f"cannot read {t.known_hosts}: {exc}")
    else:
        client.load_system_host_keys()
    client.set_missing_host_key_policy(paramiko.RejectPolicy() if t.strict else paramiko.WarningPolicy())
    conn.client = client
    try:
        res = conn.run(command, hide=True, warn=True, timeout=timeout, in_stream=False)
        return HostResult(t.host, t.address, res.exited, res.stdout, res.stderr,
                          seconds=time.monotonic() - started)
    except CommandTimedOut:
        return HostResult(t.host, t.address, None, error=f"timed out after {timeout:.0f} s",
                          seconds=time.monotonic() - started)
    except (paramiko.SSHException, OSError) as exc:
        msg = str(exc) or type(exc).__name__
        return HostResult(t.host, t.address, None, error=f"ssh {t.user}@{t.address}:{t.port}: {msg}",
                          seconds=time.monotonic() - started)
    finally:
        conn.close()


def run_on(inv: Path | str, command: str, *, group: str | None = None, limit: str | None = None,
           sudo: bool = False, timeout: float = 120.0) -> list[HostResult]:
    """Run `command` on the selected hosts in parallel; results in inventory order."""
    if not command.strip():
        raise BadInput("no command given", fix="Put it after `--`: `bigdata-admin exec -i INV -- uptime`.")
    cluster = inventory.load(inv)
    hosts = select(cluster, group, limit)
    if sudo:
        command = f"sudo -n sh -c {shlex.quote(command)}"
    targets = [target(h) for h in hosts]
    with ThreadPoolExecutor(max_workers=min(32, len(targets))) as pool:
        futures = [pool.submit(_run_local if t.local else _run_ssh, t, command, timeout) for t in targets]
        return [f.result() for f in futures]


def print_results(results: list[HostResult], console: Any) -> None:
    from rich.markup import escape

    for r in results:
        if r.error:
            head = f"[red]{escape(r.error)}[/]"
        else:
            colour = "green" if r.exit_status == 0 else "red"
            head = f"[{colour}]exit {r.exit_status}[/]"
        console.print(f"[bold]== {escape(r.host)}[/] ({escape(str(r.address))}) {head} "
                      f"[dim]{r.seconds:.2f} s[/]", highlight=False)
        if r.stdout:
            console.print(escape(r.stdout.rstrip("\n")), highlight=False)
        if r.stderr:
            console.print(f"[yellow]{escape(r.stderr.rstrip(chr(10)))}[/]", highlight=False)
    failed = [r.host for r in results if not r.ok]
    summary = f"{len(results) - len(failed)}/{len(results)} ok"
    console.print(escape(summary + (f"; failed: {', '.join(failed)}" if failed else "")), highlight=False)
