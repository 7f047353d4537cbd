"""SQL smoke tests: Hive and the Spark Thrift Server through impyla AND PyHive, Impala through impyla.

Each creates a uniquely named table, inserts rows, reads them back, compares and drops the table in a
`finally` (also when a step fails). The endpoints and auth modes come from the inventory through
bigdata_admin.sqlclient (hive_server2_auth, spark_thrift_auth, impala_daemon_hs2_auth). The spark
smoke also submits a PySpark job to YARN when YARN and HDFS are deployed (smoke_spark_yarn).
"""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any

from bigdata_admin.health import SmokeResult, smoke
from bigdata_admin.health.core import java_error
from bigdata_admin.inventory import Cluster

ROWS = [(1, "alpha"), (2, "beta"), (3, "gamma")]
SMOKE_USER = "bigdata-admin"
CONNECT_TIMEOUT = 60.0


def _table(prefix: str) -> str:
    return f"bda_smoke_{prefix}_{uuid.uuid4().hex[:8]}"


def round_trip(conn: Any, table: str, *, impala: bool = False) -> tuple[bool, str, dict[str, Any]]:
    """Create, insert, select (and for Impala invalidate metadata then select again), drop."""
    from bigdata_admin.sqlclient import query

    values = ", ".join(f"({i}, '{s}')" for i, s in ROWS)
    stored = " STORED AS PARQUET" if impala else ""
    data: dict[str, Any] = {"table": table}
    try:
        query(conn, f"CREATE TABLE {table} (id INT, name STRING){stored}")
        query(conn, f"INSERT INTO {table} VALUES {values}")
        got = [(int(r[0]), str(r[1])) for r in query(conn, f"SELECT id, name FROM {table} ORDER BY id")]
        data["rows"] = len(got)
        if got != ROWS:
            return False, f"read back {got}, expected {ROWS}", data
        if impala:
            query(conn, f"INVALIDATE METADATA {table}")
            again = query(conn, f"SELECT count(*) FROM {table}")
            if not again or int(again[0][0]) != len(ROWS):
                return False, f"after INVALIDATE METADATA count(*) = {again}, expected {len(ROWS)}", data
        steps = "read them back, invalidated metadata" if impala else "read them back"
        return True, f"created, inserted {len(ROWS)} rows, {steps}, dropped {table}", data
    finally:
        with contextlib.suppress(Exception):
            query(conn, f"DROP TABLE IF EXISTS {table}")


def _run(cluster: Cluster, service: str, component: str, driver: str) -> SmokeResult:
    from bigdata_admin import sqlclient
    from bigdata_admin.errors import BigdataAdminError

    name = f"{component} SQL round trip ({driver})"
    start = time.monotonic()
    try:
        ep = sqlclient.endpoint(cluster, service)
        conn = sqlclient.hs2_connect(ep.host, ep.port, ep.auth, SMOKE_USER, driver,
                                     timeout=CONNECT_TIMEOUT, setting=ep.setting)
        try:
            passed, detail, data = round_trip(conn, _table(f"{service}_{driver}"), impala=service == "impala")
        finally:
            with contextlib.suppress(Exception):
                conn.close()
        data.update({"endpoint": f"{ep.host}:{ep.port}", "auth": ep.auth, "driver": driver})
    except BigdataAdminError as exc:
        detail = exc.message + (f" Fix: {exc.fix}" if exc.fix else "")
        passed, data = False, {"driver": driver}
    except Exception as exc:  # a smoke test reports failures, it does not crash the run
        passed, detail, data = False, f"{type(exc).__name__}: {java_error(str(exc))}", {"driver": driver}
    return SmokeResult(name, component, passed, round(time.monotonic() - start, 3), detail, data)


@smoke("hive")
def hive(cluster: Cluster) -> list[SmokeResult]:
    """HiveServer2: the round trip through impyla and through PyHive."""
    return [_run(cluster, "hive", "hive", driver) for driver in ("impyla", "pyhive")]


@smoke("spark")
def spark(cluster: Cluster) -> list[SmokeResult]:
    """Spark Thrift Server: the round trip through impyla and through PyHive; with YARN and HDFS
    deployed, also a PySpark job submitted to YARN (see smoke_spark_yarn)."""
    from bigdata_admin.health import smoke_spark_yarn

    results = [_run(cluster, "spark", "spark", driver) for driver in ("impyla", "pyhive")]
    if smoke_spark_yarn.yarn_in_use(cluster) and smoke_spark_yarn.submit_host(cluster) is not None:
        results.append(_yarn(cluster))
    return results


def _yarn(cluster: Cluster) -> SmokeResult:
    from bigdata_admin.health import smoke_spark_yarn

    name = "spark on YARN (PySpark job, spark-submit --master yarn)"
    start = time.monotonic()
    data: dict[str, Any] = {}
    try:
        detail, passed = smoke_spark_yarn.spark_yarn_job(cluster, data), True
    except AssertionError as exc:
        detail, passed = str(exc), False
    except Exception as exc:  # a smoke test reports failures, it does not crash the run
        detail, passed = f"{type(exc).__name__}: {java_error(str(exc))}", False
    return SmokeResult(name, "spark", passed, round(time.monotonic() - start, 3), detail, data)


@smoke("impala")
def impala(cluster: Cluster) -> list[SmokeResult]:
    """Impala: create, insert, select, invalidate metadata, select, drop through impyla."""
    return [_run(cluster, "impala", "impala", "impyla")]
