"""Action plugin `bigdata_node_ids`: stable ZooKeeper myids / Kafka node.ids for a group of hosts.

Arguments: `kind` (zookeeper | kafka), `hosts` (the group's host names), `stored` (the registered
result of a looped `slurp` of each host's id file, `item` = host; failed items count as "no file"),
`fact` (the name of the fact to set). Explicit ids come from each host's `zookeeper_myid` /
`kafka_node_id`. Run it with `run_once: true`: the fact (host -> id) is then set on every play host.
Fails, naming the hosts and the fix, on duplicate, out-of-range or contradicting ids (see
bigdata_admin.nodeids.assign). Touches no host.
"""

from __future__ import annotations

import base64
from typing import Any

from ansible.plugins.action import ActionBase


def _stored(results: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in (results or {}).get("results", []) if isinstance(results, dict) else []:
        host = item.get("item")
        content = item.get("content")
        if host is None or item.get("failed") or item.get("unreachable") or not content:
            continue
        out[str(host)] = base64.b64decode(str(content)).decode("utf-8", "replace")
    return out


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        from bigdata_admin.nodeids import KINDS, NodeIdError, assign, parse_stored

        args = self._task.args
        kind = KINDS.get(str(args.get("kind")))
        if kind is None:
            return {**result, "failed": True, "msg": f"kind must be one of {', '.join(KINDS)}"}
        hosts = [str(h) for h in args.get("hosts") or []]
        hostvars = task_vars.get("hostvars", {})
        explicit: dict[str, Any] = {}
        for host in hosts:
            try:
                value = hostvars[host][kind.variable]
            except Exception:  # unset on this host
                value = None
            explicit[host] = value
        stored = _stored(args.get("stored"))
        try:
            ids = assign(kind, hosts, explicit, stored)
        except NodeIdError as exc:
            return {**result, "failed": True, "changed": False,
                    "msg": f"{exc.message}. Nothing was changed. Fix: {exc.fix}"}
        fact = str(args.get("fact") or f"{kind.variable}s")
        result.update(changed=False, ids=ids, stored={h: parse_stored(kind, v) for h, v in stored.items()},
                      ansible_facts={fact: ids})
        return result
