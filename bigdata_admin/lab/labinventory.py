"""The Ansible inventory a lab writes for its hosts (pure: rendering, sizing, edit detection)."""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import Any

import yaml

from bigdata_admin import paths
from bigdata_admin.lab import model
from bigdata_admin.services import BY_GROUP

# Small heaps and memory figures: lab hosts share one machine (the inventory, not facts, sizes JVMs).
LAB_SIZES: dict[str, int] = {
    "zookeeper_heap_mb": 256,
    "hdfs_namenode_heap_mb": 256,
    "hdfs_secondarynamenode_heap_mb": 128,
    "hdfs_datanode_heap_mb": 256,
    "hdfs_journalnode_heap_mb": 128,
    "hdfs_zkfc_heap_mb": 128,
    "yarn_resourcemanager_heap_mb": 256,
    "yarn_nodemanager_heap_mb": 256,
    "yarn_nodemanager_memory_mb": 1536,  # Spark on YARN: an AM or executor container is 1024 MiB
    "yarn_nodemanager_vcores": 1,
    "hbase_master_heap_mb": 384,  # raised from 256 as a precaution: 256 MiB RegionServers ran out under load
    "hbase_regionserver_heap_mb": 256,
    "hbase_thrift_heap_mb": 128,
    "hive_metastore_heap_mb": 256,
    "hive_server2_heap_mb": 256,
    "metastore_db_memory_mb": 128,
    "impala_statestore_memory_mb": 128,
    "impala_catalog_heap_mb": 256,
    "impala_daemon_mem_limit_mb": 512,
    "kafka_heap_mb": 256,
    "storm_nimbus_heap_mb": 256,
    "storm_supervisor_heap_mb": 128,
    "storm_worker_heap_mb": 256,
    "storm_ui_heap_mb": 128,
    "redis_maxmemory_mb": 64,
    "spark_master_heap_mb": 256,
    "spark_worker_heap_mb": 256,
    "spark_worker_memory_mb": 512,
    "spark_thrift_heap_mb": 512,
    "gpu_worker_memory_mb": 512,
}
HOST_MEMORY_MARGIN_MB = 1024
LAB_JVM_OPTS: list[str] = ["-XX:TieredStopAtLevel=1"]
"""bigdata_jvm_extra_opts of a lab: every JVM compiles with C1 only. Lab hosts share a few cores, and
short-lived JVMs (admin commands, MapReduce tasks) spend much of their CPU in the C2 compiler: a Spark
SQL job on this machine took 18.7 s of CPU with C2 and 10.8 s without. A throughput benchmark wants
C2 back: set `bigdata_jvm_extra_opts: []` in the lab's group_vars and deploy."""


def inventories_root() -> Path:
    """Where lab inventories go: the checkout's `inventories/` when running from a checkout,
    else `<state dir>/lab/inventories` (an installed package's directory is not the user's)."""
    root = paths.ansible_root()
    if root.name != "_bundled":
        return root / "inventories"
    return paths.state_dir() / "lab" / "inventories"


def inventory_dir(name: str) -> Path:
    return inventories_root() / f"lab-{name}"


def host_memory_mb(groups_of_host: list[str], sizes: dict[str, Any]) -> int:
    """Memory to declare for a host: its services' memory (one process per systemd unit) plus a
    margin, rounded up to 512 MiB."""
    seen_units: set[str] = set()
    total = 0
    for g in groups_of_host:
        svc = BY_GROUP[g]
        if svc.unit in seen_units:
            continue
        seen_units.add(svc.unit)
        total += sum(int(sizes.get(v, 0)) for v in svc.memory)
    if "hdfs_namenode" in groups_of_host:  # the SecondaryNameNode runs beside a lone NameNode
        total += int(sizes.get("hdfs_secondarynamenode_heap_mb", 0))
    return int(math.ceil((total + HOST_MEMORY_MARGIN_MB) / 512) * 512)


def render(state: model.LabState, lab_dir: Path) -> dict[str, str]:
    """File name (relative to the inventory dir) -> content."""
    groups = model.layout(state.laid_out, state.template)
    hosts = model.host_names(state.nodes)
    # Hosts added after the lab was made (h(N+1)..) are in no group; sized for any worker group.
    added_mb = host_memory_mb(list(model.ADDED_HOST_GROUPS), LAB_SIZES)
    hosts_yaml: dict[str, Any] = {"all": {
        "vars": {
            "ansible_user": "deploy",
            "ansible_ssh_private_key_file": str(lab_dir / "id_ed25519"),
            "ansible_ssh_common_args": (f"-o UserKnownHostsFile={lab_dir / 'known_hosts'} "
                                        "-o StrictHostKeyChecking=yes"),
            "ansible_python_interpreter": "/usr/bin/python3",
        },
        "hosts": {
            h: {"ansible_host": model.host_address(state.index, i + 1),
                "bigdata_host_memory_mb": host_memory_mb([g for g, m in groups.items() if h in m],
                                                         LAB_SIZES) if i < state.laid_out else added_mb}
            for i, h in enumerate(hosts)
        },
        "children": {g: {"hosts": {h: {} for h in members}} for g, members in groups.items()},
    }}
    datanodes = len(groups["hdfs_datanode"])
    all_vars: dict[str, Any] = {
        "bigdata_cluster_name": f"lab-{state.name}",
        "hdfs_replication": min(2, datanodes),
        "zookeeper_install_method": "package",
        "spark_install_method": "wheel",
        # Lab hosts have no GPU: the GPU worker installs the CPU stack (Keras on JAX).
        "gpu_worker_allow_cpu": True,
        # The offline relay on the control host (the bridge address): artifacts over HTTP, OS
        # packages through an apt proxy (lab hosts are configured for it already).
        "bigdata_artifact_base_url": f"http://{state.gateway}:{state.artifact_port}",
        "bigdata_apt_proxy": f"http://{state.gateway}:{state.proxy_port}",
        **LAB_SIZES,
        "bigdata_jvm_extra_opts": LAB_JVM_OPTS,
    }
    header = (f"# Written by `bigdata-admin lab up --name {state.name}` for lab {state.name!r} "
              f"({state.nodes} host(s), {state.subnet}).\n# Edit freely: `lab up` does not overwrite "
              "a file you changed. `lab down` removes it only when unchanged.\n")
    if state.nodes > state.laid_out:
        header += (f"# {', '.join(hosts[state.laid_out:])}: added to the lab later, in no group yet: put "
                   "them in worker groups, then `bigdata-admin scale-out`.\n")
    return {
        "hosts.yml": "---\n" + header + yaml.safe_dump(hosts_yaml, sort_keys=False, width=200),
        "group_vars/all.yml": "---\n" + header + yaml.safe_dump(all_vars, sort_keys=False, width=200),
    }


