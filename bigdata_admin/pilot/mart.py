"""Build the pilot's five subject marts by running the packaged HiveQL over HiveServer2.

The statements live in `bigdata_admin/pilot/sql/*.sql`, parameterised with `${working_day}`,
`${working_month}` and `${pilot_root}`. They run unchanged on HiveServer2 and on the Spark Thrift
Server (PILOT.md §6); the only engine-specific file is the DDL of `SmartCar_Drive_Info` (HBase-backed
on Hive, a text table with the same columns elsewhere). Every subject's insert overwrites only that
day's (or month's) partition, so re-running a day replaces it.

Session rules of the HiveServer2 protocol kept here: one statement per execute, `fetchall()` only
after statements that return rows, every cursor closed.
"""

from __future__ import annotations

import contextlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

from bigdata_admin.errors import BadInput, RunFailed
from bigdata_admin.pilot.generate import parse_day

ENGINES = ("hive", "spark")
DEFAULT_PILOT_ROOT = "/pilot-pjt"


@dataclass(frozen=True)
class Subject:
    name: str
    files: tuple[str, ...]
    table: str
    """The mart table whose rows are counted afterwards ("" for none)."""
    period: str = "day"
    title: str = ""


SUBJECTS: tuple[Subject, ...] = (
    Subject("tables", ("00_tables.sql", "00_drive_info_{engine}.sql"), "", title="external tables"),
    Subject("status", ("01_status.sql",), "Managed_SmartCar_Status_Info", title="car status"),
    Subject("drive", ("02_drive.sql",), "Managed_SmartCar_Drive_Info", title="driving"),
    Subject("symptom", ("03_symptom.sql",), "Managed_SmartCar_Symptom_Info", title="driving symptoms"),
    Subject("emergency", ("04_emergency.sql",), "Managed_SmartCar_Emergency_Check_Info",
            title="emergency checks"),
    Subject("buylist", ("05_item_buylist.sql",), "Managed_SmartCar_Item_BuyList_Info", period="month",
            title="item purchases"),
)
SUBJECT_NAMES = tuple(s.name for s in SUBJECTS)
_DRIVE_DDL = {"hive": "hbase", "spark": "text"}
DRIVE_TABLES = ("hbase", "text")
"""How SmartCar_Drive_Info is defined: over the HBase table DriverCarInfo (Hive's HBaseStorageHandler;
Hive's default) or as text files under PILOT_ROOT (`pilot load --to drive-text`; Spark's default, as
Spark has no STORED BY)."""
HBASE_HANDLER = "org.apache.hadoop.hive.hbase.HBaseStorageHandler"
_PARAM = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def sql_text(name: str) -> str:
    """A packaged SQL file, e.g. "03_symptom.sql" or "analysis/fastest_car.sql"."""
    node = resources.files("bigdata_admin.pilot").joinpath("sql")
    for part in name.split("/"):
        node = node.joinpath(part)
    return node.read_text(encoding="utf-8")


def render(sql: str, params: Mapping[str, object]) -> str:
    """Replace every `${name}`; a name without a value is an error (never run half-rendered SQL)."""
    missing = sorted({m.group(1) for m in _PARAM.finditer(sql)} - set(params))
    if missing:
        raise BadInput(f"SQL parameter(s) without a value: {', '.join(missing)}",
                       fix="Pass them (working_day, working_month, pilot_root, ...).")
    return _PARAM.sub(lambda m: str(params[m.group(1)]), sql)


def split_statements(sql: str) -> list[str]:
    """Statements of a script: `--` comments dropped, split on `;` outside quotes."""
    statements: list[str] = []
    current: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(sql):
        ch = sql[i]
        if quote:
            current.append(ch)
            if ch == "\\" and i + 1 < len(sql):
                current.append(sql[i + 1])
                i += 1
            elif ch == quote:
                quote = None
        elif ch in ("'", '"', "`"):
            quote = ch
            current.append(ch)
        elif ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = len(sql) if end < 0 else end
            continue
        elif ch == ";":
            statements.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
        i += 1
    statements.append("".join(current).strip())
    return [s for s in statements if s]


def params_for(day: str, pilot_root: str = DEFAULT_PILOT_ROOT, **extra: object) -> dict[str, object]:
    parse_day(day)
    root = pilot_root.rstrip("/") or "/"
    return {"working_day": day, "working_month": day[:6], "pilot_root": root, **extra}


