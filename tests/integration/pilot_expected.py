"""Independent pure-Python computation of the pilot's marts and analyses from the generated files.

Deliberately shares no code with bigdata_admin.pilot: it reads the raw files with str.split and
computes every subject the way PILOT.md §3-4 describes it.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

SHARP = {"L2", "L3", "R2", "R3"}


def adults(master: Path) -> dict[str, list[str]]:
    out = {}
    for line in master.read_text(encoding="utf-8").splitlines():
        f = line.split("|")
        if len(f) == 9 and int(f[2]) >= 18:
            out[f[0]] = f
    return out


def status_rows(path: Path, day: str) -> list[list[str]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            f = line.rstrip("\n").split(",")
            if len(f) == 13 and f[0][:8] == day and f[0].isdigit():
                rows.append(f)
    return rows


def drive_rows(path: Path, day: str) -> list[list[str]]:
    rows = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            f = line.rstrip("\n").split(",")
            if len(f) == 8 and f[0][:8] == day and f[0].isdigit():
                rows.append(f)
    return rows


def status_mart_count(status: list[list[str]], adult: dict[str, list[str]]) -> int:
    return sum(1 for f in status if f[1] in adult)


def drive_mart_count(drive: list[list[str]], adult: dict[str, list[str]]) -> int:
    return sum(1 for f in drive if f[1] in adult)


def symptoms(drive: list[list[str]],
             adult: dict[str, list[str]]) -> dict[str, tuple[float, str, float, str, int, str]]:
    acc: dict[str, list[int]] = defaultdict(list)
    brk: dict[str, list[int]] = defaultdict(list)
    sharp: dict[str, int] = defaultdict(int)
    for f in drive:
        if f[1] not in adult:
            continue
        acc[f[1]].append(int(f[2]))
        brk[f[1]].append(int(f[3]))
        sharp[f[1]] += f[4] in SHARP
    cars = sorted(acc)
    acc_avg = {c: sum(acc[c]) / len(acc[c]) for c in cars}
    brk_avg = {c: sum(brk[c]) / len(brk[c]) for c in cars}

    def labels(values: dict[str, float]) -> dict[str, str]:
        mean = sum(values.values()) / len(values)
        std = math.sqrt(sum((v - mean) ** 2 for v in values.values()) / len(values))
        return {c: "abnormal" if std > 0 and abs(v - mean) / std > 2 else "normal" for c, v in values.items()}

    la, lb = labels(acc_avg), labels(brk_avg)
    return {c: (acc_avg[c], la[c], brk_avg[c], lb[c], sharp[c], "abnormal" if sharp[c] > 2000 else "normal")
            for c in cars}


def z_scores(values: dict[str, float]) -> dict[str, float]:
    mean = sum(values.values()) / len(values)
    std = math.sqrt(sum((v - mean) ** 2 for v in values.values()) / len(values))
    return {c: (v - mean) / std if std else 0.0 for c, v in values.items()}


def emergencies(status: list[list[str]], adult: dict[str, list[str]]) -> dict[str, tuple]:
    per: dict[str, list[list[str]]] = defaultdict(list)
    for f in status:
        if f[1] in adult:
            per[f[1]].append(f)
    out = {}
    for car, rows in per.items():
        n = len(rows)
        tires = [sum(int(r[i]) for r in rows) / n for i in (2, 3, 4, 5)]
        light = sum(1 for r in rows if "2" in r[6:10])
        engine = sum(1 for r in rows if r[10] == "C")
        brake = sum(1 for r in rows if r[11] == "C")
        battery = sum(int(r[12]) for r in rows) / n
        checks = []
        if min(tires) < 80:
            checks.append("tire")
        if light:
            checks.append("light")
        if engine:
            checks.append("engine")
        if brake:
            checks.append("brake")
        if battery < 30:
            checks.append("battery")
        if checks:
            out[car] = (*tires, light, engine, brake, battery, " ".join(checks))
    return out


def purchases(buy: Path, month: str, adult: dict[str, list[str]]) -> tuple[int, dict[str, tuple[int, str]]]:
    rows = 0
    per: dict[str, list[str]] = defaultdict(list)
    for line in buy.read_text(encoding="utf-8").splitlines():
        f = line.split(",")
        if len(f) == 4 and f[3] == month and f[0] in adult:
            rows += 1
            per[f[0]].append(f[1])
    return rows, {c: (len(items), ",".join(sorted(set(items)))) for c, items in per.items()}


def area_speeds(drive: list[list[str]], adult: dict[str, list[str]]) -> dict[str, float]:
    tot: dict[str, list[int]] = defaultdict(list)
    for f in drive:
        if f[1] in adult:
            tot[f[7]].append(int(f[6]))
    return {a: sum(v) / len(v) for a, v in tot.items()}


def fastest_cars(drive: list[list[str]], adult: dict[str, list[str]]) -> dict[str, tuple[set[str], float]]:
    per: dict[tuple[str, str], list[int]] = defaultdict(list)
    for f in drive:
        if f[1] in adult:
            per[(f[7], f[1])].append(int(f[6]))
    best: dict[str, tuple[set[str], float]] = {}
    for (area, car), speeds in per.items():
        avg = sum(speeds) / len(speeds)
        if area not in best or avg > best[area][1] + 1e-9:
            best[area] = ({car}, avg)
        elif abs(avg - best[area][1]) <= 1e-9:
            best[area][0].add(car)
    return best
