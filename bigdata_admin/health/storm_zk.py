"""Storm's state in ZooKeeper, read from the control host: what `status` and `smoke` check Nimbus,
the supervisors and topologies with, without Storm's UI (which needs the web bundle).

Storm keeps its cluster state under `storm.zookeeper.root` (the role's `storm_zookeeper_root`,
default `/storm`):

    nimbuses/<host>              one per running Nimbus (data: a NimbusSummary); Storm 2.8 names
                                 the node by storm.local.hostname alone
    leader-lock/_c_<uuid>-latch-<seq>   Curator LeaderLatch: the lowest sequence is the leader; its
                                 data is `<host>:<thrift port>:<n>` (2.8 writes e.g. `10.0.0.11:6627:0`)
    supervisors/<uuid>-<host>    one per running supervisor (data: a SupervisorInfo)
    storms/<topology-id>         one per submitted topology (data: a StormBase); the id is
                                 `<name>-<counter>-<submit time>`
    assignments/<topology-id>    its assignment (data: an Assignment, with the hosts of its workers)

Node data is Thrift (binary protocol), gzipped by Storm's default serialization delegate
(`storm.meta.serialization.delegate: GzipThriftSerializationDelegate`). This module does not decode
Thrift: it gunzips the data and looks for a host name as a Thrift binary string (4-byte big-endian
length then the bytes), which matches that exact string field and not a longer one
("10.0.0.1" does not match "10.0.0.11"). That is enough to tell whether a supervisor of a given
host is registered and whether an assignment has workers on a host.

    state = read(cluster, topologies=True)     # StormZk; raises StormZkError
    state.leader, state.nimbuses, state.supervisors, state.storms, state.assignments
"""

from __future__ import annotations

import gzip
import re
import struct
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bigdata_admin.health.core import TIMEOUT, address, port
from bigdata_admin.inventory import Cluster, Host

STORM_ZK_TIMEOUT = TIMEOUT
"""Seconds to connect to the ensemble and for each read (kazoo's session and connect timeouts)."""
DEFAULT_ROOT = "/storm"
_LATCH_SEQ = re.compile(r"-latch-(\d+)$")


class StormZkError(Exception):
    """ZooKeeper did not answer, or Storm has no state under its root."""


@dataclass
class StormZk:
    root: str
    nimbuses: list[str] = field(default_factory=list)
    """Children of nimbuses/: the host (`<host>:<port>` in other Storm versions) of each running Nimbus."""
    leader: str | None = None
    """The leader's `<host>:<port>` (from leader-lock), None without a leader."""
    supervisors: dict[str, bytes] = field(default_factory=dict)
    """Supervisor id -> its SupervisorInfo, gunzipped."""
    storms: list[str] = field(default_factory=list)
    """Topology ids under storms/."""
    assignments: dict[str, bytes] = field(default_factory=dict)
    """Topology id -> its Assignment, gunzipped."""

    def supervisor_on(self, names: Iterable[str]) -> str | None:
        """The id of a supervisor registered by a host known under any of `names`, or None."""
        for sid, data in self.supervisors.items():
            if host_in_payload(data, names):
                return sid
        return None

    def topology_id(self, name: str) -> str | None:
        """The id of the topology called `name` under storms/, or None."""
        return topology_id(self.storms, name)


def zk_hosts(cluster: Cluster) -> str:
    """The ensemble's connect string `addr:port,...` from the inventory."""
    return ",".join(f"{address(h)}:{port(cluster, 'zookeeper_client_port', h)}"
                    for h in cluster.hosts_in("zookeeper"))


def storm_root(cluster: Cluster) -> str:
    """storm.zookeeper.root as the role writes it (`storm_zookeeper_root`)."""
    value = str(cluster.var("storm_zookeeper_root") or DEFAULT_ROOT)
    return value if "{{" not in value else DEFAULT_ROOT


