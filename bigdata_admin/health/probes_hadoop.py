"""Service-level probes for HDFS, YARN and HBase.

Each probe asks the daemon's own HTTP endpoint (JMX servlet or REST API) from the control host with
a short timeout and returns a ProbeResult; it never raises for a service problem. The `summarize_*`
functions turn the JSON the daemons return into a verdict and are unit-tested on their own.
systemd state and the port are shown by `status` itself (bigdata_admin.health.status).
"""

from __future__ import annotations

import json
from typing import Any

from bigdata_admin.deployment import in_service
from bigdata_admin.health import ProbeResult, probe
from bigdata_admin.health.core import TIMEOUT, address, http_json, port, reason
from bigdata_admin.inventory import Cluster, Host

Verdict = tuple[bool, str, str, dict[str, Any]]
"""(healthy, state word, one-line detail, data for --json)."""


def jmx(addr: str, http_port: int, query: str, timeout: float = TIMEOUT) -> list[dict[str, Any]]:
    """Beans matching `query` from a Hadoop-family daemon's /jmx servlet."""
    data = http_json(f"http://{addr}:{http_port}/jmx?qry={query}", timeout=timeout)
    return list(data.get("beans") or [])


def named(beans: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """The bean called exactly `name`, or {}."""
    for bean in beans:
        if bean.get("name") == name:
            return bean
    return {}


def namenode_infos(cluster: Cluster) -> list[tuple[Host, dict[str, Any]]]:
    """(NameNode host, its NameNodeInfo JMX bean) for every NameNode that answers, in inventory order."""
    bean = "Hadoop:service=NameNode,name=NameNodeInfo"
    out = []
    for host in cluster.hosts_in("hdfs_namenode"):
        try:
            out.append((host, named(jmx(address(host), port(cluster, "hdfs_namenode_http_port", host), bean),
                                    bean)))
        except (OSError, ValueError):
            continue
    return out


def _int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


# --- HDFS ----------------------------------------------------------------------------------------------

def summarize_namenode(status: dict[str, Any], fsn: dict[str, Any], info: dict[str, Any],
                       ha: bool) -> Verdict:
    """Verdict from the NameNodeStatus, FSNamesystem and NameNodeInfo beans of one NameNode."""
    state = str(status.get("State") or fsn.get("tag.HAState") or "unknown")
    safemode = str(info.get("Safemode") or "").strip()
    live = _int(fsn.get("NumLiveDataNodes"))
    # A decommissioned DataNode, stopped afterwards, counts as dead too: that one is planned.
    dead = max(0, _int(fsn.get("NumDeadDataNodes")) - _int(fsn.get("NumDecomDeadDataNodes")))
    missing = _int(fsn.get("MissingBlocks"))
    under = _int(fsn.get("UnderReplicatedBlocks"))
    data = {"ha_state": state, "safemode": bool(safemode), "live_datanodes": live, "dead_datanodes": dead,
            "missing_blocks": missing, "under_replicated_blocks": under,
            "capacity_remaining_bytes": _int(fsn.get("CapacityRemaining")),
            "files": _int(fsn.get("FilesTotal")), "blocks": _int(fsn.get("BlocksTotal")),
            "version": str(info.get("SoftwareVersion") or info.get("Version") or "").split(",")[0]}
    problems: list[str] = []
    if state not in ("active", "standby"):
        problems.append(f"HA state {state}")
    if safemode:
        problems.append("in safe mode")
    if state == "active":
        if live == 0:
            problems.append("no live DataNodes")
        if dead:
            problems.append(f"{dead} dead DataNode(s)")
        if missing:
            problems.append(f"{missing} missing block(s)")
    facts = f"{live} live / {dead} dead DataNodes, {missing} missing, {under} under-replicated blocks"
    if problems:
        word = "safemode" if safemode else ("degraded" if state in ("active", "standby") else state)
        return False, word, "; ".join(problems) + f" ({facts})", data
    if state == "standby":
        return True, state, "standby NameNode, ready to take over", data
    return True, state, facts, data


@probe("hdfs_namenode")
def hdfs_namenode(cluster: Cluster, host: Host) -> ProbeResult:
    addr, http_port = address(host), port(cluster, "hdfs_namenode_http_port", host)
    try:
        beans = jmx(addr, http_port, "Hadoop:service=NameNode,name=*")
    except (OSError, ValueError) as exc:
        return ProbeResult(host.name, "hdfs_namenode", False, "down",
                           f"JMX {addr}:{http_port}: {reason(exc)}")
    ha = len(cluster.hosts_in("hdfs_namenode")) > 1
    fsn = {**named(beans, "Hadoop:service=NameNode,name=FSNamesystemState"),
           **named(beans, "Hadoop:service=NameNode,name=FSNamesystem")}
    healthy, state, detail, data = summarize_namenode(
        named(beans, "Hadoop:service=NameNode,name=NameNodeStatus"), fsn,
        named(beans, "Hadoop:service=NameNode,name=NameNodeInfo"), ha)
    return ProbeResult(host.name, "hdfs_namenode", healthy, state, detail, data)


def summarize_datanode(info: dict[str, Any]) -> Verdict:
    """Verdict from a DataNode's DataNodeInfo bean: registered with its NameNode(s)?"""
    raw = info.get("NamenodeAddresses") or "{}"
    try:
        namenodes = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except ValueError:
        namenodes = {}
    volumes_raw = info.get("VolumeInfo") or "{}"
    try:
        volumes = json.loads(volumes_raw) if isinstance(volumes_raw, str) else dict(volumes_raw)
    except ValueError:
        volumes = {}
    free = sum(_int(v.get("freeSpace")) for v in volumes.values() if isinstance(v, dict))
    data = {"namenodes": sorted(namenodes), "volumes": len(volumes), "free_bytes": free,
            "version": str(info.get("Version") or "")}
    if not namenodes:
        return False, "unregistered", "not registered with any NameNode", data
    return True, "running", f"registered with {', '.join(sorted(namenodes))}; {len(volumes)} volume(s), " \
        f"{free / 2**30:.1f} GiB free", data


@probe("hdfs_datanode")
def hdfs_datanode(cluster: Cluster, host: Host) -> ProbeResult:
    addr, http_port = address(host), port(cluster, "hdfs_datanode_http_port", host)
    try:
        beans = jmx(addr, http_port, "Hadoop:service=DataNode,name=DataNodeInfo")
    except (OSError, ValueError) as exc:
        return ProbeResult(host.name, "hdfs_datanode", False, "down",
                           f"JMX {addr}:{http_port}: {reason(exc)}")
    healthy, state, detail, data = summarize_datanode(beans[0] if beans else {})
    return ProbeResult(host.name, "hdfs_datanode", healthy, state, detail, data)


@probe("hdfs_journalnode")
def hdfs_journalnode(cluster: Cluster, host: Host) -> ProbeResult:
    addr, http_port = address(host), port(cluster, "hdfs_journalnode_http_port", host)
    try:
        beans = jmx(addr, http_port, "Hadoop:service=JournalNode,name=JournalNodeInfo")
    except (OSError, ValueError) as exc:
        return ProbeResult(host.name, "hdfs_journalnode", False, "down",
                           f"JMX {addr}:{http_port}: {reason(exc)}")
    info = beans[0] if beans else {}
    raw = info.get("JournalsStatus") or "{}"
    try:
        journals = sorted(json.loads(raw)) if isinstance(raw, str) else sorted(raw)
    except ValueError:
        journals = []
    nameservice = str(cluster.var("hdfs_nameservice", ""))
    data = {"journals": journals, "nameservice": nameservice}
    if not beans:
        return ProbeResult(host.name, "hdfs_journalnode", False, "unknown", "no JournalNodeInfo bean", data)
    if nameservice and journals and nameservice not in journals:
        return ProbeResult(host.name, "hdfs_journalnode", False, "foreign",
                           f"holds journals {journals}, not {nameservice}", data)
    return ProbeResult(host.name, "hdfs_journalnode", True, "running",
                       f"journals: {', '.join(journals) or 'none yet'}", data)


# --- YARN ----------------------------------------------------------------------------------------------

def summarize_resourcemanager(info: dict[str, Any], nodes: list[dict[str, Any]], expected: int) -> Verdict:
    """Verdict from /ws/v1/cluster/info and /ws/v1/cluster/nodes."""
    running = [n for n in nodes if n.get("state") == "RUNNING"]
    unhealthy = [n for n in nodes if n.get("state") in ("UNHEALTHY", "LOST", "SHUTDOWN")]
    memory = sum(_int(n.get("availMemoryMB")) + _int(n.get("usedMemoryMB")) for n in running)
    vcores = sum(_int(n.get("availableVirtualCores")) + _int(n.get("usedVirtualCores")) for n in running)
    state = str(info.get("haState") or info.get("state") or "unknown")
    data = {"state": info.get("state"), "ha_state": info.get("haState"), "active_nodes": len(running),
            "expected_nodes": expected, "unhealthy_nodes": [n.get("nodeHostName") for n in unhealthy],
            "memory_mb": memory, "vcores": vcores,
            "version": str(info.get("hadoopVersion") or info.get("resourceManagerVersion") or "")}
    detail = f"{len(running)}/{expected} NodeManagers running, {memory} MiB and {vcores} vcores"
    if info.get("state") != "STARTED":
        word = str(info.get("state") or "unknown").lower()
        return False, word, f"ResourceManager {info.get('state')}", data
    if len(running) < expected:
        return False, "degraded", detail, data
    return True, state.lower() if state.upper() in ("ACTIVE", "STANDBY") else "running", detail, data


@probe("yarn_resourcemanager")
def yarn_resourcemanager(cluster: Cluster, host: Host) -> ProbeResult:
    base = f"http://{address(host)}:{port(cluster, 'yarn_resourcemanager_http_port', host)}/ws/v1/cluster"
    try:
        info = http_json(f"{base}/info").get("clusterInfo") or {}
        nodes = ((http_json(f"{base}/nodes").get("nodes") or {}).get("node")) or []
    except (OSError, ValueError, AttributeError) as exc:
        return ProbeResult(host.name, "yarn_resourcemanager", False, "down", f"{base}: {reason(exc)}")
    expected = len(in_service(cluster, "yarn_nodemanager"))
    healthy, state, detail, data = summarize_resourcemanager(info, nodes, expected)
    return ProbeResult(host.name, "yarn_resourcemanager", healthy, state, detail, data)


@probe("yarn_nodemanager")
def yarn_nodemanager(cluster: Cluster, host: Host) -> ProbeResult:
    url = f"http://{address(host)}:{port(cluster, 'yarn_nodemanager_http_port', host)}/ws/v1/node/info"
    try:
        info = http_json(url).get("nodeInfo") or {}
    except (OSError, ValueError, AttributeError) as exc:
        return ProbeResult(host.name, "yarn_nodemanager", False, "down", f"{url}: {reason(exc)}")
    healthy = bool(info.get("nodeHealthy"))
    memory = _int(info.get("totalPmemAllocatedContainersMB") or info.get("totalMemoryNeededMB"))
    data = {"healthy": healthy, "memory_mb": memory,
            "vcores": _int(info.get("totalVCoresAllocatedContainers")),
            "health_report": info.get("healthReport") or "", "version": info.get("nodeManagerVersion")}
    if not healthy:
        return ProbeResult(host.name, "yarn_nodemanager", False, "unhealthy",
                           f"health report: {info.get('healthReport') or 'none'}", data)
    return ProbeResult(host.name, "yarn_nodemanager", True, "running",
                       f"healthy, {memory} MiB in containers", data)


# --- HBase ---------------------------------------------------------------------------------------------

def summarize_hbase_master(server: dict[str, Any], expected_regionservers: int) -> Verdict:
    """Verdict from a master's `Hadoop:service=HBase,name=Master,sub=Server` bean."""
    active = str(server.get("tag.isActiveMaster", "false")).lower() == "true"
    live = _int(server.get("numRegionServers"))
    dead = _int(server.get("numDeadRegionServers"))
    data = {"active": active, "live_regionservers": live, "dead_regionservers": dead,
            "expected_regionservers": expected_regionservers,
            "cluster_id": server.get("tag.clusterId"), "zookeeper_quorum": server.get("tag.zookeeperQuorum")}
    if not server:
        return False, "unknown", "no Master,sub=Server bean (still starting?)", data
    if not active:
        return True, "backup", "backup master, waiting to take over", data
    detail = f"active, {live}/{expected_regionservers} RegionServers live, {dead} dead"
    if live < expected_regionservers or live == 0:
        return False, "degraded", detail, data
    return True, "active", detail, data


@probe("hbase_master")
def hbase_master(cluster: Cluster, host: Host) -> ProbeResult:
    addr, http_port = address(host), port(cluster, "hbase_master_http_port", host)
    try:
        beans = jmx(addr, http_port, "Hadoop:service=HBase,name=Master,sub=Server")
    except (OSError, ValueError) as exc:
        return ProbeResult(host.name, "hbase_master", False, "down", f"JMX {addr}:{http_port}: {reason(exc)}")
    healthy, state, detail, data = summarize_hbase_master(beans[0] if beans else {},
                                                          len(in_service(cluster, "hbase_regionserver")))
    return ProbeResult(host.name, "hbase_master", healthy, state, detail, data)


@probe("hbase_regionserver")
def hbase_regionserver(cluster: Cluster, host: Host) -> ProbeResult:
    addr, http_port = address(host), port(cluster, "hbase_regionserver_http_port", host)
    try:
        beans = jmx(addr, http_port, "Hadoop:service=HBase,name=RegionServer,sub=Server")
    except (OSError, ValueError) as exc:
        return ProbeResult(host.name, "hbase_regionserver", False, "down",
                           f"JMX {addr}:{http_port}: {reason(exc)}")
    server = beans[0] if beans else {}
    if not server:
        return ProbeResult(host.name, "hbase_regionserver", False, "starting",
                           "no RegionServer,sub=Server bean yet")
    regions = _int(server.get("regionCount"))
    data = {"regions": regions, "requests": _int(server.get("totalRequestCount")),
            "store_files": _int(server.get("storeFileCount"))}
    return ProbeResult(host.name, "hbase_regionserver", True, "running", f"{regions} region(s) online", data)


@probe("hbase_thrift")
def hbase_thrift(cluster: Cluster, host: Host) -> ProbeResult:
    from bigdata_admin.clients import ClientError, happybase_connection, thrift_settings
    from bigdata_admin.errors import BadInput

    try:
        transport, protocol = thrift_settings(cluster, host)
        conn = happybase_connection(cluster, host, timeout_ms=int(TIMEOUT * 1000))
    except (ClientError, BadInput) as exc:
        state = "mismatch" if "read 0 bytes" in exc.message else "down"
        return ProbeResult(host.name, "hbase_thrift", False, state, exc.message)
    try:
        tables = conn.tables()
    finally:
        conn.close()
    return ProbeResult(host.name, "hbase_thrift", True, "running",
                       f"{len(tables)} table(s); {transport}/{protocol}",
                       {"tables": len(tables), "transport": transport, "protocol": protocol})
