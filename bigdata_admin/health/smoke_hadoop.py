"""Smoke tests for HDFS, YARN and HBase through their real clients.

- hdfs: write a file through WebHDFS (`hdfs` package; DataNode redirects resolved from the control
  host), read it back, compare SHA-256, read HDFS's own file checksum, delete it.
- yarn: every NodeManager of the inventory is RUNNING in the ResourceManager and the memory and
  vcores it offers are the inventory's yarn_nodemanager_memory_mb / yarn_nodemanager_vcores.
- yarn: a MapReduce job (the examples' pi, 2 maps) runs on YARN to SUCCEEDED, submitted on the
  ResourceManager's host with the node's own `yarn` command over SSH.
- hbase: create a table through happybase (HBase Thrift), put rows, scan them back, drop the table.
- hbase: create a pre-split table with the node's `hbase shell` (Thrift 1 cannot pass split keys),
  check its regions' boundaries through Thrift, put rows on both sides of every split, scan each
  region, drop the table.

Each cleans up what it created even when a step fails.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shlex
import time
import uuid
from collections.abc import Callable
from typing import Any

from bigdata_admin.errors import BigdataAdminError
from bigdata_admin.health import SmokeResult, smoke
from bigdata_admin.health.core import address, http_json, port
from bigdata_admin.inventory import Cluster

SMOKE_BYTES = 1024 * 1024 + 17
"""Size of the HDFS smoke file: over one 64 KiB packet many times, not a round number."""
HBASE_ROWS = 25


def _result(name: str, component: str, started: float, passed: bool, detail: str,
            data: dict[str, Any] | None = None) -> SmokeResult:
    return SmokeResult(name, component, passed, round(time.monotonic() - started, 3), detail, data or {})


def _message(exc: BaseException) -> str:
    if isinstance(exc, BigdataAdminError):
        return exc.message + (f" (fix: {exc.fix})" if exc.fix else "")
    return f"{type(exc).__name__}: {exc}"


def _guarded(name: str, component: str, body: Callable[[dict[str, Any]], str]) -> SmokeResult:
    """Run one smoke test body; any exception is a failure with its message."""
    started = time.monotonic()
    data: dict[str, Any] = {}
    try:
        detail = body(data)
    except Exception as exc:
        return _result(name, component, started, False, _message(exc), data)
    return _result(name, component, started, True, detail, data)


# --- HDFS ----------------------------------------------------------------------------------------------

def hdfs_roundtrip(cluster: Cluster, data: dict[str, Any], size: int = SMOKE_BYTES) -> str:
    from bigdata_admin.clients import webhdfs_client

    # A DataNode writing a pipeline on a busy host can take more than the client's default 10 s.
    client = webhdfs_client(cluster, timeout=60.0)
    path = f"/tmp/bigdata-admin-smoke-{uuid.uuid4().hex[:12]}"
    payload = os.urandom(size)
    want = hashlib.sha256(payload).hexdigest()
    data.update({"path": path, "bytes": size, "namenode": client.url})
    try:
        t0 = time.monotonic()
        client.write(path, data=payload, overwrite=False)
        data["write_s"] = round(time.monotonic() - t0, 3)
        status = client.status(path)
        if int(status["length"]) != size:
            raise AssertionError(f"HDFS reports {status['length']} bytes for {path}, wrote {size}")
        data["replication"] = status.get("replication")
        t0 = time.monotonic()
        with client.read(path) as reader:
            back = reader.read()
        data["read_s"] = round(time.monotonic() - t0, 3)
        got = hashlib.sha256(back).hexdigest()
        if got != want:
            raise AssertionError(f"read back {len(back)} bytes with sha256 {got[:16]}…, wrote {want[:16]}…")
        data["sha256"] = want
        hdfs_sum = client.checksum(path)
        data["hdfs_checksum"] = {"algorithm": hdfs_sum.get("algorithm"), "bytes": hdfs_sum.get("bytes")}
    finally:
        try:
            data["deleted"] = bool(client.delete(path))
        except Exception as exc:  # keep the first error; report the cleanup problem beside it
            data["cleanup_error"] = _message(exc)
    if not data.get("deleted"):
        raise AssertionError(f"could not delete {path}: {data.get('cleanup_error', 'delete returned false')}")
    return (f"wrote, read back and deleted {size} bytes at {path} (sha256 equal, "
            f"replication {data.get('replication')}, {data['hdfs_checksum']['algorithm']})")


@smoke("hdfs")
def hdfs(cluster: Cluster) -> list[SmokeResult]:
    return [_guarded("hdfs write/read/checksum/delete (WebHDFS)", "hdfs",
                     lambda data: hdfs_roundtrip(cluster, data))]


# --- YARN ----------------------------------------------------------------------------------------------

def yarn_expectations(cluster: Cluster) -> dict[str, tuple[int, int]]:
    """NodeManager host name -> (memory MiB, vcores) the inventory gives it."""
    out: dict[str, tuple[int, int]] = {}
    for host in cluster.hosts_in("yarn_nodemanager"):
        memory = host.var("yarn_nodemanager_memory_mb", cluster.var("yarn_nodemanager_memory_mb"))
        vcores = host.var("yarn_nodemanager_vcores", cluster.var("yarn_nodemanager_vcores"))
        out[host.name] = (int(memory), int(vcores))
    return out


def compare_yarn_nodes(nodes: list[dict[str, Any]], expected: dict[str, tuple[int, int]]) -> list[str]:
    """Problems between the RM's node list and the inventory (empty list: all good)."""
    problems: list[str] = []
    by_name: dict[str, dict[str, Any]] = {}
    for node in nodes:
        name = str(node.get("nodeHostName") or "")
        by_name[name] = node
        by_name.setdefault(name.split(".")[0], node)
    for host, (memory, vcores) in expected.items():
        found = by_name.get(host) or by_name.get(host.split(".")[0])
        if found is None:
            problems.append(f"{host}: not registered with the ResourceManager")
            continue
        node = found
        if node.get("state") != "RUNNING":
            problems.append(f"{host}: {node.get('state')} ({node.get('healthReport') or 'no report'})")
            continue
        got_mem = int(node.get("availMemoryMB", 0)) + int(node.get("usedMemoryMB", 0))
        got_vc = int(node.get("availableVirtualCores", 0)) + int(node.get("usedVirtualCores", 0))
        if got_mem != memory or got_vc != vcores:
            problems.append(f"{host}: offers {got_mem} MiB / {got_vc} vcores, "
                            f"the inventory says {memory} / {vcores}")
    return problems


