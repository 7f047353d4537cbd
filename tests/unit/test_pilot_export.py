"""`pilot export`'s pure parts: the target URL (parsed, the password never shown), the SQL it sends, the
rows it converts, and the CLI's bad input (exit 2 with the problem and the fix, before any server)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bigdata_admin.cli import app
from bigdata_admin.errors import BadInput, RunFailed
from bigdata_admin.pilot import export

SECRET = "s3cr%2Ft@pw"  # percent-encoded "/" and a literal "@"


def test_parse_url_reads_every_part_and_decodes_the_password() -> None:
    t = export.parse_url(f"postgresql://pilot:{SECRET}@10.0.0.5:6543/pilot_db?sslmode=require")
    assert (t.host, t.port, t.dbname, t.user) == ("10.0.0.5", 6543, "pilot_db", "pilot")
    assert t.password == "s3cr/t@pw"
    assert t.options == (("sslmode", "require"),)
    kwargs = t.connect_kwargs()
    assert kwargs["sslmode"] == "require" and kwargs["password"] == "s3cr/t@pw" and kwargs["port"] == 6543


def test_parse_url_defaults_port_and_leaves_password_to_libpq() -> None:
    t = export.parse_url("postgres://u@db.example/d")
    assert (t.port, t.password) == (5432, None)
    assert "password" not in t.connect_kwargs()


def test_display_and_repr_never_show_the_password() -> None:
    t = export.parse_url(f"postgresql://pilot:{SECRET}@h:5432/pilot")
    assert t.display == "postgresql://pilot@h:5432/pilot"
    assert "s3cr" not in repr(t) and "s3cr" not in t.display


@pytest.mark.parametrize("url", [
    "postgresql://pilot:hunter2@h:5432/db",
    "postgresql://pilot:hun/ter@2@h/db",
    "postgresql://pilot:hunter2@h:notaport/db",
])
def test_redact_hides_the_password(url: str) -> None:
    shown = export.redact(url)
    assert "hunter" not in shown and "hun/ter" not in shown
    assert shown.startswith("postgresql://pilot:***@")


def test_redact_leaves_a_url_without_password() -> None:
    assert export.redact("postgresql://pilot@h:5432/db") == "postgresql://pilot@h:5432/db"


@pytest.mark.parametrize(("url", "needle"), [
    ("mysql://u:hunter2@h/db", "scheme 'mysql'"),
    ("postgresql://u:hunter2@h:99999/db", "not a PostgreSQL URL"),
    ("postgresql://h:5432/db", "no user"),
    ("postgresql://u:hunter2@h:5432/", "no database"),
    ("postgresql://u:hunter2@:5432/db", "no host"),
])
def test_bad_urls_name_the_problem_without_the_password(url: str, needle: str) -> None:
    with pytest.raises(BadInput) as err:
        export.parse_url(url)
    assert needle in err.value.message
    assert "hunter2" not in err.value.message and "hunter2" not in (err.value.fix or "")


def test_create_table_is_typed_keyed_per_day_and_car_and_never_drops() -> None:
    sql = export.create_table_sql("pilot.symptoms")
    assert sql.startswith('CREATE TABLE IF NOT EXISTS "pilot"."symptoms" (')
    assert "biz_date date NOT NULL" in sql and "car_number text NOT NULL" in sql
    assert "speed_p_avg double precision" in sql and "steer_a_cnt bigint" in sql
    assert "PRIMARY KEY (biz_date, car_number)" in sql
    assert "DROP" not in sql.upper()


def test_delete_is_limited_to_the_day() -> None:
    assert export.delete_sql() == 'DELETE FROM "managed_smartcar_symptom_info" WHERE biz_date = %s'


def test_insert_has_one_placeholder_per_value() -> None:
    sql = export.insert_sql(3)
    names = [n for n, _ in export.COLUMNS]
    assert sql.startswith(f'INSERT INTO "managed_smartcar_symptom_info" ({", ".join(names)}) VALUES (')
    assert sql.count("%s") == 3 * len(names) == 24
    assert sql.count("(%s") == 3
    with pytest.raises(ValueError):
        export.insert_sql(0)


@pytest.mark.parametrize("bad", ["Managed", "x;drop table y", "a.b.c", "1abc", 'q"uote', ""])
def test_table_names_are_checked(bad: str) -> None:
    with pytest.raises(BadInput):
        export.check_table_name(bad)


def test_source_sql_reads_the_day_in_column_order() -> None:
    sql = export.source_sql("20200322")
    assert re.fullmatch(r"SELECT car_number, speed_p_avg, speed_p_symptom_score, break_p_avg, "
                        r"break_p_symptom_score, steer_a_cnt, steer_p_symptom_score FROM "
                        r"Managed_SmartCar_Symptom_Info WHERE biz_date = '20200322' ORDER BY car_number", sql)
    with pytest.raises(BadInput):
        export.source_sql("2020-03-22")


def test_to_row_types_values_and_keeps_nulls() -> None:
    day = date(2020, 3, 22)
    row = export.to_row(day, ("A0001", "12.5", "normal", 3, "abnormal", "2100", "abnormal"))
    assert row == (day, "A0001", 12.5, "normal", 3.0, "abnormal", 2100, "abnormal")
    assert isinstance(row[6], int) and isinstance(row[4], float)
    assert export.to_row(day, ("B0002", None, None, None, None, 7.0, "normal"))[2:] == (
        None, None, None, None, 7, "normal")


@pytest.mark.parametrize("bad", [("A0001", 1.0), ("A0001", "x", "normal", 1.0, "normal", 3, "normal"),
                                 ("A0001", 1.0, "normal", 1.0, "normal", 2.5, "normal"),
                                 (None, 1.0, "normal", 1.0, "normal", 2, "normal")])
def test_to_row_rejects_malformed_rows(bad: tuple[object, ...]) -> None:
    with pytest.raises(RunFailed):
        export.to_row(date(2020, 3, 22), bad)


def test_batches_cover_every_row_once() -> None:
    rows = [(i,) for i in range(1201)]
    parts = export.batches(rows, 500)
    assert [len(p) for p in parts] == [500, 500, 201]
    assert [r for p in parts for r in p] == rows
    assert export.batches([], 500) == []


class _FailingConn:
    def __init__(self, message: str) -> None:
        self.message = message

    def cursor(self) -> _FailingConn:
        return self

    def execute(self, _sql: str) -> None:
        raise RuntimeError(self.message)

    def close(self) -> None:
        pass


class _EmptyConn(_FailingConn):
    description = (("car_number",),)

    def execute(self, _sql: str) -> None:
        pass

    def fetchall(self) -> list[tuple[object, ...]]:
        return []


@pytest.mark.parametrize("message", [
    "[TABLE_OR_VIEW_NOT_FOUND] The table or view `Managed_SmartCar_Symptom_Info` cannot be found.",
    "Error while compiling statement: FAILED: SemanticException [Error 10001]: Table not found "
    "'Managed_SmartCar_Symptom_Info'",
])
def test_missing_mart_is_bad_input_with_the_build_command(message: str) -> None:
    with pytest.raises(BadInput) as err:
        export.read_mart(_FailingConn(message), "20200322")
    assert "does not exist" in err.value.message and "pilot mart --day 20200322" in (err.value.fix or "")


def test_a_day_without_rows_is_bad_input_and_other_errors_fail() -> None:
    with pytest.raises(BadInput) as err:
        export.read_mart(_EmptyConn(""), "20200322")
    assert "no rows for 20200322" in err.value.message
    with pytest.raises(RunFailed):
        export.read_mart(_FailingConn("connection reset"), "20200322")


def _inventory(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "inv" / "group_vars").mkdir(parents=True)
    (tmp_path / "inv" / "hosts.yml").write_text(
        "all:\n  hosts:\n    db1: {ansible_host: 10.9.9.9}\n  children:\n    metastore_db:\n      hosts:\n"
        "        db1: {}\n")
    (tmp_path / "inv" / "group_vars" / "all.yml").write_text(
        f"bigdata_cluster_name: t\nbigdata_secrets_dir: {tmp_path / 'secrets'}\nmetastore_db_port: 5433\n"
        f"{extra}")
    return tmp_path / "inv"


def test_inventory_target_uses_the_metastore_host_and_the_generated_password(tmp_path: Path) -> None:
    from bigdata_admin import inventory

    inv = _inventory(tmp_path, "postgresql_pilot_db: marts\n")
    with pytest.raises(BadInput) as err:
        export.inventory_target(inventory.load(inv))
    assert "never generated" in err.value.message and "--tags postgresql" in (err.value.fix or "")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "pilot_db_password").write_text("Gen3rated\n")
    t = export.inventory_target(inventory.load(inv))
    assert (t.host, t.port, t.dbname, t.user, t.password) == ("10.9.9.9", 5433, "marts", "pilot", "Gen3rated")


@pytest.mark.parametrize(("args", "needle"), [
    (["--day", "2020-03-22", "--url", "postgresql://u:hunter2@h/db"], "YYYYMMDD"),
    (["--day", "20200322"], "no target database"),
    (["--day", "20200322", "--url", "mysql://u:hunter2@h/db"], "not a PostgreSQL URL"),
    (["--day", "20200322", "--url", "postgresql://u:hunter2@h/db", "--engine", "presto"], "--engine"),
    (["--day", "20200322", "--url", "postgresql://u:hunter2@h/db", "--table", "Bad-Name"], "table name"),
    (["--day", "20200322", "--url", "postgresql://u:hunter2@h/db", "--local", "--hs2", "h:1"], "--hs2"),
    # Nothing listens on port 1: the database is unreachable, reported before any SQL server is asked.
    (["--day", "20200322", "--url", "postgresql://u:hunter2@127.0.0.1:1/db", "--hs2", "127.0.0.1:1"],
     "cannot connect to postgresql://u@127.0.0.1:1/db"),
])
def test_cli_bad_input_exits_2_with_problem_and_fix(args: list[str], needle: str) -> None:
    out = CliRunner().invoke(app, ["pilot", "export", *args])
    assert out.exit_code == 2, out.output
    assert needle in out.output and "fix:" in out.output
    assert "hunter2" not in out.output


def test_cli_human_output_names_counts_and_target_without_password(monkeypatch: pytest.MonkeyPatch) -> None:
    from bigdata_admin.pilot import endpoints

    class _Conn:
        closed = False

        def close(self) -> None:
            self.closed = True

    conn = _Conn()
    seen: dict[str, object] = {}

    def fake_export(c: object, target: export.Target, day: str, **kw: object) -> export.ExportResult:
        seen.update(conn=c, target=target, day=day, **kw)
        return export.ExportResult(day, str(kw["source"]), target.display, str(kw["table"]), 42, 40, 42, 42,
                                   0.5, 0.25, 0.75)

    monkeypatch.setattr(export, "check_target", lambda target: None)
    monkeypatch.setattr(export, "export_day", fake_export)
    monkeypatch.setattr(endpoints, "sql_connection", lambda *a, **kw: conn)
    out = CliRunner().invoke(app, ["pilot", "export", "--day", "20200322", "--hs2", "127.0.0.1:10000",
                                   "--url", "postgresql://pilot:hunter2@db:5432/pilot",
                                   "--table", "pilot.sym"])
    assert out.exit_code == 0, out.output
    text = " ".join(out.output.split())
    assert "exported 42 rows of 20200322 from 127.0.0.1:10000 into postgresql://pilot@db:5432/pilot" in text
    assert "table pilot.sym (replaced 40, now 42" in text
    assert "hunter2" not in out.output
    assert conn.closed and seen["day"] == "20200322" and seen["table"] == "pilot.sym"
