"""Stable node ids: ZooKeeper `myid` and Kafka `node.id`.

An id belongs to a node's storage, not to its place in the inventory. `assign()` gives every host of
a group its id from, in order: the explicit inventory setting (`zookeeper_myid`, `kafka_node_id`),
what the node already stores (`myid`, `meta.properties`), and otherwise the lowest id no other host
holds (new hosts taken by name, so reordering the inventory changes nothing). It refuses, naming the
hosts and the fix, when ids collide, leave the allowed range, or an explicit id differs from the
stored one. `check` (validate.py) runs the explicit-id part; the zookeeper and kafka roles run all of
it on the play's hosts (action plugin `bigdata_node_ids` in roles/bigdata_defaults, used by the
zookeeper and kafka roles).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class IdKind:
    """One kind of node id: its inventory variable, the file a node keeps it in, its range."""

    variable: str
    stored_in: str
    low: int
    high: int
    group: str
    first: int
    """The first id handed out to a new host."""


ZOOKEEPER = IdKind("zookeeper_myid", "myid", 1, 255, "zookeeper", 1)
KAFKA = IdKind("kafka_node_id", "meta.properties", 0, 2**31 - 1, "kafka_controller + kafka_broker", 1)
KINDS = {"zookeeper": ZOOKEEPER, "kafka": KAFKA}


class NodeIdError(ValueError):
    """Ids that cannot be used as they are; `message` names the hosts, `fix` says what to do."""

    def __init__(self, message: str, fix: str) -> None:
        super().__init__(f"{message} -- fix: {fix}")
        self.message = message
        self.fix = fix


def as_id(value: Any) -> int | None:
    """An integer id from an inventory or file value; None when absent, empty or not a whole number."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return None


def parse_stored(kind: IdKind, text: str | None) -> int | None:
    """The id in a node's file: `myid` holds the number; `meta.properties` a `node.id=` line
    (`broker.id=` in ZooKeeper-mode storage). None when there is no file or no id in it."""
    if not text:
        return None
    if kind is ZOOKEEPER:
        return as_id(text)
    for key in ("node.id", "broker.id"):
        m = re.search(rf"^\s*{re.escape(key)}\s*=\s*(-?\d+)\s*$", text, re.MULTILINE)
        if m:
            return int(m.group(1))
    return None


def _hosts_text(hosts: Iterable[str]) -> str:
    hosts = list(hosts)
    return hosts[0] if len(hosts) == 1 else ", ".join(hosts[:-1]) + " and " + hosts[-1]


def explicit_problems(kind: IdKind, explicit: Mapping[str, Any]) -> list[NodeIdError]:
    """What is wrong with the ids set in the inventory (host -> value; None where unset)."""
    problems: list[NodeIdError] = []
    by_id: dict[int, list[str]] = {}
    for host, value in explicit.items():
        if value is None:
            continue
        node_id = as_id(value)
        if node_id is None or not kind.low <= node_id <= kind.high:
            problems.append(NodeIdError(
                f"{kind.variable} is {value!r} on host {host}: it must be a whole number from {kind.low} "
                f"to {kind.high}",
                f"Set {kind.variable} of {host} to an unused number from {kind.low} to {kind.high}, "
                "or remove it to let bigdata-admin choose."))
            continue
        by_id.setdefault(node_id, []).append(host)
    for node_id, hosts in sorted(by_id.items()):
        if len(hosts) > 1:
            free = next(i for i in range(kind.low, kind.high + 1) if i not in by_id)
            problems.append(NodeIdError(
                f"{kind.variable} {node_id} is set on {len(hosts)} hosts ({_hosts_text(hosts)}): each "
                f"node of {kind.group} needs its own id",
                f"Give each of {_hosts_text(hosts)} its own {kind.variable} (e.g. {free} is free), "
                f"or remove {kind.variable} from all but one of them."))
    return problems