def yarn_nodes(cluster: Cluster, data: dict[str, Any]) -> str:
    rm = cluster.first("yarn_resourcemanager")
    if rm is None:
        raise AssertionError("the inventory has no yarn_resourcemanager host")
    url = f"http://{address(rm)}:{port(cluster, 'yarn_resourcemanager_http_port', rm)}/ws/v1/cluster/nodes"
    nodes = ((http_json(url).get("nodes") or {}).get("node")) or []
    expected = yarn_expectations(cluster)
    data.update({"registered": len(nodes), "expected": len(expected)})
    problems = compare_yarn_nodes(nodes, expected)
    if problems:
        raise AssertionError("; ".join(problems))
    return f"{len(expected)} NodeManager(s) running with the inventory's memory and vcores"


def mapreduce_examples_jar(cluster: Cluster) -> str:
    """Path of hadoop-mapreduce-examples on the nodes, for the installation source in use."""
    from bigdata_admin.catalog import hadoop_examples_version, install_source

    home = f"{cluster.var('bigdata_install_root', '/opt/bigdata')}/hadoop-current"
    version = str(cluster.version("hadoop"))
    if install_source(cluster, "hadoop") == "maven":
        return f"{home}/lib/hadoop-mapreduce-examples-{hadoop_examples_version(version)}.jar"
    return f"{home}/share/hadoop/mapreduce/hadoop-mapreduce-examples-{version}.jar"


