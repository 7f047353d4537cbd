"""Small helpers shared by the lab tests (imported rootdir-relative, like sitexml in tests/unit)."""

from __future__ import annotations

import os
from typing import Any

import pytest


def opt_in(variable: str, why: str) -> Any:
    """A skip mark unless the environment sets `variable` to 1; the reason reads
    `opt-in: set VARIABLE=1 (why)`."""
    return pytest.mark.skipif(os.environ.get(variable) != "1", reason=f"opt-in: set {variable}=1 ({why})")


def wait_healthy(cluster: Any, timeout: float, interval: float = 3, **collect_kwargs: Any) -> Any:
    """`status` (health.status.collect) of the cluster, looked at every `interval` seconds until
    healthy or `timeout` seconds went by; returns the last report."""
    import time

    from bigdata_admin.health.status import collect

    deadline = time.monotonic() + timeout
    report = collect(cluster, **collect_kwargs)
    while not report.healthy and time.monotonic() < deadline:
        time.sleep(interval)
        report = collect(cluster, **collect_kwargs)
    return report


def create_topic(cluster: Any, bootstrap: Any, topic: str) -> None:
    """Create a one-partition Kafka topic replicated on up to 3 brokers (the lab's clusters do not
    auto-create topics: kafka_auto_create_topics is false)."""
    from kafka.admin import KafkaAdminClient, NewTopic

    brokers = len(cluster.hosts_in("kafka_broker")) or len(cluster.hosts_in("kafka_controller"))
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, num_partitions=1, replication_factor=min(3, brokers))])
    finally:
        admin.close()


def main_lab_cluster(main_lab: dict[str, Any], needed: tuple[tuple[str, str], ...]) -> Any:
    """The main job's cluster: asserts the job exited 0, then skips (with the reason) when a needed group
    is absent from the inventory or was skipped by the job. `needed`: (group, what it is) pairs."""
    import pytest

    from bigdata_admin import deployment, inventory

    assert main_lab["rc"] == 0, str(main_lab["out"])[-5000:]
    cluster = inventory.load(main_lab["inventory"])
    absent = deployment.not_deployed(cluster)
    for group, what in needed:
        if not cluster.has(group):
            pytest.skip(f"the lab's inventory has no {group} ({what})")
        if group in absent:
            pytest.skip(f"{what} was skipped in the main job: {absent[group]}")
    return cluster
