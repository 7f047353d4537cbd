"""The runner for real: ansible-playbook through ansible-runner against this machine (local connection).

The playbooks here only run `echo`/`true`/`false`/`sleep` and touch files under tmp_path.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import yaml

from bigdata_admin import runner

pytestmark = pytest.mark.integration

LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path / "state"
    monkeypatch.setenv("BIGDATA_ADMIN_STATE_DIR", str(state))
    return state


def write(tmp_path: Path, hosts: dict[str, dict[str, Any]], tasks: list[dict[str, Any]],
          play_name: str = "Small play") -> tuple[Path, Path]:
    inv = tmp_path / "hosts.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": hosts}}))
    pb = tmp_path / "play.yml"
    pb.write_text(yaml.safe_dump([{"name": play_name, "hosts": "all", "gather_facts": False,
                                   "tasks": tasks}]))
    return pb, inv


ECHO = {"name": "Say hello", "ansible.builtin.command": "echo hello {{ inventory_hostname }}",
        "changed_when": False}


def test_success_recap_task_results_and_run_dir(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    pb, inv = write(tmp_path, {"one": LOCAL, "two": LOCAL}, [
        ECHO,
        {"name": "Touch a marker", "ansible.builtin.file": {"path": str(marker), "state": "touch",
                                                            "mode": "0644"},
         "when": "inventory_hostname == 'one'"},
    ])
    r = runner.run_playbook(pb, inv, label="ok-run", show_progress=False)
    assert r.rc == 0 and r.status == "successful"
    assert set(r.recap) == {"one", "two"}
    assert r.recap["one"].ok == 2 and r.recap["one"].changed == 1
    assert r.recap["two"].skipped == 1 and r.recap["two"].failed == 0
    assert r.task_results["Say hello"]["two"]["stdout"] == "hello two"
    assert r.failures == []
    assert r.run_dir.parent == runner.paths.runs_dir() and r.run_dir.name.endswith("-ok-run")
    log = (r.run_dir / "ansible.log").read_text()
    assert "PLAY RECAP" in log and "Say hello" in log
    info = json.loads((r.run_dir / "run.json").read_text())
    assert info["rc"] == 0 and info["recap"]["one"]["changed"] == 1 and info["label"] == "ok-run"


def test_failed_task_message_and_exit_1(tmp_path: Path) -> None:
    pb, inv = write(tmp_path, {"good": LOCAL, "bad": LOCAL}, [
        ECHO,
        {"name": "Fail on bad", "ansible.builtin.command": "sh -c 'echo disk is full >&2; exit 3'",
         "changed_when": False, "when": "inventory_hostname == 'bad'"},
    ])
    r = runner.run_playbook(pb, inv, show_progress=False)
    assert r.rc == runner.RC_FAILED
    assert r.recap["bad"].failed == 1 and r.recap["good"].failed == 0
    [f] = r.failures
    assert (f.host, f.task) == ("bad", "Fail on bad")
    assert "disk is full" in f.message and "exit status 3" in f.message


def test_unreachable_host_exit_3(tmp_path: Path) -> None:
    gone = {"ansible_host": "127.0.0.1", "ansible_port": 1, "ansible_connection": "ssh",
            "ansible_ssh_common_args": "-o ConnectTimeout=5 -o StrictHostKeyChecking=no"}
    pb, inv = write(tmp_path, {"good": LOCAL, "gone": gone}, [ECHO])
    r = runner.run_playbook(pb, inv, show_progress=False)
    assert r.rc == runner.RC_UNREACHABLE
    assert r.recap["gone"].unreachable == 1
    [f] = r.failures
    assert f.unreachable and f.host == "gone" and "port 1" in f.message


def test_passes_limit_tags_extravars_check(tmp_path: Path) -> None:
    target = tmp_path / "created"
    pb, inv = write(tmp_path, {"one": LOCAL, "two": LOCAL}, [
        {"name": "Show greeting", "ansible.builtin.debug": {"msg": "{{ greeting }} {{ extra_from_file }}"},
         "tags": ["hello"]},
        {"name": "Create a file", "ansible.builtin.copy": {"dest": str(target), "content": "x\n",
                                                           "mode": "0644"}, "tags": ["files"]},
    ])
    vars_file = tmp_path / "vars.yml"
    vars_file.write_text("extra_from_file: from-file\n")
    extravars = runner.parse_extravars(["greeting=bonjour", f"@{vars_file}"])
    r = runner.run_playbook(pb, inv, extravars=extravars, limit="one", tags=["hello"], show_progress=False)
    assert r.rc == 0 and set(r.recap) == {"one"}
    assert r.task_results["Show greeting"]["one"]["msg"] == "bonjour from-file"
    assert "Create a file" not in r.task_results
    r = runner.run_playbook(pb, inv, extravars=extravars, skip_tags=["hello"], check=True, diff=True,
                            show_progress=False)
    assert r.rc == 0 and r.recap["one"].changed == 1 and not target.exists(), "check mode changes nothing"


def test_bad_playbook_is_bad_input(tmp_path: Path) -> None:
    pb = tmp_path / "broken.yml"
    pb.write_text("- name: Broken\n  hosts: all\n  tasks:\n    - name: Nope\n      no.such.module: {}\n")
    inv = tmp_path / "hosts.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {"one": LOCAL}}}))
    r = runner.run_playbook(pb, inv, show_progress=False)
    assert r.rc == runner.RC_BAD_INPUT
    assert "no.such.module" in r.failures[0].message
    with pytest.raises(runner.BadInput, match="does not exist"):
        runner.run_playbook(tmp_path / "missing.yml", inv, show_progress=False)


def _sigint_ignored(pid: int) -> bool:
    """Whether process `pid` ignores SIGINT (the SigIgn mask of /proc/PID/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            return bool(int(line.split()[1], 16) & (1 << (signal.SIGINT - 1)))
    return False


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


@pytest.mark.parametrize("sigint_at_start", ["default", "ignored"])
def test_ctrl_c_stops_the_run_cleanly(tmp_path: Path, sigint_at_start: str) -> None:
    """However the suite was started: a background job of a non-interactive shell starts with SIGINT
    ignored, and the run must still stop on SIGINT (and ansible-playbook must not inherit the ignore)."""
    pb, inv = write(tmp_path, {"one": LOCAL}, [
        ECHO, {"name": "Wait a long time", "ansible.builtin.command": "sleep 120", "changed_when": False}])
    fired = threading.Event()
    child_ignores: list[bool] = []

    def on_event(event: dict[str, Any]) -> None:
        data = event.get("event_data") or {}
        if event.get("event") == "runner_on_start" and data.get("task") == "Wait a long time" \
                and not fired.is_set():
            fired.set()
            found = [int(p) for p in subprocess.run(["pgrep", "-f", f"ansible-playbook.*{pb}"],
                                                     capture_output=True, text=True).stdout.split()]
            # the process the runner started, not its forks (Mitogen's broker and workers share its
            # command line and set their own SIGINT handling)
            mains = [p for p in found if _ppid(p) not in found]
            child_ignores.extend(_sigint_ignored(p) for p in mains)
            threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT)).start()

    saved = signal.getsignal(signal.SIGINT)
    initial = signal.SIG_IGN if sigint_at_start == "ignored" else signal.default_int_handler
    signal.signal(signal.SIGINT, initial)
    try:
        r = runner.run_playbook(pb, inv, show_progress=False, on_event=on_event)
        after = signal.getsignal(signal.SIGINT)
    finally:
        signal.signal(signal.SIGINT, saved)
    assert fired.is_set()
    assert r.rc == runner.RC_INTERRUPTED and r.status == "canceled"
    assert r.elapsed_s < 60
    assert child_ignores and not any(child_ignores), "ansible-playbook starts with SIGINT at its default"
    assert after == initial, "the run restores how SIGINT was handled"
    left = subprocess.run(["pgrep", "-f", f"ansible-playbook.*{pb}"], capture_output=True, text=True)
    assert left.stdout.strip() == "", "ansible-playbook was stopped"
    assert json.loads((r.run_dir / "run.json").read_text())["rc"] == 130


