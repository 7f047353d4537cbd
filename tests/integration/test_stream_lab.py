"""The pilot's real-time path for real on the main job's lab (session fixture `main_lab`): `pilot stream
start` submits the Flux topology (Kafka spout, the Python bolt, storm-hbase's HBaseBolt); `pilot produce`
sends a generated day's driving log into SmartCar-Topic in two halves with the topology stopped (`pilot
stream stop`) in between, while it is still working through the first half. Then HBase `DriverCarInfo`
must hold exactly the day's records (every row equal to its record: nothing lost, nothing altered) and
Redis exactly the overspeeding set that `stream.overspeeding` recomputes from the same file.

Skips (with the reason) when the main job skipped Kafka, Storm, HBase or Redis.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from labtools import main_lab_cluster  # tests/integration (rootdir-relative import)

from bigdata_admin.pilot import endpoints, generate, records, stream

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]

DAY = "20200323"   # a day of its own: the batch pilot test loads 20200322 into the same table
CARS = 10
HOURS = 0.5        # 900 records per car, 9,000 in all
SEED = 5
NEEDED = (("kafka_broker", "Kafka"), ("storm_nimbus", "Storm"), ("storm_supervisor", "Storm supervisors"),
          ("hbase_master", "HBase"), ("hbase_thrift", "HBase's Thrift server"), ("redis", "Redis"))
DRAIN_TIMEOUT_S = 600.0


@pytest.fixture(scope="module")
def lab(main_lab: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    inv = Path(main_lab["inventory"])
    cluster = main_lab_cluster(main_lab, NEEDED)
    work = tmp_path_factory.mktemp("stream-lab")
    data = work / "data" / DAY
    generate.generate(generate.GenerateOptions(day=DAY, cars=CARS, hours=HOURS, seed=SEED,
                                               datasets=("drive",)), data)
    _delete_day(cluster)  # rows of an earlier run on a reused lab
    info = {"inventory": inv, "cluster": cluster, "work": work,
            "drive": data / generate.file_names(DAY)["drive"]}
    yield info
    _cli(info, "stream", "stop", "--wait", "1", check=False)


def _cli(lab: dict[str, Any], *args: str, check: bool = True, timeout: float = 900) -> dict[str, Any]:
    """`python -m bigdata_admin pilot ARGS -i INV --json` -> its JSON (asserting exit 0 when `check`)."""
    proc = subprocess.run([sys.executable, "-m", "bigdata_admin", "pilot", *args, "-i", str(lab["inventory"]),
                           "--json"], cwd=lab["work"], capture_output=True, text=True, timeout=timeout,
                          check=False, env={**os.environ, "COLUMNS": "160"})
    if check:
        assert proc.returncode == 0, f"pilot {' '.join(args)}: {proc.stdout[-2000:]} {proc.stderr[-4000:]}"
    try:
        out: dict[str, Any] = json.loads(proc.stdout)
    except ValueError:
        out = {"rc": proc.returncode, "stderr": proc.stderr[-2000:]}
    return out


def _delete_day(cluster: Any) -> None:
    conn = endpoints.hbase(cluster, timeout_ms=stream.SCAN_TIMEOUT_MS)
    try:
        if stream.StreamSettings.table.encode() not in conn.tables():
            return
        table = conn.table(stream.StreamSettings.table)
        keys = [k for k, _ in table.scan(filter=f"{stream.day_row_filter(DAY)} AND KeyOnlyFilter()",
                                         batch_size=5000)]
        with table.batch(batch_size=5000) as b:
            for k in keys:
                b.delete(k)
    finally:
        conn.close()


def _day_rows(cluster: Any) -> dict[bytes, dict[bytes, bytes]]:
    """Every DriverCarInfo row of DAY (row key = reversed time + '-' + car: its 7th-14th characters
    are the reversed day)."""
    conn = endpoints.hbase(cluster, timeout_ms=stream.SCAN_TIMEOUT_MS)
    try:
        table = conn.table(stream.StreamSettings.table)
        return dict(table.scan(filter=stream.day_row_filter(DAY), batch_size=5000))
    finally:
        conn.close()


def _wait_rows(cluster: Any, at_least: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    count = 0
    while time.monotonic() < deadline:
        count = stream.day_row_count(cluster, DAY)
        if count >= at_least:
            return count
        time.sleep(3)
    return count


def test_stream_loses_and_duplicates_nothing_across_a_restart(lab: dict[str, Any]) -> None:
    cluster = lab["cluster"]
    recs = [f for _, f in records.read_log(lab["drive"], "drive")]
    n = len(recs)
    assert n == CARS * int(HOURS * 1800)
    db = stream.redis_client(cluster)
    db.delete(DAY)

    started = _cli(lab, "stream", "start")
    assert started["status"] in ("started", "running"), started
    again = _cli(lab, "stream", "start")
    assert again["status"] == "running", "a second start leaves the running topology alone"

    lines = [line for line in lab["drive"].read_text().splitlines(keepends=True) if line[:14].isdigit()]
    first, second = lab["work"] / "first.log", lab["work"] / "second.log"
    first.write_text("".join(lines[: n // 2]))
    second.write_text("".join(lines[n // 2:]))

    sent = _cli(lab, "produce", "--file", str(first))
    assert sent["sent"] == n // 2
    # Stop while the first half is still flowing: records read but not acked must come back.
    partial = _wait_rows(cluster, 1, 300)
    assert partial > 0, "the topology wrote nothing to HBase within 300 s"
    stopped = _cli(lab, "stream", "stop", "--wait", "1")
    assert stopped["status"] == "stopped"
    assert _cli(lab, "stream", "status")["running"] is False
    sent = _cli(lab, "produce", "--file", str(second))
    assert sent["sent"] == n - n // 2
    restarted = _cli(lab, "stream", "start")
    assert restarted["status"] == "started"

    count = _wait_rows(cluster, n, DRAIN_TIMEOUT_S)
    rows = _day_rows(cluster)
    assert count == n and len(rows) == n, f"HBase holds {len(rows)} rows of {DAY}, expected {n}"
    expected = dict(records.hbase_row(f) for f in recs)
    wrong = [k for k, v in expected.items() if rows.get(k) != v]
    assert not wrong, f"{len(wrong)} rows differ from their records, e.g. {wrong[:3]}"

    want = stream.overspeeding(recs)
    assert want.get(DAY), "the generated day has overspeeding windows"
    deadline = time.monotonic() + 120
    got: set[str] = set()
    while time.monotonic() < deadline:
        got = {m.decode() for m in db.smembers(DAY)}
        if got == want[DAY]:
            break
        time.sleep(3)
    assert got == want[DAY], (f"Redis {DAY}: {len(got)} members, expected {len(want[DAY])}; missing "
                              f"{sorted(want[DAY] - got)[:5]}, extra {sorted(got - want[DAY])[:5]}")
    ttl = db.ttl(DAY)
    assert 0 < ttl <= 7 * 24 * 3600

    status = _cli(lab, "stream", "status")
    assert status["running"] is True
    assert status["kafka"]["lag"] == 0 or _lag_drains(lab), status["kafka"]
    db.delete(DAY)


def _lag_drains(lab: dict[str, Any], timeout: float = 60) -> bool:
    """The spout commits every 2 s: the lag reaches 0 soon after the last record is acked."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _cli(lab, "stream", "status")["kafka"].get("lag") == 0:
            return True
        time.sleep(3)
    return False
