"""`status` and `smoke` input handling (no host is contacted) and smoke-test selection."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from bigdata_admin import inventory
from bigdata_admin.cli import app
from bigdata_admin.errors import BadInput
from bigdata_admin.health.smoke_runner import components_present, resolve

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def test_status_rejects_a_missing_inventory(tmp_path: Path) -> None:
    result = runner.invoke(app, ["status", "-i", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "does not exist" in " ".join(result.output.split())


def test_status_rejects_an_unknown_group() -> None:
    result = runner.invoke(app, ["status", "-i", str(REPO / "inventories/classroom"), "-s", "zookeper"])
    assert result.exit_code == 2
    text = " ".join(result.output.split())
    assert "unknown service group" in text and "zookeeper" in text


def test_status_needs_a_service_host(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text("all:\n  hosts:\n    a: {ansible_host: 127.0.0.1}\n")
    result = runner.invoke(app, ["status", "-i", str(tmp_path)])
    assert result.exit_code == 2
    assert "no hosts in any service group" in " ".join(result.output.split())


def test_smoke_rejects_an_unknown_service() -> None:
    result = runner.invoke(app, ["smoke", "-i", str(REPO / "inventories/classroom"), "zookeepr"])
    assert result.exit_code == 2
    assert "unknown service 'zookeepr'" in " ".join(result.output.split())


def test_smoke_selection_follows_the_inventory(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text(
        "all:\n  hosts:\n    a: {ansible_host: 127.0.0.1}\n  children:\n"
        "    zookeeper: {hosts: {a: {}}}\n    redis: {hosts: {a: {}}}\n")
    cluster = inventory.load(tmp_path)
    present = components_present(cluster)
    assert present[:2] == ["zookeeper", "redis"] or set(present) >= {"zookeeper", "redis"}
    assert "kafka" not in present and "postgresql" not in present
    chosen, skipped = resolve(cluster, ["redis", "metastore_db", "kafka"])
    assert chosen == ["redis"]
    assert skipped == {"metastore_db": "not in this inventory", "kafka": "not in this inventory"}
    with pytest.raises(BadInput):
        resolve(cluster, ["nosuch"])


def test_classroom_has_every_core_smoke_test() -> None:
    present = components_present(inventory.load(REPO / "inventories/classroom"))
    assert {"zookeeper", "kafka", "storm", "redis", "postgresql"} <= set(present)
