"""Export the day's symptom mart to PostgreSQL (PILOT.md §4: the book's Sqoop step).

Reads `Managed_SmartCar_Symptom_Info` for one day through a HiveServer2-protocol connection (HiveServer2,
the Spark Thrift Server or the `--local` one), then in ONE PostgreSQL transaction: creates the target
table when missing (typed columns, primary key (biz_date, car_number)), deletes that day's rows and
inserts the day's rows in batches. Re-running a day replaces that day only; other days are never
touched and nothing is ever dropped. Concurrent exports to one table wait for each other (a
transaction-scoped advisory lock).

The target is a `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB` URL, or by default the inventory's
`metastore_db` host with the pilot's database and user that the postgresql role creates (password from
the control host's secrets directory). Passwords are never printed: `Target.display` and `redact()`
leave them out.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from bigdata_admin.errors import BadInput, RunFailed
from bigdata_admin.pilot import mart
from bigdata_admin.pilot.generate import parse_day

if TYPE_CHECKING:
    from bigdata_admin.inventory import Cluster

SOURCE_TABLE = "Managed_SmartCar_Symptom_Info"
DEFAULT_TABLE = "managed_smartcar_symptom_info"
DEFAULT_DB = "pilot"
DEFAULT_USER = "pilot"
PASSWORD_SECRET = "pilot_db_password"
"""File name of the generated password in the cluster's secrets directory (role postgresql)."""
BATCH_ROWS = 500
DEPLOY = "`bigdata-admin deploy -i INV --tags postgresql`"
REBUILD = "Rebuild the symptom mart (`bigdata-admin pilot mart --subjects symptom`)."
CONNECT_TIMEOUT_S = 10

COLUMNS: tuple[tuple[str, str], ...] = (
    ("biz_date", "date NOT NULL"),
    ("car_number", "text NOT NULL"),
    ("speed_p_avg", "double precision"),
    ("speed_p_symptom_score", "text"),
    ("break_p_avg", "double precision"),
    ("break_p_symptom_score", "text"),
    ("steer_a_cnt", "bigint"),
    ("steer_p_symptom_score", "text"),
)
"""Target columns and PostgreSQL types, in insert order: the mart's columns with biz_date first."""
MART_COLUMNS = tuple(name for name, _ in COLUMNS[1:])
_IDENT = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_NOT_FOUND = re.compile(r"TABLE_OR_VIEW_NOT_FOUND|Table not found|cannot be found|does not exist",
                        re.IGNORECASE)


