"""Pure logic of the lab: names, subnets, interface names, host layouts, recorded state."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bigdata_admin.errors import BadInput
from bigdata_admin.services import GROUPS

NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,19}$")
SUBNET_PREFIX = "10.213"
"""Lab k uses 10.213.k.0/24: the control host (bridge) is .1, host hN is .(10+N)."""
FIRST_INDEX, LAST_INDEX = 1, 254
MAX_NODES = 9
IFNAMSIZ = 15


def check_name(name: str) -> str:
    if not NAME_RE.match(name):
        raise BadInput(f"lab name {name!r} is not valid",
                       fix="Use 1-20 characters: lower-case letters, digits and '-', starting with a letter "
                           "(e.g. `--name dev`).")
    return name


def check_nodes(nodes: int) -> int:
    if not 1 <= nodes <= MAX_NODES:
        raise BadInput(f"--nodes {nodes} is out of range",
                       fix=f"Use 1 to {MAX_NODES} nodes (1 = everything on one host, 3 = classroom layout).")
    return nodes


def preferred_index(name: str) -> int:
    """A stable subnet index derived from the name (so a lab keeps its addresses across up/down)."""
    digest = int(hashlib.sha256(name.encode()).hexdigest(), 16)
    return FIRST_INDEX + digest % (LAST_INDEX - FIRST_INDEX + 1)


def allocate_index(name: str, taken: dict[int, str]) -> int:
    """The subnet index for `name`: its recorded one if any, else the name-derived one, probing upward
    past indexes other labs hold. `taken` maps index -> lab name."""
    for index, owner in taken.items():
        if owner == name:
            return index
    start = preferred_index(name)
    span = LAST_INDEX - FIRST_INDEX + 1
    for step in range(span):
        index = FIRST_INDEX + (start - FIRST_INDEX + step) % span
        if index not in taken:
            return index
    raise BadInput("every lab subnet (10.213.1-254.0/24) is taken",
                   fix="Remove labs you no longer need: `bigdata-admin lab list`, then "
                       "`lab down --name NAME`.")


def subnet(index: int) -> str:
    return f"{SUBNET_PREFIX}.{index}.0/24"


def gateway(index: int) -> str:
    return f"{SUBNET_PREFIX}.{index}.1"


def host_address(index: int, n: int) -> str:
    return f"{SUBNET_PREFIX}.{index}.{10 + n}"


def bridge_name(index: int) -> str:
    return f"bdlab{index}"


def veth_name(index: int, n: int) -> str:
    name = f"bdl{index}h{n}"
    assert len(name) <= IFNAMSIZ
    return name


def netns_name(lab: str, host: str) -> str:
    return f"bdlab-{lab}-{host}"


def machine_name(lab: str, host: str) -> str:
    """systemd-nspawn machine name: unique across labs (names the propagate dir and cgroup)."""
    return f"lab-{lab}-{host}"


def host_names(nodes: int) -> list[str]:
    return [f"h{i}" for i in range(1, nodes + 1)]


def check_resize(name: str, have: int, want: int, have_template: str, want_template: str) -> None:
    """Raise BadInput unless lab `name` (made with `have` hosts as `have_template`) can become `want`
    hosts as `want_template`: same template, and as many hosts or more (a lab grows, never shrinks)."""
    if want_template != have_template:
        raise BadInput(f"lab {name!r} is laid out as {have_template}, not {want_template}",
                       fix=f"Use `--template {have_template}`, or remove the lab first: "
                           f"`bigdata-admin lab down --name {name}`.")
    if want < have:
        raise BadInput(f"lab {name!r} has {have} hosts; `lab up` adds hosts but never removes one "
                       f"(asked for {want})",
                       fix=f"Use `--nodes {have}` (or more to add hosts); decommission a host's services "
                           f"(`bigdata-admin decommission`) and keep it, or remove the whole lab: "
                           f"`bigdata-admin lab down --name {name}`.")


# Group layouts. N = 1: every service on h1. N = 3: the classroom layout (masters on h1, workers on
# h2/h3, ZooKeeper and Kafka (combined broker + controller) on all three, the GPU worker on h3).
# Other N: masters on h1, ZooKeeper and Kafka on the first 3 (or 1), workers on the rest.
WORKER_GROUPS = ("hdfs_datanode", "yarn_nodemanager", "hbase_regionserver", "impala_daemon",
                 "storm_supervisor", "spark_worker")
QUORUM_GROUPS = ("zookeeper", "kafka_controller", "kafka_broker")
ADDED_HOST_GROUPS = (*WORKER_GROUPS, "kafka_broker")
"""A host added to a running lab (`lab up --nodes` above its count) joins no group; its declared
memory is sized for these worker groups, any of which the user may then put it in."""


TEMPLATES = ("classroom", "ha")
"""Lab layouts: `classroom` (the default, any N) and `ha` (like inventories/ha; N >= 3, 5 by default)."""
HA_MIN_NODES = 3
HA_FULL_NODES = 5
"""`--template ha` without `--nodes`: inventories/ha's shape, masters and workers on their own hosts."""


