"""The packaged HiveQL: present, fully parameterised, split into single statements."""

from __future__ import annotations

import pytest

from bigdata_admin.errors import BadInput
from bigdata_admin.pilot import mart

PARAMS = mart.params_for("20200322", "/pilot-pjt", min_speed=60.0)


@pytest.mark.parametrize("engine", mart.ENGINES)
def test_every_subject_renders_for_each_engine(engine: str) -> None:
    total = 0
    for subject in mart.SUBJECTS:
        statements = mart.subject_statements(subject, engine, PARAMS)
        assert statements, subject.name
        for s in statements:
            assert "${" not in s and ";" not in s
        total += len(statements)
        text = " ".join(statements)
        if subject.name == "tables":
            assert ("STORED BY" in text) == (engine == "hive")
            assert "LOCATION '/pilot-pjt/collect/car-batch-log'" in text
        if subject.table:
            assert f"INSERT OVERWRITE TABLE {subject.table} PARTITION" in text
    assert total >= 14


def test_inserts_replace_one_static_partition() -> None:
    for subject in mart.SUBJECTS[1:]:
        for s in mart.subject_statements(subject, "spark", PARAMS):
            if s.startswith("INSERT"):
                assert "PARTITION (biz_date = '20200322')" in s or "PARTITION (biz_month = '202003')" in s \
                    or "PARTITION (wrk_date = '20200322')" in s, s[:80]


def test_portability_points_of_pilot_md() -> None:
    symptom = " ".join(mart.subject_statements(mart.SUBJECTS[3], "spark", PARAMS))
    assert "stddev_pop" in symptom and "_std = 0 THEN 'normal'" in symptom  # zero-stddev guard
    emergency = " ".join(mart.subject_statements(mart.SUBJECTS[4], "spark", PARAMS))
    assert "cast(tire_fl AS double)" in emergency and "cast(battery AS double)" in emergency


@pytest.mark.parametrize("name", ["symptom", "fastest_car", "emergency", "purchases", "area_speed",
                                  "fast_areas"])
def test_analysis_queries_render(name: str) -> None:
    statements = mart.split_statements(mart.render(mart.sql_text(f"analysis/{name}.sql"), PARAMS))
    assert len(statements) == 1 and statements[0].startswith("SELECT")
    assert mart.returns_rows(statements[0])


def test_split_and_render_rules() -> None:
    sql = "-- a comment; with a semicolon\nSELECT 'a;b' FROM t;\n\nINSERT INTO t VALUES ('x');\n-- end"
    assert mart.split_statements(sql) == ["SELECT 'a;b' FROM t", "INSERT INTO t VALUES ('x')"]
    with pytest.raises(BadInput, match="working_day"):
        mart.render("SELECT '${working_day}'", {})
    with pytest.raises(BadInput, match="YYYYMMDD"):
        mart.params_for("2020-03-22")
    assert not mart.returns_rows("CREATE TABLE x (a string)")
    assert not mart.returns_rows("INSERT OVERWRITE TABLE x SELECT 1")


def test_drive_table_overrides_the_engines_smartcar_drive_info() -> None:
    tables = mart.SUBJECTS[0]
    hive_text = " ".join(mart.subject_statements(tables, "hive", PARAMS, drive_table="text"))
    assert "STORED BY" not in hive_text and "LOCATION '/pilot-pjt/" in hive_text
    assert mart.subject_statements(tables, "hive", PARAMS, drive_table="text") == \
        mart.subject_statements(tables, "spark", PARAMS)
    assert mart.HBASE_HANDLER in " ".join(mart.subject_statements(tables, "hive", PARAMS))
    with pytest.raises(BadInput, match="drive table 'orc'"):
        mart.subject_statements(tables, "hive", PARAMS, drive_table="orc")


class _FailingConn:
    """A DB-API connection whose every statement fails with `message` (the server's error text)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def cursor(self) -> _FailingConn:
        return self

    def execute(self, statement: str) -> None:
        raise RuntimeError(self.message)

    def close(self) -> None:
        pass


def test_a_missing_hbase_storage_handler_is_named_with_the_way_around_it() -> None:
    from bigdata_admin.errors import RunFailed

    # HiveServer2's error text when the class is not on its classpath (Hive 4.0.1 from the Maven bundle).
    error = ("Error while compiling statement: FAILED: SemanticException Cannot find class "
             "'org.apache.hadoop.hive.hbase.HBaseStorageHandler'")
    with pytest.raises(RunFailed, match=r"cannot load org\.apache\.hadoop\.hive\.hbase\.HBaseStorage") as exc:
        mart.build(_FailingConn(error), "20200322", engine="hive", subjects=["tables"])
    fix = exc.value.fix or ""
    assert "--drive-table text" in fix and "hive_install_source: apache" in fix
    with pytest.raises(RunFailed, match="statement failed") as other:
        mart.build(_FailingConn("Table not found"), "20200322", engine="hive", subjects=["tables"])
    assert "--drive-table" not in (other.value.fix or "")
