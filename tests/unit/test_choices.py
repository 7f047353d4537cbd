"""Issue 11 items 3 and 4: enumerated variables have one list of allowed values, shared by `check` and
the roles' argument_specs; `*_extra` dictionaries cannot contradict a first-class setting."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from bigdata_admin import choices, clients, sqlclient
from bigdata_admin.cli import app

REPO = Path(__file__).resolve().parents[2]


def _argument_specs() -> dict[str, dict[str, dict[str, Any]]]:
    """Role -> option -> its spec, from every role's meta/argument_specs.yml."""
    out = {}
    for path in sorted((REPO / "roles").glob("*/meta/argument_specs.yml")):
        data = yaml.safe_load(path.read_text())
        out[path.parts[-3]] = data["argument_specs"]["main"]["options"]
    return out


def test_argument_specs_choices_agree_with_the_library() -> None:
    specs = _argument_specs()
    for var, allowed in choices.CHOICES.items():
        holders = {role: opts[var] for role, opts in specs.items() if var in opts}
        assert holders, f"{var} is in no role's argument_specs"
        for role, spec in holders.items():
            assert spec.get("choices") == list(allowed), f"roles/{role}: {var} choices differ from CHOICES"
    # ... and no role has enumerated values the library does not know.
    for role, opts in specs.items():
        for var, spec in opts.items():
            if "choices" in spec and var not in ("bigdata_action", "bigdata_artifact_action"):
                assert choices.allowed(var) is not None, f"roles/{role}: {var} has choices unknown to CHOICES"
                assert spec["choices"] == list(choices.allowed(var) or ()), f"roles/{role}: {var} differs"


def test_defaults_are_allowed_values() -> None:
    defaults = yaml.safe_load((REPO / "roles/bigdata_defaults/defaults/main.yml").read_text())
    for var, allowed in choices.CHOICES.items():
        if var in defaults:
            assert defaults[var] in allowed, var


def test_clients_speak_the_same_values() -> None:
    assert clients.THRIFT_TRANSPORTS == choices.THRIFT_TRANSPORTS
    assert clients.THRIFT_PROTOCOLS == choices.THRIFT_PROTOCOLS
    assert sqlclient.AUTH_MODES == choices.HS2_AUTH_MODES


def _check(tmp_path: Path, all_vars: dict[str, Any], group_files: dict[str, dict[str, Any]] | None = None,
           ) -> tuple[int, list[dict[str, Any]], str]:
    hosts = {f"n{i}": {"ansible_host": f"10.8.0.{i}", "bigdata_host_memory_mb": 65536} for i in (1, 2, 3)}
    groups = {"zookeeper": ["n1", "n2", "n3"], "hdfs_namenode": ["n1"], "hdfs_datanode": ["n2", "n3"],
              "hbase_master": ["n1"], "hbase_regionserver": ["n2", "n3"], "hbase_thrift": ["n2"],
              "gpu_worker": ["n3"]}
    inv = tmp_path / "inv"
    (inv / "group_vars").mkdir(parents=True)
    children = {g: {"hosts": {h: None for h in m}} for g, m in groups.items()}
    doc = {"all": {"hosts": hosts, "children": children}}
    (inv / "hosts.yml").write_text(yaml.safe_dump(doc))
    (inv / "group_vars" / "all.yml").write_text(yaml.safe_dump({"hdfs_replication": 2, **all_vars}))
    for group, values in (group_files or {}).items():
        (inv / "group_vars" / f"{group}.yml").write_text(yaml.safe_dump(values))
    result = CliRunner().invoke(app, ["check", "-i", str(inv), "--json"],
                                env={"BIGDATA_ADMIN_STATE_DIR": str(tmp_path / "state")})
    problems = json.loads(result.output)["problems"] if result.output.startswith("{") else []
    return result.exit_code, [p for p in problems if p["severity"] == "error"], result.output


@pytest.mark.parametrize(("var", "value"), [
    ("hive_server2_auth", "NOSALS"), ("spark_thrift_auth", "none"), ("impala_daemon_hs2_auth", "KERBEROS"),
    ("hbase_thrift_transport", "http"), ("hbase_thrift_protocol", "json"), ("hive_execution_engine", "spark"),
    ("zookeeper_install_method", "apt"), ("spark_install_method", "pip"), ("common_time_sync", "ntpd"),
    ("hbase_install_source", "git"),
])
def test_check_rejects_a_value_outside_the_choices(tmp_path: Path, var: str, value: str) -> None:
    code, errors, output = _check(tmp_path, {var: value})
    assert code == 2, output
    mine = [e for e in errors if e["where"] == f"variable {var}"]
    assert len(mine) == 1, output
    assert repr(value) in mine[0]["message"]
    assert ", ".join(choices.allowed(var) or ()) in mine[0]["message"]


def test_check_accepts_every_allowed_value(tmp_path: Path) -> None:
    for n, (var, allowed) in enumerate(choices.CHOICES.items()):
        for value in allowed:
            _code, errors, output = _check(tmp_path / f"{n}-{value}", {var: value})
            assert [e for e in errors if e["where"] == f"variable {var}"] == [], output


def test_check_names_the_group_file_hosts(tmp_path: Path) -> None:
    code, errors, _ = _check(tmp_path, {}, {"hbase_thrift": {"hbase_thrift_transport": "Framed"}})
    assert code == 2
    assert any("host n2" in e["message"] and "'Framed'" in e["message"] for e in errors)


@pytest.mark.parametrize(("extra", "needle"), [
    ({"hbase_site_extra": {"hbase.regionserver.thrift.framed": "true"}}, "hbase_thrift_transport"),
    ({"hbase_site_extra": {"hbase.regionserver.thrift.compact": True}}, "hbase_thrift_protocol"),
    ({"hive_site_extra": {"hive.server2.authentication": "NOSASL"}}, "hive_server2_auth"),
    ({"spark_thrift_hiveconf_extra": {"hive.server2.authentication": "NOSASL"}}, "spark_thrift_auth"),
    ({"kafka_extra_config": {"listeners": "PLAINTEXT://:9092"}}, "kafka_broker_port"),
    ({"kafka_extra_config": {"security.inter.broker.protocol": "TLS"}}, "SASL_SSL"),
])
def test_check_rejects_extra_keys_that_contradict_a_setting(tmp_path: Path, extra: dict[str, Any],
                                                            needle: str) -> None:
    code, errors, output = _check(tmp_path, extra)
    assert code == 2, output
    (var,) = extra
    mine = [e for e in errors if e["where"] == f"variable {var}"]
    assert len(mine) == 1, output
    assert needle in mine[0]["message"] + mine[0]["fix"]


def test_check_accepts_extra_keys_that_agree(tmp_path: Path) -> None:
    _code, errors, output = _check(tmp_path, {
        "hbase_thrift_transport": "framed",
        "hbase_site_extra": {"hbase.regionserver.thrift.framed": "true", "hbase.hregion.max.filesize": 1},
        "hive_site_extra": {"hive.server2.authentication": "NONE"},
    })
    assert [e for e in errors if e["where"].startswith("variable ")] == [], output
