"""The lab's base image: a Debian bookworm root filesystem built once with debootstrap and cached.

Images live under `<state dir>/lab/images/<id>/rootfs`; `images/current` names the one new labs use.
A lab keeps using the image it was created from (its hosts' overlays sit on it), so `--rebuild-image`
builds a new one beside it; images no lab uses any more are removed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

from bigdata_admin.errors import RunFailed
from bigdata_admin.lab.util import lab_root, locked, remove_tree, run

SUITE = "bookworm"
PACKAGES = ("openssh-server", "python3", "sudo", "systemd", "systemd-sysv", "iproute2", "dbus", "procps")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEPLOY_USER = "deploy"

# Timers and services that make idle hosts busy or noisy; masked in the image.
MASKED_UNITS = (
    "apt-daily.timer", "apt-daily-upgrade.timer", "apt-daily.service", "apt-daily-upgrade.service",
    "dpkg-db-backup.timer", "e2scrub_all.timer", "fstrim.timer", "man-db.timer",
    "systemd-tmpfiles-clean.timer", "getty@tty1.service", "systemd-networkd-wait-online.service",
)

CUSTOMISE_VERSION = 2
"""Bumped when `customise()` changes: a cached image of an older version is upgraded (copied)."""

# Ed25519 and ECDSA only: an RSA key takes seconds to generate on a busy machine and would delay
# every first boot.
HOSTKEY_UNIT = """\
[Unit]
Description=Generate this host's own SSH host keys at first boot
Before=ssh.service
ConditionPathExists=!/etc/ssh/ssh_host_ed25519_key

[Service]
Type=oneshot
ExecStart=/usr/bin/ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key
ExecStart=/usr/bin/ssh-keygen -q -t ecdsa -N "" -f /etc/ssh/ssh_host_ecdsa_key
RemainAfterExit=yes

[Install]
WantedBy=ssh.service
"""


def images_dir() -> Path:
    return lab_root() / "images"


def host_mirror(sources_dir: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this machine's own apt sources name (http URI ending in /debian).

    `BIGDATA_LAB_MIRROR` overrides. Reads deb822 `*.sources` and one-line `*.list` files.
    """
    override = os.environ.get("BIGDATA_LAB_MIRROR")
    if override:
        return override.rstrip("/")
    files = [sources_dir / "sources.list", *sorted((sources_dir / "sources.list.d").glob("*.list")),
             *sorted((sources_dir / "sources.list.d").glob("*.sources"))]
    for f in files:
        try:
            text = f.read_text()
        except OSError:
            continue
        for uri in mirror_uris(text):
            if uri.startswith("http://") and uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    return DEFAULT_MIRROR


def mirror_uris(text: str) -> list[str]:
    """URIs named by an apt sources file, one-line or deb822 format."""
    uris: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("#"):
            continue
        m = re.match(r"^URIs:\s*(.+)$", line)
        if m:
            uris += m.group(1).split()
            continue
        m = re.match(r"^deb\s+(?:\[[^\]]*\]\s+)?(\S+)", line)
        if m:
            uris.append(m.group(1))
    return uris


def current() -> Path | None:
    """The rootfs new labs use, or None when none is built yet."""
    link = images_dir() / "current"
    target = link / "rootfs"
    return target.resolve() if (target / "etc" / "os-release").exists() else None


def ensure(rebuild: bool = False, log: object = print) -> Path:
    """The current base rootfs, building it first when missing (or when `rebuild`)."""
    with locked(images_dir() / ".lock"):
        existing = current()
        if existing is not None and not rebuild:
            if int(str(meta(existing).get("customise", 1))) >= CUSTOMISE_VERSION:
                return existing
            return _upgrade(existing, log)
        return _build(log)


def meta(rootfs: Path) -> dict[str, object]:
    try:
        return dict(json.loads((rootfs.parent / "image.json").read_text()))
    except (OSError, ValueError):
        return {}


def _publish(tmp: Path, image_id: str) -> Path:
    image_dir = images_dir() / image_id
    tmp.rename(image_dir)
    link = images_dir() / "current"
    tmp_link = images_dir() / ".current.tmp"
    tmp_link.unlink(missing_ok=True)
    tmp_link.symlink_to(image_id)
    tmp_link.replace(link)
    return (image_dir / "rootfs").resolve()


def _upgrade(old: Path, log: object) -> Path:
    """A new image: a copy of `old` with the current customisation (labs on `old` keep it)."""
    assert callable(log)
    info = meta(old)
    image_id = time.strftime("bookworm-%Y%m%d-%H%M%S")
    tmp = images_dir() / f".{image_id}.partial"
    remove_tree(tmp)
    tmp.mkdir(parents=True)
    log(f"updating the lab's base image ({old.parent.name} -> {image_id})")
    run(["cp", "-a", "--reflink=auto", str(old), str(tmp / "rootfs")])
    mirror = str(info.get("mirror") or host_mirror())
    customise(tmp / "rootfs", mirror)
    (tmp / "image.json").write_text(json.dumps(
        {**info, "id": image_id, "customise": CUSTOMISE_VERSION, "derived_from": old.parent.name}, indent=2))
    return _publish(tmp, image_id)


