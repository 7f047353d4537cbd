"""End-to-end throughput and latency of the pilot's stream topology on a deployed cluster.

Generates driving logs (default 100 cars x 1 hour = 180,000 records) for days of their own, starts the
topology when it is not running (`pilot stream start`), waits until its consumer group has no lag, and
measures in two phases:

1. Latency: the whole log sent into SmartCar-Topic as fast as one producer can (each record's send time
   noted). Prints the producer's rate, the records/s that reached HBase over the same span, and the
   latency from send to HBase write per record (HBase cell timestamp - send time): p50, p99, max.
2. Capacity: the topology deactivated (`storm deactivate`), a second day's log put into the topic,
   the topology activated; sustained records/s = records / (last row's HBase write - activation).
   One Python producer is slower than the topology, so only a backlog shows what the topology can take.

The capacity phase also prints where the CPU goes: each daemon's CPU seconds (its unit's processes) per
1,000 records while the backlog drains, and the cores 10,000 records/s would take at that cost.

Each phase checks that every row is in HBase (lost = 0) and that Redis's set equals the recomputed
overspeeding set. Prints the machine's load average at the end.

    python benchmarks/stream.py --inventory INV [--cars 100] [--hours 1] [--day 20200324]

The goal (issue #13) is 10,000 records/s sustained with nothing lost. The clocks of the producer (this
machine) and the RegionServers must agree: true on the lab (one kernel), NTP elsewhere. A lab's
inventory runs every JVM with C1 only (`bigdata_jvm_extra_opts`): set it to `[]` and deploy before
measuring peak throughput.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from bigdata_admin import inventory, paths
from bigdata_admin.pilot import endpoints, generate, records, stream

DEACTIVATE_GRACE_S = 15.0
"""Seconds after Nimbus reports the topology INACTIVE before the backlog is produced (Storm's workers
refresh the topology's state every few seconds)."""


def day_rows(cluster: inventory.Cluster, day: str) -> dict[bytes, int]:
    """Row key -> the HBase write time (ms) of its speed cell, for every DriverCarInfo row of `day`."""
    conn = endpoints.hbase(cluster, timeout_ms=stream.SCAN_TIMEOUT_MS)
    try:
        table = conn.table("DriverCarInfo")
        return {k: v[b"cf1:speed"][1] for k, v in table.scan(filter=stream.day_row_filter(day),
                                                              columns=[b"cf1:speed"],
                                                              include_timestamp=True, batch_size=2000)}
    finally:
        conn.close()


def day_log(day: str, cars: int, hours: float, tmp: Path) -> list[tuple[str, list[str]]]:
    generate.generate(generate.GenerateOptions(day=day, cars=cars, hours=hours, seed=24, datasets=("drive",)),
                      tmp / day)
    return list(records.read_log(tmp / day / generate.file_names(day)["drive"], "drive"))


def send(cluster: inventory.Cluster, lines: list[tuple[str, list[str]]]) -> tuple[dict[bytes, float], float]:
    """Send the lines as fast as one producer can: (row key -> send time in ms, seconds taken)."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap(cluster), acks=1, linger_ms=20,
                             batch_size=512 * 1024, client_id="bigdata-admin-bench")
    sent_ms: dict[bytes, float] = {}
    t0 = time.time()
    for line, f in lines:
        sent_ms[records.hbase_row_key(f[0], f[1]).encode()] = time.time() * 1000
        producer.send("SmartCar-Topic", value=line.encode(), key=f[1].encode())
    producer.flush()
    producer.close()
    return sent_ms, time.time() - t0


def wait_rows(cluster: inventory.Cluster, day: str, n: int, since_ms: float,
              timeout: float) -> dict[bytes, int]:
    """Wait for a zero lag (cheap), then read the day's rows (a filtered scan of the whole table)."""
    deadline = time.monotonic() + timeout
    rows: dict[bytes, int] = {}
    while time.monotonic() < deadline:
        if stream.consumer_lag(endpoints.kafka_bootstrap(cluster), "SmartCar-Topic")["lag"] == 0:
            rows = day_rows(cluster, day)
            if len(rows) >= n and min(rows.values()) >= since_ms - 1:
                break
        time.sleep(1)
    return rows


def check(cluster: inventory.Cluster, day: str, recs: list[list[str]], rows: dict[bytes, int]) -> bool:
    lost = len({records.hbase_row_key(f[0], f[1]).encode() for f in recs} - set(rows))
    want = stream.overspeeding(recs).get(day, set())
    got: set[str] = set()
    deadline = time.monotonic() + 30  # the last windows close after 10 idle seconds
    while time.monotonic() < deadline:
        got = stream.overspeeding_in_redis(cluster, day)
        if got == want:
            break
        time.sleep(2)
    print(f"  lost: {lost}; Redis {day}: {len(got)} overspeeding windows, recomputed {len(want)}: "
          f"{'equal' if got == want else 'DIFFERENT'}")
    return lost == 0 and got == want


# CPU seconds of each unit's processes now (utime + stime of every process in its cgroup, clock ticks):
# the lab's containers have no per-unit CPU accounting (systemd shows CPUUsageNSec as [not set]).
CPU_SCRIPT = r"""
for u in "$@"; do
  cg=$(systemctl show -p ControlGroup --value "$u")
  procs=/sys/fs/cgroup/systemd$cg/cgroup.procs
  [ -r "$procs" ] || procs=/sys/fs/cgroup$cg/cgroup.procs
  t=0
  for p in $(cat "$procs" 2>/dev/null); do
    set -- $(cut -d')' -f2 "/proc/$p/stat" 2>/dev/null) && t=$((t + ${12:-0} + ${13:-0}))
  done
  echo "$u $t $(getconf CLK_TCK)"
done
"""


def unit_cpu(cluster: inventory.Cluster) -> dict[tuple[str, str], float]:
    """(host, systemd unit) -> CPU seconds its live processes have used (a Storm supervisor's workers and
    their Python bolts count under the supervisor: they run in its cgroup)."""
    from bigdata_admin import deployment
    from bigdata_admin.health import remote
    from bigdata_admin.services import SERVICES

    absent = deployment.not_deployed(cluster)
    out: dict[tuple[str, str], float] = {}
    for host in cluster.hosts.values():
        units = sorted({s.unit for s in SERVICES if host.in_group(s.group) and s.group not in absent})
        if not units:
            continue
        res = remote.run(host, ["sh", "-c", CPU_SCRIPT, "cpu", *units], become=True, timeout=60)
        for line in res.stdout.splitlines():
            unit, ticks, hz = line.split()
            out[(host.name, unit)] = int(ticks) / int(hz)
    return out


def cpu_report(before: dict[tuple[str, str], float], after: dict[tuple[str, str], float], records_n: int,
               seconds: float) -> None:
    """Print CPU seconds per 1,000 records by daemon (summed over hosts) and the cores 10,000 records/s
    would take at that cost."""
    by_unit: dict[str, float] = {}
    for key, value in after.items():
        if key in before:
            by_unit[key[1]] = by_unit.get(key[1], 0.0) + value - before[key]
    total = sum(by_unit.values())
    if not records_n or not total:
        return
    print(f"  CPU while draining: {total:.1f} CPU-s of the cluster's daemons in {seconds:.1f} s "
          f"({total / seconds:.2f} of this machine's {os.cpu_count()} cores busy with them)")
    for unit, cpu in sorted(by_unit.items(), key=lambda kv: -kv[1]):
        if cpu >= 0.05 * total:
            per_k = 1000 * cpu / records_n
            print(f"    {unit:<24} {per_k:6.3f} CPU-s per 1,000 records ({cpu / total:4.0%})")
    cores = 10_000 * total / records_n
    print(f"  at that cost 10,000 records/s needs {cores:.1f} cores for these daemons")


def storm(cluster: inventory.Cluster, verb: str) -> None:
    nimbus = cluster.hosts_in("storm_nimbus")[0]
    res = stream._ssh(nimbus, f"{stream.storm_cli(cluster)} {verb} {stream.TOPOLOGY}", timeout=120)
    if res.returncode != 0:
        raise SystemExit(f"storm {verb} failed: {res.stderr.decode(errors='replace')[-400:]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", "-i", required=True, type=Path)
    parser.add_argument("--cars", type=int, default=100)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--day", default="20200324", help="the latency phase's day (the next day: capacity)")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for HBase")
    args = parser.parse_args()

    cluster = inventory.load(args.inventory)
    day2 = (datetime.strptime(args.day, "%Y%m%d") + timedelta(days=1)).strftime("%Y%m%d")
    with tempfile.TemporaryDirectory() as tmp:
        lines1 = day_log(args.day, args.cars, args.hours, Path(tmp))
        lines2 = day_log(day2, args.cars, args.hours, Path(tmp))
    print(f"stream benchmark: {len(lines1):,} records per phase ({args.cars} cars x {args.hours} h)")
    print(f"  start: {stream.start(cluster, paths.cache_dir())['status']}")
    deadline = time.monotonic() + 600
    while stream.consumer_lag(endpoints.kafka_bootstrap(cluster), "SmartCar-Topic")["lag"] > 0:
        if time.monotonic() > deadline:
            print("  the topology did not catch up with the topic within 600 s")
            return 1
        time.sleep(2)
    ok = True

    print(f"1. latency, day {args.day}: records sent as fast as one producer can")
    sent_ms, produced_s = send(cluster, lines1)
    t0 = min(sent_ms.values())
    print(f"  produced in {produced_s:.1f} s ({len(lines1) / produced_s:,.0f} records/s from one producer)")
    rows = wait_rows(cluster, args.day, len(lines1), t0, args.timeout)
    lat = sorted(rows[k] - sent_ms[k] for k in sent_ms if k in rows and rows[k] >= sent_ms[k] - 1)
    if lat:
        last = max(rows.values())
        span = (last - t0) / 1000
        bound = "the producer" if span < produced_s * 1.2 else "the topology"
        print(f"  into HBase: {len(rows):,} rows in {span:.1f} s = {len(rows) / span:,.0f} records/s "
              f"(bounded by {bound})")
        print(f"  latency Kafka send -> HBase write: p50 {statistics.median(lat) / 1000:.2f} s, "
              f"p99 {lat[int(0.99 * (len(lat) - 1))] / 1000:.2f} s, max {lat[-1] / 1000:.2f} s")
    ok = check(cluster, args.day, [f for _, f in lines1], rows) and ok

    print(f"2. capacity, day {day2}: a backlog drained by the topology")
    storm(cluster, "deactivate")
    # `storm deactivate` reaches the spout's executor a little later (workers poll the topology's
    # state): a window the spout began before it stopped would close on the idle timeout with part of
    # its records. Records taken in spite of this are counted as written before the activation.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if (stream.status(cluster).get("storm") or {}).get("status") == "INACTIVE":
            break
        time.sleep(1)
    time.sleep(DEACTIVATE_GRACE_S)
    put_ms = time.time() * 1000
    _, produced_s = send(cluster, lines2)
    print(f"  backlog of {len(lines2):,} records put into the topic in {produced_s:.1f} s")
    cpu0 = unit_cpu(cluster)
    t1 = time.time() * 1000
    storm(cluster, "activate")
    deadline = time.monotonic() + args.timeout
    while stream.consumer_lag(endpoints.kafka_bootstrap(cluster), "SmartCar-Topic")["lag"] > 0:
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    cpu1, drained_s = unit_cpu(cluster), time.time() - t1 / 1000
    rows = wait_rows(cluster, day2, len(lines2), put_ms, args.timeout)
    after = [ms for ms in rows.values() if ms >= t1]
    last2 = float(max(after)) if after else t1
    span = max(0.001, (last2 - t1) / 1000)
    print(f"  sustained end to end: {len(after):,} rows written in {span:.1f} s after activation "
          f"({len(rows) - len(after):,} before it) = {len(after) / span:,.0f} records/s (goal >= 10,000)")
    cpu_report(cpu0, cpu1, len(after), drained_s)
    ok = check(cluster, day2, [f for _, f in lines2], rows) and ok
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
