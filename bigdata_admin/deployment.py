"""What a deploy installs, what it leaves out and why, and the inventory view the roles see.

A deploy that skips services (`deploy --skip-unavailable`, or a group no role deploys yet) runs
the playbooks against an *inventory view*: a copy of the inventory in which the skipped groups
have no hosts, so every role wires itself as if they were absent (the Spark Thrift Server keeps its
own metastore when Hive is skipped, nothing points at a skipped HDFS or HBase). Services that need
a skipped one are skipped too (HBase without HDFS, Impala without Hive, ...).

Each deploy records, per inventory, which groups it deployed and which it skipped with the reason
(`<state>/deployments/<key>.json`); `status` and `smoke` report the others as not deployed.

    absent = absent_groups(cluster, {"hive": "missing apache-hive-3.1.3-bin.tar.gz"},
                           {"storm_ui": "missing storm-webapp-2.8.3-maven.tar.gz"})
    view = write_view(cluster, absent)                  # Path of the view's directory
    record_deploy(cluster, deployed_groups, absent, run_id)
    not_deployed(cluster)                               # group -> reason
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from bigdata_admin import paths, services
from bigdata_admin.inventory import Cluster, Host, _inventory_file


def _has_play(role: str) -> bool:
    """Whether playbooks/services/ROLE.yml exists (site.yml imports one play per deployable role)."""
    return (paths.playbooks_dir() / "services" / f"{role}.yml").is_file()


def no_role() -> dict[str, str]:
    """Inventory groups that no role deploys yet (no play in playbooks/services/) -> why they are
    skipped (e.g. the GPU worker before its role existed)."""
    return {s.group: f"no role deploys {s.description or s.group} yet (no playbooks/services/{s.role}.yml)"
            for s in services.SERVICES if not _has_play(s.role)}

REQUIRES: dict[str, tuple[str, ...]] = {
    "hbase": ("hdfs", "zookeeper"),
    "hive": ("postgresql", "hdfs"),
    "impala": ("hive", "hdfs"),
    "storm": ("zookeeper",),
    "yarn": ("hdfs",),
}
"""Role -> roles it cannot run without (the rules `check` applies). Spark uses HDFS and the Hive
metastore only when they are there, so it needs neither."""


def groups_of_role(role: str) -> list[str]:
    return [s.group for s in services.SERVICES if s.role == role]


def absent_groups(cluster: Cluster, skipped_roles: Mapping[str, str],
                  skipped_groups: Mapping[str, str] | None = None) -> dict[str, str]:
    """Inventory groups to treat as absent -> the reason, for a deploy skipping `skipped_roles`.

    `skipped_roles` maps a play tag (role name) to why it is skipped; `skipped_groups` maps single
    groups to why they are left out of a role that still runs for its other groups (storm_ui without
    Storm's web bundle). Adds the groups no role deploys (`no_role()`) and, transitively, every role
    that requires a skipped role. Only groups with hosts in `cluster` are returned.
    """
    reasons: dict[str, str] = dict(skipped_roles)
    present_roles = {s.role for s in services.SERVICES if cluster.has(s.group)}
    changed = True
    while changed:
        changed = False
        for role, needs in REQUIRES.items():
            if role in reasons or role not in present_roles:
                continue
            missing = [n for n in needs if n in reasons]
            if missing:
                verb = "is" if len(missing) == 1 else "are"
                reasons[role] = f"needs {', '.join(missing)}, which {verb} skipped"
                changed = True
    out: dict[str, str] = {}
    roleless = no_role()
    for svc in services.SERVICES:
        if not cluster.has(svc.group):
            continue
        if svc.group in roleless:
            out[svc.group] = roleless[svc.group]
        elif svc.role in reasons:
            out[svc.group] = reasons[svc.role]
        elif svc.group in (skipped_groups or {}):
            out[svc.group] = (skipped_groups or {})[svc.group]
    return out


def _strip_groups(node: Any, absent: set[str], hoisted: dict[str, dict[str, Any]]) -> Any:
    """A copy of an inventory group node with every group in `absent` emptied (hosts hoisted)."""
    if not isinstance(node, Mapping):
        return node
    out = dict(node)
    children = node.get("children")
    if isinstance(children, Mapping):
        new_children: dict[str, Any] = {}
        for name, child in children.items():
            if str(name) in absent:
                _collect_hosts(child, hoisted)
                new_children[name] = {}
            else:
                new_children[name] = _strip_groups(child, absent, hoisted)
        out["children"] = new_children
    return out


def _collect_hosts(node: Any, hoisted: dict[str, dict[str, Any]]) -> None:
    """Every host declared under `node` (and its children), with the variables declared there."""
    if not isinstance(node, Mapping):
        return
    for host, hvars in (node.get("hosts") or {}).items():
        hoisted.setdefault(str(host), {}).update(hvars or {})
    for child in (node.get("children") or {}).values():
        _collect_hosts(child, hoisted)


def view_data(data: Mapping[str, Any], absent: Iterable[str]) -> dict[str, Any]:
    """An Ansible YAML inventory (`{"all": ...}`) with the groups in `absent` emptied.

    Hosts declared only inside an absent group stay in the inventory (under `all.hosts`, with the
    variables declared for them there), so `/etc/hosts` and host variables are unchanged; they just
    belong to no absent group. Group variables of absent groups are dropped with the group.
    """
    hoisted: dict[str, dict[str, Any]] = {}
    top = _strip_groups(data["all"] or {}, set(absent), hoisted)
    if hoisted:
        hosts = dict(top.get("hosts") or {})
        for host, hvars in hoisted.items():
            hosts[host] = {**hvars, **(hosts.get(host) or {})}
        top["hosts"] = hosts
    return {"all": top}


def _key(cluster: Cluster) -> str:
    resolved = str(Path(cluster.source).resolve())
    digest = hashlib.sha1(resolved.encode(), usedforsecurity=False).hexdigest()[:10]
    return f"{cluster.name}-{digest}"


def deployments_dir() -> Path:
    return paths.state_dir() / "deployments"


def write_view(cluster: Cluster, absent: Iterable[str], dest: Path | None = None) -> Path:
    """Write the inventory view for a deploy (see the module doc); returns its directory.

    The view has its own `hosts.yml` and links to the inventory's `group_vars/` and `host_vars/`,
    so variables resolve exactly as in the original. Raises BadInput as `inventory.load` does.
    """
    from bigdata_admin.inventory import _read_yaml

    inv_file = _inventory_file(Path(cluster.source))
    data = _read_yaml(inv_file) or {}
    target = dest or deployments_dir() / _key(cluster) / "inventory"
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    (target / "hosts.yml").write_text(
        "# Written by bigdata-admin deploy: the inventory "
        f"{Path(cluster.source).resolve()} without the services this deploy skips. Do not edit.\n"
        + yaml.safe_dump(view_data(data, absent), sort_keys=False), encoding="utf-8")
    for sub in ("group_vars", "host_vars"):
        src = inv_file.parent / sub
        if src.is_dir():
            os.symlink(src.resolve(), target / sub)
    return target


def record_path(cluster: Cluster) -> Path:
    return deployments_dir() / f"{_key(cluster)}.json"


def load_record(cluster: Cluster) -> dict[str, Any] | None:
    """The deploy record of this inventory, or None when no deploy was recorded."""
    try:
        data = json.loads(record_path(cluster).read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def record_deploy(cluster: Cluster, deployed: Iterable[str], skipped: Mapping[str, str],
                  run_id: str = "") -> Path:
    """Add one deploy to the inventory's record: groups it ran (`deployed`) and skipped (-> reason).

    Groups neither deployed nor skipped by this deploy keep what earlier deploys recorded.
    """
    record = load_record(cluster) or {}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    groups: dict[str, Any] = dict(record.get("groups") or {})
    for g in deployed:
        groups[g] = {"state": "deployed", "at": now, "run": run_id}
    for g, why in skipped.items():
        if groups.get(g, {}).get("state") == "deployed":
            # Deployed before: this deploy left it as it was.
            continue
        groups[g] = {"state": "skipped", "at": now, "run": run_id, "reason": why}
    versions = dict(record.get("versions") or {})
    for comp in sorted({services.BY_GROUP[g].component for g in deployed if g in services.BY_GROUP}):
        version = cluster.version(comp)
        if version:
            versions[comp] = {"version": version, "at": now, "run": run_id}
    return _write_record(cluster, groups, now, versions=versions)


def record_versions(cluster: Cluster, versions: Mapping[str, str], run_id: str = "") -> Path:
    """Record the versions the cluster runs now (`bigdata-admin upgrade`): component -> version."""
    record = load_record(cluster) or {}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    entries = dict(record.get("versions") or {})
    for comp, version in versions.items():
        entries[comp] = {"version": version, "at": now, "run": run_id}
    return _write_record(cluster, dict(record.get("groups") or {}), now, versions=entries)


def recorded_versions(cluster: Cluster) -> dict[str, str]:
    """Component -> the version the last deploy or upgrade recorded for this inventory."""
    entries = (load_record(cluster) or {}).get("versions") or {}
    return {str(c): str(e.get("version")) for c, e in entries.items() if isinstance(e, dict)}


def _write_record(cluster: Cluster, groups: dict[str, Any], now: str, *,
                  versions: dict[str, Any] | None = None,
                  decommissioned: dict[str, dict[str, str]] | None = None) -> Path:
    """Write the record; `versions` or `decommissioned` None keeps the recorded ones."""
    previous = load_record(cluster) or {}
    if versions is None:
        versions = dict(previous.get("versions") or {})
    if decommissioned is None:
        decommissioned = dict(previous.get("decommissioned") or {})
    record = {"inventory": str(Path(cluster.source).resolve()), "cluster": cluster.name,
              "updated": now, "groups": groups, "versions": versions, "decommissioned": decommissioned}
    path = record_path(cluster)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2))
    return path


def record_destroy(cluster: Cluster, run_id: str = "", purged: bool = False) -> Path:
    """Mark every group of the inventory's record destroyed (`bigdata-admin destroy`): status and smoke
    then report them as not deployed, and a later deploy installs them again."""
    record = load_record(cluster) or {}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    groups: dict[str, Any] = dict(record.get("groups") or {})
    for svc in services.SERVICES:
        if cluster.has(svc.group):
            groups[svc.group] = {"state": "destroyed", "at": now, "run": run_id, "data_purged": purged}
    return _write_record(cluster, groups, now)


def decommissioned(cluster: Cluster) -> dict[str, dict[str, str]]:
    """Inventory group -> {host: when (ISO 8601, UTC)} of the worker daemons `decommission` took out of
    service and `recommission` has not brought back. `status` reports them, not probes them; a
    rolling restart leaves them stopped."""
    record = load_record(cluster) or {}
    out = record.get("decommissioned") or {}
    return {g: dict(hosts) for g, hosts in out.items() if hosts}


def in_service(cluster: Cluster, group: str) -> list[Host]:
    """The group's hosts less those decommissioned (what a master's probe expects to see)."""
    out = decommissioned(cluster).get(group, {})
    return [h for h in cluster.hosts_in(group) if h.name not in out]


def mark_decommissioned(cluster: Cluster, group: str, host: str, out_of_service: bool) -> None:
    """Record that `host`'s daemon of `group` left service (True) or came back (False)."""
    record = load_record(cluster) or {}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    marks = decommissioned(cluster)
    if out_of_service:
        marks.setdefault(group, {})[host] = now
    else:
        marks.get(group, {}).pop(host, None)
    _write_record(cluster, dict(record.get("groups") or {}), now,
                  decommissioned={g: hosts for g, hosts in marks.items() if hosts})


