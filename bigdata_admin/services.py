"""The services bigdata-admin deploys: one per inventory group.

This registry is the contract between the inventory, the library (check, plan, status, smoke) and
the roles. Port and memory figures are not stored here: each entry names the variables in
`roles/bigdata_defaults/defaults/main.yml` that hold them, so the roles and the library read the
same values.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Service:
    group: str
    """Inventory group whose hosts run it (the contract's group name)."""
    component: str
    """Catalog component giving the version and the Java it runs on."""
    role: str
    unit: str
    """systemd unit name on the host. Two groups with the same unit are one process."""
    ports: dict[str, str] = field(default_factory=dict)
    """Port name -> variable holding its number."""
    memory: tuple[str, ...] = ()
    """Variables (MiB) adding up to what the service takes on its host."""
    ui: str | None = None
    """Port name of its web UI, if any."""
    ui_path: str = "/"
    description: str = ""
    optional_ports: tuple[str, ...] = ()
    """Port names of a companion daemon the deploy may leave out (the supervisors' logviewer, part of
    Storm's web bundle): `status` does not require them open."""

    @property
    def uses_java(self) -> bool:
        return self.component not in NON_JVM_COMPONENTS


NON_JVM_COMPONENTS = frozenset({"redis", "postgresql", "gpu", "impala"})


def _s(group: str, component: str, role: str, unit: str, ports: dict[str, str],
       memory: tuple[str, ...], ui: str | None = None, description: str = "", ui_path: str = "/",
       optional_ports: tuple[str, ...] = ()) -> Service:
    return Service(group, component, role, unit, ports, memory, ui, ui_path, description, optional_ports)


SERVICES: tuple[Service, ...] = (
    _s("zookeeper", "zookeeper", "zookeeper", "zookeeper",
       {"client": "zookeeper_client_port", "peer": "zookeeper_peer_port",
        "election": "zookeeper_election_port"},
       ("zookeeper_heap_mb",), description="ZooKeeper ensemble member"),
    _s("hdfs_namenode", "hadoop", "hdfs", "hdfs-namenode",
       {"rpc": "hdfs_namenode_rpc_port", "http": "hdfs_namenode_http_port"},
       ("hdfs_namenode_heap_mb",), ui="http", description="HDFS NameNode"),
    _s("hdfs_datanode", "hadoop", "hdfs", "hdfs-datanode",
       {"data": "hdfs_datanode_port", "http": "hdfs_datanode_http_port", "ipc": "hdfs_datanode_ipc_port"},
       ("hdfs_datanode_heap_mb",), ui="http", description="HDFS DataNode"),
    _s("hdfs_journalnode", "hadoop", "hdfs", "hdfs-journalnode",
       {"rpc": "hdfs_journalnode_rpc_port", "http": "hdfs_journalnode_http_port"},
       ("hdfs_journalnode_heap_mb",), ui="http", description="HDFS JournalNode (NameNode HA)"),
    _s("yarn_resourcemanager", "hadoop", "yarn", "yarn-resourcemanager",
       {"rpc": "yarn_resourcemanager_port", "scheduler": "yarn_resourcemanager_scheduler_port",
        "tracker": "yarn_resourcemanager_tracker_port", "admin": "yarn_resourcemanager_admin_port",
        "http": "yarn_resourcemanager_http_port"},
       ("yarn_resourcemanager_heap_mb",), ui="http", description="YARN ResourceManager"),
    _s("yarn_nodemanager", "hadoop", "yarn", "yarn-nodemanager",
       {"rpc": "yarn_nodemanager_port", "localizer": "yarn_nodemanager_localizer_port",
        "http": "yarn_nodemanager_http_port"},
       ("yarn_nodemanager_heap_mb", "yarn_nodemanager_memory_mb"), ui="http",
       description="YARN NodeManager"),
    _s("hbase_master", "hbase", "hbase", "hbase-master",
       {"rpc": "hbase_master_port", "http": "hbase_master_http_port"},
       ("hbase_master_heap_mb",), ui="http", description="HBase Master"),
    _s("hbase_regionserver", "hbase", "hbase", "hbase-regionserver",
       {"rpc": "hbase_regionserver_port", "http": "hbase_regionserver_http_port"},
       ("hbase_regionserver_heap_mb",), ui="http", description="HBase RegionServer"),
    _s("hbase_thrift", "hbase", "hbase", "hbase-thrift",
       {"thrift": "hbase_thrift_port", "http": "hbase_thrift_http_port"},
       ("hbase_thrift_heap_mb",), ui="http", description="HBase Thrift server (thrift1, for happybase)"),
    _s("hive_metastore", "hive", "hive", "hive-metastore",
       {"thrift": "hive_metastore_port"}, ("hive_metastore_heap_mb",), description="Hive metastore"),
    _s("hive_server2", "hive", "hive", "hive-server2",
       {"thrift": "hive_server2_port", "http": "hive_server2_http_port"},
       ("hive_server2_heap_mb",), ui="http", description="HiveServer2"),
    _s("metastore_db", "postgresql", "postgresql", "postgresql",
       {"sql": "metastore_db_port"}, ("metastore_db_memory_mb",),
       description="PostgreSQL for the Hive metastore"),
    _s("impala_statestore", "impala", "impala", "impala-statestored",
       {"rpc": "impala_statestore_port", "http": "impala_statestore_http_port"},
       ("impala_statestore_memory_mb",), ui="http", description="Impala statestore"),
    _s("impala_catalog", "impala", "impala", "impala-catalogd",
       {"rpc": "impala_catalog_port", "http": "impala_catalog_http_port"},
       ("impala_catalog_heap_mb",), ui="http", description="Impala catalog server"),
    _s("impala_daemon", "impala", "impala", "impala-impalad",
       {"beeswax": "impala_daemon_beeswax_port", "hs2": "impala_daemon_hs2_port",
        "backend": "impala_daemon_backend_port", "krpc": "impala_daemon_krpc_port",
        "http": "impala_daemon_http_port"},
       ("impala_daemon_mem_limit_mb",), ui="http", description="Impala daemon"),
    _s("kafka_broker", "kafka", "kafka", "kafka",
       {"broker": "kafka_broker_port"}, ("kafka_heap_mb",), description="Kafka broker"),
    _s("kafka_controller", "kafka", "kafka", "kafka",
       {"controller": "kafka_controller_port"}, ("kafka_heap_mb",),
       description="Kafka KRaft controller"),
    _s("storm_nimbus", "storm", "storm", "storm-nimbus",
       {"thrift": "storm_nimbus_port"}, ("storm_nimbus_heap_mb",), description="Storm Nimbus"),
    _s("storm_supervisor", "storm", "storm", "storm-supervisor",
       {"logviewer": "storm_logviewer_port"}, ("storm_supervisor_heap_mb",),
       description="Storm supervisor and logviewer", optional_ports=("logviewer",)),
    _s("storm_ui", "storm", "storm", "storm-ui",
       {"http": "storm_ui_port"}, ("storm_ui_heap_mb",), ui="http", description="Storm UI"),
    _s("redis", "redis", "redis", "redis-server",
       {"redis": "redis_port"}, ("redis_maxmemory_mb",), description="Redis"),
    _s("spark_master", "spark", "spark", "spark-master",
       {"rpc": "spark_master_port", "http": "spark_master_http_port"},
       ("spark_master_heap_mb",), ui="http", description="Spark standalone master"),
    _s("spark_worker", "spark", "spark", "spark-worker",
       {"rpc": "spark_worker_port", "http": "spark_worker_http_port"},
       ("spark_worker_heap_mb", "spark_worker_memory_mb"), ui="http", description="Spark worker"),
    _s("spark_thrift", "spark", "spark", "spark-thrift",
       {"thrift": "spark_thrift_port", "http": "spark_thrift_http_port"},
       ("spark_thrift_heap_mb",), description="Spark Thrift Server (HiveServer2 protocol)"),
    _s("gpu_worker", "gpu", "gpu_worker", "smartcar-model-api",
       {"api": "gpu_worker_api_port"}, ("gpu_worker_memory_mb",),
       description="GPU worker: trains and serves the pilot's models"),
)

BY_GROUP: dict[str, Service] = {s.group: s for s in SERVICES}
GROUPS: tuple[str, ...] = tuple(BY_GROUP)
"""Every inventory group name the tool knows (the contract)."""

COMPONENTS: tuple[str, ...] = tuple(dict.fromkeys(s.component for s in SERVICES))


def service(group: str) -> Service:
    return BY_GROUP[group]