# ---- the target ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    """Where rows go. `password` None: libpq's own (PGPASSWORD, ~/.pgpass)."""

    host: str
    port: int
    dbname: str
    user: str
    password: str | None = field(default=None, repr=False)
    options: tuple[tuple[str, str], ...] = ()
    """Extra libpq parameters from the URL's query (e.g. sslmode=require)."""

    @property
    def display(self) -> str:
        """`postgresql://user@host:port/db`, never the password."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"postgresql://{self.user}@{host}:{self.port}/{self.dbname}"

    def connect_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"host": self.host, "port": self.port, "dbname": self.dbname,
                                  "user": self.user, "connect_timeout": CONNECT_TIMEOUT_S}
        if self.password is not None:
            kwargs["password"] = self.password
        kwargs.update(dict(self.options))
        return kwargs


_URL_FIX = ("Pass e.g. --url postgresql://pilot:PASSWORD@10.0.0.5:5432/pilot (user, host and database "
            "required).")


def parse_url(url: str) -> Target:
    """A `postgresql://USER[:PASSWORD]@HOST[:PORT]/DB[?param=value...]` URL as a Target (port 5432 by
    default; user and password percent-decoded). Raises BadInput naming what is wrong, with the URL
    redacted."""
    shown = redact(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise BadInput(f"--url {shown} is not a PostgreSQL URL: {exc}", fix=_URL_FIX) from None
    if parts.scheme not in ("postgresql", "postgres"):
        raise BadInput(f"--url {shown} is not a PostgreSQL URL (scheme {parts.scheme or 'missing'!r})",
                       fix=_URL_FIX)
    dbname = unquote(parts.path.lstrip("/"))
    missing = [what for what, value in (("user", parts.username), ("host", parts.hostname),
                                        ("database", dbname)) if not value]
    if missing:
        raise BadInput(f"--url {shown} has no {' and no '.join(missing)}", fix=_URL_FIX)
    assert parts.hostname is not None and parts.username is not None
    password = unquote(parts.password) if parts.password is not None else None
    options = tuple(parse_qsl(parts.query, keep_blank_values=True))
    return Target(parts.hostname, port or 5432, dbname, unquote(parts.username), password, options)


def redact(url: str) -> str:
    """The URL with any password replaced by `***` (also for URLs that do not parse)."""
    # Greedy to the last `@`: a password holding `@` or `/` is hidden too (at worst, more is hidden).
    return re.sub(r"(://[^/@:]*):.*@", r"\1:***@", url)


def inventory_target(cluster: Cluster) -> Target:
    """The pilot database on the inventory's first `metastore_db` host: database `postgresql_pilot_db`,
    user `postgresql_pilot_user` (defaults pilot/pilot), port `metastore_db_port`, the password the
    postgresql role generated (`postgresql_pilot_password_file`, default SECRETS/pilot_db_password).
    Raises BadInput (no such host, or the password was never generated)."""
    from bigdata_admin.health.core import address, port, read_secret

    host = cluster.first("metastore_db")
    if host is None:
        raise BadInput("the inventory has no metastore_db host, so no default target database",
                       fix="Pass --url postgresql://USER:PASSWORD@HOST:PORT/DB, or add a metastore_db host "
                           f"and deploy the postgresql role ({DEPLOY}).")
    dbname = _plain(cluster.var("postgresql_pilot_db"), DEFAULT_DB)
    user = _plain(cluster.var("postgresql_pilot_user"), DEFAULT_USER)
    password_file = _plain(cluster.var("postgresql_pilot_password_file"), "")
    if password_file:
        from pathlib import Path

        try:
            text = Path(password_file).expanduser().read_text(encoding="utf-8")
            password: str | None = text.strip() or None
        except OSError:
            password = None
    else:
        password = read_secret(cluster, PASSWORD_SECRET)
    if password is None:
        where = password_file or f"{PASSWORD_SECRET} in the cluster's secrets directory"
        raise BadInput(f"the pilot database's password was never generated ({where})",
                       fix=f"Deploy the postgresql role ({DEPLOY}), or pass --url.")
    return Target(address(host), port(cluster, "metastore_db_port", host), dbname, user, password)


def _plain(value: Any, default: str) -> str:
    """An inventory value that is set and not a template, else `default`."""
    return str(value) if value not in (None, "") and "{{" not in str(value) else default


# ---- SQL text ------------------------------------------------------------------------------------

def check_table_name(table: str) -> str:
    """`table` or `schema.table`, each part a lower-case SQL identifier. Raises BadInput."""
    parts = table.split(".")
    if len(parts) > 2 or not all(_IDENT.fullmatch(p) for p in parts):
        raise BadInput(f"table name {table!r} is not [schema.]name in lower-case letters, digits and _",
                       fix=f"Use e.g. {DEFAULT_TABLE} or pilot.{DEFAULT_TABLE}.")
    return table


def _quoted(table: str) -> str:
    return ".".join(f'"{p}"' for p in check_table_name(table).split("."))


def create_table_sql(table: str = DEFAULT_TABLE) -> str:
    """CREATE TABLE IF NOT EXISTS with typed columns and PRIMARY KEY (biz_date, car_number)."""
    cols = ",\n  ".join(f"{name} {kind}" for name, kind in COLUMNS)
    return (f"CREATE TABLE IF NOT EXISTS {_quoted(table)} (\n  {cols},\n"
            "  PRIMARY KEY (biz_date, car_number)\n)")


def delete_sql(table: str = DEFAULT_TABLE) -> str:
    """Delete one day's rows (parameter: the day as a date)."""
    return f"DELETE FROM {_quoted(table)} WHERE biz_date = %s"


