"""Hive 4.0 for real from a Maven bundle (Hive's jars without Hadoop's, on Java 17), on the main job's
lab (session fixture `main_lab`): the metastore on PostgreSQL and HiveServer2, each under the
jvm-daemon unit.

The main job already shows `status` healthy and `smoke hive` passing (impyla and PyHive: CREATE TABLE,
an INSERT that runs a MapReduce job on YARN, SELECT, DROP), and its redeploy test a second deploy
with changed=0 that keeps a Hive table. Here: the units run Java 17 with Hive's --add-opens,
`beeline` on the node connects and runs statements, the daemons log to files under the log dir, and
the classpath has exactly one SLF4J binding.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from bigdata_admin import deployment, inventory
from bigdata_admin.health import remote

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]


@pytest.fixture(scope="module")
def hive_lab(main_lab: dict[str, Any]) -> Path:
    assert main_lab["rc"] == 0, str(main_lab["out"])[-5000:]
    inv = Path(main_lab["inventory"])
    absent = deployment.not_deployed(inventory.load(inv))
    for group in ("hive_metastore", "hive_server2", "metastore_db"):
        assert group not in absent, f"{group} must be deployed by the main job: {absent.get(group)}"
    return inv


def _sh(host: inventory.Host, command: str, timeout: float = 300) -> str:
    result = remote.run(host, ["sh", "-c", command], become=True, timeout=timeout)
    assert result.ok, f"{host.name}: {command}: {result.stdout[-1500:]} {result.stderr[-1500:]}"
    return result.stdout


def _beeline(cluster: inventory.Cluster, sql: str) -> str:
    """Run `sql` with the node's beeline against HiveServer2 (CSV output, no header)."""
    host = cluster.first("hive_server2")
    assert host is not None
    address = host.var("bigdata_address") or host.var("ansible_host") or host.name
    url = f"jdbc:hive2://{address}:{cluster.var('hive_server2_port', 10000)}/default"
    return _sh(host, f"beeline -u '{url}' -n bigdata-admin --silent=true --showHeader=false "
                     f"--outputformat=csv2 -e {json.dumps(sql)} 2>&1", timeout=600)


def test_units_beeline_logs_and_one_slf4j_binding(hive_lab: Path) -> None:
    cluster = inventory.load(hive_lab)
    node = cluster.first("hive_server2")
    assert node is not None
    unit = _sh(node, "systemctl cat hive-server2")
    assert "/java/17/bin/java" in unit and "org.apache.hive.service.server.HiveServer2" in unit
    assert "--add-opens=java.sql/java.sql=ALL-UNNAMED" in unit
    bindings = _sh(node, "ls /opt/bigdata/hive-current/lib/ /opt/bigdata/hive-current/hadoop-lib/ "
                         "| grep -E '^(slf4j-(reload4j|log4j12)|log4j-slf4j-impl|logback-classic)-' || true")
    assert bindings.split() == ["log4j-slf4j-impl-2.18.0.jar"], bindings
    table = f"beeline_{uuid.uuid4().hex[:8]}"
    # Statements that need no MapReduce job (the smoke test runs one): DDL, a metadata query, a
    # constant SELECT.
    out = _beeline(cluster, f"CREATE TABLE {table} (id INT, name STRING); SHOW TABLES LIKE '{table}'; "
                            f"DESCRIBE {table}; SELECT 40 + 2, 'beeline'; DROP TABLE {table};")
    assert table in out and "id,int" in out and "42,beeline" in out, out[-3000:]
    log_root = cluster.var("bigdata_log_root", "/var/log/bigdata")
    for group, name in (("hive_metastore", "metastore"), ("hive_server2", "hiveserver2")):
        for host in cluster.hosts_in(group):
            path = f"{log_root}/hive/hive-{name}-{host.name}.log"
            size = _sh(host, f"stat -c %s {path}").strip()
            assert int(size) > 0, f"{host.name}: {path} is empty"