def test_ctrl_c_at_a_terminal_stops_the_cli_run(tmp_path: Path) -> None:
    """A terminal's Ctrl-C: SIGINT to the whole foreground process group (here: a new session holding
    `python -c run_playbook(...)`, started with SIGINT ignored as a background job would be)."""
    import sys
    import time

    pb, inv = write(tmp_path, {"one": LOCAL}, [
        ECHO, {"name": "Wait a long time", "ansible.builtin.command": "sleep 120", "changed_when": False}])
    code = ("import sys; from bigdata_admin import runner; "
            f"r = runner.run_playbook({str(pb)!r}, {str(inv)!r}, show_progress=False); print('rc', r.rc)")
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stdout=subprocess.PIPE,
                            text=True, env=os.environ.copy(),
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        below = runner._descendants(proc.pid, runner._process_table())
        if any(runner._proc_cmdline(p).startswith("sleep 120") for p in below):
            break
        time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("the long task never started")
    started = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=60)
    assert "rc 130" in out
    assert time.monotonic() - started < 30
    left = subprocess.run(["pgrep", "-f", f"ansible-playbook.*{pb}"], capture_output=True, text=True)
    assert left.stdout.strip() == ""


def test_keeps_the_last_20_runs(tmp_path: Path) -> None:
    root = runner.paths.runs_dir()
    root.mkdir(parents=True)
    for i in range(25):
        (root / f"20200101T0000{i:02d}Z-old").mkdir()
    pb, inv = write(tmp_path, {"one": LOCAL}, [ECHO])
    r = runner.run_playbook(pb, inv, show_progress=False)
    kept = sorted(p.name for p in root.iterdir())
    assert len(kept) == runner.KEEP_RUNS
    assert r.run_dir.name in kept and "20200101T000000Z-old" not in kept
    assert runner.list_runs()[0]["id"] == r.run_dir.name
    assert runner.find_run("last")["id"] == r.run_dir.name
