"""Where the pilot's steps connect: from the inventory, or from explicit HOST:PORT options.

SQL goes through `bigdata_admin.sqlclient`; WebHDFS and HBase Thrift through `bigdata_admin.clients`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bigdata_admin.errors import BadInput

if TYPE_CHECKING:
    from bigdata_admin.inventory import Cluster


def parse_host_port(text: str, option: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadInput(f"{option} {text!r} is not HOST:PORT", fix=f"Pass e.g. {option} 127.0.0.1:10000.")
    return host, int(port)


def sql_connection(cluster: Cluster | None, service: str, override: str | None, auth: str | None,
                   user: str | None, option: str, *, server_kind: str | None = None) -> Any:
    """A DB-API connection to the service ("hive", "spark", "impala") or to the HOST:PORT override.

    Without `auth`, the mode is `sqlclient.default_auth` of the server behind the endpoint:
    `server_kind` when the override is another kind of server standing in (e.g. a Spark Thrift
    Server for Impala), else `service`. Raises BadInput (no endpoint, bad HOST:PORT).
    """
    from bigdata_admin import sqlclient

    if override:
        host, port = parse_host_port(override, option)
        setting = None
        default_auth = sqlclient.default_auth(server_kind or service, cluster)
    else:
        if cluster is None:
            raise BadInput(f"no {service} endpoint: pass an inventory with -i or {option} HOST:PORT",
                           fix=f"Add `-i INVENTORY` or `{option} HOST:PORT`.")
        ep = sqlclient.endpoint(cluster, service)
        host, port, setting, default_auth = ep.host, ep.port, ep.setting, ep.auth
    return sqlclient.hs2_connect(host, port, (auth or default_auth).upper(), user or "bigdata-admin",
                                 setting=setting, inventory=str(cluster.source) if cluster else None)


def webhdfs(cluster: Cluster) -> Any:
    """A WebHDFS client of the active NameNode (helper D1's clients module)."""
    from bigdata_admin import clients

    return clients.webhdfs_client(cluster, timeout=60.0)


def hbase(cluster: Cluster, timeout_ms: int = 60_000) -> Any:
    """A happybase connection to the inventory's HBase Thrift server (`timeout_ms` per call)."""
    from bigdata_admin import clients

    return clients.happybase_connection(cluster, timeout_ms=timeout_ms)


def kafka_bootstrap(cluster: Cluster) -> list[str]:
    brokers = cluster.hosts_in("kafka_broker")
    if not brokers:
        raise BadInput("the inventory has no kafka_broker host", fix="Add one under `kafka_broker:`.")
    return [f"{h.address or h.name}:{int(h.var('kafka_broker_port', cluster.var('kafka_broker_port', 9092)))}"
            for h in brokers]


def hdfs_cluster_id(cluster: Cluster) -> str | None:
    """The HDFS clusterID the NameNodes report (JMX bean NameNodeInfo, attribute ClusterId), or None
    when none answers. A NameNode format makes a new one, so it tells a rebuilt cluster from the one an
    earlier `pilot run` loaded (Hadoop docs, "HDFS Federation": the ClusterID identifies the cluster)."""
    from bigdata_admin.health.probes_hadoop import namenode_infos

    return next((str(info["ClusterId"]) for _nn, info in namenode_infos(cluster) if info.get("ClusterId")),
                None)