def insert_sql(rows: int, table: str = DEFAULT_TABLE) -> str:
    """A multi-row INSERT of `rows` rows (psycopg `%s` placeholders, len(COLUMNS) per row)."""
    if rows < 1:
        raise ValueError("an INSERT needs at least one row")
    one = "(" + ", ".join(["%s"] * len(COLUMNS)) + ")"
    names = ", ".join(name for name, _ in COLUMNS)
    return f"INSERT INTO {_quoted(table)} ({names}) VALUES " + ", ".join([one] * rows)


def count_sql(table: str = DEFAULT_TABLE) -> str:
    return f"SELECT count(*) FROM {_quoted(table)} WHERE biz_date = %s"


def lock_sql() -> str:
    """A transaction-scoped advisory lock per table (parameter: the table name)."""
    return "SELECT pg_advisory_xact_lock(hashtext('bigdata-admin pilot export ' || %s))"


def source_sql(day: str) -> str:
    """The day's rows of the symptom mart, in the order of MART_COLUMNS."""
    parse_day(day)
    return (f"SELECT {', '.join(MART_COLUMNS)} FROM {SOURCE_TABLE} "
            f"WHERE biz_date = '{day}' ORDER BY car_number")


def to_row(day: date, row: Sequence[Any]) -> tuple[Any, ...]:
    """A mart row (MART_COLUMNS; servers may hand numbers back as strings) as typed target values.
    Raises RunFailed for a row of the wrong shape or a value of the wrong type."""
    if len(row) != len(MART_COLUMNS):
        raise RunFailed(f"the mart returned {len(row)} columns, expected {len(MART_COLUMNS)}",
                        fix=REBUILD)
    car, speed, speed_s, brake, brake_s, steer, steer_s = row
    if car is None or str(car) == "":
        raise RunFailed("the mart returned a row without a car number", fix=REBUILD)
    try:
        return (day, str(car), _num(speed, float), _text(speed_s), _num(brake, float), _text(brake_s),
                _num(steer, int), _text(steer_s))
    except (TypeError, ValueError) as exc:
        raise RunFailed(f"mart row of car {car!r} has a value of the wrong type: {exc}",
                        fix=REBUILD) from None


