"""Pure logic of the core probes: ZooKeeper four-letter-word parsing, quorum arithmetic, secrets,
SSH argv from inventory variables, status verdicts."""

from __future__ import annotations

from pathlib import Path

import pytest

from bigdata_admin.health import ProbeResult
from bigdata_admin.health.core import parse_mntr, parse_srvr, quorum_size, read_secret, secrets_dir
from bigdata_admin.health.remote import ssh_argv
from bigdata_admin.health.status import ServiceStatus, StatusReport, _summaries
from bigdata_admin.inventory import Cluster, Host

# Answers captured from ZooKeeper 3.8.0 (Debian's libzookeeper-java) on the lab.
SRVR_FOLLOWER = """Zookeeper version: 3.8.0-debian--1, built on 2023-01-01 00:00 UTC
Latency min/avg/max: 0/0.0/0
Received: 12
Sent: 11
Connections: 1
Outstanding: 0
Zxid: 0x100000002
Mode: follower
Node count: 5
"""
SRVR_NOT_SERVING = "This ZooKeeper instance is not currently serving requests\n"
MNTR_LEADER = ("zk_version\t3.8.0-debian--1, built on 2023-01-01 00:00 UTC\nzk_server_state\tleader\n"
               "zk_znode_count\t5\nzk_followers\t2\nzk_synced_followers\t2\nzk_pending_syncs\t0\n")


def test_srvr_gives_mode_and_zxid() -> None:
    parsed = parse_srvr(SRVR_FOLLOWER)
    assert parsed["Mode"] == "follower"
    assert parsed["Zxid"] == "0x100000002"
    assert parsed["Zookeeper version"].startswith("3.8.0")
    assert parsed["Latency min/avg/max"] == "0/0.0/0"


def test_not_serving_is_recognised() -> None:
    assert parse_srvr(SRVR_NOT_SERVING) == {"not_serving": "true"}
    assert parse_mntr(SRVR_NOT_SERVING) == {"not_serving": "true"}


def test_mntr_is_tab_separated() -> None:
    parsed = parse_mntr(MNTR_LEADER)
    assert parsed["zk_server_state"] == "leader"
    assert parsed["zk_synced_followers"] == "2"
    assert parsed["zk_version"].startswith("3.8.0-debian")


@pytest.mark.parametrize(("members", "needed"), [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (7, 4)])
def test_quorum_is_a_strict_majority(members: int, needed: int) -> None:
    assert quorum_size(members) == needed


def _cluster(tmp_path: Path, **vars_: object) -> Cluster:
    return Cluster(source=tmp_path, hosts={}, groups={}, vars={"bigdata_cluster_name": "t", **vars_})


def test_secrets_follow_a_literal_secrets_dir(tmp_path: Path) -> None:
    cluster = _cluster(tmp_path, bigdata_secrets_dir=str(tmp_path))
    assert secrets_dir(cluster) == tmp_path
    assert read_secret(cluster, "redis_password") is None
    (tmp_path / "redis_password").write_text("s3cret\n")
    assert read_secret(cluster, "redis_password") == "s3cret"


