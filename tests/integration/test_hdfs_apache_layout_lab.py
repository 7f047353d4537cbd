"""The `apache` install source, on a tarball this test assembles in Apache's release layout from the
same Maven Central jars (Apache's download mirrors are out of reach here, so no real release
tarball can be had): share/hadoop/{common,hdfs,yarn,mapreduce}[/lib] and the HDFS web UIs under
share/hadoop/hdfs/webapps, no bin/ scripts. HDFS (a NameNode and a DataNode on one lab host)
deploys from it with `hdfs_install_source: apache`, and the `hdfs` command works over its layout.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from bigdata_admin import inventory, paths
from bigdata_admin.health import remote

pytestmark = [pytest.mark.integration, pytest.mark.lab, pytest.mark.slow]


def _share_dir(jar: str) -> str:
    """Where Apache's hadoop-dist puts a jar: the module's own jars in share/hadoop/<module>/,
    third-party jars in share/hadoop/common/lib/."""
    for module in ("hdfs", "yarn", "mapreduce"):
        if jar.startswith(f"hadoop-{module}"):
            return f"share/hadoop/{module}"
    if jar.startswith(("hadoop-common", "hadoop-auth", "hadoop-annotations", "hadoop-registry",
                       "hadoop-kms", "hadoop-nfs")):
        return "share/hadoop/common"
    return "share/hadoop/common/lib"


def assemble_apache_layout(bundle: Path, dest: Path, version: str) -> Path:
    """Re-pack a Maven bundle as `hadoop-<version>.tar.gz` in Apache's layout; returns its path."""
    out = dest / f"hadoop-{version}.tar.gz"
    top = f"hadoop-{version}"
    with tarfile.open(bundle) as src, tarfile.open(out, "w:gz") as tar:
        for member in src:
            if not member.isfile():
                continue
            rel = member.name.split("/", 1)[1]
            f = src.extractfile(member)
            assert f is not None
            data = f.read()
            if rel.startswith("lib/"):
                jar = rel[len("lib/"):]
                name = f"{top}/{_share_dir(jar)}/{jar}"
            elif rel.startswith("webapps/"):
                name = f"{top}/share/hadoop/hdfs/{rel}"
            else:
                continue  # bundle.json is the bundle's, not the release's
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    digest = hashlib.sha512(out.read_bytes()).hexdigest()
    (dest / f"{out.name}.sha512").write_text(f"{digest}  {out.name}\n")
    return out


@pytest.fixture(scope="module")
def apache_inventory(lab: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(inventory with HDFS on the lab's last host from the apache source, cache holding the tarball)."""
    base = Path(lab.inventory)
    cluster = inventory.load(base)
    version = str(cluster.version("hadoop"))
    cache = paths.cache_dir()
    bundle = cache / f"hadoop-{version}-maven.tar.gz"
    if not bundle.is_file():
        fetched = subprocess.run([sys.executable, "-m", "bigdata_admin", "artifacts", "fetch", "-i",
                                  str(base), "hadoop"], capture_output=True, text=True, timeout=1800,
                                 check=False)
        assert fetched.returncode == 0, fetched.stdout[-2000:] + fetched.stderr[-2000:]
    apache_cache = tmp_path_factory.mktemp("apache-cache")
    tarball = assemble_apache_layout(bundle, apache_cache, version)
    digest = hashlib.sha512(tarball.read_bytes()).hexdigest()
    (apache_cache / "manifest.json").write_text(json.dumps({"files": {tarball.name: {
        "component": "hadoop", "version": version, "algorithm": "sha512", "checksum": digest,
        "size": tarball.stat().st_size, "checksum_source": "assembled-by-test"}}}))

    hosts_data = yaml.safe_load((base / "hosts.yml").read_text())
    host = list(hosts_data["all"]["hosts"])[-1]
    inv = tmp_path_factory.mktemp("apache-inv")
    out = {"all": {"vars": {**hosts_data["all"].get("vars", {})},
                   "hosts": {host: hosts_data["all"]["hosts"][host]},
                   "children": {"hdfs_namenode": {"hosts": {host: {}}},
                                "hdfs_datanode": {"hosts": {host: {}}}}}}
    (inv / "hosts.yml").write_text(yaml.safe_dump(out, sort_keys=False))
    shutil.copytree(base / "group_vars", inv / "group_vars")
    gv = yaml.safe_load((inv / "group_vars" / "all.yml").read_text())
    # Nodes get the file copied from this test's cache (not the lab relay, which serves the real one).
    gv.update({"hdfs_install_source": "apache", "bigdata_artifact_base_url": "", "hdfs_replication": 1,
               "bigdata_cluster_name": "apache-layout"})
    (inv / "group_vars" / "all.yml").write_text(yaml.safe_dump(gv, sort_keys=False))
    return inv, apache_cache


def test_apache_source_layout_on_a_tarball_assembled_from_maven_jars(
        apache_inventory: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    from bigdata_admin.runner import run_playbook

    inv, cache = apache_inventory
    monkeypatch.setenv("BIGDATA_ADMIN_CACHE_DIR", str(cache))
    result = run_playbook(paths.playbook("site"), inv, tags=["common", "java", "hdfs"],
                          label="test-hdfs-apache-layout", show_progress=False)
    assert result.rc == 0, "\n".join(f"{f.host} | {f.task} | {f.message}" for f in result.failures)
    cluster = inventory.load(inv)
    host = cluster.hosts_in("hdfs_namenode")[0]
    unit = remote.run(host, ["cat", "/etc/systemd/system/hdfs-namenode.service"], timeout=30)
    assert "/share/hadoop/hdfs/lib/*" in unit.stdout and "/share/hadoop/common/*" in unit.stdout
    report = remote.run(host, ["sh", "-c", "sudo -u hdfs env HADOOP_ROOT_LOGGER=WARN,console "
                                           "hdfs dfsadmin -report"], become=True, timeout=120)
    assert report.ok, report.stderr[-2000:]
    assert "Live datanodes (1)" in report.stdout
    # The web UI's page, from the share/hadoop/hdfs/webapps of the assembled layout.
    import urllib.request

    with urllib.request.urlopen(f"http://{host.address}:9870/dfshealth.html", timeout=30) as page:
        assert "<html" in page.read(4000).decode("utf-8", "replace").lower()
    stop = run_playbook(paths.playbook("stop"), inv, tags=["hdfs"], extravars={"bigdata_action": "stop"},
                        label="test-hdfs-apache-layout-stop", show_progress=False)
    assert stop.rc == 0
