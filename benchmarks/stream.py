"""End-to-end throughput and latency of the pilot's stream topology on a deployed cluster.

Generates a driving log (default 100 cars x 1 hour = 180,000 records) for a day of its own, starts the
topology when it is not running (`pilot stream start`), waits until its consumer group has no lag,
then sends the whole log into SmartCar-Topic as fast as one producer can, noting each record's send
time. It waits until HBase `DriverCarInfo` holds every record of the day and prints:
- records sent and the producer's rate (records/s);
- sustained records/s end to end: records / (last row's HBase write time - first send);
- latency from send to HBase write per record (HBase cell timestamp - send time): p50, p99, max;
- whether every row is there (lost = 0) and Redis's set equals the recomputed overspeeding set;
- the machine's load average at the end.

    python benchmarks/stream.py --inventory INV [--cars 100] [--hours 1] [--day 20200324]

The goal (issue #13) is 10,000 records/s sustained with nothing lost. The clocks of the producer (this
machine) and the RegionServers must agree: true on the lab (one kernel), NTP elsewhere.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from bigdata_admin import inventory, paths
from bigdata_admin.pilot import endpoints, generate, records, stream


def day_rows(cluster: inventory.Cluster, day: str) -> dict[bytes, int]:
    """Row key -> the HBase write time (ms) of its speed cell, for every DriverCarInfo row of `day`."""
    conn = endpoints.hbase(cluster)
    try:
        table = conn.table("DriverCarInfo")
        return {k: v[b"cf1:speed"][1] for k, v in table.scan(filter=stream.day_row_filter(day),
                                                              columns=[b"cf1:speed"],
                                                              include_timestamp=True, batch_size=10000)}
    finally:
        conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", "-i", required=True, type=Path)
    parser.add_argument("--cars", type=int, default=100)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--day", default="20200324")
    parser.add_argument("--timeout", type=float, default=1800.0, help="seconds to wait for HBase")
    args = parser.parse_args()

    from kafka import KafkaProducer

    cluster = inventory.load(args.inventory)
    with tempfile.TemporaryDirectory() as tmp:
        generate.generate(generate.GenerateOptions(day=args.day, cars=args.cars, hours=args.hours, seed=24,
                                                   datasets=("drive",)), Path(tmp))
        path = Path(tmp) / generate.file_names(args.day)["drive"]
        lines = [(line, f) for line, f in records.read_log(path, "drive")]
    recs = [f for _, f in lines]
    print(f"stream benchmark: {len(recs):,} records ({args.cars} cars x {args.hours} h), day {args.day}")
    print(f"  start: {stream.start(cluster, paths.cache_dir())['status']}")
    deadline = time.monotonic() + 600
    while stream.consumer_lag(endpoints.kafka_bootstrap(cluster), "SmartCar-Topic")["lag"] > 0:
        if time.monotonic() > deadline:
            print("  the topology did not catch up with the topic within 600 s")
            return 1
        time.sleep(2)
    before = len(day_rows(cluster, args.day))
    if before:
        print(f"  note: {before:,} rows of {args.day} were already in HBase (a rerun): latency counts only "
              "rows rewritten after the sends")

    producer = KafkaProducer(bootstrap_servers=endpoints.kafka_bootstrap(cluster), acks=1, linger_ms=20,
                             batch_size=512 * 1024, client_id="bigdata-admin-bench")
    sent_ms: dict[bytes, float] = {}
    t0 = time.time()
    for line, f in lines:
        sent_ms[records.hbase_row_key(f[0], f[1]).encode()] = time.time() * 1000
        producer.send("SmartCar-Topic", value=line.encode(), key=f[1].encode())
    producer.flush()
    producer.close()
    produced_s = time.time() - t0
    print(f"  produced in {produced_s:.1f} s ({len(recs) / produced_s:,.0f} records/s from one producer)")

    deadline = time.monotonic() + args.timeout
    rows: dict[bytes, int] = {}
    while time.monotonic() < deadline:
        rows = day_rows(cluster, args.day)
        if len(rows) >= len(recs) and min(rows.values()) >= t0 * 1000 - 1:
            break
        time.sleep(5)
    lost = len(set(sent_ms) - set(rows))
    fresh = [rows[k] - sent_ms[k] for k in sent_ms if k in rows and rows[k] >= sent_ms[k] - 1]
    if not fresh:
        print("  no row was written after its send: nothing to measure")
        return 1
    last = max(rows[k] for k in sent_ms if k in rows) / 1000
    lat = sorted(fresh)
    print(f"  sustained end to end: {len(rows):,} rows in {last - t0:.1f} s = "
          f"{len(rows) / (last - t0):,.0f} records/s (goal >= 10,000)")
    print(f"  latency Kafka send -> HBase write: p50 {statistics.median(lat) / 1000:.2f} s, "
          f"p99 {lat[int(0.99 * (len(lat) - 1))] / 1000:.2f} s, max {lat[-1] / 1000:.2f} s")
    print(f"  lost: {lost}")
    want = stream.overspeeding(recs).get(args.day, set())
    time.sleep(10)  # the last windows close after 5 idle seconds
    got = stream.overspeeding_in_redis(cluster, args.day)
    print(f"  Redis {args.day}: {len(got)} overspeeding windows, recomputed {len(want)}: "
          f"{'equal' if got == want else 'DIFFERENT'}")
    print(f"  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if lost == 0 and got == want else 1


if __name__ == "__main__":
    raise SystemExit(main())