def check_template(template: str, nodes: int) -> str:
    if template not in TEMPLATES:
        raise BadInput(f"unknown lab template {template!r}", fix=f"Use one of: {', '.join(TEMPLATES)}.")
    if template == "ha" and nodes < HA_MIN_NODES:
        raise BadInput(f"the ha template needs at least {HA_MIN_NODES} hosts, not {nodes}",
                       fix=f"Use `--nodes {HA_FULL_NODES}` (3 masters, 2 workers), or `--nodes "
                           f"{HA_MIN_NODES}` (the compact layout: the masters carry the workers).")
    return template


def layout_ha(nodes: int) -> dict[str, list[str]]:
    """Like inventories/ha. With 5 hosts or more: masters h1-h3 (ZooKeeper, JournalNodes, KRaft
    controllers; NameNodes and HBase masters on h1/h2 with their failover controllers), workers h4..
    (DataNodes, NodeManagers, RegionServers, Kafka brokers: controllers and brokers are dedicated).

    With 3 or 4 hosts (compact, for a small machine): the same ZooKeeper ensemble, JournalNodes,
    NameNodes and HBase masters; one dedicated KRaft controller on h1 and the workers and Kafka
    brokers on h2.. (a one-voter controller quorum: HDFS failover is what this layout exercises)."""
    hosts = host_names(nodes)
    compact = nodes < HA_FULL_NODES
    masters = hosts[:3]
    workers = hosts[1:] if compact else hosts[3:]
    controllers = hosts[:1] if compact else masters
    groups: dict[str, list[str]] = {}
    for g in GROUPS:
        if g in ("zookeeper", "hdfs_journalnode"):
            groups[g] = list(masters)
        elif g == "kafka_controller":
            groups[g] = list(controllers)
        elif g in ("hdfs_namenode", "hbase_master"):
            groups[g] = masters[:2]
        elif g in (*WORKER_GROUPS, "kafka_broker"):
            groups[g] = list(workers)
        elif g in ("impala_statestore", "impala_catalog"):
            groups[g] = ["h2"]
        elif g in ("storm_nimbus", "storm_ui"):
            groups[g] = ["h1"]
        elif g == "gpu_worker":
            groups[g] = [hosts[-1]]
        else:
            groups[g] = ["h3"]
    return groups


def layout(nodes: int, template: str = "classroom") -> dict[str, list[str]]:
    """Contract group -> host names, every group of services.GROUPS present."""
    if check_template(template, nodes) == "ha":
        return layout_ha(nodes)
    hosts = host_names(check_nodes(nodes))
    if nodes == 1:
        return {g: ["h1"] for g in GROUPS}
    quorum = hosts[:3] if nodes >= 3 else hosts[:1]
    workers = hosts[1:]
    groups: dict[str, list[str]] = {}
    for g in GROUPS:
        if g in QUORUM_GROUPS:
            groups[g] = list(quorum)
        elif g in WORKER_GROUPS:
            groups[g] = list(workers)
        elif g == "gpu_worker":
            groups[g] = [hosts[-1]]
        elif g == "hdfs_journalnode":
            groups[g] = []  # no NameNode HA in the lab
        else:
            groups[g] = ["h1"]
    return groups


@dataclass
class HostState:
    name: str
    address: str
    machine: str
    netns: str
    veth: str
    pid: int | None = None


@dataclass
class LabState:
    """What `up` made, recorded in `<state dir>/lab/labs/NAME/state.json` for status/down."""

    name: str
    index: int
    nodes: int
    image: str
    hosts: dict[str, HostState] = field(default_factory=dict)
    template: str = "classroom"
    """The group layout (see `layout`)."""
    relay_pid: int | None = None
    proxy_port: int = 3142
    artifact_port: int = 8765
    artifacts_dir: str = ""
    """The control host directory the relay serves at artifact_port (the artifact cache)."""
    inventory: str = ""
    inventory_digest: str = ""
    """sha256 of what `up` wrote into the inventory; a different digest means the user edited it."""
    layout_nodes: int = 0
    """The host count the group layout was made for (0: `nodes`). Hosts added later (`lab up --nodes`
    above it) are in no group: scale-out places them."""

    @property
    def laid_out(self) -> int:
        """Hosts h1..hN that have groups in the layout (the count the lab was made with)."""
        return self.layout_nodes or self.nodes

    @property
    def bridge(self) -> str:
        return bridge_name(self.index)

    @property
    def gateway(self) -> str:
        return gateway(self.index)

    @property
    def subnet(self) -> str:
        return subnet(self.index)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LabState:
        hosts = {k: HostState(**v) for k, v in (data.get("hosts") or {}).items()}
        return cls(**{**data, "hosts": hosts})

    @classmethod
    def read(cls, path: Path) -> LabState:
        return cls.from_dict(json.loads(path.read_text()))

    def write(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(self.to_json())
        tmp.replace(path)
