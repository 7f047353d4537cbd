"""Runner logic without Ansible: extra vars, failure messages, exit codes, events, run directories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bigdata_admin import runner
from bigdata_admin.errors import BadInput
from bigdata_admin.runner import HostRecap


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BIGDATA_ADMIN_STATE_DIR", str(tmp_path / "state"))
    return tmp_path / "state"


def test_parse_extravars_all_forms(tmp_path: Path) -> None:
    f = tmp_path / "vars.yml"
    f.write_text("a: 1\nnested: {x: [1, 2]}\n")
    got = runner.parse_extravars(["k=v other=2", f"@{f}", '{"j": true}'])
    assert got == {"k": "v", "other": "2", "a": 1, "nested": {"x": [1, 2]}, "j": True}


@pytest.mark.parametrize("bad", ["novalue", "=x", "@/nonexistent/vars.yml", "{not: [closed"])
def test_parse_extravars_rejects_bad_input(bad: str) -> None:
    with pytest.raises(BadInput) as exc:
        runner.parse_extravars([bad])
    assert exc.value.fix


def test_parse_extravars_file_must_be_a_mapping(tmp_path: Path) -> None:
    f = tmp_path / "list.yml"
    f.write_text("- a\n- b\n")
    with pytest.raises(BadInput, match="mapping"):
        runner.parse_extravars([f"@{f}"])


def test_failure_message_plain() -> None:
    assert runner.failure_message({"msg": "non-zero return code", "stderr": "boom", "rc": 2, "cmd": "x"}) \
        == "non-zero return code\nboom\n(exit status 2)"
    loop = {"msg": "One or more items failed", "results": [
        {"item": "a", "failed": False}, {"item": "b", "failed": True, "msg": "no such file"}]}
    assert "item 'b': no such file" in runner.failure_message(loop)
    assert runner.failure_message({}).startswith("failed (no message")
    module = {"module_stderr": "Traceback...\nImportError: x", "msg": "MODULE FAILURE"}
    assert runner.failure_message(module).startswith("MODULE FAILURE\nTraceback")


def test_exit_codes() -> None:
    ok, failed, dark = HostRecap(ok=3), HostRecap(ok=1, failed=1), HostRecap(unreachable=1)
    assert runner._exit_code("successful", 0, {"a": ok}, False) == 0
    assert runner._exit_code("failed", 2, {"a": ok, "b": failed}, False) == 1
    assert runner._exit_code("failed", 4, {"a": failed, "b": dark}, False) == 3
    assert runner._exit_code("failed", 4, {}, False) == 2, "parser error before any play"
    assert runner._exit_code("failed", 5, {}, False) == 2, "bad options"
    assert runner._exit_code("failed", 250, {}, False) == 1
    assert runner._exit_code("canceled", 254, {"a": ok}, True) == 130


def test_tracker_folds_events() -> None:
    t = runner._Tracker()
    events = [
        {"event": "playbook_on_play_start", "event_data": {"play": "Deploy ZooKeeper"}},
        {"event": "playbook_on_task_start", "event_data": {"task": "Install", "task_uuid": "1"}},
        {"event": "runner_on_start", "event_data": {"host": "n1"}},
        {"event": "runner_on_start", "event_data": {"host": "n2"}},
        {"event": "runner_on_ok", "event_data": {"host": "n1", "task": "Install", "res": {"changed": True}}},
        {"event": "runner_on_failed",
         "event_data": {"host": "n2", "task": "Install", "res": {"msg": "nope"}}},
        {"event": "runner_on_failed", "event_data": {"host": "n1", "task": "Install", "ignore_errors": True,
                                                     "res": {"msg": "ignored"}}},
        {"event": "playbook_on_stats", "event_data": {
            "ok": {"n1": 1}, "changed": {"n1": 1}, "failures": {"n2": 1}, "dark": {}, "skipped": {},
            "processed": {"n1": 1, "n2": 1}}},
    ]
    for e in events:
        assert t.handle(e) is True
    assert (t.play, t.task, len(t.done), len(t.started)) == ("Deploy ZooKeeper", "Install", 2, 2)
    assert t.task_results == {"Install": {"n1": {"changed": True}}}
    assert [(f.host, f.message) for f in t.failures] == [("n2", "nope")]
    recap = t.recap()
    assert recap["n1"] == HostRecap(ok=1, changed=1)
    assert recap["n2"].failed == 1


def test_run_dirs_prune_list_find(state_dir: Path) -> None:
    root = runner.paths.runs_dir()
    root.mkdir(parents=True)
    for i in range(23):
        d = root / f"20260101T0000{i:02d}Z-deploy"
        d.mkdir()
        (d / "run.json").write_text(json.dumps({"rc": 0, "status": "successful", "label": "deploy"}))
    removed = runner.prune_runs(20)
    assert len(removed) == 3 and len(list(root.iterdir())) == 20
    runs = runner.list_runs()
    assert runs[0]["id"] == "20260101T000022Z-deploy" and runs[0]["rc"] == 0
    assert runner.find_run("last")["id"] == runs[0]["id"]
    assert runner.find_run("20260101T000021")["id"] == "20260101T000021Z-deploy"
    with pytest.raises(BadInput, match="matches 20 runs"):
        runner.find_run("2026")
    with pytest.raises(BadInput, match="no run"):
        runner.find_run("nope")


def test_new_run_dirs_are_unique(state_dir: Path) -> None:
    a, b = runner._new_run_dir("deploy"), runner._new_run_dir("deploy")
    assert a != b and a.is_dir() and b.is_dir()
    assert runner._new_run_dir("weird label/..").name.endswith("-weird-label-..")


def test_result_round_trip(tmp_path: Path) -> None:
    r = runner.RunResult(rc=1, status="failed", recap={"n1": HostRecap(ok=2, failed=1)},
                         failures=[runner.Failure("n1", "Start", "port taken")], run_dir=tmp_path,
                         label="deploy", playbook="/x/site.yml", elapsed_s=3.2)
    again = runner.result_from_record(json.loads(json.dumps(r.as_dict())))
    assert again.recap == r.recap and again.failures == r.failures and again.rc == 1


def test_missing_playbook_and_inventory_are_bad_input(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="playbook"):
        runner.run_playbook("no-such-playbook", tmp_path, show_progress=False)
    with pytest.raises(BadInput, match="inventory"):
        runner.run_playbook("site", tmp_path / "nope", show_progress=False)


def _fake_mitogen(root: Path) -> Path:
    strategy = root / "ansible_mitogen" / "plugins" / "strategy"
    strategy.mkdir(parents=True)
    (root / "ansible_mitogen" / "__init__.py").write_text("")
    (strategy / "mitogen_linear.py").write_text("")
    return strategy


def test_mitogen_strategy_used_when_installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    strategy = _fake_mitogen(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delenv("BIGDATA_ADMIN_MITOGEN", raising=False)
    assert runner.mitogen_strategy_dir() == strategy


@pytest.mark.parametrize("off", ["0", "false", "off"])
def test_mitogen_can_be_turned_off(off: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_mitogen(tmp_path / "site")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("BIGDATA_ADMIN_MITOGEN", off)
    assert runner.mitogen_strategy_dir() is None


def test_no_mitogen_strategy_without_its_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "site" / "ansible_mitogen").mkdir(parents=True)
    (tmp_path / "site" / "ansible_mitogen" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delenv("BIGDATA_ADMIN_MITOGEN", raising=False)
    assert runner.mitogen_strategy_dir() is None
