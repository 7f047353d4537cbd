"""The NameNode format guard (roles/hdfs/tasks/namenode_format.yml) run for real by Ansible against
local temporary directories (connection local). The format command is replaced by a script that
does what `hdfs namenode -format` leaves behind (current/VERSION) and counts its calls, so the test
proves when the guard lets a format through and when it never does.

Cases, all in one playbook run (block/rescue records each outcome):
  new        empty metadata dir            -> formats once, writes the marker
  rerun      same dir again                -> no format
  newconfig  same dir, another command/cfg -> no format
  lost       marker present, VERSION gone  -> fails, no format
  stray      files but no VERSION          -> fails, no format (interrupted format, foreign data)
  adopted    VERSION present, no marker    -> no format, marker written
"""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")

FAKE_FORMAT = """#!/bin/sh
# Stands in for `hdfs namenode -format`: leaves current/VERSION in the metadata dir, counts calls.
set -e
echo "$1" >> "$2"
mkdir -p "$1/current"
echo "clusterID=CID-test" > "$1/current/VERSION"
"""

CASE_TASKS = """
    - name: Case {case}
      block:
        - name: Run the format guard ({case})
          ansible.builtin.include_role:
            name: hdfs
            tasks_from: namenode_format
          vars:
            hdfs_namenode_name_dirs: ["{root}/{dir}/nn"]
            hdfs_namenode_format_marker: "{root}/{dir}/marker"
            hdfs_format_command: "{script} {root}/{dir}/nn {root}/{dir}/calls {extra}"
        - name: Record success ({case})
          ansible.builtin.set_fact:
            outcomes: "{{{{ outcomes | combine({{'{case}': 'ok'}}) }}}}"
      rescue:
        - name: Record the failure ({case})
          ansible.builtin.set_fact:
            outcomes: "{{{{ outcomes | combine({{'{case}': 'failed: ' ~ ansible_failed_result.msg}}) }}}}"
"""


@pytest.fixture(scope="module")
def guard_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("nn-guard")
    script = root / "fake-format"
    script.write_text(FAKE_FORMAT)
    script.chmod(0o755)
    for d in ("a", "b", "c", "d"):
        (root / d / "nn").mkdir(parents=True)
    # b: marker from an earlier format, but the metadata is gone.
    (root / "b" / "marker").write_text("formatted\n")
    # c: something in the dir, no VERSION (an interrupted format).
    (root / "c" / "nn" / "in_use.lock").write_text("")
    # d: an existing, formatted NameNode that predates the marker.
    (root / "d" / "nn" / "current").mkdir()
    (root / "d" / "nn" / "current" / "VERSION").write_text("clusterID=CID-old\n")
    cases = [("new", "a", ""), ("rerun", "a", ""), ("newconfig", "a", "-clusterId other"),
             ("lost", "b", ""), ("stray", "c", ""), ("adopted", "d", "")]
    user = getpass.getuser()
    playbook = root / "guard.yml"
    playbook.write_text(
        "- name: Exercise the NameNode format guard\n"
        "  hosts: localhost\n"
        "  connection: local\n"
        "  gather_facts: false\n"
        "  vars:\n"
        "    outcomes: {}\n"
        f"    hdfs_user: {user}\n"
        "    ansible_become_method: su\n"
        "  roles:\n"
        "    - role: bigdata_defaults\n"
        "  tasks:\n"
        + "".join(CASE_TASKS.format(case=c, dir=d, extra=e, root=root, script=script) for c, d, e in cases)
        + "    - name: Write the outcomes\n"
        "      ansible.builtin.copy:\n"
        "        content: \"{{ outcomes | to_json }}\"\n"
        f"        dest: {root}/outcomes.json\n"
        "        mode: \"0644\"\n"
    )
    env = {**os.environ, "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
           "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
           "BIGDATA_ADMIN_STATE_DIR": str(root / "state")}
    proc = subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", str(playbook),
         "-e", f"ansible_python_interpreter={sys.executable}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return root, json.loads((root / "outcomes.json").read_text())


def _calls(root: Path, d: str) -> int:
    path = root / d / "calls"
    return len(path.read_text().splitlines()) if path.exists() else 0


def test_new_namenode_is_formatted_once(guard_run: tuple[Path, dict[str, str]]) -> None:
    root, outcomes = guard_run
    assert outcomes["new"] == "ok" and outcomes["rerun"] == "ok" and outcomes["newconfig"] == "ok"
    assert _calls(root, "a") == 1, "a re-run or a changed config must never format again"
    assert (root / "a" / "nn" / "current" / "VERSION").read_text().startswith("clusterID=")
    assert (root / "a" / "marker").exists()


def test_lost_metadata_stops_instead_of_formatting(guard_run: tuple[Path, dict[str, str]]) -> None:
    root, outcomes = guard_run
    assert outcomes["lost"].startswith("failed: ") and "metadata was lost" in outcomes["lost"]
    assert _calls(root, "b") == 0
    assert not (root / "b" / "nn" / "current").exists()


def test_stray_files_stop_instead_of_formatting(guard_run: tuple[Path, dict[str, str]]) -> None:
    root, outcomes = guard_run
    assert outcomes["stray"].startswith("failed: ") and "in_use.lock" in outcomes["stray"]
    assert _calls(root, "c") == 0


def test_existing_metadata_is_adopted_not_formatted(guard_run: tuple[Path, dict[str, str]]) -> None:
    root, outcomes = guard_run
    assert outcomes["adopted"] == "ok"
    assert _calls(root, "d") == 0
    assert (root / "d" / "nn" / "current" / "VERSION").read_text() == "clusterID=CID-old\n"
    assert (root / "d" / "marker").exists()
