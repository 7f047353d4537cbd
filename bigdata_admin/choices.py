"""The allowed values of every enumerated inventory variable, and the settings a first-class variable owns.

`CHOICES` is the one list: `check` (validate.py) rejects any other value before a host is touched,
the clients (clients.py, sqlclient.py) speak exactly these, and each role's
`meta/argument_specs.yml` repeats them as `choices:` (argument_specs are static YAML; the unit test
tests/unit/test_choices.py fails when the two disagree).

`OWNED_KEYS` lists, per `*_extra` dictionary merged into a configuration file, the keys that a
first-class variable renders: setting them through the extra dictionary would change the server
behind the back of the clients that read the variable, so `check` rejects a value that contradicts it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

HS2_AUTH_MODES: tuple[str, ...] = ("NONE", "NOSASL", "LDAP", "CUSTOM")
"""hive.server2.authentication modes the roles configure and bigdata_admin.sqlclient speaks."""
THRIFT_TRANSPORTS: tuple[str, ...] = ("buffered", "framed")
THRIFT_PROTOCOLS: tuple[str, ...] = ("binary", "compact")
KAFKA_SECURITY_PROTOCOLS: tuple[str, ...] = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
ARTIFACT_SOURCES: tuple[str, ...] = ("maven", "apache")
"""bigdata_artifact_source and each role's `<role>_install_source` (a role adding one adds it below)."""

CHOICES: dict[str, tuple[str, ...]] = {
    "hive_server2_auth": HS2_AUTH_MODES,
    "spark_thrift_auth": HS2_AUTH_MODES,
    "impala_daemon_hs2_auth": HS2_AUTH_MODES,
    "hbase_thrift_transport": THRIFT_TRANSPORTS,
    "hbase_thrift_protocol": THRIFT_PROTOCOLS,
    "hive_execution_engine": ("mr", "tez"),
    "zookeeper_install_method": ("tarball", "package"),
    "spark_install_method": ("tarball", "wheel"),
    "common_time_sync": ("chrony", "timesyncd", "none"),
    "bigdata_artifact_source": ARTIFACT_SOURCES,
}
"""Variable -> its allowed values (exact spelling; YAML strings)."""

SUFFIX_CHOICES: dict[str, tuple[str, ...]] = {
    "_install_source": ARTIFACT_SOURCES,
}
"""Variable-name ending -> allowed values, for families of variables (`hdfs_install_source`,
`hbase_install_source`, ...: each role's override of bigdata_artifact_source)."""


def _bool_text(test: Callable[[Any], bool]) -> Callable[[Any], str]:
    return lambda value: str(test(value)).lower()


OwnedKey = tuple[str, Callable[[Any], str]]
"""(the first-class variable, how the role renders its value into the key)."""

OWNED_KEYS: dict[str, dict[str, OwnedKey]] = {
    "hbase_site_extra": {
        "hbase.regionserver.thrift.framed": ("hbase_thrift_transport", _bool_text(lambda v: v == "framed")),
        "hbase.regionserver.thrift.compact": ("hbase_thrift_protocol", _bool_text(lambda v: v == "compact")),
        "hbase.regionserver.thrift.port": ("hbase_thrift_port", str),
        "hbase.master.port": ("hbase_master_port", str),
        "hbase.regionserver.port": ("hbase_regionserver_port", str),
    },
    "hive_site_extra": {
        "hive.server2.authentication": ("hive_server2_auth", str),
        "hive.server2.thrift.port": ("hive_server2_port", str),
        "hive.metastore.port": ("hive_metastore_port", str),
        "hive.execution.engine": ("hive_execution_engine", str),
    },
    "spark_thrift_hiveconf_extra": {
        "hive.server2.authentication": ("spark_thrift_auth", str),
        "hive.server2.thrift.port": ("spark_thrift_port", str),
    },
    "impala_impalad_flags_extra": {
        "hs2_port": ("impala_daemon_hs2_port", str),
    },
    "kafka_extra_config": {
        "node.id": ("kafka_node_id", str),
    },
}

FIXED_KEYS: dict[str, dict[str, str]] = {
    "kafka_extra_config": {
        "process.roles": "the kafka_controller / kafka_broker groups",
        "controller.quorum.voters": "the kafka_controller group and each host's kafka_node_id",
        "listeners": "kafka_broker_port / kafka_controller_port and kafka_address",
        "advertised.listeners": "kafka_broker_port and kafka_address",
        "listener.security.protocol.map": "the kafka role (every listener is PLAINTEXT)",
    },
    "hive_site_extra": {"hive.server2.transport.mode": "the hive role (binary, which every client speaks)"},
    "spark_thrift_hiveconf_extra": {
        "hive.server2.transport.mode": "the spark role (binary, which every client speaks)"},
}
"""Keys of an extra dictionary that the role computes from topology, not from one variable: never
overridable, the value says what sets them."""


ENUMERATED_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "kafka_extra_config": {"security.inter.broker.protocol": KAFKA_SECURITY_PROTOCOLS},
}
"""Keys of an extra dictionary that may be set but only to one of these values."""


def allowed(variable: str) -> tuple[str, ...] | None:
    """The allowed values of `variable`, or None when it is not enumerated."""
    if variable in CHOICES:
        return CHOICES[variable]
    for suffix, values in SUFFIX_CHOICES.items():
        if variable.endswith(suffix):
            return values
    return None


def enumerated(variables: Iterable[str]) -> dict[str, tuple[str, ...]]:
    """The enumerated ones among `variables` (CHOICES plus the SUFFIX_CHOICES families), each with
    its allowed values."""
    out = dict(CHOICES)
    for var in variables:
        values = allowed(var)
        if values is not None:
            out[var] = values
    return out
