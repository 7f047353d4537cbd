"""Render the ZooKeeper, Kafka and Storm configuration for the classroom and ha inventories with
Ansible's own templating (`bigdata_action=render`, which touches no host) and check that everything
that must agree across hosts does: quorum lists, myids, controller voters, listeners, seeds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from bigdata_admin import inventory, services

REPO = Path(__file__).resolve().parents[2]


def _props(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


@pytest.fixture(scope="module", params=["classroom", "ha"])
def rendered(request: pytest.FixtureRequest, render_inventory: Callable[..., Path]) -> tuple[str, Path]:
    return request.param, render_inventory(request.param, "core")


def _addr(cluster: inventory.Cluster, host: str) -> str:
    return cluster.hosts[host].address or host


def test_zookeeper_ensemble_agrees(rendered: tuple[str, Path]) -> None:
    name, out = rendered
    cluster = inventory.load(REPO / "inventories" / name)
    members = [h.name for h in cluster.hosts_in("zookeeper")]
    configs = {h: _props((out / "files" / h / "zoo.cfg").read_text()) for h in members}
    servers = {h: {k: v for k, v in cfg.items() if k.startswith("server.")} for h, cfg in configs.items()}
    first = servers[members[0]]
    assert len(first) == len(members)
    assert all(s == first for s in servers.values()), "every member must list the same ensemble"
    for h in members:
        myid = (out / "files" / h / "myid").read_text().strip()
        assert first[f"server.{myid}"].split(":")[0] == _addr(cluster, h), "myid must match the member's line"
        cfg = configs[h]
        whitelist = set(cfg["4lw.commands.whitelist"].split(","))
        assert {"ruok", "srvr", "stat", "mntr", "conf", "envi"} <= whitelist
        assert cfg["admin.enableServer"] == "false", "the admin server would take 8080 (Spark's port)"
        assert cfg["clientPort"] == str(cluster.var("zookeeper_client_port"))
    unit = (out / "files" / members[0] / "zookeeper.service").read_text()
    assert "User=zookeeper" in unit and "/opt/bigdata/java/17/bin/java" in unit


def test_kafka_kraft_quorum_and_listeners_agree(rendered: tuple[str, Path]) -> None:
    name, out = rendered
    cluster = inventory.load(REPO / "inventories" / name)
    controllers = [h.name for h in cluster.hosts_in("kafka_controller")]
    brokers = [h.name for h in cluster.hosts_in("kafka_broker")]
    nodes = list(dict.fromkeys(controllers + brokers))
    props = {h: _props((out / "files" / h / "server.properties").read_text()) for h in nodes}
    voters = {p["controller.quorum.voters"] for p in props.values()}
    assert len(voters) == 1, "every node must name the same controller quorum"
    voter_list = voters.pop().split(",")
    assert len(voter_list) == len(controllers)
    ids = {h: p["node.id"] for h, p in props.items()}
    assert len(set(ids.values())) == len(nodes), "node ids must be unique"
    for h in controllers:
        assert f"{ids[h]}@{_addr(cluster, h)}:{cluster.var('kafka_controller_port')}" in voter_list
        assert "controller" in props[h]["process.roles"].split(",")
        listener = f"CONTROLLER://{_addr(cluster, h)}:{cluster.var('kafka_controller_port')}"
        assert listener in props[h]["listeners"]
    for h in brokers:
        p = props[h]
        assert "broker" in p["process.roles"].split(",")
        advertised = f"PLAINTEXT://{_addr(cluster, h)}:{cluster.var('kafka_broker_port')}"
        assert p["advertised.listeners"] == advertised
        assert int(p["default.replication.factor"]) <= len(brokers)
        assert int(p["min.insync.replicas"]) < int(p["default.replication.factor"]) or len(brokers) == 1
        assert int(p["offsets.topic.replication.factor"]) <= len(brokers)
    for h in set(nodes) - set(brokers):
        assert "advertised.listeners" not in props[h], "a dedicated controller advertises no broker listener"
    if name == "ha":
        assert all(props[h]["process.roles"] == "controller" for h in controllers)
    else:
        assert all(props[h]["process.roles"] == "broker,controller" for h in controllers)


def test_storm_seeds_and_zookeeper_servers_agree(rendered: tuple[str, Path]) -> None:
    name, out = rendered
    cluster = inventory.load(REPO / "inventories" / name)
    storm_hosts = list(dict.fromkeys(h.name for g in ("storm_nimbus", "storm_supervisor", "storm_ui")
                                     for h in cluster.hosts_in(g)))
    docs = {h: yaml.safe_load((out / "files" / h / "storm.yaml").read_text()) for h in storm_hosts}
    zk = [h.address for h in cluster.hosts_in("zookeeper")]
    seeds = [h.address for h in cluster.hosts_in("storm_nimbus")]
    for h, doc in docs.items():
        assert doc["storm.zookeeper.servers"] == zk
        assert doc["nimbus.seeds"] == seeds
        assert doc["storm.local.hostname"] == _addr(cluster, h)
        assert doc["supervisor.slots.ports"] == cluster.var("storm_supervisor_slot_ports")
        assert doc["ui.port"] == cluster.var("storm_ui_port") != 8080
        assert doc["storm.zookeeper.port"] == cluster.var("zookeeper_client_port")
    for h in (x.name for x in cluster.hosts_in("storm_supervisor")):
        assert (out / "files" / h / "storm-supervisor.service").is_file()
        assert (out / "files" / h / "storm-logviewer.service").is_file()
    home = f"{cluster.var('bigdata_install_root', '/opt/bigdata')}/storm"
    mains = {"storm-nimbus": ("storm_nimbus", "org.apache.storm.daemon.nimbus.Nimbus"),
             "storm-supervisor": ("storm_supervisor", "org.apache.storm.daemon.supervisor.Supervisor"),
             "storm-logviewer": ("storm_supervisor", "org.apache.storm.daemon.logviewer.LogviewerServer"),
             "storm-ui": ("storm_ui", "org.apache.storm.daemon.ui.UIServer")}
    for unit, (group, main_class) in mains.items():
        daemon = unit.removeprefix("storm-")
        for h in (x.name for x in cluster.hosts_in(group)):
            text = (out / "files" / h / f"{unit}.service").read_text()
            # The shared JVM unit shape with the properties bin/storm adds; web daemons add lib-webapp.
            assert main_class in text and "bin/java" in text
            for prop in (f"-Ddaemon.name={daemon}", f"-Dstorm.home={home}", f"-Dlogfile.name={daemon}.log",
                         "-Dlog4j.configurationFile=", "/log4j2/cluster.xml", "-Dstorm.log.dir="):
                assert prop in text, (unit, prop)
            assert ("lib-webapp/*" in text) == (daemon in ("ui", "logviewer")), unit
            assert f"{home}/lib/*" in text
    for h in storm_hosts:
        assert docs[h]["storm.log4j2.conf.dir"].endswith("/log4j2")
        worker = (out / "files" / h / "worker.xml").read_text()
        assert "${sys:workers.artifacts}/${sys:storm.id}/${sys:worker.port}" in worker
        assert 'name="A1"' in worker, "the logviewer reads the worker appender A1"
        assert "${sys:storm.log.dir}/${sys:logfile.name}" in (out / "files" / h / "cluster.xml").read_text()
        cli = (out / "files" / h / "storm").read_text()
        assert "org.apache.storm.command.ListTopologies" in cli and "lib-worker/*" in cli


def test_kafka_cluster_id_is_generated_once_and_kept_secret(rendered: tuple[str, Path]) -> None:
    name, out = rendered
    secret = out / "state" / "secrets" / name / "kafka_cluster_id"
    assert secret.is_file()
    assert secret.stat().st_mode & 0o777 == 0o600
    assert secret.parent.stat().st_mode & 0o777 == 0o700
    cluster_id = secret.read_text().strip() + "A"
    assert len(cluster_id) == 22
    import base64
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16, "a Kafka cluster id is a base64 UUID"


def test_role_group_maps_match_the_service_registry() -> None:
    java = yaml.safe_load((REPO / "roles/java/defaults/main.yml").read_text())["java_group_components"]
    jvm_groups = {s.group: s.component for s in services.SERVICES if s.uses_java}
    assert java == jvm_groups
    users = yaml.safe_load((REPO / "roles/common/defaults/main.yml").read_text())["common_service_users"]
    assert set(users) <= set(services.GROUPS)
