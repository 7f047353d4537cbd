"""Parse the pilot's files: status log, driving log, car master and purchases.

Readers accept the book's own simulator files unchanged: header lines (the simulator prints one per
car thread) are skipped and counted; any other line that is not a valid record is counted as
malformed with its line number and reason, and reading goes on. Nothing is dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

STATUS_FIELDS = ("reg_date", "car_number", "tire_fl", "tire_fr", "tire_bl", "tire_br", "light_fl",
                 "light_fr", "light_bl", "light_br", "engine", "break", "battery")
DRIVE_FIELDS = ("date", "car_number", "speed_pedal", "break_pedal", "steer_angle", "direct_light", "speed",
                "area_number")
"""Driving-log fields, named as the HBase qualifiers of `DriverCarInfo` (the book's spelling)."""
MASTER_FIELDS = ("car_number", "sex", "age", "marriage", "region", "job", "car_capacity", "car_year",
                 "car_model")
BUY_FIELDS = ("car_number", "item", "score", "month")

_TIME = re.compile(r"^\d{14}$")
_CAR = re.compile(r"^(?:[A-Z]\d{4}|[0-9a-f]{12})$")  # or a pseudonym (pilot deidentify)
_RECORD_START = re.compile(r"^\d{14}")
HEADER_PREFIXES = ("SmartCar Status Information", "Driver Status Infomation", "Driver Status Information")
MAX_EXAMPLES = 20


@dataclass
class Malformed:
    line: int
    reason: str
    text: str


@dataclass
class ParseReport:
    """What a reader saw: records kept, headers skipped, malformed lines (all counted, some kept)."""

    source: str
    lines: int = 0
    records: int = 0
    headers: int = 0
    malformed: int = 0
    examples: list[Malformed] = field(default_factory=list)

    def bad(self, line_no: int, reason: str, text: str) -> None:
        self.malformed += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(Malformed(line_no, reason, text[:120]))

    def summary(self) -> str:
        text = (f"{self.source}: {self.records:,} records, {self.headers:,} header lines skipped, "
                f"{self.malformed:,} malformed")
        if self.examples:
            text += " (" + "; ".join(f"line {m.line}: {m.reason}" for m in self.examples[:5]) + ")"
        return text


def _int_in(value: str, lo: int, hi: int) -> bool:
    return value.isdigit() and lo <= int(value) <= hi


def check_status(fields: list[str]) -> str | None:
    """None when the 13 fields form a valid status record, else the reason."""
    if len(fields) != 13:
        return f"{len(fields)} fields, expected 13"
    if not _TIME.match(fields[0]):
        return "time is not yyyyMMddHHmmss"
    if not _CAR.match(fields[1]):
        return f"car number {fields[1]!r} is not a letter + 4 digits (or a 12-hex pseudonym)"
    for i in (2, 3, 4, 5):
        if not _int_in(fields[i], 0, 100):
            return f"{STATUS_FIELDS[i]} {fields[i]!r} is not 0-100"
    for i in (6, 7, 8, 9):
        if fields[i] not in ("1", "2"):
            return f"{STATUS_FIELDS[i]} {fields[i]!r} is not 1 or 2"
    for i in (10, 11):
        if fields[i] not in ("A", "B", "C"):
            return f"{STATUS_FIELDS[i]} {fields[i]!r} is not A, B or C"
    if not _int_in(fields[12], 0, 100):
        return f"battery {fields[12]!r} is not 0-100"
    return None


WHEELS = frozenset(("F", "L1", "L2", "L3", "R1", "R2", "R3"))
_AREA = re.compile(r"^[A-F](0[1-9]|10)$")


def check_drive(fields: list[str]) -> str | None:
    """None when the 8 fields form a valid driving record, else the reason."""
    if len(fields) != 8:
        return f"{len(fields)} fields, expected 8"
    if not _TIME.match(fields[0]):
        return "time is not yyyyMMddHHmmss"
    if not _CAR.match(fields[1]):
        return f"car number {fields[1]!r} is not a letter + 4 digits (or a 12-hex pseudonym)"
    if not _int_in(fields[2], 0, 5):
        return f"accelerator step {fields[2]!r} is not 0-5"
    if not _int_in(fields[3], 0, 3):
        return f"brake step {fields[3]!r} is not 0-3"
    if fields[4] not in WHEELS:
        return f"wheel {fields[4]!r} is not F/L1-L3/R1-R3"
    if fields[5] not in ("N", "L", "R"):
        return f"turn signal {fields[5]!r} is not N/L/R"
    if not _int_in(fields[6], 0, 250):
        return f"speed {fields[6]!r} is not 0-250"
    if not _AREA.match(fields[7]):
        return f"area {fields[7]!r} is not A01-F10"
    return None


def _log_lines(lines: Iterable[str], kind: str, report: ParseReport) -> Iterator[tuple[str, list[str]]]:
    check = check_status if kind == "status" else check_drive
    for number, raw in enumerate(lines, start=1):
        report.lines += 1
        line = raw.rstrip("\r\n")
        if not line.strip():
            report.bad(number, "empty line", line)
            continue
        if not _RECORD_START.match(line):
            if line.startswith(HEADER_PREFIXES):
                report.headers += 1
            else:
                report.bad(number, "does not start with a 14-digit time", line)
            continue
        fields = line.split(",")
        reason = check(fields)
        if reason:
            report.bad(number, reason, line)
            continue
        report.records += 1
        yield line, fields


def read_log(path: Path, kind: str, report: ParseReport | None = None) -> Iterator[tuple[str, list[str]]]:
    """(line, fields) of every valid record of a status ("status") or driving ("drive") log."""
    if kind not in ("status", "drive"):
        raise ValueError(f"kind must be 'status' or 'drive', not {kind!r}")
    report = report if report is not None else ParseReport(str(path))
    with Path(path).open(encoding="utf-8", errors="replace", newline="") as f:
        yield from _log_lines(f, kind, report)


def parse_log_lines(lines: Iterable[str], kind: str, report: ParseReport) -> Iterator[tuple[str, list[str]]]:
    """Like read_log() over lines already in memory (tests, Kafka replays)."""
    yield from _log_lines(lines, kind, report)


def read_delimited(path: Path, sep: str, width: int, report: ParseReport | None = None,
                   header_startswith: tuple[str, ...] = ()) -> Iterator[list[str]]:
    """Rows of a `sep`-separated file with exactly `width` fields (master, purchases, income)."""
    report = report if report is not None else ParseReport(str(path))
    with Path(path).open(encoding="utf-8", errors="replace", newline="") as f:
        for number, raw in enumerate(f, start=1):
            report.lines += 1
            line = raw.rstrip("\r\n")
            if header_startswith and line.startswith(header_startswith):
                report.headers += 1
                continue
            fields = line.split(sep)
            if len(fields) != width or not _CAR.match(fields[0]):
                report.bad(number, f"{len(fields)} fields or a bad car number (expected {width})", line)
                continue
            report.records += 1
            yield fields


def read_master(path: Path, report: ParseReport | None = None) -> Iterator[list[str]]:
    return read_delimited(path, "|", 9, report)


def read_buy_list(path: Path, report: ParseReport | None = None) -> Iterator[list[str]]:
    return read_delimited(path, ",", 4, report)


def hbase_row_key(time14: str, car: str) -> str:
    """The book's row key: the 14-digit time reversed, `-`, the car number (spreads writes)."""
    return f"{time14[::-1]}-{car}"


def hbase_row(fields: list[str]) -> tuple[bytes, dict[bytes, bytes]]:
    """A driving record as the Storm topology stores it in `DriverCarInfo` (family cf1, string values)."""
    key = hbase_row_key(fields[0], fields[1]).encode()
    return key, {f"cf1:{name}".encode(): value.encode() for name, value in zip(DRIVE_FIELDS, fields,
                                                                               strict=True)}


def drive_info_text_line(fields: list[str]) -> str:
    """A driving record as a row of the text stand-in for the HBase-backed `SmartCar_Drive_Info`.

    Columns: r_key, r_date, car_number, speed_pedal, break_pedal, steer_angle, direct_light, speed,
    area_number (what the HBase table maps to), comma-separated.
    """
    return ",".join([hbase_row_key(fields[0], fields[1]), *fields]) + "\n"


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of at most `size` consecutive items."""
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
