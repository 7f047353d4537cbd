"""`pilot run`'s resume logic (the steps themselves run on the lab: tests/integration/test_stream_lab.py
and the main job)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bigdata_admin.cli import app
from bigdata_admin.errors import BadInput, RunFailed
from bigdata_admin.pilot import endpoints, run

REAL_ML = run._ml

@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Replace each step with a recorder; `fail` names a step that raises once."""
    seen: dict[str, list[str]] = {"ran": [], "fail": []}

    def step(name: str):  # type: ignore[no-untyped-def]
        def action(*_args: object) -> str:
            seen["ran"].append(name)
            if name in seen["fail"]:
                seen["fail"].remove(name)
                raise RunFailed(f"{name} broke", fix="fix it")
            return f"{name} ok"
        return action

    for name in run.STEPS:
        monkeypatch.setattr(run, f"_{name}", step(name))
    seen["cluster"] = ["CID-first"]
    monkeypatch.setattr(endpoints, "hdfs_cluster_id", lambda _cluster: seen["cluster"][0])
    return seen


def _opts(tmp_path: Path, **kw: object) -> run.RunOptions:
    return run.RunOptions(day="20200322", data=tmp_path / "data", report=tmp_path / "report", **kw)  # type: ignore[arg-type]


def test_a_failed_step_stops_the_run_and_a_rerun_resumes_there(tmp_path: Path,
                                                               calls: dict[str, list[str]]) -> None:
    calls["fail"].append("mart")
    first = run.run(None, _opts(tmp_path), cache=tmp_path)
    assert not first.ok
    assert [(s.name, s.status) for s in first.steps] == [
        ("generate", "done"), ("load", "done"), ("stream", "done"), ("mart", "failed"),
        ("ml", "pending"), ("analyze", "pending"), ("export", "pending")]
    assert first.steps[3].error == "mart broke" and first.steps[3].fix == "fix it"
    state = json.loads((tmp_path / "data" / run.STATE_FILE).read_text())
    assert state["steps"]["mart"]["status"] == "failed"

    calls["ran"].clear()
    second = run.run(None, _opts(tmp_path), cache=tmp_path)
    assert second.ok
    assert calls["ran"] == ["mart", "ml", "analyze", "export"], "done steps are not run again"
    assert [s.status for s in second.steps] == ["skipped"] * 3 + ["done"] * 4


def test_other_options_or_restart_run_everything_again(tmp_path: Path, calls: dict[str, list[str]]) -> None:
    run.run(None, _opts(tmp_path), cache=tmp_path)
    calls["ran"].clear()
    run.run(None, _opts(tmp_path, engine="spark"), cache=tmp_path)
    assert calls["ran"] == list(run.STEPS)
    calls["ran"].clear()
    run.run(None, _opts(tmp_path, engine="spark"), cache=tmp_path, restart=True)
    assert calls["ran"] == list(run.STEPS)


def test_a_rebuilt_cluster_runs_every_step_again(tmp_path: Path, calls: dict[str, list[str]]) -> None:
    """A new lab under the same data directory (CI's persistent state): nothing done on the old cluster
    counts, so the marts and the model are made again rather than reported done."""
    run.run(None, _opts(tmp_path), cache=tmp_path)
    calls["ran"].clear()
    calls["cluster"][0] = "CID-rebuilt"
    said: list[tuple[str, str, str]] = []
    again = run.run(None, _opts(tmp_path), cache=tmp_path, progress=lambda *a: said.append(a))
    assert calls["ran"] == list(run.STEPS) and again.ok
    assert any("not the one the earlier run used" in d and "CID-first" in d for _s, _t, d in said), said
    assert json.loads((tmp_path / "data" / run.STATE_FILE).read_text())["cluster"] == "CID-rebuilt"
    calls["ran"].clear()
    run.run(None, _opts(tmp_path), cache=tmp_path)
    assert calls["ran"] == [], "the same cluster again: every step was done"


def test_bad_engine_and_day_are_bad_input(tmp_path: Path, calls: dict[str, list[str]]) -> None:
    with pytest.raises(BadInput):
        run.run(None, _opts(tmp_path, engine="impala"), cache=tmp_path)
    with pytest.raises(BadInput):
        run.run(None, run.RunOptions(day="2020-03-22", data=tmp_path, report=tmp_path), cache=tmp_path)
    assert calls["ran"] == []


def test_cli_names_a_missing_inventory(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["pilot", "run", "-i", str(tmp_path / "nope"), "--day", "20200322"])
    assert res.exit_code == 2
    assert "Traceback" not in res.output


def test_cli_produce_needs_day_or_file(tmp_path: Path) -> None:
    res = CliRunner().invoke(app, ["pilot", "produce", "-i", str(tmp_path)])
    assert res.exit_code == 2
    assert "--day" in res.output and "--file" in res.output


class _Cluster:
    """Just enough of inventory.Cluster for the ml step's decision."""

    def __init__(self, groups: tuple[str, ...]) -> None:
        self.groups = groups
        self.source = Path("inv")

    def has(self, group: str) -> bool:
        return group in self.groups


def test_ml_is_skipped_with_the_reason_without_a_gpu_worker_and_not_recorded(
        tmp_path: Path, calls: dict[str, list[str]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(run, "_ml", REAL_ML)  # the fixture replaced every step; the real ml step back
    for name in run.STEPS:
        if name != "ml":
            monkeypatch.setattr(run, f"_{name}", lambda *_a, name=name: calls["ran"].append(name) or "ok")
    result = run.run(_Cluster(("hdfs_namenode",)), _opts(tmp_path), cache=tmp_path)
    assert result.ok
    ml = next(s for s in result.steps if s.name == "ml")
    assert ml.status == "skipped" and "no host in group gpu_worker" in ml.detail
    state = json.loads((tmp_path / "data" / run.STATE_FILE).read_text())
    assert "ml" not in state["steps"] and state["steps"]["export"]["status"] == "done"


def test_the_report_shows_the_models_only_when_ml_ran(tmp_path: Path) -> None:
    from bigdata_admin.pilot import analyze, models

    root = tmp_path / "models"
    models.save_report([models.ModelResult("income", "income-regression", "v0003", "local", 0.5,
                                           {"r2": 0.81, "coef": 1.5, "intercept": 10.0})], root)
    rows = run._models_for_report(root / "metrics.json")
    assert rows == [{"model": "income", "name": "income-regression", "version": "v0003", "where": "local",
                     "seconds": 0.5, "metrics": "R² 0.810, income = 1.500 x capacity + 10"}]
    assert run._models_for_report(tmp_path / "absent.json") is None
    index = analyze.write_report([], tmp_path / "report", "20200322", models=rows)
    page = index.read_text()
    assert "<h2>Models</h2>" in page and "income-regression" in page and "R² 0.810" in page
    assert json.loads((tmp_path / "report" / "results.json").read_text())["models"] == rows
    plain = analyze.write_report([], tmp_path / "plain", "20200322").read_text()
    assert "Models" not in plain