PI_MAPS, PI_SAMPLES = 2, 20


def mapreduce_pi_command(cluster: Cluster, user: str = "mapred") -> str:
    jar = mapreduce_examples_jar(cluster)
    return (f"sudo -n -u {user} env HADOOP_ROOT_LOGGER=WARN,console /usr/local/bin/yarn jar {jar} "
            f"pi {PI_MAPS} {PI_SAMPLES}")


def parse_pi_output(text: str) -> float | None:
    """The estimate from `pi`'s last line, `Estimated value of Pi is 3.14...`."""
    for line in reversed(text.splitlines()):
        if line.startswith("Estimated value of Pi is"):
            try:
                return float(line.rsplit(" ", 1)[-1])
            except ValueError:
                return None
    return None


def mapreduce_pi(cluster: Cluster, data: dict[str, Any], timeout: float = 420.0) -> str:
    from bigdata_admin import remote

    rm = cluster.first("yarn_resourcemanager")
    if rm is None:
        raise AssertionError("the inventory has no yarn_resourcemanager host")
    command = mapreduce_pi_command(cluster)
    data["command"] = command
    result = remote.run_on(cluster.source, command, limit=rm.name, timeout=timeout)[0]
    output = result.stdout + result.stderr
    estimate = parse_pi_output(output)
    data["estimate"] = estimate
    if not result.ok or estimate is None:
        tail = " | ".join(output.strip().splitlines()[-4:]) or (result.error or "no output")
        raise AssertionError(f"the pi job did not finish on YARN (exit {result.exit_status}): {tail}")
    if not 2.5 < estimate < 3.8:
        raise AssertionError(f"the pi job finished with an implausible estimate {estimate}")
    return f"MapReduce pi ({PI_MAPS} maps) finished on YARN in {result.seconds:.0f} s: {estimate}"


@smoke("yarn")
def yarn(cluster: Cluster) -> list[SmokeResult]:
    return [_guarded("yarn NodeManagers registered", "yarn", lambda data: yarn_nodes(cluster, data)),
            _guarded("yarn MapReduce job (pi)", "yarn", lambda data: mapreduce_pi(cluster, data))]


# --- HBase ---------------------------------------------------------------------------------------------

HBASE_DDL_TIMEOUT_MS = 120_000
"""Milliseconds a smoke test's Thrift call may take. Thrift1's createTable and deleteTable return once the
master's procedure finished; with every smoke test running at once on a busy 2-core lab, a create took
more than the client's default 10 s (TimeoutError in a `scripts/demo` run of 2026-12-01, load 16)."""


def hbase_roundtrip(cluster: Cluster, data: dict[str, Any], rows: int = HBASE_ROWS) -> str:
    from bigdata_admin.clients import happybase_connection

    conn = happybase_connection(cluster, timeout_ms=HBASE_DDL_TIMEOUT_MS)
    name = f"bigdata_admin_smoke_{uuid.uuid4().hex[:10]}"
    data["table"] = name
    created = False
    try:
        conn.create_table(name, {"cf": {"max_versions": 1}})
        created = True
        table = conn.table(name)
        want = {f"row-{i:04d}".encode(): {b"cf:n": str(i * i).encode(), b"cf:s": os.urandom(8).hex().encode()}
                for i in range(rows)}
        with table.batch() as batch:
            for key, cells in want.items():
                batch.put(key, cells)
        got = dict(table.scan())
        data["rows_scanned"] = len(got)
        if got != want:
            missing = sorted(set(want) - set(got))[:3]
            raise AssertionError(f"scan returned {len(got)} rows, put {rows}; "
                                 f"first missing or different: {missing}")
    finally:
        if created:
            try:
                conn.delete_table(name, disable=True)
                data["dropped"] = True
            except Exception as exc:
                data["cleanup_error"] = _message(exc)
        conn.close()
    if created and not data.get("dropped"):
        raise AssertionError(f"could not drop {name}: {data.get('cleanup_error')}")
    return f"created {name}, put and scanned {rows} rows, dropped it"


