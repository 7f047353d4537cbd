"""Bring a lab up and down: overlay disks, network, systemd-nspawn hosts, relay, inventory."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bigdata_admin.errors import BadInput, RunFailed
from bigdata_admin.lab import image, labinventory, model, net, relay
from bigdata_admin.lab.util import (
    lab_root,
    labs_dir,
    locked,
    mounts_under,
    remove_tree,
    require_root,
    run,
    unmount,
    wait_until,
)
from bigdata_admin.procs import pid_alive

CGROUP_ROOTS = (Path("/sys/fs/cgroup/systemd"), Path("/sys/fs/cgroup/unified"))
CGROUP_PARENT = "bigdata-lab"
PROPAGATE_DIR = Path("/run/systemd/nspawn/propagate")
BOOT_TIMEOUT = 60.0
Log = Callable[[str], None]


def _quiet(_: str) -> None:
    pass


@dataclass
class Lab:
    """A running (or kept) lab, as `up()` and `get()` return it."""

    name: str
    inventory: Path
    hosts: dict[str, str]
    """Host name -> address."""
    gateway: str
    """The control host's address on the lab bridge (relay, artifact server)."""
    key: Path
    known_hosts: Path
    state: model.LabState
    changed: list[str] = field(default_factory=list)
    """What `up()` had to do; empty when the lab was already up as wanted."""

    @property
    def artifact_url(self) -> str:
        return f"http://{self.gateway}:{self.state.artifact_port}"

    @property
    def proxy_url(self) -> str:
        return f"http://{self.gateway}:{self.state.proxy_port}"

    @property
    def artifacts_dir(self) -> Path:
        """The control host directory served at `artifact_url`."""
        return Path(self.state.artifacts_dir)

    @property
    def relay_log(self) -> Path:
        return lab_dir(self.name) / "relay.log"

    def ssh_command(self, host: str, *command: str) -> list[str]:
        """An `ssh` argv reaching `host` as the deploy user."""
        return ["ssh", "-i", str(self.key), "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR",
                f"{image.DEPLOY_USER}@{self.hosts[host]}", *command]


def lab_dir(name: str) -> Path:
    return labs_dir() / name


def _state_file(name: str) -> Path:
    return lab_dir(name) / "state.json"


def _lock(name: str) -> contextlib.AbstractContextManager[None]:
    return locked(labs_dir() / ".locks" / f"{name}.lock")


def all_states() -> dict[str, model.LabState]:
    out: dict[str, model.LabState] = {}
    if labs_dir().is_dir():
        for d in sorted(labs_dir().iterdir()):
            f = d / "state.json"
            if f.is_file():
                with contextlib.suppress(ValueError, TypeError, KeyError):
                    out[d.name] = model.LabState.read(f)
    return out


def _as_lab(state: model.LabState, changed: list[str] | None = None) -> Lab:
    d = lab_dir(state.name)
    return Lab(name=state.name,
               inventory=Path(state.inventory) if state.inventory else labinventory.inventory_dir(state.name),
               hosts={h: s.address for h, s in state.hosts.items()}, gateway=state.gateway,
               key=d / "id_ed25519", known_hosts=d / "known_hosts", state=state, changed=changed or [])


def get(name: str) -> Lab | None:
    """The recorded lab `name`, or None."""
    f = _state_file(model.check_name(name))
    return _as_lab(model.LabState.read(f)) if f.is_file() else None


# --- hosts -------------------------------------------------------------------------------------

def _is_nspawn(pid: int | None, machine: str) -> bool:
    if not pid or not pid_alive(pid):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    is_nspawn = any(a.endswith(b"systemd-nspawn") for a in cmdline[:1])
    return is_nspawn and f"--machine={machine}".encode() in cmdline


def _write_if_changed(path: Path, content: str, mode: int | None = None,
                      owner: tuple[int, int] | None = None) -> bool:
    if path.is_file() and not path.is_symlink() and path.read_text() == content:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_symlink():
        path.unlink()
    path.write_text(content)
    if mode is not None:
        path.chmod(mode)
    if owner is not None:
        os.chown(path, *owner)
    return True


def _read_text(path: Path) -> str | None:
    try:
        return None if path.is_symlink() else path.read_text()
    except OSError:
        return None


