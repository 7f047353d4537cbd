"""The start/stop/restart verbs run a role's tasks/start.yml (or restart.yml) without its config.yml,
so a variable that only config.yml registers is undefined there: a task on that path that reads one
must default it (ansible-core 2.19 fails the task on an undefined variable; Hive's `start` and
`restart` did so, found by the classroom lab test's `reset`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"
INCLUDES = ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks", "include_tasks", "import_tasks")


def _included(tasks_dir: Path, name: str, seen: set[str]) -> set[str]:
    """Task files reached from tasks/NAME through include/import_tasks with a literal file name."""
    if name in seen or not (tasks_dir / name).is_file():
        return seen
    seen.add(name)
    for task in yaml.safe_load((tasks_dir / name).read_text()) or []:
        for key in INCLUDES:
            target = task.get(key) if isinstance(task, dict) else None
            if isinstance(target, dict):
                target = target.get("file")
            if isinstance(target, str) and "{{" not in target:
                _included(tasks_dir, target, seen)
    return seen


def _registered(path: Path) -> set[str]:
    return set(re.findall(r"^\s*register:\s*(\w+)\s*$", path.read_text(), re.MULTILINE))


def undefaulted(tasks_dir: Path) -> list[str]:
    """`FILE:LINE: text` for each use, on the start/restart path, of a variable only config.yml
    registers that is not followed by `| default(`."""
    reached = _included(tasks_dir, "start.yml", set()) | _included(tasks_dir, "restart.yml", set())
    config_only = _registered(tasks_dir / "config.yml")
    for name in reached:
        config_only -= _registered(tasks_dir / name)
    bad = []
    for name in sorted(reached):
        for n, line in enumerate((tasks_dir / name).read_text().splitlines(), start=1):
            if any(re.search(rf"\b{v}\b(?!\s*\|\s*default\()", line) for v in config_only):
                bad.append(f"{name}:{n}: {line.strip()}")
    return bad


CASES = [r.name for r in sorted(ROLES.iterdir())
         if (r / "tasks" / "start.yml").is_file() and (r / "tasks" / "config.yml").is_file()]


@pytest.mark.parametrize("role", CASES)
def test_start_path_defaults_what_config_registers(role: str) -> None:
    bad = undefaulted(ROLES / role / "tasks")
    assert not bad, f"roles/{role}: the start path reads config.yml's results undefaulted:\n" + "\n".join(bad)


def test_the_check_finds_an_undefaulted_registered_variable(tmp_path: Path) -> None:
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "config.yml").write_text("- name: unit\n  ansible.builtin.template: {src: a, dest: b}\n"
                                      "  register: x_units\n")
    (tasks / "start.yml").write_text("- name: s\n  ansible.builtin.include_tasks: start_daemon.yml\n")
    (tasks / "start_daemon.yml").write_text(
        "- name: d\n  ansible.builtin.systemd_service:\n    daemon_reload: \"{{ x_units is changed }}\"\n")
    assert undefaulted(tasks) == ['start_daemon.yml:3: daemon_reload: "{{ x_units is changed }}"']
    (tasks / "start_daemon.yml").write_text(
        "- name: d\n  ansible.builtin.systemd_service:\n"
        "    daemon_reload: \"{{ (x_units | default({})) is changed }}\"\n")
    assert undefaulted(tasks) == []
