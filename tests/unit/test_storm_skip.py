"""Storm without its web bundle: the catalog marks it required by storm_ui only, a deploy with
--skip-unavailable leaves out just that group (the storm role still runs for Nimbus and the
supervisors), and `artifacts list` / `artifacts fetch` say so. No playbook and no Maven run here:
the cache is a real directory with a manifest written by artifacts.record."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bigdata_admin import artifacts, deployment, inventory
from bigdata_admin.catalog import Artifact, artifacts_for
from bigdata_admin.checksum import Checksum, file_digest
from bigdata_admin.cli import app
from bigdata_admin.commands.runs import _skipped_json
from bigdata_admin.maven import MavenError

cli = CliRunner()
STORM_GROUPS = ("storm_nimbus", "storm_supervisor", "storm_ui")


@pytest.fixture(autouse=True)
def dirs(isolated_dirs: Path) -> Path:
    return isolated_dirs


def storm_inventory(tmp_path: Path, groups: tuple[str, ...] = STORM_GROUPS) -> inventory.Cluster:
    inv = tmp_path / "inv"
    (inv / "group_vars").mkdir(parents=True, exist_ok=True)
    children: dict[str, object] = {"zookeeper": {"hosts": {"h1": {}, "h2": {}, "h3": {}}}}
    where = {"storm_nimbus": ["h1"], "storm_supervisor": ["h2", "h3"], "storm_ui": ["h1"]}
    for g in groups:
        children[g] = {"hosts": {h: {} for h in where[g]}}
    hosts = {f"h{i}": {"ansible_host": f"10.0.0.{10 + i}"} for i in (1, 2, 3)}
    (inv / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": hosts, "children": children}}))
    (inv / "group_vars" / "all.yml").write_text(yaml.safe_dump({
        "zookeeper_install_method": "package", "bigdata_java_for": {"storm": 17, "zookeeper": 17}}))
    return inventory.load(inv)


def cache_with(cluster: inventory.Cluster, cache: Path, wanted: set[str]) -> list[Artifact]:
    """Put small files for the Storm artifacts whose name contains one of `wanted` into the cache."""
    cache.mkdir(parents=True, exist_ok=True)
    out = []
    for a in artifacts_for(cluster):
        if a.component != "storm" or not any(w in a.filename for w in wanted):
            continue
        (cache / a.filename).write_bytes(a.filename.encode())
        extra = {"coordinates": a.extra["coordinates"]} if a.kind == "bundle" else {}
        artifacts.record(cache, a, Checksum("sha256", file_digest(cache / a.filename, "sha256")), extra=extra)
        out.append(a)
    return out


def test_missing_web_bundle_leaves_out_only_storm_ui(tmp_path: Path) -> None:
    cluster = storm_inventory(tmp_path)
    cache = tmp_path / "cache"
    cache_with(cluster, cache, {"storm-2", "flux-core"})
    plan = artifacts.deploy_artifacts(cluster, ["zookeeper", "storm"], cache=cache)
    assert [a.filename for a in plan.missing] == ["storm-webapp-2.8.3-maven.tar.gz"]
    assert len(plan.skipped) == 1
    web = plan.skipped[0]
    assert (web.tag, web.groups, web.whole) == ("storm", ["storm_ui"], False)
    assert web.files == ["storm-webapp-2.8.3-maven.tar.gz"]
    assert web.fetch_command.endswith(" storm")
    assert plan.skipped_tags == {}, "the storm play still runs"
    reason = plan.skipped_groups["storm_ui"]
    assert "missing storm-webapp-2.8.3-maven.tar.gz" in reason and "artifacts fetch" in reason

    absent = deployment.absent_groups(cluster, plan.skipped_tags, plan.skipped_groups)
    assert absent == {"storm_ui": reason}
    assert deployment.deployed_groups(cluster, ["zookeeper", "storm"], [], absent) == [
        "zookeeper", "storm_nimbus", "storm_supervisor"]
    view_dir = deployment.write_view(cluster, absent, tmp_path / "view")
    view = yaml.safe_load((view_dir / "hosts.yml").read_text())
    children = view["all"]["children"]
    assert children["storm_ui"] == {} and set(children["storm_supervisor"]["hosts"]) == {"h2", "h3"}

    entries = _skipped_json(absent, plan.skipped)
    assert entries == [{"group": "storm_ui", "service": "storm", "reason": web.reason,
                        "files": web.files, "fetch": web.fetch_command}]
    over = artifacts.java_overrides(cluster, plan.skipped)
    if over:  # the java role's defaults are present
        groups = over["java_group_components"]
        assert "storm_ui" not in groups and "storm_nimbus" in groups and "storm_supervisor" in groups


def test_missing_daemon_bundle_skips_the_whole_role_with_every_file(tmp_path: Path) -> None:
    cluster = storm_inventory(tmp_path)
    cache_with(cluster, tmp_path / "cache", {"flux-core"})
    plan = artifacts.deploy_artifacts(cluster, cache=tmp_path / "cache")
    storm = [s for s in plan.skipped if s.tag == "storm"]
    assert len(storm) == 1 and storm[0].whole
    assert storm[0].groups == list(STORM_GROUPS)
    assert storm[0].files == ["storm-2.8.3-maven.tar.gz", "storm-webapp-2.8.3-maven.tar.gz"]
    assert set(plan.skipped_tags) == {"storm"} and plan.skipped_groups == {}
    absent = deployment.absent_groups(cluster, plan.skipped_tags, plan.skipped_groups)
    assert set(absent) == set(STORM_GROUPS)
    assert all(e["files"] == storm[0].files for e in _skipped_json(absent, plan.skipped))


def test_only_ui_hosts_need_the_web_bundle_so_a_ui_only_role_is_skipped_whole(tmp_path: Path) -> None:
    # With every present storm group requiring it, leaving them out leaves the role nothing.
    cluster = storm_inventory(tmp_path, ("storm_ui",))
    cache_with(cluster, tmp_path / "cache", {"storm-2", "flux-core"})
    plan = artifacts.deploy_artifacts(cluster, cache=tmp_path / "cache")
    assert [(s.tag, s.groups, s.whole) for s in plan.skipped] == [("storm", ["storm_ui"], True)]


def test_without_a_ui_host_the_web_bundle_skips_nothing(tmp_path: Path) -> None:
    cluster = storm_inventory(tmp_path, ("storm_nimbus", "storm_supervisor"))
    web = next(a for a in artifacts_for(cluster) if "webapp" in a.filename)
    assert web.groups == ("storm_supervisor",) and web.required_by == ()
    cache_with(cluster, tmp_path / "cache", {"storm-2", "flux-core"})
    plan = artifacts.deploy_artifacts(cluster, cache=tmp_path / "cache")
    assert [a.filename for a in plan.missing] == [web.filename], "still needed: the logviewers"
    assert plan.skipped == [], "the supervisors run without their logviewer"


def test_other_artifacts_still_skip_their_roles_whole(tmp_path: Path) -> None:
    cluster = storm_inventory(tmp_path)
    plan = artifacts.deploy_artifacts(cluster, cache=tmp_path / "empty")
    assert [(s.tag, s.whole) for s in plan.skipped] == [("storm", True)]


def test_artifacts_list_and_fetch_show_the_web_bundle_unavailable_for_storm_ui(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = storm_inventory(tmp_path)
    cache = tmp_path / "cache"
    cache_with(cluster, cache, {"storm-2", "flux-core"})
    r = cli.invoke(app, ["artifacts", "list", "-i", str(cluster.source)])
    assert r.exit_code == 0, r.output
    assert "storm-webapp-2.8.3-maven.tar.gz: unavailable for storm_ui" in r.output
    data = json.loads(cli.invoke(app, ["artifacts", "list", "-i", str(cluster.source), "--json"]).stdout)
    web = next(a for a in data["artifacts"] if a["filename"] == "storm-webapp-2.8.3-maven.tar.gz")
    assert web["required_by"] == ["storm_ui"] and not web["verified"]

    def no_webapp(a: Artifact, cache_dir: Path, reporter: object = None) -> Checksum:
        raise MavenError("Maven could not resolve bundle-storm-2.8.3-lib-webapp: storm-webapp:jar:2.8.3 "
                         "was not found", fix="... scripts/storm-webapp-from-source.")

    monkeypatch.setattr(artifacts, "fetch_maven", no_webapp)
    r = cli.invoke(app, ["artifacts", "fetch", "-i", str(cluster.source), "storm"])
    assert r.exit_code == 1
    assert "storm-2.8.3-maven.tar.gz: cached" in r.output and "flux-core-2.8.3.jar: cached" in r.output
    assert "storm-webapp-2.8.3-maven.tar.gz: failed — Maven could not resolve" in r.output
    assert "fix: ... scripts/storm-webapp-from-source." in r.output
    assert "leaves storm_ui out and deploys storm_supervisor without it" in r.output