def host_entries(state: model.LabState, lab_dir: Path) -> dict[str, dict[str, Any]]:
    """Host name -> its `all.hosts` entry (ansible_host, bigdata_host_memory_mb) as `render` writes it."""
    data = yaml.safe_load(render(state, lab_dir)["hosts.yml"])
    return dict(data["all"]["hosts"])


def missing_hosts(state: model.LabState, directory: Path, lab_dir: Path) -> dict[str, dict[str, Any]]:
    """Lab hosts the inventory in `directory` does not list under `all.hosts` (an inventory the user
    edited, which `write` leaves alone) -> the entry to add; {} when it lists them all or is unreadable."""
    try:
        data = yaml.safe_load((directory / "hosts.yml").read_text())
        listed = set((data.get("all") or {}).get("hosts") or {})
    except (OSError, yaml.YAMLError, AttributeError):
        return {}
    return {h: e for h, e in host_entries(state, lab_dir).items() if h not in listed}


def digest(directory: Path, files: list[str]) -> str:
    h = hashlib.sha256()
    for f in sorted(files):
        p = directory / f
        h.update(f.encode() + b"\0")
        h.update(p.read_bytes() if p.is_file() else b"<absent>")
    return h.hexdigest()


WRITTEN_MARK = ".lab-up-digest"
"""File in a lab's inventory directory holding the digest of what `lab up` wrote there last. With it, a
lab whose state was lost (a new lab of the same name) still tells its own unedited inventory, which it
rewrites (an old lab's sizes), from one the user edited or wrote, which it keeps."""


def _written_digest(directory: Path) -> str:
    try:
        return (directory / WRITTEN_MARK).read_text().strip()
    except OSError:
        return ""


def _ours_unedited(state: model.LabState, directory: Path, files: list[str]) -> bool:
    """Whether `directory` holds exactly what `lab up` wrote last (by the lab's state or the mark)."""
    ours = {state.inventory_digest, _written_digest(directory)} - {""}
    return digest(directory, files) in ours


def write(state: model.LabState, lab_dir: Path, directory: Path | None = None) -> tuple[Path, str, bool]:
    """Write the inventory unless the user changed what was written last time, or wrote it.

    Returns (directory, digest of what is there now, whether files were written).
    """
    directory = directory or inventory_dir(state.name)
    files = render(state, lab_dir)
    if directory.exists() and not _ours_unedited(state, directory, list(files)):
        return directory, state.inventory_digest, False  # edited by the user (or not ours): keep
    for rel, content in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_text() != content:
            path.write_text(content)
    written = digest(directory, list(files))
    if _written_digest(directory) != written:
        (directory / WRITTEN_MARK).write_text(written + "\n")
    return directory, written, True


def remove_if_unchanged(state: model.LabState, directory: Path) -> bool:
    """Delete the inventory `up` wrote if nobody edited it; True when removed."""
    files = ["hosts.yml", "group_vars/all.yml"]
    if not directory.is_dir() or not _ours_unedited(state, directory, files):
        return False
    for rel in [*files, WRITTEN_MARK]:
        (directory / rel).unlink(missing_ok=True)
    for d in (directory / "group_vars", directory):
        try:
            d.rmdir()
        except OSError:
            return False
    return True


def with_groups(lab_inventory: Path, dest: Path, children: dict[str, list[str]],
                host_vars: dict[str, dict[str, Any]] | None = None) -> Path:
    """Write to `dest` an inventory of a lab's hosts (same connection vars and group_vars) in which
    only `children` (group -> host names) are set, for tests and benchmarks that deploy part of the
    stack. `host_vars` adds variables to a host inside its groups. Returns `dest` (a directory).

    Raises KeyError when `children` names a host the lab does not have."""
    hosts_file = lab_inventory / "hosts.yml" if lab_inventory.is_dir() else lab_inventory
    data = yaml.safe_load(hosts_file.read_text())
    known = data["all"]["hosts"]
    extra = host_vars or {}
    for hs in children.values():
        for h in hs:
            if h not in known:
                raise KeyError(f"{h} is not a host of {lab_inventory}")
    inv = {"all": {"vars": data["all"].get("vars", {}), "hosts": known,
                   "children": {g: {"hosts": {h: dict(extra.get(h, {})) for h in hs}}
                                for g, hs in children.items()}}}
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "hosts.yml").write_text(yaml.safe_dump(inv, sort_keys=False))
    if (hosts_file.parent / "group_vars").is_dir():
        import shutil

        shutil.copytree(hosts_file.parent / "group_vars", dest / "group_vars", dirs_exist_ok=True)
    return dest
