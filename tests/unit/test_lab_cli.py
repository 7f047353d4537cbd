"""The lab and exec verbs' handling of bad input (no root, unknown labs, bad options)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bigdata_admin.cli import app
from bigdata_admin.errors import BadInput, NeedsRoot
from bigdata_admin.lab import util

runner = CliRunner()


@pytest.fixture
def not_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(util.os, "geteuid", lambda: 1000)


@pytest.mark.parametrize("verb", [["up"], ["down"], ["status"], ["list"], ["ssh", "h1"]])
def test_lab_verbs_need_root(not_root: None, verb: list[str]) -> None:
    with pytest.raises(NeedsRoot) as exc:
        runner.invoke(app, ["lab", *verb], catch_exceptions=False)
    assert "needs root" in exc.value.message
    assert exc.value.exit_code == 2
    assert "sudo" in (exc.value.fix or "")


def test_main_turns_needs_root_into_exit_2(not_root: None, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from bigdata_admin import cli

    monkeypatch.setattr("sys.argv", ["bigdata-admin", "lab", "up"])
    with pytest.raises(SystemExit) as exc:
        cli.main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "needs root" in err and "fix:" in err


def test_bad_lab_name_is_rejected_before_anything_happens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(util.os, "geteuid", lambda: 0)
    monkeypatch.setattr(util.shutil, "which", lambda _: "/usr/bin/systemd-nspawn")
    with pytest.raises(BadInput) as exc:
        runner.invoke(app, ["lab", "up", "--name", "Bad_Name"], catch_exceptions=False)
    assert "Bad_Name" in exc.value.message


def test_status_of_unknown_lab(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(util.os, "geteuid", lambda: 0)
    monkeypatch.setattr(util.shutil, "which", lambda _: "/usr/bin/systemd-nspawn")
    monkeypatch.setenv("BIGDATA_ADMIN_STATE_DIR", str(tmp_path))
    with pytest.raises(BadInput) as exc:
        runner.invoke(app, ["lab", "status", "--name", "nosuch"], catch_exceptions=False)
    assert "nosuch" in exc.value.message and "lab up" in (exc.value.fix or "")


def test_lab_help_lists_the_verbs() -> None:
    result = runner.invoke(app, ["lab", "--help"])
    assert result.exit_code == 0
    for verb in ("up", "status", "ssh", "down", "list"):
        assert verb in result.output


def _inv(tmp_path: Path) -> Path:
    (tmp_path / "hosts.yml").write_text(
        "all:\n  hosts:\n    a: {ansible_host: 127.0.0.1, ansible_connection: local}\n"
        "    b: {ansible_host: 127.0.0.1, ansible_connection: local}\n"
        "  children:\n    zookeeper: {hosts: {a: {}}}\n")
    return tmp_path


def test_exec_unknown_group_suggests_the_near_one(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as exc:
        runner.invoke(app, ["exec", "-i", str(_inv(tmp_path)), "--group", "zookeepr", "--", "true"],
                      catch_exceptions=False)
    assert "zookeepr" in exc.value.message and "zookeeper" in (exc.value.fix or "")


def test_exec_unknown_host_in_limit(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as exc:
        runner.invoke(app, ["exec", "-i", str(_inv(tmp_path)), "--limit", "a,zz", "--", "true"],
                      catch_exceptions=False)
    assert "zz" in exc.value.message


def test_ssh_options_parsing() -> None:
    from bigdata_admin.remote import ssh_options

    opts = ssh_options("-o UserKnownHostsFile=/x/kh -oStrictHostKeyChecking=yes -C -o 'ProxyJump=j'")
    assert opts == {"userknownhostsfile": "/x/kh", "stricthostkeychecking": "yes", "proxyjump": "j"}


def test_exec_local_connection_hosts_run_here(tmp_path: Path) -> None:
    """`ansible_connection: local` hosts run the command on this machine (real processes)."""
    import json

    inv = str(_inv(tmp_path))
    result = runner.invoke(app, ["exec", "-i", inv, "--json", "--", "echo", "hi;", "exit", "3"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert [d["host"] for d in data] == ["a", "b"]
    assert all(d["exit_status"] == 3 and d["stdout"] == "hi\n" and not d["ok"] for d in data)
    ok = runner.invoke(app, ["exec", "-i", str(_inv(tmp_path)), "--limit", "b", "--", "true"])
    assert ok.exit_code == 0, ok.output
    assert "1/1 ok" in ok.output
