"""Shared test fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bigdata_admin import inventory, runner

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def pilot_reference() -> Path:
    """`../shared/pilot/reference-data`: the book's real files. Skips when absent."""
    path = SHARED / "pilot" / "reference-data"
    if not path.is_dir():
        pytest.skip(f"{path} is absent: the pilot's reference files are not beside this checkout")
    return path


@pytest.fixture
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The artifact cache and state directories under tmp_path (cache/, state/), and a wide terminal
    for CLI output. Returns tmp_path."""
    monkeypatch.setenv("BIGDATA_ADMIN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("BIGDATA_ADMIN_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path


@pytest.fixture
def classroom(repo_root: Path) -> inventory.Cluster:
    """inventories/classroom loaded: node1 masters; node2, node3 workers; HDFS replication 2."""
    return inventory.load(repo_root / "inventories" / "classroom")


RENDER_SETS = {"hadoop": ("hdfs", "yarn", "hbase", "hive", "impala", "spark"),
               "core": ("zookeeper", "kafka", "storm")}
"""Plays rendered together. Two sets: HBase and Kafka both write <host>/log4j2.properties."""


@pytest.fixture(scope="session")
def render_inventory(tmp_path_factory: pytest.TempPathFactory) -> Callable[..., Path]:
    """render(name, plays="hadoop") -> OUT: a set of service plays (RENDER_SETS) of
    `inventories/<name>` rendered once per session with Ansible's own templating
    (`bigdata_action=render`: the real plays, touching no host). Files under OUT/files/<host>/, the
    secrets the plays generated under OUT/state/. One ansible-playbook run per inventory and set,
    shared by the render tests of every component."""
    done: dict[tuple[str, str], Path] = {}

    def render(name: str, plays: str = "hadoop") -> Path:
        if (name, plays) in done:
            return done[name, plays]
        out = tmp_path_factory.mktemp(f"render-{plays}-{name}")
        env = {**os.environ, "BIGDATA_ADMIN_STATE_DIR": str(out / "state"),
               "BIGDATA_ADMIN_CACHE_DIR": str(out / "cache"), "ANSIBLE_ROLES_PATH": str(REPO / "roles"),
               "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
        strategy = runner.mitogen_strategy_dir()
        if strategy is not None:  # as `deploy` runs: about a third of the time (ha: 74 s against 261 s)
            env |= {"ANSIBLE_STRATEGY_PLUGINS": str(strategy), "ANSIBLE_STRATEGY": "mitogen_linear"}
        playbook = out / "render.yml"
        services = REPO / "playbooks" / "services"
        playbook.write_text("".join(f"- name: Render {play}\n  ansible.builtin.import_playbook: "
                                    f"{services / play}.yml\n" for play in RENDER_SETS[plays]))
        proc = subprocess.run(
            [str(Path(sys.executable).with_name("ansible-playbook")), "-i", str(REPO / "inventories" / name),
             str(playbook), "-e", "bigdata_action=render", "-e", f"bigdata_render_dir={out / 'files'}",
             "-e", f"ansible_python_interpreter={sys.executable}"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=1800, check=False)
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        done[name, plays] = out
        return out

    return render