def payload(data: bytes | None) -> bytes:
    """Node data as Thrift bytes: gunzipped when gzipped (Storm's default), else as is."""
    if not data:
        return b""
    if data[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(data)
        except (OSError, EOFError, zlib.error):
            return data
    return data


def thrift_string(text: str) -> bytes:
    """`text` as a Thrift binary-protocol string: 4-byte big-endian length, then UTF-8 bytes."""
    raw = text.encode()
    return struct.pack(">i", len(raw)) + raw


def host_in_payload(data: bytes, names: Iterable[str]) -> bool:
    """Whether Thrift `data` holds any of `names` as a whole string field."""
    return any(n and thrift_string(n) in data for n in names)


def latch_leader(latches: dict[str, bytes]) -> str | None:
    """`<host>:<port>` from the participant id of the lowest-sequence Curator latch node
    (`..-latch-<seq>` -> data such as `10.0.0.11:6627:0`)."""
    ranked = sorted((int(m.group(1)), name) for name in latches if (m := _LATCH_SEQ.search(name)))
    if not ranked:
        return None
    text = latches[ranked[0][1]].decode("utf-8", errors="replace").strip()
    return ":".join(text.split(":")[:2]) or None


def topology_id(ids: Iterable[str], name: str) -> str | None:
    """The id `<name>-<counter>-<time>` among `ids` of the topology called `name`."""
    pattern = re.compile(re.escape(name) + r"-\d+-\d+$")
    return next((i for i in ids if pattern.match(i)), None)


def nimbus_registered(nimbuses: Iterable[str], host: Host, thrift_port: int) -> bool:
    """Whether `host` (address or name, alone or with `thrift_port`) is among the nimbuses/ children."""
    names = {address(host), host.name}
    return any(n in names | {f"{x}:{thrift_port}" for x in names} for n in nimbuses)


def _children(client: Any, path: str) -> list[str]:
    from kazoo.exceptions import NoNodeError

    try:
        return sorted(client.get_children(path))
    except NoNodeError:
        return []


def _data(client: Any, path: str) -> bytes | None:
    from kazoo.exceptions import NoNodeError

    try:
        data, _ = client.get(path)
    except NoNodeError:
        return None
    return bytes(data or b"")


def read(cluster: Cluster, *, topologies: bool = False, timeout: float = STORM_ZK_TIMEOUT) -> StormZk:
    """Read Storm's registrations (and with `topologies`, storms/ and assignments/) from ZooKeeper.

    Raises StormZkError when the ensemble does not answer within `timeout` or Storm's root is absent.
    """
    from kazoo.client import KazooClient
    from kazoo.exceptions import KazooException
    from kazoo.handlers.threading import KazooTimeoutError

    hosts = zk_hosts(cluster)
    if not hosts:
        raise StormZkError("the inventory has no zookeeper host: Storm keeps its state there")
    root = storm_root(cluster)
    client = KazooClient(hosts=hosts, timeout=timeout, connection_retry={"max_tries": 1},
                         command_retry={"max_tries": 1})
    try:
        try:
            client.start(timeout=timeout * 2)
        except KazooTimeoutError as exc:
            raise StormZkError(f"ZooKeeper ({hosts}) did not answer within {timeout * 2:g} s") from exc
        try:
            if client.exists(root) is None:
                raise StormZkError(f"no {root} in ZooKeeper: no Storm daemon has registered (is Nimbus up?)")
            state = StormZk(root, nimbuses=_children(client, f"{root}/nimbuses"))
            latches = {c: _data(client, f"{root}/leader-lock/{c}") or b""
                       for c in _children(client, f"{root}/leader-lock")}
            state.leader = latch_leader(latches)
            for sid in _children(client, f"{root}/supervisors"):
                state.supervisors[sid] = payload(_data(client, f"{root}/supervisors/{sid}"))
            if topologies:
                state.storms = _children(client, f"{root}/storms")
                for tid in _children(client, f"{root}/assignments"):
                    state.assignments[tid] = payload(_data(client, f"{root}/assignments/{tid}"))
        except KazooException as exc:
            raise StormZkError(f"reading {root} from ZooKeeper ({hosts}): "
                               f"{type(exc).__name__} {exc}") from exc
        return state
    finally:
        client.stop()
        client.close()
