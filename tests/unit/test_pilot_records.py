"""Parsing and batching of the pilot's loaders, on the book's own files."""

from __future__ import annotations

from pathlib import Path

from bigdata_admin.pilot import load, records

STATUS_SAMPLE = "SmartCarStatusInfo_20200322.sample.txt"
DRIVE_SAMPLE = "SmartCarDriverInfo.sample.log"


def _raw_records(path: Path) -> list[str]:
    return [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln[:14].isdigit()]


def test_book_status_log_is_read_unchanged(pilot_reference: Path) -> None:
    report = records.ParseReport(STATUS_SAMPLE)
    lines = [line for line, _ in records.read_log(pilot_reference / STATUS_SAMPLE, "status", report)]
    assert lines == _raw_records(pilot_reference / STATUS_SAMPLE)
    assert (report.records, report.headers, report.malformed) == (1997, 3, 0)
    assert report.lines == 2000


def test_book_driving_log_is_read_unchanged(pilot_reference: Path) -> None:
    report = records.ParseReport(DRIVE_SAMPLE)
    lines = [line for line, _ in records.read_log(pilot_reference / DRIVE_SAMPLE, "drive", report)]
    assert lines == _raw_records(pilot_reference / DRIVE_SAMPLE)
    assert report.malformed == 0 and report.headers == 5 and report.records == len(lines) == 974


def test_malformed_lines_are_counted_with_line_numbers_and_reading_goes_on(pilot_reference: Path,
                                                                         tmp_path: Path) -> None:
    lines = (pilot_reference / STATUS_SAMPLE).read_text(encoding="utf-8").splitlines()
    broken = list(lines)
    broken[10] = broken[10].rsplit(",", 1)[0]                 # 12 fields
    broken[20] = broken[20].replace(",A,", ",X,", 1)           # engine X
    broken[30] = "garbage line"                              # no time
    broken[40] = broken[40].replace(",", ",101,", 1).replace(",101,", ",", 1)  # unchanged (control)
    broken.insert(50, "")                                    # empty line
    path = tmp_path / "broken.txt"
    path.write_text("\n".join(broken) + "\n", encoding="utf-8")
    report = records.ParseReport("broken")
    kept = list(records.read_log(path, "status", report))
    assert report.malformed == 4
    assert [m.line for m in report.examples] == [11, 21, 31, 51]
    assert "12 fields" in report.examples[0].reason and "engine" in report.examples[1].reason
    assert len(kept) == 1997 - 3
    assert "line 11" in report.summary()


def test_master_and_purchases_parse(pilot_reference: Path) -> None:
    report = records.ParseReport("master")
    master = list(records.read_master(pilot_reference / "CarMaster.txt", report))
    assert len(master) == 2600 and report.malformed == 0 and master[0][0] == "A0001"
    report = records.ParseReport("buy")
    buy = pilot_reference / "CarItemBuyList_202003.txt"
    assert sum(1 for _ in records.read_buy_list(buy, report)) == 100_000
    assert report.malformed == 0


def test_hbase_row_follows_the_book() -> None:
    fields = ["20200322000012", "A0004", "3", "0", "F", "N", "15", "D05"]
    key, data = records.hbase_row(fields)
    assert key == b"21000022300202-A0004"
    assert data[b"cf1:date"] == b"20200322000012" and data[b"cf1:break_pedal"] == b"0"
    assert data[b"cf1:area_number"] == b"D05" and len(data) == 8
    line = records.drive_info_text_line(fields)
    assert line == "21000022300202-A0004,20200322000012,A0004,3,0,F,N,15,D05\n"


def test_payloads_keep_only_valid_records(pilot_reference: Path) -> None:
    report = records.ParseReport("status")
    body = b"".join(load.status_payload(pilot_reference / STATUS_SAMPLE, report)).decode()
    assert body.splitlines() == _raw_records(pilot_reference / STATUS_SAMPLE)
    report = records.ParseReport("drive")
    rows = b"".join(load.drive_text_payload(pilot_reference / DRIVE_SAMPLE, report)).decode().splitlines()
    assert len(rows) == 974 and all(len(r.split(",")) == 9 for r in rows)
    report = records.ParseReport("master")
    body = b"".join(load.delimited_payload(pilot_reference / "CarMaster.txt", "master", report)).decode()
    assert body == (pilot_reference / "CarMaster.txt").read_text(encoding="utf-8").rstrip("\n") + "\n"


def test_batches_and_split_keys() -> None:
    assert [len(b) for b in records.batched(range(12), 5)] == [5, 5, 2]
    assert load.hbase_split_keys(4) == ["25", "5", "75"]
    # Row keys start with the last digit of the seconds, so the splits spread them over 4 regions.
    assert load.hbase_create_command() == "create 'DriverCarInfo', 'cf1', SPLITS => ['25', '5', '75']"


def test_replay_delays_follow_simulated_time() -> None:
    times = ["20200322000000", "20200322000002", "20200322000010"]
    assert load.replay_delays(times, 20) == [0.0, 0.1, 0.5]
