"""Issue 11 item 1: ZooKeeper myids and Kafka node.ids are valid, unique and stable.

The assignment logic (bigdata_admin.nodeids), `check` on bad inventories (exit 2 naming the hosts),
and the roles through real ansible-playbook runs: the zookeeper/kafka plays in render mode on
reordered inventories, and the `bigdata_node_ids` action plugin fed stored ids as a slurp returns them.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bigdata_admin import nodeids
from bigdata_admin.cli import app
from bigdata_admin.nodeids import KAFKA, ZOOKEEPER, NodeIdError, assign

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")
META = "#\n#Tue Jan 02 10:00:00 UTC 2024\nnode.id={}\ndirectory.id=abc\nversion=1\ncluster.id=xyz\n"


# --- the logic ------------------------------------------------------------------------------------

def test_fresh_ids_do_not_depend_on_inventory_order() -> None:
    a = assign(ZOOKEEPER, ["h1", "h2", "h3"], {}, {})
    b = assign(ZOOKEEPER, ["h3", "h1", "h2"], {}, {})
    assert a == {"h1": 1, "h2": 2, "h3": 3}
    assert b == a


def test_stored_ids_win_over_position_and_new_hosts_get_the_lowest_free() -> None:
    # Deployed as h3=1, h1=2, h2=3; growing to 5 keeps them and fills 4, 5.
    stored = {"h3": "1\n", "h1": "2\n", "h2": "3\n"}
    ids = assign(ZOOKEEPER, ["h1", "h2", "h3", "h5", "h4"], {}, stored)
    assert ids == {"h1": 2, "h2": 3, "h3": 1, "h5": 5, "h4": 4}


def test_kafka_reads_node_id_from_meta_properties() -> None:
    stored = {"c1": META.format(7), "b1": "broker.id=3\n"}
    assert assign(KAFKA, ["b1", "c1", "c2"], {}, stored) == {"b1": 3, "c1": 7, "c2": 1}


def test_explicit_id_that_contradicts_storage_stops_with_the_fix() -> None:
    with pytest.raises(NodeIdError) as err:
        assign(ZOOKEEPER, ["h1", "h2"], {"h1": 5}, {"h1": "1"})
    assert "h1 stores myid id 1" in err.value.message
    assert "zookeeper_myid: 1" in err.value.fix


def test_explicit_id_colliding_with_a_stored_one_names_both_hosts() -> None:
    with pytest.raises(NodeIdError) as err:
        assign(ZOOKEEPER, ["h1", "h2", "h3"], {"h2": 2}, {"h1": "2"})
    assert "h1 and h2" in err.value.message


def test_duplicate_and_out_of_range_explicit_ids() -> None:
    dup = nodeids.explicit_problems(ZOOKEEPER, {"h1": 2, "h2": 2, "h3": None})
    assert len(dup) == 1 and "h1 and h2" in dup[0].message and "1 is free" in dup[0].fix
    for bad in (0, 256, "two", True):
        found = nodeids.explicit_problems(ZOOKEEPER, {"h1": bad})
        assert len(found) == 1 and "1 to 255" in found[0].message, bad
    assert nodeids.explicit_problems(KAFKA, {"h1": 0, "h2": 1000}) == []
    assert nodeids.explicit_problems(KAFKA, {"h1": -1})


# --- check ------------------------------------------------------------------------------------------

def _inventory(root: Path, groups: dict[str, list[str]], host_vars: dict[str, dict[str, Any]]) -> Path:
    hosts = {h: {"ansible_host": f"10.9.0.{i}", "bigdata_host_memory_mb": 65536, **host_vars.get(h, {})}
             for i, h in enumerate(("n1", "n2", "n3", "n4", "n5"), start=1)}
    children = {g: {"hosts": {h: None for h in m}} for g, m in groups.items()}
    doc = {"all": {"hosts": hosts, "children": children}}
    root.mkdir(parents=True, exist_ok=True)
    (root / "hosts.yml").write_text(yaml.safe_dump(doc, sort_keys=False))
    return root


@pytest.mark.parametrize(("group", "var", "values", "names"), [
    ("zookeeper", "zookeeper_myid", {"n1": 2, "n3": 2}, ["n1", "n3"]),
    ("zookeeper", "zookeeper_myid", {"n2": 300}, ["n2"]),
    ("kafka_controller", "kafka_node_id", {"n1": 4, "n2": 4}, ["n1", "n2"]),
])
def test_check_exits_2_naming_the_hosts(tmp_path: Path, group: str, var: str, values: dict[str, int],
                                         names: list[str]) -> None:
    groups = {group: ["n1", "n2", "n3"], "gpu_worker": ["n1"]}
    if group == "kafka_controller":
        groups["kafka_broker"] = ["n1", "n2", "n3"]
    inv = _inventory(tmp_path / "inv", groups, {h: {var: v} for h, v in values.items()})
    result = CliRunner().invoke(app, ["check", "-i", str(inv), "--json"],
                                env={"BIGDATA_ADMIN_STATE_DIR": str(tmp_path / "state")})
    assert result.exit_code == 2, result.output
    problems = [p for p in json.loads(result.output)["problems"] if p["where"] == f"variable {var}"]
    assert len(problems) == 1, result.output
    assert all(n in problems[0]["message"] for n in names)


# --- the roles, through ansible-playbook -----------------------------------------------------------

def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "BIGDATA_ADMIN_STATE_DIR": str(tmp / "state"),
            "ANSIBLE_ROLES_PATH": str(REPO / "roles"), "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}


def _render(tmp: Path, inv: Path, play: str) -> subprocess.CompletedProcess[str]:
    playbook = tmp / "render.yml"
    play_file = REPO / "playbooks/services" / f"{play}.yml"
    playbook.write_text(f"- name: Render\n  ansible.builtin.import_playbook: {play_file}\n")
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(inv), str(playbook),
         "-e", "bigdata_action=render", "-e", f"bigdata_render_dir={tmp / 'files'}"],
        cwd=REPO, env=_env(tmp), capture_output=True, text=True, timeout=300, check=False)


def _servers(zoo_cfg: str) -> dict[str, str]:
    return {k: v for k, _, v in (line.partition("=") for line in zoo_cfg.splitlines())
            if k.startswith("server.")}


def test_reordered_inventory_renders_the_same_ids(tmp_path: Path) -> None:
    seen = []
    for n, order in enumerate((["n1", "n2", "n3"], ["n3", "n1", "n2"])):
        tmp = tmp_path / str(n)
        inv = _inventory(tmp / "inv", {"zookeeper": order, "kafka_controller": order,
                                       "kafka_broker": order}, {})
        for play in ("zookeeper", "kafka"):
            proc = _render(tmp, inv, play)
            assert proc.returncode == 0, proc.stdout[-3000:]
        files = tmp / "files"
        myids = {h: (files / h / "myid").read_text().strip() for h in order}
        servers = _servers((files / "n1" / "zoo.cfg").read_text())
        props = dict(line.partition("=")[::2] for line in
                     (files / "n1" / "server.properties").read_text().splitlines() if "=" in line)
        voters = sorted(props["controller.quorum.voters"].split(","))
        seen.append((myids, servers, voters, props["node.id"]))
    assert seen[0] == seen[1]
    assert seen[0][0] == {"n1": "1", "n2": "2", "n3": "3"}


def test_duplicate_myid_stops_the_zookeeper_play(tmp_path: Path) -> None:
    inv = _inventory(tmp_path / "inv", {"zookeeper": ["n1", "n2", "n3"]},
                     {"n1": {"zookeeper_myid": 2}, "n3": {"zookeeper_myid": 2}})
    proc = _render(tmp_path, inv, "zookeeper")
    assert proc.returncode != 0
    assert "zookeeper_myid 2 is set on 2 hosts (n1 and n3)" in proc.stdout
    assert not (tmp_path / "files" / "n1" / "zoo.cfg").exists()


def _plugin_run(tmp: Path, explicit: dict[str, int],
                stored: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The action plugin in a one-task play (found, as in the real plays, through role bigdata_defaults),
    `stored` given as a looped slurp registers it."""
    results = [{"item": h, "content": base64.b64encode(t.encode()).decode(), "failed": False}
               for h, t in stored.items()] + [{"item": "n3", "failed": True, "msg": "file not found"}]
    inv = _inventory(tmp / "inv", {"kafka_controller": ["n1", "n2", "n3"]},
                     {h: {"kafka_node_id": v} for h, v in explicit.items()})
    (tmp / "stored.json").write_text(json.dumps({"stored": {"results": results}}))
    playbook = tmp / "ids.yml"
    play = [{"name": "Ids", "hosts": "kafka_controller", "gather_facts": False, "roles": ["bigdata_defaults"],
             "tasks": [{"name": "Choose", "run_once": True,
                        "bigdata_node_ids": {"kind": "kafka", "hosts": "{{ groups['kafka_controller'] }}",
                                             "stored": "{{ stored }}", "fact": "kafka_ids"}},
                       {"name": "Show", "ansible.builtin.debug": {
                           "msg": "ID {{ inventory_hostname }}={{ kafka_ids[inventory_hostname] }}"}}]}]
    playbook.write_text(yaml.safe_dump(play, sort_keys=False))
    env = _env(tmp)
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", str(inv), str(playbook), "-e", f"@{tmp / 'stored.json'}",
         "-c", "local"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_one_plugin_serves_both_roles() -> None:
    """The plugin lives in bigdata_defaults, which every play lists first; the zookeeper and kafka
    plays both do."""
    plugins = sorted(p.relative_to(REPO).as_posix() for p in REPO.glob("roles/*/action_plugins/*.py"))
    assert plugins == ["roles/bigdata_defaults/action_plugins/bigdata_node_ids.py"]
    for play in ("zookeeper", "kafka"):
        roles = [r["role"] for r in yaml.safe_load((REPO / "playbooks" / "services" / f"{play}.yml")
                                                   .read_text())[0]["roles"]]
        assert roles[0] == "bigdata_defaults" and play in roles


def test_action_plugin_keeps_stored_ids_on_every_host(tmp_path: Path) -> None:
    proc = _plugin_run(tmp_path, {}, {"n1": META.format(3), "n2": META.format(1)})
    assert proc.returncode == 0, proc.stdout[-3000:]
    for expected in ("ID n1=3", "ID n2=1", "ID n3=2"):
        assert expected in proc.stdout


def test_action_plugin_stops_when_explicit_contradicts_storage(tmp_path: Path) -> None:
    proc = _plugin_run(tmp_path, {"n1": 5}, {"n1": META.format(3)})
    assert proc.returncode != 0
    assert "n1 stores meta.properties id 3" in proc.stdout
    assert "kafka_node_id: 3" in proc.stdout
