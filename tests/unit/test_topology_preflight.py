"""Judging preflight findings against the plan (`preflight.evaluate`), on findings shaped like the ones
playbooks/preflight.yml reports (the integration tests run it for real)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bigdata_admin import inventory, preflight

PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:18EB 00000000:0000 0A 00000000:00000000 00:00000000 00000000   100        0 1 1 0
   1: 0100007F:0016 0100007F:9C40 01 00000000:00000000 00:00000000 00000000     0        0 2 1 0
  sl  local_address                         remote_address                        st tx_queue
   0: 00000000000000000000000000000000:0885 00000000000000000000000000000000:0000 0A 00000000:00000000
"""


def _cluster(tmp_path: Path) -> inventory.Cluster:
    doc = {"all": {
        "hosts": {"a": {"ansible_host": "10.9.0.1", "bigdata_host_memory_mb": 4096},
                  "b": {"ansible_host": "10.9.0.2", "bigdata_host_memory_mb": 4096}},
        "children": {"zookeeper": {"hosts": {"a": None}}, "redis": {"hosts": {"b": None}}},
    }}
    (tmp_path / "inv").mkdir()
    (tmp_path / "inv" / "hosts.yml").write_text(yaml.safe_dump(doc))
    return inventory.load(tmp_path / "inv")


def _findings(**over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "os": "Debian", "os_version": "12.11", "python": "3.11.2", "hostname": "a",
        "space": ["24105", "73120000 /"], "data_root": "/var/lib/bigdata", "sudo": True,
        "sockets": "", "units": [], "active": [],
        "names": ["a 10.9.0.1", "b 10.9.0.2"], "clock": "1000.0 1000.3",
        "java": ['/usr/bin/java openjdk version "17.0.12" 2024-07-16'],
    }
    base.update(over)
    return base


def test_listening_ports_parser() -> None:
    assert preflight.listening_ports(PROC_NET_TCP) == {0x18EB, 0x0885}  # 6379 and 2181; 22 is not LISTEN


def test_all_fine(tmp_path: Path) -> None:
    report = preflight.evaluate(_cluster(tmp_path), {"a": _findings(), "b": _findings(hostname="b")})
    assert report.ok, report.fixes()
    a = next(h for h in report.hosts if h.host == "a")
    assert a.cells["java"].text == "17" and a.cells["clock"].text == "+0.3 s"


def test_each_column_can_fail(tmp_path: Path) -> None:
    bad = _findings(os="CentOS", os_version="7", python="2.7.5", sudo=False, space=["2048", "100 /"],
                    sockets=PROC_NET_TCP, clock="1000.0 1042.0", names=["a 127.0.1.1", "b "])
    report = preflight.evaluate(_cluster(tmp_path), {"a": bad, "b": _findings(hostname="b")})
    a = next(h for h in report.hosts if h.host == "a")
    failing = {k for k, c in a.cells.items() if not c.ok}
    assert failing == {"os", "python", "sudo", "memory", "disk", "ports", "names", "clock"}
    assert a.cells["ports"].text == "taken: 2181 (zookeeper)"
    assert "b unresolved" in a.cells["names"].text and "a -> 127.0.1.1" in a.cells["names"].text
    assert not report.ok and report.failed_hosts() == ["a"]
    assert any("chrony" in f for f in report.fixes())


def test_port_held_by_our_running_service_is_fine(tmp_path: Path) -> None:
    f = _findings(sockets=PROC_NET_TCP, units=["zookeeper"], active=["active"])
    report = preflight.evaluate(_cluster(tmp_path), {"a": f, "b": _findings(hostname="b")})
    assert report.ok and report.hosts[0].cells["ports"].text == "free (1 ours running)"


def test_hosts_disagreeing_on_a_name(tmp_path: Path) -> None:
    report = preflight.evaluate(_cluster(tmp_path), {
        "a": _findings(), "b": _findings(hostname="b", names=["a 10.9.0.7", "b 10.9.0.2"])})
    b = next(h for h in report.hosts if h.host == "b")
    assert not b.cells["names"].ok and "a -> 10.9.0.7 (inventory 10.9.0.1)" in b.cells["names"].text


def test_host_without_findings_carries_its_error(tmp_path: Path) -> None:
    report = preflight.evaluate(_cluster(tmp_path), {"a": _findings()},
                                errors={"b": "unreachable"}, unreachable=frozenset({"b"}))
    b = next(h for h in report.hosts if h.host == "b")
    assert not b.reachable and not b.ok and report.failed_hosts() == ["b"]
    assert report.as_dict()["b"]["reachable"] is False


def test_units_passed_to_the_playbook(tmp_path: Path) -> None:
    assert preflight.units_by_host(_cluster(tmp_path)) == {"a": ["zookeeper"], "b": ["redis-server"]}