def assign(kind: IdKind, hosts: Iterable[str], explicit: Mapping[str, Any],
           stored: Mapping[str, Any]) -> dict[str, int]:
    """Host -> id for every host of the group (order of `hosts` kept in the result).

    `explicit`: host -> the inventory's id (None/absent where unset). `stored`: host -> the id the node
    already keeps (int, or the file's text for `parse_stored`; None/absent where it has none).
    Raises NodeIdError (the first problem; every host named) when ids are invalid, duplicated, or an
    explicit id contradicts the stored one.
    """
    hosts = list(dict.fromkeys(hosts))
    problems = explicit_problems(kind, {h: explicit.get(h) for h in hosts})
    if problems:
        raise problems[0]
    ids: dict[str, int] = {}
    for host in hosts:
        raw = stored.get(host)
        have = raw if isinstance(raw, int) and not isinstance(raw, bool) else parse_stored(
            kind, None if raw is None else str(raw))
        want = as_id(explicit.get(host))
        if want is not None and have is not None and want != have:
            raise NodeIdError(
                f"{host} stores {kind.stored_in} id {have} but the inventory sets {kind.variable}: {want}; "
                "the node's storage belongs to id "
                f"{have}, so renumbering it would stop it from starting",
                f"Set {kind.variable}: {have} for {host} (or remove the setting). To really give it id "
                f"{want}, stop the service on {host} and empty its data directory first.")
        chosen = want if want is not None else have
        if chosen is not None:
            ids[host] = chosen
    owners: dict[int, list[str]] = {}
    for host, node_id in ids.items():
        owners.setdefault(node_id, []).append(host)
    for node_id, same in owners.items():
        if len(same) > 1:
            raise NodeIdError(
                f"{_hosts_text(same)} all hold id {node_id} ({kind.variable} or their stored "
                f"{kind.stored_in}): each node of {kind.group} needs its own id",
                f"Set {kind.variable} on each of {_hosts_text(same)} to the id its storage holds; a node "
                f"that must change id needs its service stopped and its data directory emptied first.")
    taken = set(owners)
    next_id = kind.first
    for host in sorted(h for h in hosts if h not in ids):
        while next_id in taken:
            next_id += 1
        if next_id > kind.high:
            raise NodeIdError(f"no free {kind.variable} left for {host} ({kind.low}-{kind.high} used)",
                              f"Remove hosts from {kind.group}.")
        ids[host] = next_id
        taken.add(next_id)
    return {h: ids[h] for h in hosts}


def stored_from_slurp(results: Any) -> dict[str, str]:
    """Host -> file text from a looped `slurp` register (`item` = host); failed items count as none."""
    out: dict[str, str] = {}
    items = results.get("results", []) if isinstance(results, Mapping) else []
    for item in items:
        if not isinstance(item, Mapping):
            continue
        host, content = item.get("item"), item.get("content")
        if host is None or item.get("failed") or item.get("unreachable") or not content:
            continue
        out[str(host)] = base64.b64decode(str(content)).decode("utf-8", "replace")
    return out


def action_result(args: Mapping[str, Any], hostvars: Any) -> dict[str, Any]:
    """What the roles' `bigdata_node_ids` action plugin returns (see its docstring) for its arguments
    and the play's `hostvars`: `ansible_facts` {fact: host -> id}, or `failed` with the message."""
    kind = KINDS.get(str(args.get("kind")))
    if kind is None:
        return {"failed": True, "msg": f"kind must be one of {', '.join(KINDS)}"}
    hosts = [str(h) for h in args.get("hosts") or []]
    explicit: dict[str, Any] = {}
    for host in hosts:
        try:
            explicit[host] = hostvars[host][kind.variable]
        except Exception:  # unset on this host (Ansible raises its own undefined errors)
            explicit[host] = None
    stored = stored_from_slurp(args.get("stored"))
    try:
        ids = assign(kind, hosts, explicit, stored)
    except NodeIdError as exc:
        return {"failed": True, "changed": False,
                "msg": f"{exc.message}. Nothing was changed. Fix: {exc.fix}"}
    fact = str(args.get("fact") or f"{kind.variable}s")
    return {"changed": False, "ids": ids, "stored": {h: parse_stored(kind, v) for h, v in stored.items()},
            "ansible_facts": {fact: ids}}