def test_templated_secrets_dir_falls_back_to_the_state_dir(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BIGDATA_ADMIN_STATE_DIR", str(tmp_path))
    templated = "{{ bigdata_state_dir }}/secrets/{{ bigdata_cluster_name }}"
    cluster = _cluster(tmp_path, bigdata_secrets_dir=templated)
    assert secrets_dir(cluster) == tmp_path / "secrets" / "t"


def test_ssh_argv_uses_the_inventory_connection_vars() -> None:
    host = Host("h1", {"ansible_host": "10.213.0.11", "ansible_user": "deploy", "ansible_port": 2222,
                       "ansible_ssh_private_key_file": "/k/id", "ansible_ssh_common_args": "-o Foo=bar"})
    argv = ssh_argv(host)
    assert argv[0] == "ssh"
    assert argv[-1] == "deploy@10.213.0.11"
    assert argv[argv.index("-p") + 1] == "2222"
    assert argv[argv.index("-i") + 1] == "/k/id"
    assert "Foo=bar" in argv
    assert "BatchMode=yes" in argv


def _row(host: str, group: str, healthy: bool, state: str) -> ServiceStatus:
    probe = ProbeResult(host, group, healthy, state, state)
    return ServiceStatus(host, group, "zookeeper", "active" if healthy else "inactive", "client", 2181,
                         healthy, probe)


def test_status_names_a_stopped_member_and_the_quorum_holding(tmp_path: Path) -> None:
    rows = [_row("h1", "zookeeper", True, "leader"), _row("h2", "zookeeper", True, "follower"),
            _row("h3", "zookeeper", False, "down")]
    report = StatusReport("t", rows, _summaries(_cluster(tmp_path), rows))
    assert not report.healthy
    assert [r.host for r in report.unhealthy] == ["h3"]
    assert report.unhealthy[0].problem == "unit zookeeper is inactive"
    assert report.summaries[0].startswith("ZooKeeper quorum holding: 2/3")
    assert "not serving: h3" in report.summaries[0]


def test_quorum_lost_when_a_majority_is_down(tmp_path: Path) -> None:
    rows = [_row("h1", "zookeeper", True, "leader"), _row("h2", "zookeeper", False, "down"),
            _row("h3", "zookeeper", False, "down")]
    assert "LOST" in _summaries(_cluster(tmp_path), rows)[0]


def test_a_service_without_probe_is_judged_on_systemd_and_port() -> None:
    row = ServiceStatus("h1", "hdfs_namenode", "hdfs-namenode", "active", "rpc", 8020, True, None)
    assert row.healthy
    row.port_open = False
    assert not row.healthy
    assert row.problem == "port 8020 closed"


def test_short_error_keeps_the_telling_line() -> None:
    from bigdata_admin.health.core import short_error

    exc = Exception('connection failed: connection to server at "10.0.0.1", port 5432 failed: FATAL:  no '
                    'pg_hba.conf entry for host "10.0.0.9"\nconnection to server at "10.0.0.1" failed: again')
    assert short_error(exc) == 'FATAL:  no pg_hba.conf entry for host "10.0.0.9"'
    assert short_error(Exception()) == "Exception"


def test_java_error_keeps_the_root_cause_of_a_relayed_stack_trace() -> None:
    from bigdata_admin.health.core import java_error

    relayed = (
        "org.apache.hive.service.cli.HiveSQLException: Error running query: org.apache.spark.sql."
        "AnalysisException: org.apache.hadoop.hive.ql.metadata.HiveException: MetaException(message:Got "
        "exception: org.apache.hadoop.security.AccessControlException Permission denied: user=bigdata-admin, "
        'access=WRITE, inode="/user/hive/warehouse":hive:hadoop:drwxrwxr-t\n'
        "\tat org.apache.spark.sql.hive.thriftserver.HiveThriftServerErrors$.runningQueryError(x.scala:43)\n"
        "\tat java.base/java.lang.Thread.run(Thread.java:840)\n"
        "Caused by: org.apache.spark.sql.AnalysisException:\n"
        "org.apache.hadoop.hive.ql.metadata.HiveException: MetaException(message:Got exception: "
        "org.apache.hadoop.security.AccessControlException Permission denied: user=bigdata-admin, "
        'access=WRITE, inode="/user/hive/warehouse":hive:hadoop:drwxrwxr-t\n'
        "\tat org.apache.hadoop.hdfs.server.namenode.FSPermissionChecker.check(FSPermissionChecker.java)\n"
        "\t... 42 more\n")
    assert java_error(relayed) == ("AccessControlException: Permission denied: user=bigdata-admin, "
                                   'access=WRITE, inode="/user/hive/warehouse":hive:hadoop:drwxrwxr-t')
    assert java_error("Error while compiling statement: FAILED: SemanticException [Error 10001]: Table not "
                      "found t") == "SemanticException: [Error 10001]: Table not found t"
    assert java_error("plain message") == "plain message"
    assert len(java_error("x" * 5000)) == 400


CLUSTER = Cluster(source=Path("."), hosts={}, groups={}, vars={})


def _flaky_probe(answers: list[ProbeResult]) -> object:
    calls = iter(answers)
    return lambda cluster, host: next(calls)


def test_a_probe_that_timed_out_is_tried_again(monkeypatch: pytest.MonkeyPatch) -> None:
    from bigdata_admin.health import status

    late = ProbeResult("h1", "hdfs_datanode", False, "down", "JMX 10.0.0.1:9864: no answer in time")
    fine = ProbeResult("h1", "hdfs_datanode", True, "running", "registered")
    monkeypatch.setitem(status.PROBES, "hdfs_datanode", _flaky_probe([late, late, fine]))
    monkeypatch.setattr(status, "RETRY_PAUSE_S", 0.0)
    result = status._safe_probe(CLUSTER, Host("h1", {}), "hdfs_datanode")
    assert result.healthy and result.data == {"attempts": 3}


def test_a_probe_that_never_answers_or_fails_otherwise_is_not_tried_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from bigdata_admin.health import status

    late = ProbeResult("h1", "hdfs_datanode", False, "down", "JMX 10.0.0.1:9864: no answer in time")
    refused = ProbeResult("h1", "hdfs_datanode", False, "down", "JMX 10.0.0.1:9864: connection refused")
    fine = ProbeResult("h1", "hdfs_datanode", True, "running", "registered")
    monkeypatch.setattr(status, "RETRY_PAUSE_S", 0.0)
    monkeypatch.setitem(status.PROBES, "hdfs_datanode", _flaky_probe([late] * status.PROBE_ATTEMPTS + [fine]))
    result = status._safe_probe(CLUSTER, Host("h1", {}), "hdfs_datanode")
    assert not result.healthy and result.data == {"attempts": status.PROBE_ATTEMPTS}
    monkeypatch.setitem(status.PROBES, "hdfs_datanode", _flaky_probe([refused, fine]))
    result = status._safe_probe(CLUSTER, Host("h1", {}), "hdfs_datanode")
    assert result.detail.endswith("connection refused") and "attempts" not in result.data
