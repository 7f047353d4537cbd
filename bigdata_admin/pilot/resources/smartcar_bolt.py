#!/usr/bin/env python3
"""The smart-car stream's Storm bolt (multilang: Storm runs it as `python3 smartcar_bolt.py` on a
supervisor, talking JSON over stdin/stdout through Storm's own `storm.py`).

For each driving-log line from the Kafka spout (fields topic, partition, offset, key, value):
- emits `[rowkey, date, car_number, speed_pedal, break_pedal, steer_angle, direct_light, speed,
  area_number]` anchored to the input, for HBaseBolt to write into `DriverCarInfo` (row key = the
  14-digit time reversed, `-`, the car number: PILOT.md section 2);
- adds the speed to the car's 30-second tumbling window in event time, aligned to the clock
  (00:00:00-00:00:29, 00:00:30-00:00:59, ...). A window closes when a record of a later window
  arrives from the same Kafka partition (the partition is in time order: see `Windows`), or when the
  partition sent nothing for `smartcar.window.idle.s` seconds (checked on tick tuples; the end of a
  log). A closed window whose average speed is above `smartcar.speed.limit`
  becomes `SADD <yyyyMMdd> "<car>-<window start yyyyMMddHHmmss>"` in Redis, with a
  `smartcar.redis.expire.s` expiry on the day's set. The member names the car whose window matched
  (the book's bolt names the next car to arrive).

Input tuples are acked only when their window closes: a topology killed mid-window replays the
whole open window from Kafka on its next start, so nothing is lost and the Redis set (a set) and the
HBase rows (one per row key) take no duplicates. Malformed lines are logged and acked.

This file is plain Python 3 with redis-py (Debian's python3-redis), shipped in the topology jar's
`resources/`; `Windows` has no Storm dependency.
"""

from __future__ import annotations

import sys
import time

FIELDS = ("date", "car_number", "speed_pedal", "break_pedal", "steer_angle", "direct_light", "speed",
          "area_number")


def window_of(time14: str, length_s: int) -> tuple[str, int]:
    """(yyyyMMdd, window index within that day) of a `yyyyMMddHHmmss` time; `length_s` divides 86400."""
    secs = int(time14[8:10]) * 3600 + int(time14[10:12]) * 60 + int(time14[12:14])
    return time14[:8], secs // length_s


def window_start(day: str, index: int, length_s: int) -> str:
    """The `yyyyMMddHHmmss` start of window `index` of `day`."""
    secs = index * length_s
    return f"{day}{secs // 3600:02d}{secs % 3600 // 60:02d}{secs % 60:02d}"


