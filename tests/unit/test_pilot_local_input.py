"""The pilot checks local input before the network, loads into a `file:` pilot root without a NameNode,
and takes one auth default per server kind (issue 16, items 4, 5, 12)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bigdata_admin import sqlclient
from bigdata_admin.cli import app
from bigdata_admin.pilot import endpoints, generate, load

REPO = Path(__file__).resolve().parents[2]
DAY = "20200322"
cli = CliRunner()


@pytest.fixture(autouse=True)
def _env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGDATA_ADMIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "200")


@pytest.fixture
def day_dir(tmp_path: Path) -> Path:
    out = tmp_path / "data"
    generate.generate(generate.GenerateOptions(day=DAY, cars=6, hours=0.05, seed=1, purchases=50,
                                               datasets=("status", "drive", "master", "buy")), out)
    return out


def test_missing_data_is_reported_before_any_service_is_contacted(tmp_path: Path) -> None:
    started = time.monotonic()
    r = cli.invoke(app, ["pilot", "load", "-i", str(REPO / "inventories" / "classroom"), "--day", DAY,
                         "--data", str(tmp_path / "nonexistent"), "--to", "kafka"])
    assert r.exit_code == 2
    assert str(tmp_path / "nonexistent") in r.output and "pilot generate" in r.output
    assert time.monotonic() - started < 5, "no Kafka connection was tried"


def test_load_into_a_file_root_needs_no_namenode(tmp_path: Path, day_dir: Path) -> None:
    root = tmp_path / "pjt"
    r = cli.invoke(app, ["pilot", "load", "--day", DAY, "--data", str(day_dir), "--to", "hdfs,drive-text",
                         "--pilot-root", f"file://{root}"])
    assert r.exit_code == 0, r.output
    status = root / load.STATUS_DIR / f"wrk_date={DAY}" / f"SmartCarStatusInfo_{DAY}.txt"
    assert status.is_file() and status.stat().st_size > 0
    assert (root / load.MASTER_DIR / "CarMaster.txt").is_file()
    assert (root / load.DRIVE_TEXT_DIR / load.drive_text_name(DAY)).is_file()


def test_load_local_writes_where_the_local_marts_read(tmp_path: Path, day_dir: Path) -> None:
    local = tmp_path / "local"
    r = cli.invoke(app, ["pilot", "load", "--day", DAY, "--data", str(day_dir), "--local",
                         "--local-dir", str(local)])
    assert r.exit_code == 0, r.output
    assert (local / "pjt" / load.DRIVE_TEXT_DIR / load.drive_text_name(DAY)).is_file()
    assert not list(local.glob("pjt/**/SmartCar-Topic*")), "nothing for Kafka"


def test_remote_targets_without_an_inventory_exit_2(day_dir: Path) -> None:
    r = cli.invoke(app, ["pilot", "load", "--day", DAY, "--data", str(day_dir), "--to", "kafka"])
    assert r.exit_code == 2 and "-i" in r.output


def test_local_cannot_be_combined_with_a_cluster() -> None:
    r = cli.invoke(app, ["pilot", "mart", "--day", DAY, "--local", "--hs2", "h:1"])
    assert r.exit_code == 2 and "--local" in r.output
    r = cli.invoke(app, ["pilot", "analyze", "--day", DAY, "--local", "--spark", "h:1"])
    assert r.exit_code == 2 and "--local" in r.output


def test_one_auth_default_per_server_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    from bigdata_admin.inventory import role_defaults

    seen: list[tuple[str, str]] = []

    def connect(host: str, port: int, auth: str, user: str, **_: Any) -> str:
        seen.append((f"{host}:{port}", auth))
        return "conn"

    monkeypatch.setattr(sqlclient, "hs2_connect", connect)
    # The same Spark Thrift endpoint, reached by mart (--hs2) and by analyze (--impala --impala-is-hs2).
    endpoints.sql_connection(None, "spark", "h:10015", None, None, "--hs2")
    endpoints.sql_connection(None, "impala", "h:10015", None, None, "--impala", server_kind="spark")
    endpoints.sql_connection(None, "impala", "h:21050", None, None, "--impala")
    assert seen == [("h:10015", role_defaults()["spark_thrift_auth"]),
                    ("h:10015", role_defaults()["spark_thrift_auth"]),
                    ("h:21050", role_defaults()["impala_daemon_hs2_auth"])]
    assert sqlclient.default_auth("hive") == str(role_defaults()["hive_server2_auth"]).upper()