def _hosts_file(state: model.LabState, current: str | None = None) -> str:
    """/etc/hosts with the lab's lines, keeping what others added (e.g. the common role's block).

    Unchanged when every lab line is already there, so `up` on a deployed lab changes nothing.
    """
    lines = ["127.0.0.1\tlocalhost", "::1\tlocalhost ip6-localhost ip6-loopback",
             f"{state.gateway}\tlab-control"]
    lines += [f"{s.address}\t{h}" for h, s in state.hosts.items()]

    def norm(line: str) -> str:
        return " ".join(line.split())

    wanted = {norm(line) for line in lines}
    if current is None:
        return "\n".join(lines) + "\n"
    have = current.splitlines()
    if wanted <= {norm(line) for line in have}:
        return current
    # Drop stale lines naming a lab host or the control host at another address.
    names = {norm(line).split(" ")[1] for line in lines}
    kept = [line for line in have if norm(line) not in wanted
            and not (line.split() and not line.lstrip().startswith("#") and set(line.split()[1:]) & names)]
    return "\n".join(lines + kept) + "\n"


def _prepare_disk(state: model.LabState, hs: model.HostState, base: Path, pubkey: str) -> list[str]:
    changed: list[str] = []
    hdir = lab_dir(state.name) / "hosts" / hs.name
    merged = hdir / "merged"
    for sub in ("upper", "work", "merged"):
        (hdir / sub).mkdir(parents=True, exist_ok=True)
    if merged not in mounts_under(merged):
        run(["mount", "-t", "overlay", "overlay", "-o",
             f"lowerdir={base},upperdir={hdir / 'upper'},workdir={hdir / 'work'}", str(merged)])
        changed.append(f"{hs.name}: mounted its disk")
    uid, gid = image.deploy_ids(merged)
    files = [
        (merged / "etc/hostname", f"{hs.name}\n", 0o644, None),
        (merged / "etc/hosts", _hosts_file(state, _read_text(merged / "etc/hosts")), 0o644, None),
        (merged / "etc/apt/apt.conf.d/01bigdata-relay",
         f'Acquire::http::Proxy "http://{state.gateway}:{state.proxy_port}";\n', 0o644, None),
        (merged / "home" / image.DEPLOY_USER / ".ssh/authorized_keys", pubkey, 0o600, (uid, gid)),
    ]
    for path, content, mode, owner in files:
        if _write_if_changed(path, content, mode, owner):
            changed.append(f"{hs.name}: wrote {path.relative_to(merged)}")
    return changed


def _cgroup_dirs(machine: str) -> list[Path]:
    return [root / CGROUP_PARENT / machine for root in CGROUP_ROOTS if root.is_dir()]


def _start_host(state: model.LabState, hs: model.HostState) -> int:
    hdir = lab_dir(state.name) / "hosts" / hs.name
    cgroups = _cgroup_dirs(hs.machine)
    for cg in cgroups:
        cg.mkdir(parents=True, exist_ok=True)
    # Own cgroup per host in both hierarchies, else every container shares the caller's and their
    # systemd instances clash (units fail with status=219/CGROUP).
    join = "".join(f"echo $$ > {cg}/cgroup.procs; " for cg in cgroups)
    nspawn = ["systemd-nspawn", "-D", str(hdir / "merged"), f"--machine={hs.machine}",
              f"--hostname={hs.name}", "--register=no", "--keep-unit", "--boot", "--console=passive",
              "--link-journal=no", "--resolv-conf=off", f"--network-namespace-path=/run/netns/{hs.netns}"]
    with (hdir / "nspawn.log").open("ab") as out:
        proc = subprocess.Popen(["sh", "-c", join + 'exec "$@"', "sh", *nspawn], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=out, start_new_session=True, close_fds=True)
    # The pid is the shell's until it has joined the cgroups and exec'd nspawn.
    wait_until(lambda: proc.poll() is not None or _is_nspawn(proc.pid, hs.machine), 10, 0.01)
    return proc.pid


def _ssh_ready(address: str) -> bool:
    try:
        with socket.create_connection((address, 22), timeout=0.3) as s:
            s.settimeout(1.0)
            return s.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def _logins_work(key: Path, hosts: dict[str, str]) -> list[str]:
    """Those of `hosts` (name -> address) where the deploy user can log in with the lab key."""
    procs = {}
    for name, addr in hosts.items():
        cmd = ["ssh", "-i", str(key), "-o", "BatchMode=yes", "-o", "ConnectTimeout=3",
               "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
               f"{image.DEPLOY_USER}@{addr}", "true"]
        procs[name] = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                       stderr=subprocess.DEVNULL)
    return [name for name, proc in procs.items() if proc.wait() == 0]


