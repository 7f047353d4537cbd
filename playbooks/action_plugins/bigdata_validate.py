"""Action plugin `bigdata_validate`: check the play's inventory with bigdata-admin's rules.

It builds the cluster model from the `groups` and `hostvars` Ansible loaded and runs
`bigdata_admin.validate.validate()`, the same rules as `bigdata-admin check`. It fails with every
error listed (warnings are returned and shown) and touches no host.
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase


def _plain(value: Any) -> Any:
    """Turn Ansible's tagged/lazy containers into plain Python values."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    return value


def _host_vars(hostvars: Any, host: str) -> dict[str, Any]:
    """One host's variables; a value whose template cannot be rendered here is skipped."""
    try:
        hv = hostvars[host]
    except Exception:  # an unresolvable host var set: validate what can be read
        return {}
    out: dict[str, Any] = {}
    for key in list(hv.keys()):
        try:
            out[str(key)] = _plain(hv[key])
        except Exception:  # e.g. a lookup that only works on the node
            continue
    return out


def _children(hostvars: Any) -> dict[str, list[str]] | None:
    """The inventory's group nesting, when Ansible exposes it (it does through hostvars)."""
    inventory = getattr(hostvars, "_inventory", None)
    if inventory is None or not hasattr(inventory, "groups"):
        return None
    return {name: [c.name for c in group.child_groups] for name, group in inventory.groups.items()}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        from bigdata_admin.problems import errors
        from bigdata_admin.validate import cluster_from_ansible, validate

        groups = {str(g): [str(h) for h in members] for g, members in task_vars.get("groups", {}).items()}
        hostvars = task_vars.get("hostvars", {})
        names = groups.get("all", [])
        source = str(self._task.args.get("source") or task_vars.get("inventory_dir") or "inventory")
        cluster = cluster_from_ansible(groups, {h: _host_vars(hostvars, h) for h in names}, source,
                                       _children(hostvars))
        found = validate(cluster)
        bad = errors(found)
        result["changed"] = False
        result["problems"] = [p.as_dict() for p in found]
        result["warnings"] = [f"{p.where}: {p.message} (fix: {p.fix})" for p in found if p not in bad]
        if bad:
            result["failed"] = True
            lines = [f"{p.where}: {p.message} -- fix: {p.fix}" for p in bad]
            result["msg"] = (f"the inventory has {len(bad)} problem(s); nothing was changed on any host:\n"
                             + "\n".join(f"- {line}" for line in lines))
        else:
            result["msg"] = f"inventory ok: {len(cluster.hosts)} host(s), {len(found)} warning(s)"
        return result