def subject_statements(subject: Subject, engine: str, params: Mapping[str, object],
                       drive_table: str | None = None) -> list[str]:
    """The rendered statements of `subject`; `drive_table` (DRIVE_TABLES) overrides the engine's
    SmartCar_Drive_Info. Raises BadInput for an unknown engine or drive table."""
    if engine not in ENGINES:
        raise BadInput(f"engine {engine!r} is not one of {', '.join(ENGINES)}",
                       fix="Use --engine hive (HiveServer2) or --engine spark (Spark Thrift Server).")
    drive = drive_table or _DRIVE_DDL[engine]
    if drive not in DRIVE_TABLES:
        raise BadInput(f"drive table {drive!r} is not one of {', '.join(DRIVE_TABLES)}",
                       fix="Use --drive-table hbase (Hive only) or --drive-table text.")
    out: list[str] = []
    for name in subject.files:
        out.extend(split_statements(render(sql_text(name.format(engine=drive)), params)))
    return out


def missing_handler(exc: BaseException) -> bool:
    """Whether a failed statement's error says the server cannot load Hive's HBase storage handler."""
    text = str(exc)
    signs = ("ClassNotFoundException", "Cannot find class", "not found", "NoClassDefFoundError")
    return HBASE_HANDLER in text and any(s in text for s in signs)


_ROW_STATEMENTS = ("SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN")


def returns_rows(statement: str) -> bool:
    """Whether a statement yields a result set (a query), judged by its first keyword."""
    words = statement.lstrip("( \n\t").split(None, 1)
    return bool(words) and words[0].upper() in _ROW_STATEMENTS


def execute(conn: Any, statement: str) -> list[tuple[Any, ...]]:
    """Run one statement on a fresh cursor; fetch rows only after queries.

    The Spark Thrift Server describes a one-column result for DDL/DML, and fetching it raises
    IndexError in impyla although the statement succeeded: never fetch after DDL/DML.
    """
    cur = conn.cursor()
    try:
        cur.execute(statement)
        if cur.description is None or not returns_rows(statement):
            return []
        return [tuple(r) for r in cur.fetchall()]
    finally:
        with contextlib.suppress(Exception):
            cur.close()


def query(conn: Any, statement: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and rows of a SELECT."""
    cur = conn.cursor()
    try:
        cur.execute(statement)
        columns = [d[0].split(".")[-1] for d in (cur.description or [])]
        rows = [tuple(r) for r in cur.fetchall()] if cur.description else []
        return columns, rows
    finally:
        with contextlib.suppress(Exception):
            cur.close()


@dataclass
class SubjectResult:
    name: str
    table: str
    statements: int
    rows: int | None
    seconds: float


def build(conn: Any, day: str, *, engine: str = "hive", pilot_root: str = DEFAULT_PILOT_ROOT,
          subjects: Sequence[str] | None = None,
          progress: Callable[[str, SubjectResult | None], None] | None = None,
          drive_table: str | None = None) -> list[SubjectResult]:
    """Create the tables and build the marts for `day`, one subject at a time, in dependency order.

    `drive_table`: "hbase" or "text" (DRIVE_TABLES), default the engine's. Raises BadInput (unknown
    subject, engine or drive table) and RunFailed (a statement failed; naming a missing HBase storage
    handler and the way around it)."""
    wanted = list(subjects) if subjects else list(SUBJECT_NAMES)
    unknown = set(wanted) - set(SUBJECT_NAMES)
    if unknown:
        raise BadInput(f"unknown subject(s): {', '.join(sorted(unknown))}",
                       fix=f"Choose among {', '.join(SUBJECT_NAMES)}.")
    params = params_for(day, pilot_root)
    results: list[SubjectResult] = []
    for subject in SUBJECTS:
        if subject.name not in wanted:
            continue
        if progress:
            progress(subject.name, None)
        t0 = time.perf_counter()
        statements = subject_statements(subject, engine, params, drive_table)
        for statement in statements:
            try:
                execute(conn, statement)
            except Exception as exc:
                first = " ".join(statement.split())[:160]
                if missing_handler(exc):
                    raise RunFailed(
                        f"subject {subject.name}: the server cannot load {HBASE_HANDLER}, so "
                        f"SmartCar_Drive_Info cannot be defined over HBase: {exc}",
                        fix="Hive 4 publishes no hive-hbase-handler on Maven Central, so the Maven bundle "
                            "has none: use a Hive whose lib/ has it (the release tarball, "
                            "hive_install_source: apache), or build the marts over the text copy "
                            "(`pilot load --to drive-text`, then `pilot mart --drive-table text`)."
                    ) from exc
                raise RunFailed(f"subject {subject.name}: statement failed: {first}...: {exc}",
                                fix="Read the server's message above; check that `pilot load` put the "
                                    "day's files in place and that the day is right.") from exc
        rows = None
        if subject.table:
            part = "biz_month" if subject.period == "month" else "biz_date"
            value = params["working_month"] if subject.period == "month" else day
            rows = int(execute(conn, f"SELECT count(*) FROM {subject.table} WHERE {part} = '{value}'")[0][0])
        result = SubjectResult(subject.name, subject.table, len(statements), rows,
                               round(time.perf_counter() - t0, 2))
        results.append(result)
        if progress:
            progress(subject.name, result)
    return results