def _known_hosts(state: model.LabState) -> str:
    lines: list[str] = []
    for h, hs in state.hosts.items():
        ssh_dir = lab_dir(state.name) / "hosts" / h / "merged/etc/ssh"
        for kind in ("ed25519", "ecdsa", "rsa"):
            pub = ssh_dir / f"ssh_host_{kind}_key.pub"
            if pub.is_file():
                keytype, key = pub.read_text().split()[:2]
                lines.append(f"{h},{hs.address} {keytype} {key}")
    return "\n".join(lines) + "\n"


# --- up ----------------------------------------------------------------------------------------

def up(name: str = "dev", nodes: int = 3, *, rebuild_image: bool = False, log: Log = _quiet,
       template: str = "classroom") -> Lab:
    """Bring lab `name` up with `nodes` hosts laid out as `template` (idempotent) and return it."""
    model.check_name(name)
    model.check_nodes(nodes)
    model.check_template(template, nodes)
    require_root("`lab up`")
    with _lock(name):
        return _up(name, nodes, rebuild_image, log, template)


def _up(name: str, nodes: int, rebuild_image: bool, log: Log, template: str = "classroom") -> Lab:
    changed: list[str] = []
    d = lab_dir(name)
    state_file = _state_file(name)
    if state_file.is_file():
        state = model.LabState.read(state_file)
        model.check_resize(name, state.nodes, nodes, state.template, template)
        if nodes > state.nodes:
            changed += _grow(state, nodes)
            state.write(state_file)
        if rebuild_image:
            image.ensure(rebuild=True, log=log)
            log(f"lab {name!r} keeps the image it was made from; new labs use the rebuilt one")
        if not (Path(state.image) / "etc/os-release").exists():
            raise BadInput(f"the image lab {name!r} was made from ({state.image}) is gone",
                           fix=f"Remove the lab's disks: `bigdata-admin lab down --name {name}`.")
    else:
        with locked(labs_dir() / ".locks" / "allocate.lock"):
            taken = {s.index: n for n, s in all_states().items()}
            index = model.allocate_index(name, taken)
            base = image.ensure(rebuild=rebuild_image, log=log)
            state = model.LabState(name=name, index=index, nodes=nodes, image=str(base), template=template)
            for i, h in enumerate(model.host_names(nodes), start=1):
                state.hosts[h] = model.HostState(
                    name=h, address=model.host_address(index, i), machine=model.machine_name(name, h),
                    netns=model.netns_name(name, h), veth=model.veth_name(index, i))
            d.mkdir(parents=True, exist_ok=True)
            state.write(state_file)
        changed.append(f"recorded lab {name} on {state.subnet}")
    key = d / "id_ed25519"
    if not key.is_file():
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", f"bigdata-admin-lab-{name}",
             "-f", str(key)])
        changed.append("made the lab's SSH key")
    pubkey = (d / "id_ed25519.pub").read_text()

    if net.ensure_bridge(state.bridge, f"{state.gateway}/24"):
        changed.append(f"bridge {state.bridge} {state.gateway}/24")
    if not relay.is_relay(state.relay_pid):
        from bigdata_admin import paths

        state.artifacts_dir = str(paths.cache_dir())
        state.relay_pid = relay.start(
            state.gateway, state.proxy_port, state.artifact_port, _relay_hosts(state),
            lab_root() / "apt-cache", paths.cache_dir(), d / "relay.log")
        changed.append(f"relay on {state.gateway} (apt proxy :{state.proxy_port}, "
                       f"artifacts :{state.artifact_port})")
        state.write(state_file)

    started: list[str] = []
    for hs in state.hosts.values():
        changed += _prepare_disk(state, hs, Path(state.image), pubkey)
        if net.ensure_host(hs.netns, hs.veth, state.bridge, f"{hs.address}/24", state.gateway):
            changed.append(f"{hs.name}: network {hs.address}")
        if not _is_nspawn(hs.pid, hs.machine):
            hs.pid = _start_host(state, hs)
            started.append(hs.name)
            changed.append(f"{hs.name}: booted")
    state.write(state_file)
    if started:
        log(f"booting {', '.join(started)}")
    pending = dict(state.hosts)

    def all_ready() -> bool:
        answering = []
        for h, hs in list(pending.items()):
            if not _is_nspawn(hs.pid, hs.machine):
                tail = (d / "hosts" / h / "nspawn.log").read_text(errors="replace")[-1500:]
                raise RunFailed(f"host {h} stopped while booting:\n{tail}",
                                fix=f"See {d / 'hosts' / h / 'nspawn.log'}; then `bigdata-admin lab down "
                                    f"--name {name}` and `lab up` again.")
            if _ssh_ready(hs.address):
                answering.append(h)
        # A freshly booted host is ready when the deploy user can log in (sshd answers a moment
        # before logins are allowed: /run/nologin).
        for h in _logins_work(key, {h: pending[h].address for h in answering if h in started}):
            del pending[h]
        for h in answering:
            if h not in started:
                del pending[h]
        return not pending

    if not wait_until(all_ready, BOOT_TIMEOUT, 0.1):
        raise RunFailed(f"no SSH from {', '.join(pending)} within {BOOT_TIMEOUT:.0f} s",
                        fix=f"Look at `bigdata-admin lab ssh` or {d}/hosts/*/nspawn.log.")
    if _write_if_changed(d / "known_hosts", _known_hosts(state), 0o600):
        changed.append("wrote known_hosts")

    inv_dir, digest, written = labinventory.write(state, d)
    if digest != state.inventory_digest or str(inv_dir) != state.inventory:
        changed.append(f"wrote inventory {inv_dir}")
    elif not written:
        log(f"kept {inv_dir}: it was edited since `lab up` wrote it")
        missing = labinventory.missing_hosts(state, inv_dir, d)
        if missing:
            lines = "; ".join(f"{h}: {{ansible_host: {e['ansible_host']}, bigdata_host_memory_mb: "
                              f"{e['bigdata_host_memory_mb']}}}" for h, e in missing.items())
            changed.append(f"kept the edited inventory {inv_dir}: add under all.hosts in hosts.yml: {lines}")
    state.inventory, state.inventory_digest = str(inv_dir), digest
    state.write(state_file)
    return _as_lab(state, changed)