def forget(cluster: Cluster) -> None:
    """Delete the inventory's deploy record and view (the hosts are gone)."""
    record_path(cluster).unlink(missing_ok=True)
    shutil.rmtree(deployments_dir() / _key(cluster), ignore_errors=True)


def not_deployed(cluster: Cluster) -> dict[str, str]:
    """Groups of the inventory (with hosts) that no deploy installed -> why.

    Without any recorded deploy only the groups no role deploys are listed (the cluster may have
    been deployed with plain ansible-playbook; everything else is probed).
    """
    out = {g: why for g, why in no_role().items() if cluster.has(g)}
    record = load_record(cluster)
    groups = (record or {}).get("groups") or {}
    if not groups:  # no deploy recorded (a record may hold only decommission marks)
        return out
    for svc in services.SERVICES:
        if not cluster.has(svc.group) or svc.group in out:
            continue
        entry = groups.get(svc.group)
        if entry is None:
            out[svc.group] = (f"never deployed (run `bigdata-admin deploy -i {cluster.source} "
                              f"--tags {svc.role}`)")
        elif entry.get("state") == "destroyed":
            out[svc.group] = (f"destroyed at {entry.get('at', '?')} (run `bigdata-admin deploy -i "
                              f"{cluster.source}` to deploy it again)")
        elif entry.get("state") != "deployed":
            out[svc.group] = f"skipped by the deploy of {entry.get('at', '?')}: {entry.get('reason', '')}"
    return out