HBASE_SPLITS = (b"row-0008", b"row-0016")
"""Split keys of the pre-split smoke table: three regions over the HBASE_ROWS rows."""


def hbase_presplit_command(table: str, splits: tuple[bytes, ...] = HBASE_SPLITS, user: str = "hbase") -> str:
    """`hbase shell` (non-interactive, fed on stdin) creating `table` with family `cf` and `splits`."""
    keys = ", ".join(f"'{k.decode()}'" for k in splits)
    script = f"create '{table}', 'cf', SPLITS => [{keys}]"
    return f"echo {shlex.quote(script)} | sudo -n -u {user} /usr/local/bin/hbase shell -n"


def hbase_presplit(cluster: Cluster, data: dict[str, Any], rows: int = HBASE_ROWS,
                   splits: tuple[bytes, ...] = HBASE_SPLITS, timeout: float = 300.0) -> str:
    from bigdata_admin import remote
    from bigdata_admin.clients import happybase_connection

    node = cluster.first("hbase_master")
    if node is None:
        raise AssertionError("the inventory has no hbase_master host")
    name = f"bigdata_admin_presplit_{uuid.uuid4().hex[:10]}"
    data["table"] = name
    command = hbase_presplit_command(name, splits)
    data["command"] = command
    result = remote.run_on(cluster.source, command, limit=node.name, timeout=timeout)[0]
    data["shell_seconds"] = round(result.seconds, 1)
    conn = happybase_connection(cluster, timeout_ms=HBASE_DDL_TIMEOUT_MS)
    created = name.encode() in conn.tables()
    try:
        if not created:
            output = (result.stdout + result.stderr).strip().splitlines()
            tail = " | ".join(output[-4:]) or (result.error or "no output")
            raise AssertionError(f"`hbase shell` on {node.name} did not create {name} "
                                 f"(exit {result.exit_status}): {tail}")
        table = conn.table(name)
        regions = sorted((r["start_key"], r["end_key"]) for r in table.regions())
        data["regions"] = [[s.decode(), e.decode()] for s, e in regions]
        if regions != list(itertools.pairwise([b"", *splits, b""])):
            raise AssertionError(f"{name} has regions {data['regions']}, not the splits {splits}")
        want = {f"row-{i:04d}".encode(): {b"cf:n": str(i).encode()} for i in range(rows)}
        with table.batch() as batch:
            for key, cells in want.items():
                batch.put(key, cells)
        per_region = []
        got: dict[bytes, dict[bytes, bytes]] = {}
        for start, stop in regions:
            part = dict(table.scan(row_start=start or None, row_stop=stop or None))
            per_region.append(len(part))
            got.update(part)
        data["rows_per_region"] = per_region
        if got != want or 0 in per_region:
            raise AssertionError(f"scanned {len(got)} of {rows} rows, per region {per_region}")
    finally:
        if created:
            try:
                conn.delete_table(name, disable=True)
                data["dropped"] = True
            except Exception as exc:
                data["cleanup_error"] = _message(exc)
        conn.close()
    if not data.get("dropped"):
        raise AssertionError(f"could not drop {name}: {data.get('cleanup_error')}")
    return (f"`hbase shell` created {name} with {len(regions)} regions; rows per region {per_region}; "
            "dropped it")


@smoke("hbase")
def hbase(cluster: Cluster) -> list[SmokeResult]:
    return [_guarded("hbase create/put/scan/drop (Thrift)", "hbase",
                     lambda data: hbase_roundtrip(cluster, data)),
            _guarded("hbase pre-split table (hbase shell + Thrift)", "hbase",
                     lambda data: hbase_presplit(cluster, data))]