def _grow(state: model.LabState, nodes: int) -> list[str]:
    """Record hosts h(N+1)..h`nodes` on a lab of N hosts (booted by the rest of `_up`). The group
    layout stays the one the lab was made with: the new hosts join no group."""
    state.layout_nodes = state.laid_out
    added = []
    for i in range(state.nodes + 1, nodes + 1):
        h = f"h{i}"
        state.hosts[h] = model.HostState(
            name=h, address=model.host_address(state.index, i), machine=model.machine_name(state.name, h),
            netns=model.netns_name(state.name, h), veth=model.veth_name(state.index, i))
        added.append(f"{h} {state.hosts[h].address}")
    state.nodes = nodes
    return [f"added {', '.join(added)} (in no inventory group)"]


def _relay_hosts(state: model.LabState) -> list[str]:
    """Mirror host names the relay forwards: those the image's apt sources name."""
    from urllib.parse import urlsplit

    sources = Path(state.image) / "etc/apt/sources.list"
    text = sources.read_text() if sources.is_file() else ""
    hosts = {urlsplit(u).hostname for u in image.mirror_uris(text)}
    return sorted(h for h in hosts if h) or [urlsplit(image.host_mirror()).hostname or "deb.debian.org"]


# --- down --------------------------------------------------------------------------------------

def down(name: str = "dev", *, keep_state: bool = False, log: Log = _quiet) -> list[str]:
    """Stop lab `name` and remove everything it made (its disks too unless `keep_state`).
    Returns what was done."""
    require_root("`lab down`")
    model.check_name(name)
    with _lock(name):
        return _down(name, keep_state, log)


def _stop_hosts(state: model.LabState, timeout: float = 30.0) -> list[str]:
    """Power every running host off at once (SIGTERM to nspawn = orderly poweroff); after `timeout`
    kill what is left, including the container's processes (they outlive a killed nspawn)."""
    done: list[str] = []
    live = {h: hs for h, hs in state.hosts.items() if _is_nspawn(hs.pid, hs.machine)}
    started = time.monotonic()
    for hs in live.values():
        assert hs.pid
        with contextlib.suppress(ProcessLookupError):
            os.kill(hs.pid, signal.SIGTERM)
    running = dict(live)

    def gone() -> bool:
        for h, hs in list(running.items()):
            assert hs.pid
            with contextlib.suppress(ChildProcessError):
                os.waitpid(hs.pid, os.WNOHANG)
            if not _is_nspawn(hs.pid, hs.machine):
                done.append(f"{h}: powered off ({time.monotonic() - started:.1f} s)")
                del running[h]
        return not running

    if not wait_until(gone, timeout, 0.1):
        for h, hs in running.items():
            assert hs.pid
            with contextlib.suppress(ProcessLookupError):
                os.kill(hs.pid, signal.SIGKILL)
            for cg in _cgroup_dirs(hs.machine):
                _kill_cgroup(cg)
            done.append(f"{h}: killed (no poweroff within {timeout:.0f} s)")
        wait_until(gone, 5)
    return sorted(done)


