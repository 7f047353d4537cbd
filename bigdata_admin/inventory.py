"""Load an Ansible YAML inventory into a typed cluster model, without importing Ansible.

An inventory is a directory holding `hosts.yml` (standard Ansible YAML inventory) and optionally
`group_vars/` and `host_vars/`, or a single YAML file. Variables resolve like Ansible's for the
cases inventories here use: role defaults (`bigdata_defaults`) < group_vars/all < inventory `all`
vars < other groups' vars < host vars.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from bigdata_admin import paths
from bigdata_admin.errors import BadInput

INVENTORY_FILE_NAMES = ("hosts.yml", "hosts.yaml", "inventory.yml", "inventory.yaml")
# libyaml's loader when PyYAML has it: several times faster (`check` should answer in < 0.5 s).
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def role_defaults() -> dict[str, Any]:
    """The shared defaults role's variables (literal values; templated strings come back as text)."""
    path = paths.roles_dir() / "bigdata_defaults" / "defaults" / "main.yml"
    data = yaml.load(path.read_text(), Loader=_Loader) or {}
    return dict(data)


@dataclass
class Host:
    name: str
    vars: dict[str, Any]
    groups: list[str] = field(default_factory=list)

    @property
    def address(self) -> str | None:
        """The address other hosts and the control host use to reach it."""
        for key in ("bigdata_address", "ansible_host"):
            value = self.vars.get(key)
            if value:
                return str(value)
        if self.vars.get("ansible_connection") == "local":
            return "127.0.0.1"
        try:
            ipaddress.ip_address(self.name)
        except ValueError:
            return None
        return self.name

    @property
    def names(self) -> set[str]:
        """What the daemons may call this host: its inventory name and its address."""
        return {self.name, self.address or self.name}

    @property
    def memory_mb(self) -> int:
        return int(self.vars.get("bigdata_host_memory_mb", 0))

    def var(self, name: str, default: Any = None) -> Any:
        return self.vars.get(name, default)

    def in_group(self, group: str) -> bool:
        return group in self.groups


@dataclass
class Cluster:
    source: Path
    """The inventory path as given (directory or file)."""
    hosts: dict[str, Host]
    groups: dict[str, list[str]]
    """Group name -> host names, every group the inventory declares (also empty ones)."""
    vars: dict[str, Any]
    """Cluster-wide variables: role defaults overlaid with group_vars/all and `all` vars."""
    children: dict[str, list[str]] = field(default_factory=dict)
    """Group name -> its child groups as the inventory nests them (for telling aggregation groups)."""

    @property
    def name(self) -> str:
        return str(self.vars.get("bigdata_cluster_name", "bigdata"))

    def var(self, name: str, default: Any = None) -> Any:
        return self.vars.get(name, default)

    def version(self, component: str) -> str | None:
        versions = self.vars.get("bigdata_versions") or {}
        value = versions.get(component)
        return str(value) if value is not None else None

    def hosts_in(self, group: str) -> list[Host]:
        return [self.hosts[h] for h in self.groups.get(group, [])]

    def has(self, group: str) -> bool:
        return bool(self.groups.get(group))

    def first(self, group: str) -> Host | None:
        members = self.hosts_in(group)
        return members[0] if members else None

    def addresses(self, group: str) -> list[str]:
        return [h.address or h.name for h in self.hosts_in(group)]


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as exc:
        raise BadInput(f"{path} is not valid YAML: {exc}", fix="Fix the YAML syntax in that file.") from exc
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror}",
                       fix="Check the path and its permissions.") from exc


def _vars_from(dir_: Path, name: str) -> dict[str, Any]:
    """group_vars/NAME.yml, NAME.yaml, NAME (file) or NAME/ (directory of YAML files)."""
    merged: dict[str, Any] = {}
    candidates: list[Path] = [dir_ / f"{name}.yml", dir_ / f"{name}.yaml", dir_ / name]
    for candidate in candidates:
        if candidate.is_file():
            files: Iterable[Path] = [candidate]
        elif candidate.is_dir():
            files = sorted(p for p in candidate.iterdir() if p.suffix in (".yml", ".yaml"))
        else:
            continue
        for f in files:
            data = _read_yaml(f) or {}
            if not isinstance(data, Mapping):
                raise BadInput(f"{f} must hold a mapping of variables", fix="Write `name: value` lines.")
            merged.update(data)
    return merged


