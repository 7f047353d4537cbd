"""The pilot verbs' command line: output, JSON and bad input (exit 2 with the problem and the fix)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bigdata_admin", "pilot", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300, check=False)


def test_generate_writes_every_data_set(tmp_path: Path) -> None:
    proc = _cli("generate", "--day", "20200322", "--cars", "7", "--hours", "0.02", "--purchases", "30",
                "--incidents", "40", "--out", str(tmp_path / "d"), "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    lines = {f["dataset"]: f["lines"] for f in data["files"]}
    assert lines == {"status": 7 * 21_601, "drive": 7 * 36, "master": 2600, "buy": 30, "income": 2601,
                     "incident": 41}
    assert len(data["wild_cars"]) == 1
    manifest = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert manifest["cars"] == data["cars"]


@pytest.mark.parametrize(("args", "needle"), [
    (("generate", "--day", "2020-03-22"), "YYYYMMDD"),
    (("generate", "--day", "20200322", "--cars", "0"), "--cars"),
    (("mart", "--day", "20200322"), "-i INVENTORY"),
    (("mart", "--day", "20200322", "--hs2", "nohost"), "HOST:PORT"),
    (("mart", "--day", "20200322", "--hs2", "127.0.0.1:1", "--engine", "presto"), "--engine"),
    (("mart", "--day", "20200322", "--hs2", "127.0.0.1:1", "--drive-table", "orc"), "--drive-table"),
    (("mart", "--day", "20200322", "--hs2", "127.0.0.1:1", "--engine", "spark", "--drive-table", "hbase"),
     "--engine hive"),
    (("analyze", "--day", "20200322", "--impala", "x:y"), "HOST:PORT"),
])
def test_bad_input_exits_2_naming_problem_and_fix(tmp_path: Path, args: tuple[str, ...], needle: str) -> None:
    proc = _cli(*args, cwd=tmp_path)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert needle in proc.stderr and "fix:" in proc.stderr