class Windows:
    """Open tumbling windows, one per car, grouped by the Kafka partition its records come from.

    A partition carries the log in time order (it is sent in time order, keyed by car), and Storm keeps
    the order from one task to the next, so the newest window seen from a partition is its watermark: a
    record of window k from partition p closes every open window of p before k, whose cars have nothing
    more to come. A record older than the watermark starts a new replay of a log (a day sent again, or
    an earlier day after a later one): every open window of that partition closes first. The last
    windows of a partition close when it has sent nothing for `idle_s` seconds (`close_idle`, on tick
    tuples). A record of a window already closed by `close_idle` is late: acked, not counted.
    """

    def __init__(self, length_s: int = 30, limit: float = 80.0) -> None:
        self.length_s = length_s
        self.limit = limit
        self.open: dict[object, dict[str, list]] = {}  # partition -> car -> [day, index, sum, count, tokens]
        self.mark: dict[object, tuple[str, int]] = {}  # partition -> newest (day, index) seen
        self.heard: dict[object, float] = {}  # partition -> last arrival (processing time)
        self.done: dict[object, dict[str, tuple[str, int]]] = {}  # partition -> car -> last closed window

    def _close(self, partition: object, car: str, w: list) -> tuple[str | None, str | None, list]:
        day, index, total, count, tokens = w
        self.done.setdefault(partition, {})[car] = (day, index)
        hit = total / count > self.limit
        return (day if hit else None, f"{car}-{window_start(day, index, self.length_s)}" if hit else None,
                tokens)

    def add(self, car: str, time14: str, speed: int, token: object, partition: object = 0,
            now: float | None = None) -> list[tuple[str | None, str | None, list]]:
        """Add a record; returns the windows it closed as (day or None, member or None, tokens):
        day and member are set when the window's average speed is above the limit."""
        key = window_of(time14, self.length_s)
        self.heard[partition] = time.monotonic() if now is None else now
        part = self.open.setdefault(partition, {})
        closed = []
        mark = self.mark.get(partition)
        if mark is None or key != mark:
            if mark is not None and key < mark:  # a replay starts: what was open belongs to the last one
                closed += [self._close(partition, c, part.pop(c)) for c in list(part)]
                self.done[partition] = {}
            else:
                closed += [self._close(partition, c, part.pop(c)) for c, w in list(part.items())
                           if (w[0], w[1]) < key]
            self.mark[partition] = key
        w = part.get(car)
        if w is None and self.done.get(partition, {}).get(car, ("", -1)) >= key:
            closed.append((None, None, [token]))  # late: its window was closed by close_idle
            return closed
        if w is None:
            w = part[car] = [key[0], key[1], 0, 0, []]
        w[2] += speed
        w[3] += 1
        w[4].append(token)
        return closed

    def close_idle(self, idle_s: float,
                   now: float | None = None) -> list[tuple[str | None, str | None, list]]:
        """Close the windows of partitions that sent nothing for `idle_s` seconds (processing time)."""
        now = time.monotonic() if now is None else now
        closed = []
        for partition, part in self.open.items():
            if part and now - self.heard.get(partition, now) >= idle_s:
                closed += [self._close(partition, car, part.pop(car)) for car in list(part)]
        return closed

    @property
    def pending(self) -> int:
        """Open windows."""
        return sum(len(p) for p in self.open.values())


def main() -> None:  # pragma: no cover - runs under Storm (tests/integration/test_stream_lab.py)
    import json

    import redis
    import storm  # resources/storm.py of org.apache.storm:multilang-python

    conf, _context = storm.initComponent()
    length_s = int(conf.get("smartcar.window.s", 30))
    windows = Windows(length_s, float(conf.get("smartcar.speed.limit", 80)))
    idle_s = float(conf.get("smartcar.window.idle.s", 10))
    expire_s = int(conf.get("smartcar.redis.expire.s", 7 * 24 * 3600))
    db = redis.Redis(host=conf["smartcar.redis.host"], port=int(conf.get("smartcar.redis.port", 6379)),
                     password=conf.get("smartcar.redis.password") or None, socket_timeout=10)
    out = sys.stdout

    def send(msg: dict) -> None:
        out.write(json.dumps(msg))
        out.write("\nend\n")

    def finish(closed: list) -> None:
        hits = [(day, member) for day, member, _ in closed if member]
        if hits:
            pipe = db.pipeline(transaction=False)
            for day, member in hits:
                pipe.sadd(day, member)
                pipe.expire(day, expire_s)
            pipe.execute()
        for _, _, tokens in closed:
            for token in tokens:
                send({"command": "ack", "id": token})

    bad = 0
    while True:
        tup = storm.readTuple()
        if tup.is_heartbeat_tuple():
            storm.sync()
            continue
        if tup.stream == "__tick":
            finish(windows.close_idle(idle_s))
            send({"command": "ack", "id": tup.id})
            out.flush()
            continue
        value = tup.values[4] if len(tup.values) > 4 else ""
        fields = str(value or "").strip().split(",")
        if len(fields) != 8 or len(fields[0]) != 14 or not fields[0].isdigit() or not fields[6].isdigit():
            bad += 1
            if bad <= 10 or bad % 1000 == 0:
                storm.logWarn(f"smartcar: skipped malformed record #{bad}: {str(value)[:120]!r}")
            send({"command": "ack", "id": tup.id})
            out.flush()
            continue
        send({"command": "emit", "anchors": [tup.id], "tuple": [f"{fields[0][::-1]}-{fields[1]}", *fields],
              "need_task_ids": False})
        finish(windows.add(fields[1], fields[0], int(fields[6]), tup.id, partition=tup.values[1]))
        out.flush()


if __name__ == "__main__":  # pragma: no cover
    main()
