"""Output for people and for logs (issue 16, item 10): progress lines when stderr is not a terminal,
help that wraps, short reasons instead of raw exception text, no stray client log lines, cut tables
that say so."""

from __future__ import annotations

import io
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from bigdata_admin import runner
from bigdata_admin.cli import app, reflow
from bigdata_admin.health.core import reason

REPO = Path(__file__).resolve().parents[2]


def test_progress_prints_one_line_per_task_when_not_a_terminal() -> None:
    tracker = runner._Tracker()
    buf = io.StringIO()
    plain = Console(file=buf, force_terminal=False)
    progress = runner._Progress(tracker, "deploy", "site.yml", console=plain)
    progress.start()
    for event in ({"event": "playbook_on_play_start", "event_data": {"play": "ZooKeeper"}},
                  {"event": "playbook_on_task_start", "event_data": {"task": "Render zoo.cfg [x]"}}):
        tracker.handle(event)
        progress.update()
    progress.update()  # the same task again: no new line
    tracker.handle({"event": "playbook_on_task_start", "event_data": {"task": "Start it"}})
    progress.update()
    progress.stop()
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith("deploy: ZooKeeper | task 1: Render zoo.cfg [x]")
    assert lines[1].endswith("task 2: Start it")


def test_help_paragraphs_wrap_instead_of_breaking_mid_sentence() -> None:
    assert reflow("One line.\n\n    Two\n    lines here.\n") == "One line.\n\nTwo lines here."
    r = CliRunner().invoke(app, ["pilot", "generate", "--help"], env={"COLUMNS": "250"})
    assert r.exit_code == 0
    assert "the month's purchases, the income and the accident-risk data sets" in r.output


def test_raw_exception_text_becomes_a_short_reason() -> None:
    try:
        urllib.request.urlopen("http://127.0.0.1:1/", timeout=5)
    except urllib.error.URLError as exc:
        assert "urlopen error" in str(exc)
        assert reason(exc) == "connection refused"
    assert reason(ConnectionRefusedError(111, "Connection refused")) == "connection refused"
    assert reason(TimeoutError("timed out")) == "no answer in time"
    assert reason(RuntimeError("Could not connect to any of [('10.0.0.1', 9090)]")) == "connection refused"


def test_client_libraries_log_lines_stay_off_stderr(tmp_path: Path) -> None:
    code = ("import logging; from typer.testing import CliRunner; from bigdata_admin.cli import app; "
            f"CliRunner().invoke(app, ['check', '-i', {str(REPO / 'inventories' / 'classroom')!r}]); "
            "logging.getLogger('thrift.transport.TSocket').error(\"Could not connect to any of [('h', 1)]\")")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0
    assert "Could not connect" not in proc.stderr


def test_a_cut_table_says_so() -> None:
    from bigdata_admin.commands.pilot import analysis_table
    from bigdata_admin.pilot.analyze import Analysis

    rows = [(f"A{i:04d}", float(i)) for i in range(45)]
    table = analysis_table(Analysis("x", "Speeds", "spark", ["car [id]", "speed"], rows),
                           Path("r/results.json"))
    console = Console(record=True, width=200)
    console.print(table)
    text = console.export_text()
    assert "the first 30 of 45 rows shown; the other 15 are in r/results.json" in text
    assert "car [id]" in text and "A0029" in text and "A0030" not in text
    short = analysis_table(Analysis("x", "Speeds", "spark", ["car", "speed"], rows[:3]), Path("r.json"))
    console = Console(record=True, width=200)
    console.print(short)
    assert "shown" not in console.export_text()