def outside_this_deploy(cluster: Cluster, tags: Iterable[str], skip_tags: Iterable[str]) -> dict[str, str]:
    """Groups that no earlier deploy installed and a deploy with these play tags does not run -> why.

    They stay absent from the roles' view: `deploy --tags spark` must not point Spark at a Hive
    metastore that an earlier deploy skipped. Groups no role deploys are left to absent_groups().
    """
    runs = set(deployed_groups(cluster, tags, skip_tags, ()))
    roleless = no_role()
    return {g: why for g, why in not_deployed(cluster).items() if g not in runs and g not in roleless}


def deployed_groups(cluster: Cluster, tags: Iterable[str], skip_tags: Iterable[str],
                    absent: Iterable[str]) -> list[str]:
    """The inventory groups a deploy with these play tags runs (absent groups excluded)."""
    wanted, unwanted, gone = set(tags), set(skip_tags), set(absent) | set(no_role())
    out = []
    for svc in services.SERVICES:
        if not cluster.has(svc.group) or svc.group in gone:
            continue
        if svc.role in unwanted:
            continue
        if wanted and svc.role not in wanted and "all" not in wanted:
            continue
        out.append(svc.group)
    return out


def inventory_arg(source: str | Path | None) -> str:
    """The inventory as the user passed it, quoted for a shell; `INVENTORY` when unknown."""
    import shlex

    return shlex.quote(str(source)) if source else "INVENTORY"


def status_hint(source: str | Path | None) -> str:
    """`bigdata-admin status -i <the inventory>`."""
    return f"`bigdata-admin status -i {inventory_arg(source)}`"


def start_hint(cluster: Cluster, role: str) -> str:
    """How to get a role's service running: start it, or deploy it when no deploy installed it."""
    inv = inventory_arg(cluster.source)
    missing = {g: why for g, why in not_deployed(cluster).items() if g in groups_of_role(role)}
    if missing:
        why = next(iter(missing.values()))
        return f"deploy it first (`bigdata-admin deploy -i {inv} --tags {role}`): it is not deployed ({why})"
    return f"start it (`bigdata-admin start -i {inv} {role}`)"