def _cgroup_procs(path: Path) -> list[int]:
    pids: list[int] = []
    if path.is_dir():
        for procs in path.rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                pids += [int(x) for x in procs.read_text().split()]
    return pids


def _kill_cgroup(path: Path, timeout: float = 5.0) -> bool:
    """SIGKILL every process left in a host's cgroup (a container whose nspawn was killed keeps
    running without it). True when there were any."""
    pids = _cgroup_procs(path)
    if not pids:
        return False

    def empty() -> bool:
        for pid in _cgroup_procs(path):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        return not _cgroup_procs(path)

    wait_until(empty, timeout, 0.1)
    return True


def _remove_cgroup(path: Path) -> None:
    if not path.is_dir():
        return
    for sub in sorted((p for p in path.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            sub.rmdir()
    with contextlib.suppress(OSError):
        path.rmdir()


def _sweep(name: str) -> list[str]:
    """Remove what a lab whose state file is lost left behind, found by its names: nspawn processes,
    mounts under its directory, namespaces (and with them the veths), propagate dirs, cgroups."""
    import re

    done: list[str] = []
    leftover: list[int] = []
    machine_re = re.compile(re.escape(model.machine_name(name, "")) + r"h\d+$")
    netns_re = re.compile(re.escape(model.netns_name(name, "")) + r"h\d+$")
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            args = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if args and args[0].endswith("systemd-nspawn") and any(
                a.startswith("--machine=") and machine_re.match(a.removeprefix("--machine=")) for a in args):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGTERM)
            leftover.append(int(proc.name))
            done.append(f"stopped leftover host process {proc.name}")
    wait_until(lambda: not any(pid_alive(p) for p in leftover), 30, 0.1)
    for root in CGROUP_ROOTS:
        if (root / CGROUP_PARENT).is_dir():
            for d in (root / CGROUP_PARENT).iterdir():
                if machine_re.match(d.name) and _kill_cgroup(d):
                    done.append(f"killed processes left in {d}")
    for m in mounts_under(lab_dir(name)):
        unmount(m)
        done.append(f"unmounted {m}")
    bridges: set[str] = set()
    if net.NETNS_DIR.is_dir():
        for ns in sorted(net.NETNS_DIR.iterdir()):
            if netns_re.match(ns.name):
                veth, bridge = net.peer_of(ns.name)
                if bridge:
                    bridges.add(bridge)
                net.remove_host(ns.name, veth)
                done.append(f"removed namespace {ns.name}" + (f" and {veth}" if veth else ""))
    for root in (PROPAGATE_DIR, *(r / CGROUP_PARENT for r in CGROUP_ROOTS)):
        if not root.is_dir():
            continue
        for d in root.iterdir():
            if machine_re.match(d.name):
                if root == PROPAGATE_DIR:
                    remove_tree(d)
                else:
                    _remove_cgroup(d)
                done.append(f"removed {d}")
    # Its bridge: the one its hosts were attached to, when no recorded lab owns it and nothing else
    # is attached.
    recorded = {st.bridge for st in all_states().values()}
    for br in sorted(bridges):
        if re.fullmatch(r"bdlab\d+", br) and br not in recorded and not run(
                ["ip", "-o", "link", "show", "master", br]).stdout.strip():
            net.remove_bridge(br)
            done.append(f"removed orphan bridge {br}")
            gateway = model.gateway(int(br.removeprefix("bdlab")))
            for pid in _relay_pids(gateway):
                relay.stop(pid)
                done.append(f"stopped orphan relay {pid} on {gateway}")
    return done


def _relay_pids(gateway: str) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                args = (proc / "cmdline").read_bytes().decode(errors="replace").split("\0")
                if "bigdata_admin.lab.relay" in args and "--bind" in args and \
                        args[args.index("--bind") + 1] == gateway:
                    pids.append(int(proc.name))
    return pids


def _down(name: str, keep_state: bool, log: Log) -> list[str]:
    state_file = _state_file(name)
    if not state_file.is_file():
        return _sweep(name)
    state = model.LabState.read(state_file)
    done = _stop_hosts(state)
    started = time.monotonic()

    def clean(hs: model.HostState) -> None:
        merged = lab_dir(name) / "hosts" / hs.name / "merged"
        for m in mounts_under(merged):
            unmount(m)
        net.remove_host(hs.netns, hs.veth)  # waits for the kernel to drop the veth
        remove_tree(PROPAGATE_DIR / hs.machine)
        for cg in _cgroup_dirs(hs.machine):
            _kill_cgroup(cg)
            _remove_cgroup(cg)
        hs.pid = None

    with ThreadPoolExecutor(max_workers=max(1, len(state.hosts))) as pool:
        list(pool.map(clean, state.hosts.values()))
    done.append(f"unmounted disks, removed namespaces, veths, cgroups ({time.monotonic() - started:.1f} s)")
    for root in CGROUP_ROOTS:
        with contextlib.suppress(OSError):
            (root / CGROUP_PARENT).rmdir()  # only when no other lab uses it
    relay.stop(state.relay_pid)
    state.relay_pid = None
    net.remove_bridge(state.bridge)
    done.append(f"removed network {state.bridge} ({state.subnet}) and the relay")
    if keep_state:
        state.write(state_file)
        done.append(f"kept the disks under {lab_dir(name)}")
        return done
    inv = Path(state.inventory) if state.inventory else labinventory.inventory_dir(name)
    if labinventory.remove_if_unchanged(state, inv):
        done.append(f"removed inventory {inv}")
    elif inv.is_dir():
        done.append(f"kept inventory {inv} (edited since `lab up` wrote it)")
    started = time.monotonic()
    remove_tree(lab_dir(name))
    done.append(f"removed the disks ({time.monotonic() - started:.1f} s)")
    in_use = {Path(s.image).resolve() for s in all_states().values()}
    for img in image.prune(in_use):
        done.append(f"removed unused image {img}")
    log("; ".join(done))
    return done


# --- status ------------------------------------------------------------------------------------

def _cgroup_pids(machine: str) -> list[int]:
    return _cgroup_procs(CGROUP_ROOTS[0] / CGROUP_PARENT / machine)


def pss_kib(pids: list[int]) -> int:
    """Proportional set size of processes, KiB (shared pages split among their users)."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError), open(f"/proc/{pid}/smaps_rollup") as fh:
            for line in fh:
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
                    break
    return total


def status(name: str) -> dict[str, Any]:
    """The lab's hosts: address, state (running / ssh / stopped), processes and PSS memory."""
    require_root("`lab status`")
    lab = get(name)
    if lab is None:
        raise BadInput(f"there is no lab named {name!r}",
                       fix="See `bigdata-admin lab list`, or create it: `bigdata-admin lab up --name NAME`.")
    st = lab.state
    hosts = []
    for h, hs in st.hosts.items():
        running = _is_nspawn(hs.pid, hs.machine)
        pids = _cgroup_pids(hs.machine) if running else []
        hosts.append({
            "host": h, "address": hs.address, "machine": hs.machine,
            "state": ("ssh" if _ssh_ready(hs.address) else "booting") if running else "stopped",
            "pid": hs.pid if running else None, "processes": len(pids),
            "memory_pss_mib": round(pss_kib(pids) / 1024, 1)})
    return {"name": st.name, "nodes": st.nodes, "subnet": st.subnet, "bridge": st.bridge,
            "control_address": st.gateway, "inventory": str(lab.inventory),
            "relay": {"running": relay.is_relay(st.relay_pid), "apt_proxy": lab.proxy_url,
                      "artifacts": lab.artifact_url},
            "image": st.image, "hosts": hosts}


def list_labs() -> list[dict[str, Any]]:
    require_root("`lab list`")
    out = []
    for n, st in all_states().items():
        running = sum(_is_nspawn(hs.pid, hs.machine) for hs in st.hosts.values())
        out.append({"name": n, "nodes": st.nodes, "running": running, "subnet": st.subnet,
                    "inventory": st.inventory})
    return out


def wait_ssh(lab: Lab, timeout: float = 30.0) -> bool:
    return wait_until(lambda: all(_ssh_ready(a) for a in lab.hosts.values()), timeout, 0.1)

