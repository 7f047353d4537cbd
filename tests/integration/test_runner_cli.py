"""`deploy`, `stop`, `runs` through CliRunner with real ansible-playbook runs, and role bigdata_artifact.

The deploy tests aim site.yml at a host whose SSH port nothing listens on (127.0.0.1 port 1): the
validation play runs for real on the control host, then every service play finds the host
unreachable, so nothing on this machine is changed. The role test puts a file under tmp_path only.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bigdata_admin import artifacts, runner
from bigdata_admin.catalog import Artifact
from bigdata_admin.checksum import Checksum
from bigdata_admin.cli import app

pytestmark = pytest.mark.integration
cli = CliRunner()


@pytest.fixture(autouse=True)
def dirs(isolated_dirs: Path) -> Path:
    return isolated_dirs


def unreachable_inventory(tmp_path: Path, **vars: object) -> Path:
    inv = tmp_path / "inv"
    (inv / "group_vars").mkdir(parents=True, exist_ok=True)
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {
        "hosts": {"n1": {"ansible_host": "127.0.0.1", "ansible_port": 1, "bigdata_host_memory_mb": 4096,
                         "ansible_ssh_common_args": "-o ConnectTimeout=5 -o StrictHostKeyChecking=no"}},
        "children": {"zookeeper": {"hosts": {"n1": {}}}, "redis": {"hosts": {"n1": {}}}}}}))
    (inv / "group_vars" / "all.yml").write_text(yaml.safe_dump(vars))
    return inv


def test_deploy_skip_unavailable_runs_site_and_reports_unreachable(tmp_path: Path) -> None:
    inv = unreachable_inventory(tmp_path, zookeeper_install_method="tarball")
    r = cli.invoke(app, ["deploy", "-i", str(inv), "--skip-unavailable", "--json"])
    assert r.exit_code == 3, r.output
    data = json.loads(r.stdout)
    assert data["skipped"] == [{"group": "zookeeper", "service": "zookeeper",
                                "files": ["apache-zookeeper-3.8.4-bin.tar.gz"],
                                "reason": "missing apache-zookeeper-3.8.4-bin.tar.gz",
                                "fetch": f"bigdata-admin artifacts fetch -i {inv} zookeeper"}]
    assert data["recap"]["localhost"]["failed"] == 0, "the validation play passed"
    assert data["recap"]["n1"]["unreachable"] == 1
    info = runner.find_run("last")
    assert info["skip_tags"] == ["zookeeper"] and info["label"] == "deploy"

    r = cli.invoke(app, ["runs", "list"])
    assert r.exit_code == 0 and info["id"] in r.stdout
    r = cli.invoke(app, ["runs", "show", info["id"]])
    assert r.exit_code == 0 and "UNREACHABLE" in r.stdout and "port 1" in r.stdout
    r = cli.invoke(app, ["runs", "show", "last", "--log"])
    assert "PLAY RECAP" in r.stdout


def test_stop_service_runs_site_with_action_and_tags(tmp_path: Path) -> None:
    inv = unreachable_inventory(tmp_path, zookeeper_install_method="package")
    r = cli.invoke(app, ["stop", "-i", str(inv), "zookeeper"])
    assert r.exit_code == 3, r.output
    assert "UNREACHABLE" in r.stdout and "Log:" in r.stdout
    info = runner.find_run("last")
    assert info["tags"] == ["zookeeper"] and info["extravars"] == ["bigdata_action"]


LOCAL = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}


@pytest.mark.slow
def test_role_bigdata_artifact_copy_serve_and_corrupt(tmp_path: Path) -> None:
    """The role for real on this machine: copy from the cache, then download from `artifacts serve`."""
    cache = tmp_path / "cache"
    cache.mkdir()
    data = b"tarball bytes\n" * 5000
    (cache / "demo-1.0.tar.gz").write_bytes(data)
    artifacts.record(cache, Artifact("demo", "1.0", "demo-1.0.tar.gz", "tarball", "apache"),
                     Checksum("sha512", hashlib.sha512(data).hexdigest()))
    dest = tmp_path / "node" / "dist"
    inv = tmp_path / "hosts.yml"
    inv.write_text(yaml.safe_dump({"all": {"hosts": {"node": LOCAL}}}))
    pb = tmp_path / "put.yml"
    role_vars = {"bigdata_artifact_file": "{{ file | default('demo-1.0.tar.gz') }}",
                 "bigdata_artifact_dest": str(dest)}
    pb.write_text(yaml.safe_dump([{"name": "Put an artifact", "hosts": "all", "gather_facts": False,
                                   "roles": [{"role": "bigdata_defaults"},
                                             {"role": "bigdata_artifact", "vars": role_vars}]}]))

    first = runner.run_playbook(pb, inv, show_progress=False)
    assert first.rc == 0 and first.recap["node"].changed >= 1
    assert (dest / "demo-1.0.tar.gz").read_bytes() == data
    again = runner.run_playbook(pb, inv, show_progress=False)
    assert again.rc == 0 and again.recap["node"].changed == 0, "idempotent"

    missing = runner.run_playbook(pb, inv, extravars={"file": "nope.tgz"}, show_progress=False)
    assert missing.rc == 1 and "bigdata-admin artifacts fetch" in missing.failures[0].message

    (dest / "demo-1.0.tar.gz").unlink()
    with artifacts.serving("127.0.0.1", 0, cache) as srv:
        over_http = runner.run_playbook(pb, inv, extravars={"bigdata_artifact_base_url": srv.url},
                                        check=True, show_progress=False)
        assert over_http.rc == 0 and not (dest / "demo-1.0.tar.gz").exists(), "check mode is read-only"
        over_http = runner.run_playbook(pb, inv, extravars={"bigdata_artifact_base_url": srv.url},
                                        show_progress=False)
    assert over_http.rc == 0 and (dest / "demo-1.0.tar.gz").read_bytes() == data

    # A manifest that disagrees with the file on the node fails the host, naming the fix.
    manifest = json.loads((cache / "manifest.json").read_text())
    manifest["files"]["demo-1.0.tar.gz"]["checksum"] = "0" * 128
    (cache / "manifest.json").write_text(json.dumps(manifest))
    (cache / "demo-1.0.tar.gz").write_bytes(b"other")
    bad = runner.run_playbook(pb, inv, show_progress=False)
    assert bad.rc == 1 and "does not match" in bad.failures[0].message