def _inventory_file(path: Path) -> Path:
    if path.is_file():
        return path
    if path.is_dir():
        for name in INVENTORY_FILE_NAMES:
            if (path / name).is_file():
                return path / name
        raise BadInput(
            f"inventory directory {path} has no {' or '.join(INVENTORY_FILE_NAMES[:2])}",
            fix="Create one with `bigdata-admin init DIR --template classroom`.",
        )
    raise BadInput(f"inventory {path} does not exist",
                   fix="Pass an inventory directory or file with -i, "
                       "or create one with `bigdata-admin init`.")


def load(path: str | Path) -> Cluster:
    """Load an inventory directory or file. Raises BadInput naming the problem and the fix."""
    source = Path(path)
    inv_file = _inventory_file(source)
    base = inv_file.parent
    data = _read_yaml(inv_file) or {}
    if not isinstance(data, Mapping) or "all" not in data or not isinstance(data["all"], Mapping):
        raise BadInput(f"{inv_file} is not an Ansible YAML inventory: the top level must be `all:`",
                       fix="Start the file with `all:` and put hosts under `all.hosts` or `all.children`.")

    host_vars: dict[str, dict[str, Any]] = {}
    host_groups: dict[str, list[str]] = {}
    groups: dict[str, list[str]] = {}
    group_vars: dict[str, dict[str, Any]] = {}
    parents: dict[str, list[str]] = {}

    def walk(group: str, node: Any, trail: tuple[str, ...]) -> None:
        if group in trail:
            raise BadInput(f"group {group!r} contains itself", fix="Remove the loop under `children`.")
        node = node or {}
        if not isinstance(node, Mapping):
            raise BadInput(f"group {group!r} in {inv_file} must be a mapping",
                           fix="Use `hosts:`, `vars:` and `children:` under each group.")
        unknown = set(node) - {"hosts", "vars", "children"}
        if unknown:
            raise BadInput(f"group {group!r} has unknown key(s) {sorted(unknown)}",
                           fix="Only `hosts`, `vars` and `children` may appear under a group; "
                               "put groups under `children`.")
        groups.setdefault(group, [])
        group_vars.setdefault(group, {}).update(node.get("vars") or {})
        for hname, hvars in (node.get("hosts") or {}).items():
            hname = str(hname)
            if hvars is not None and not isinstance(hvars, Mapping):
                raise BadInput(f"host {hname!r} in group {group!r} must map to variables or nothing",
                               fix=f"Write `{hname}:` or `{hname}: {{ansible_host: ...}}`.")
            host_vars.setdefault(hname, {}).update(hvars or {})
            if hname not in groups[group]:
                groups[group].append(hname)
            host_groups.setdefault(hname, [])
        for child, child_node in (node.get("children") or {}).items():
            parents.setdefault(str(child), []).append(group)
            walk(str(child), child_node, (*trail, group))

    walk("all", data["all"], ())

    # A host in a child group is in its parents too.
    def ancestors(group: str) -> list[str]:
        out: list[str] = []
        for p in parents.get(group, []):
            out += [p, *ancestors(p)]
        return out

    for group, members in list(groups.items()):
        for hname in members:
            for g in [group, *ancestors(group)]:
                if g not in host_groups[hname]:
                    host_groups[hname].append(g)
                if hname not in groups[g]:
                    groups[g].append(hname)
    groups["all"] = list(host_groups)

    gv_dir, hv_dir = base / "group_vars", base / "host_vars"
    cluster_vars = {**role_defaults(), **_vars_from(gv_dir, "all"), **group_vars.get("all", {})}

    hosts: dict[str, Host] = {}
    for hname, hgroups in host_groups.items():
        resolved = dict(cluster_vars)
        # Parents before children, as Ansible orders group variables by depth.
        for g in sorted(hgroups, key=lambda g: len(ancestors(g))):
            if g != "all":
                resolved.update(_vars_from(gv_dir, g))
                resolved.update(group_vars.get(g, {}))
        resolved.update(host_vars.get(hname, {}))
        resolved.update(_vars_from(hv_dir, hname))
        hosts[hname] = Host(hname, resolved, [g for g in hgroups if g != "all"])

    children: dict[str, list[str]] = {}
    for child, its_parents in parents.items():
        for p in its_parents:
            children.setdefault(p, []).append(child)
    return Cluster(source=source, hosts=hosts, groups=groups, vars=cluster_vars, children=children)
