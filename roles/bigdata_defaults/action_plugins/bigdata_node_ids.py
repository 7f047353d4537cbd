"""Action plugin `bigdata_node_ids`: stable ZooKeeper myids / Kafka node.ids for a group of hosts.

Arguments: `kind` (zookeeper | kafka), `hosts` (the group's host names), `stored` (the registered
result of a looped `slurp` of each host's id file, `item` = host; failed items count as "no file"),
`fact` (the name of the fact to set). Explicit ids come from each host's `zookeeper_myid` /
`kafka_node_id`. Run it with `run_once: true`: the fact (host -> id) is then set on every play host.
Fails, naming the hosts and the fix, on duplicate, out-of-range or contradicting ids. Touches no host.
The logic is bigdata_admin.nodeids. It lives in role bigdata_defaults, which every play lists first.
"""

from __future__ import annotations

from typing import Any

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        from bigdata_admin.nodeids import action_result

        result.update(action_result(self._task.args, (task_vars or {}).get("hostvars", {})))
        return result
