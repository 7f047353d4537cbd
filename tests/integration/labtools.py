"""Small helpers shared by the lab tests (imported rootdir-relative, like sitexml in tests/unit)."""

from __future__ import annotations

from typing import Any


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