def _build(log: object) -> Path:
    assert callable(log)
    mirror = host_mirror()
    image_id = time.strftime("bookworm-%Y%m%d-%H%M%S")
    tmp = images_dir() / f".{image_id}.partial"
    remove_tree(tmp)
    tmp.mkdir(parents=True)
    rootfs = tmp / "rootfs"
    log(f"building the lab's base image from {mirror} (once; about 80 s)")
    started = time.monotonic()
    proc = subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(rootfs), mirror],
        capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        remove_tree(tmp)
        raise RunFailed(f"debootstrap failed (exit {proc.returncode}):\n{tail}",
                        fix=f"Check that {mirror} is reachable (or set BIGDATA_LAB_MIRROR) and that "
                            "`debootstrap` is installed.")
    customise(rootfs, mirror)
    (tmp / "image.json").write_text(json.dumps({
        "id": image_id, "suite": SUITE, "mirror": mirror, "packages": list(PACKAGES),
        "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "build_seconds": round(time.monotonic() - started, 1), "customise": CUSTOMISE_VERSION}, indent=2))
    rootfs_path = _publish(tmp, image_id)
    log(f"base image {image_id} built in {time.monotonic() - started:.0f} s")
    return rootfs_path


def _chroot(rootfs: Path, *cmd: str) -> None:
    run(["chroot", str(rootfs), *cmd])


def customise(rootfs: Path, mirror: str) -> None:
    """Turn a fresh debootstrap tree into a lab base: deploy user, per-host identity, quiet timers."""
    security = re.sub(r"/debian$", "/debian-security", mirror)
    (rootfs / "etc/apt/sources.list").write_text(
        f"deb {mirror} {SUITE} main\n"
        f"deb {mirror} {SUITE}-updates main\n"
        f"deb {security} {SUITE}-security main\n")
    # The deploy user: NOPASSWD sudo; its authorized key is written per lab at `up`.
    if f"\n{DEPLOY_USER}:" not in "\n" + (rootfs / "etc/passwd").read_text():
        _chroot(rootfs, "useradd", "--create-home", "--shell", "/bin/bash", "--user-group", DEPLOY_USER)
    sudoers = rootfs / "etc/sudoers.d" / DEPLOY_USER
    sudoers.write_text(f"{DEPLOY_USER} ALL=(ALL) NOPASSWD:ALL\n")
    sudoers.chmod(0o440)
    ssh_dir = rootfs / "home" / DEPLOY_USER / ".ssh"
    ssh_dir.mkdir(mode=0o700, exist_ok=True)
    uid, gid = deploy_ids(rootfs)
    os.chown(ssh_dir, uid, gid)
    # Per-host identity: no host keys and an empty machine-id in the base; each host makes its own.
    for key in (rootfs / "etc/ssh").glob("ssh_host_*"):
        key.unlink()
    (rootfs / "etc/machine-id").write_text("")
    (rootfs / "var/lib/dbus/machine-id").unlink(missing_ok=True)
    units = rootfs / "etc/systemd/system"
    (units / "lab-ssh-hostkeys.service").write_text(HOSTKEY_UNIT)
    wants = units / "ssh.service.wants"
    wants.mkdir(exist_ok=True)
    (wants / "lab-ssh-hostkeys.service").unlink(missing_ok=True)
    (wants / "lab-ssh-hostkeys.service").symlink_to("/etc/systemd/system/lab-ssh-hostkeys.service")
    for unit in MASKED_UNITS:
        target = units / unit
        target.unlink(missing_ok=True)
        target.symlink_to("/dev/null")
    # sshd: no DNS lookups of clients (hosts have no resolver).
    (rootfs / "etc/ssh/sshd_config.d").mkdir(exist_ok=True)
    (rootfs / "etc/ssh/sshd_config.d/lab.conf").write_text(
        "UseDNS no\nHostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\n")
    # No resolver inside: names come from /etc/hosts, apt goes through the control host's proxy.
    resolv = rootfs / "etc/resolv.conf"
    if resolv.is_symlink() or resolv.exists():
        resolv.unlink()
    resolv.write_text("# lab host: no DNS; names are in /etc/hosts\n")
    _chroot(rootfs, "apt-get", "clean")


def deploy_ids(rootfs: Path) -> tuple[int, int]:
    """uid and gid of the deploy user inside the image."""
    for line in (rootfs / "etc/passwd").read_text().splitlines():
        fields = line.split(":")
        if fields[0] == DEPLOY_USER:
            return int(fields[2]), int(fields[3])
    raise RunFailed(f"the lab image at {rootfs} has no {DEPLOY_USER} user",
                    fix="Rebuild it: `bigdata-admin lab up --rebuild-image`.")


def prune(in_use: set[Path]) -> list[str]:
    """Remove images that are neither current nor used by a lab; return their ids."""
    removed: list[str] = []
    cur = current()
    root = images_dir()
    if not root.is_dir():
        return removed
    for d in root.iterdir():
        if d.name.startswith(".") or d.name == "current" or not d.is_dir():
            continue
        rootfs = (d / "rootfs").resolve()
        if rootfs == cur or rootfs in in_use:
            continue
        remove_tree(d)
        removed.append(d.name)
    return removed
