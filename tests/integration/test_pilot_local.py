"""`pilot load|mart|analyze --local`: the marts and analyses of a day without a cluster, on a Spark Thrift
Server this machine starts from pyspark (issue 16, item 12).

Opt-in (`BIGDATA_TEST_PILOT_LOCAL=1`): about 6 minutes of one core in CI, beside the main job on a
saturated 2-core machine. The marts' and analyses' SQL on a local Spark Thrift Server stays in CI,
row by row against Python (test_pilot_mart.py); this adds the `--local` wiring of the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from labtools import opt_in

from bigdata_admin.pilot import generate

pytestmark = [pytest.mark.integration, pytest.mark.slow]
DAY = "20200322"


@opt_in("BIGDATA_TEST_PILOT_LOCAL", "about 6 minutes: a local Spark Thrift Server started by the CLI")
def test_local_mart_and_analyze_from_the_cli(tmp_path: Path) -> None:
    if shutil.which("java") is None:
        pytest.skip("java is not installed: the Spark Thrift Server needs a JRE 17")
    pytest.importorskip("pyspark")
    data = tmp_path / "data"
    generate.generate(generate.GenerateOptions(day=DAY, cars=8, hours=0.5, seed=3, purchases=2_000,
                                               datasets=("status", "drive", "master", "buy")), data)
    local = tmp_path / "local"

    def cli(*args: str) -> dict[str, Any]:
        proc = subprocess.run([sys.executable, "-m", "bigdata_admin", "pilot", *args, "--local",
                               "--local-dir", str(local), "--json"], cwd=tmp_path, capture_output=True,
                              text=True, timeout=900, check=False)
        assert proc.returncode == 0, proc.stderr[-3000:]
        out: dict[str, Any] = json.loads(proc.stdout)
        return out

    cli("load", "--day", DAY, "--data", str(data))
    built = {s["name"]: s for s in cli("mart", "--day", DAY)["subjects"]}
    assert {"status", "drive", "symptom", "emergency", "buylist"} <= set(built)
    assert built["symptom"]["rows"] == 8
    report = tmp_path / "report"
    out = cli("analyze", "--day", DAY, "--report", str(report))
    assert len(out["analyses"]["symptom"]["rows"]) == 8
    assert (report / "index.html").is_file() and (report / "fastest_car.png").is_file()