def _num(value: Any, kind: type[float] | type[int]) -> float | int | None:
    if value is None:
        return None
    if kind is int and isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{value!r} is not a whole number")
        return int(value)
    return kind(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def batches(rows: Sequence[tuple[Any, ...]], size: int = BATCH_ROWS) -> list[Sequence[tuple[Any, ...]]]:
    """`rows` cut into consecutive batches of at most `size`."""
    if size < 1:
        raise ValueError("batch size must be at least 1")
    return [rows[i:i + size] for i in range(0, len(rows), size)]


# ---- the export ----------------------------------------------------------------------------------

@dataclass
class ExportResult:
    day: str
    source: str
    target: str
    """The target URL without the password."""
    table: str
    rows_read: int
    rows_deleted: int
    """Rows of that day the table held before (replaced)."""
    rows_inserted: int
    rows_now: int
    """Rows of that day in the table after the commit."""
    read_seconds: float
    write_seconds: float
    seconds: float


def read_mart(conn: Any, day: str) -> list[tuple[Any, ...]]:
    """The day's symptom rows (MART_COLUMNS order) over a HiveServer2-protocol connection.

    Raises BadInput when the mart table is missing or has no rows for the day (fix: build it), and
    RunFailed for another server error."""
    from bigdata_admin.health.core import java_error

    fix = f"Build the marts of that day first: `bigdata-admin pilot mart --day {day}` (--local if local)."
    try:
        _, rows = mart.query(conn, source_sql(day))
    except Exception as exc:
        if _NOT_FOUND.search(str(exc)):
            raise BadInput(f"the symptom mart {SOURCE_TABLE} does not exist on this server",
                           fix=fix) from None
        raise RunFailed(f"reading {SOURCE_TABLE} failed: {java_error(str(exc))}",
                        fix="Read the server's message; check that the SQL server is up "
                            "(`bigdata-admin status -i INV`).") from None
    if not rows:
        raise BadInput(f"the symptom mart {SOURCE_TABLE} has no rows for {day}", fix=fix)
    return rows


def connect(target: Target) -> Any:
    """A psycopg connection to `target` (not autocommit). Raises BadInput when the database cannot be
    reached or refuses the login; the message names the target without its password."""
    import psycopg

    from bigdata_admin.health.core import short_error

    try:
        return psycopg.connect(**target.connect_kwargs())
    except psycopg.Error as exc:
        raise BadInput(f"cannot connect to {target.display}: {short_error(exc)}",
                       fix="Check the URL, that PostgreSQL listens there and that pg_hba.conf admits this "
                           "host (the postgresql role admits the control host and the inventory's hosts; "
                           f"deploy it with {DEPLOY}).") from None


def check_target(target: Target) -> None:
    """Connect once and disconnect: a bad target fails before the mart is read. Raises as connect()."""
    connect(target).close()


def write_day(target: Target, day: str, rows: Sequence[tuple[Any, ...]], *, table: str = DEFAULT_TABLE,
              batch_rows: int = BATCH_ROWS) -> tuple[int, int, int]:
    """Replace `day`'s rows of `table` with `rows` (MART_COLUMNS order) in one transaction, creating
    the table when missing. Returns (deleted, inserted, rows of the day now). Raises BadInput when the
    database cannot be reached or refuses the login, RunFailed when a statement fails (nothing is
    changed then: the transaction rolls back)."""
    import psycopg

    from bigdata_admin.health.core import short_error

    when = parse_day(day)
    check_table_name(table)
    values = [to_row(when, r) for r in rows]
    conn = connect(target)
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute(lock_sql(), (table,))
            cur.execute(create_table_sql(table))
            cur.execute(delete_sql(table), (when,))
            deleted = cur.rowcount
            inserted = 0
            for batch in batches(values, batch_rows):
                cur.execute(insert_sql(len(batch), table), [v for row in batch for v in row])
                inserted += cur.rowcount
            cur.execute(count_sql(table), (when,))
            found = cur.fetchone()
            now = int(found[0]) if found else 0
    except psycopg.Error as exc:
        raise RunFailed(f"export to {target.display} table {table} failed and was rolled back: "
                        f"{short_error(exc)}",
                        fix="Read the database's message; the table's earlier rows are unchanged.") from None
    finally:
        conn.close()
    return deleted, inserted, now


def export_day(conn: Any, target: Target, day: str, *, source: str = "", table: str = DEFAULT_TABLE,
               batch_rows: int = BATCH_ROWS) -> ExportResult:
    """Read `day` from the symptom mart over `conn` and replace that day in PostgreSQL (write_day).
    `source` names the SQL endpoint in the result. Errors as read_mart and write_day."""
    parse_day(day)
    check_table_name(table)
    t0 = time.perf_counter()
    rows = read_mart(conn, day)
    t1 = time.perf_counter()
    deleted, inserted, now = write_day(target, day, rows, table=table, batch_rows=batch_rows)
    t2 = time.perf_counter()
    return ExportResult(day, source, target.display, table, len(rows), deleted, inserted, now,
                        round(t1 - t0, 2), round(t2 - t1, 2), round(t2 - t0, 2))
