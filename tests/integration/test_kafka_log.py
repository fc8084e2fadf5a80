"""The Kafka adapter against a real broker: the Log Protocol's contract, the first-poll assignment
wait, topic configs, and what happens to a commit when the group rebalances."""

from __future__ import annotations

import threading
import time

import pytest
from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

from pipeline.transport.base import ALL_TOPICS, TOPIC_DLQ, TOPIC_RAW
from tests.integration.conftest import raw_records

pytestmark = pytest.mark.integration


def drain(consumer, expected: int, timeout: float = 20.0) -> list:
    records, deadline = [], time.monotonic() + timeout
    while len(records) < expected and time.monotonic() < deadline:
        batch = consumer.poll(100, 1.0)
        if batch:
            consumer.commit({(r.topic, r.partition): r.offset + 1 for r in batch})
        records.extend(batch)
    return records


def test_topics_are_created_once_with_partitions_and_retention(kafka):
    config = kafka.write_config(retention="2d", dlq_retention="30d")
    log = kafka.log(config)
    try:
        log.ensure_topics(ALL_TOPICS)
        log.ensure_topics(ALL_TOPICS)  # idempotent
        assert {t: len(log.lag("nobody", t)) for t in ALL_TOPICS} == {t: 6 for t in ALL_TOPICS}
    finally:
        log.close()
    admin = KafkaAdminClient(bootstrap_servers=kafka.bootstrap)
    try:
        resources = [ConfigResource(ConfigResourceType.TOPIC, topic) for topic in (TOPIC_RAW, TOPIC_DLQ)]
        described = admin.describe_configs(resources)
    finally:
        admin.close()
    text = str(described)
    assert "172800000" in text and "2592000000" in text  # 2 days for raw, 30 days for the DLQ


def test_records_keep_their_key_partition_and_order_and_commits_show_in_lag(kafka):
    config = kafka.write_config()
    records = raw_records(40)
    kafka.publish(config, [*records, (TOPIC_RAW, "item-00000", b"second copy")])
    log = kafka.log(config)
    try:
        assert sum(p.lag for p in log.lag("classifier", TOPIC_RAW)) == 41  # never committed: all behind
        consumer = log.consumer("classifier", [TOPIC_RAW])
        got = drain(consumer, 41)
        assert sorted({r.key for r in got}) == sorted({key for _, key, _ in records})
        same_key = [r for r in got if r.key == "item-00000"]
        assert len({r.partition for r in same_key}) == 1 and same_key[-1].value == b"second copy"
        for partition in {r.partition for r in got}:
            offsets = [r.offset for r in got if r.partition == partition]
            assert offsets == sorted(offsets)
        lags = log.lag("classifier", TOPIC_RAW)
        assert sum(p.lag for p in lags) == 0 and sum(p.end for p in lags) == 41
        assert all(p.committed_at and abs(p.committed_at - time.time()) < 60 for p in lags if p.end)
        consumer.close()
    finally:
        log.close()


def test_the_producer_is_idempotent_with_this_broker(kafka):
    """kafka-python raises at start-up when explicit idempotence is impossible; here the broker gave
    the producer an id (InitProducerId), so its retries cannot write duplicates."""
    config = kafka.write_config()
    log = kafka.log(config)
    try:
        log.ensure_topics(ALL_TOPICS)
        producer = log.producer()
        producer.publish(TOPIC_RAW, "k", b"v")
        producer.flush()
        client = log._client
        assert client.config["enable_idempotence"] is True and client.config["acks"] == -1
        assert client._transaction_manager.producer_id_and_epoch.producer_id >= 0
    finally:
        log.close()


def test_first_poll_waits_for_the_group_assignment(kafka):
    """A fresh member's first poll returns records even with a zero timeout: it is not 'idle' while joining."""
    config = kafka.write_config()
    kafka.publish(config, raw_records(5))
    log = kafka.log(config)
    try:
        consumer = log.consumer("classifier", [TOPIC_RAW])
        assert len(consumer.poll(100, 0.0)) == 5
        assert consumer.poll(100, 0.5) == []  # drained: idle after the timeout
    finally:
        log.close()


def test_uncommitted_records_are_read_again_by_the_next_member(kafka):
    config = kafka.write_config()
    kafka.publish(config, raw_records(10))
    first = kafka.log(config)
    assert len(drain_without_commit(first.consumer("classifier", [TOPIC_RAW]), 10)) == 10
    first.close()  # leaves the group without committing: a crash after processing
    second = kafka.log(config)
    try:
        assert len(drain(second.consumer("classifier", [TOPIC_RAW]), 10)) == 10
    finally:
        second.close()


def drain_without_commit(consumer, expected: int) -> list:
    records, deadline = [], time.monotonic() + 20
    while len(records) < expected and time.monotonic() < deadline:
        records.extend(consumer.poll(100, 1.0))
    return records


def test_read_from_start_is_bounded_and_ordered_by_partition_then_offset(kafka):
    config = kafka.write_config()
    kafka.publish(config, raw_records(30))
    records = kafka.read(config, TOPIC_RAW)
    assert len(records) == 30
    assert [(r.partition, r.offset) for r in records] == sorted((r.partition, r.offset) for r in records)
    first_seven = kafka.read(config, TOPIC_RAW, limit=7)
    assert first_seven == records[:7]
    assert kafka.read(config, TOPIC_DLQ) == []


def test_a_batch_finished_during_a_rebalance_is_still_committed(kafka):
    """The heartbeat learns of the rebalance and only asks for a rejoin: the batch's commit is accepted."""
    config = kafka.write_config()
    kafka.publish(config, raw_records(60))
    log_a, log_b = kafka.log(config), kafka.log(config)
    try:
        a = log_a.consumer("classifier", [TOPIC_RAW])
        batch = a.poll(20, 1.0)
        assert batch
        joined = threading.Thread(target=lambda: log_b.consumer("classifier", [TOPIC_RAW]).poll(100, 0.0))
        joined.start()  # b's JoinGroup puts the group into PreparingRebalance while a holds its batch
        time.sleep(4)  # > heartbeat interval: a has seen REBALANCE_IN_PROGRESS
        a.commit({(r.topic, r.partition): r.offset + 1 for r in batch})
        committed = {(p.partition, p.committed) for p in log_a.lag("classifier", TOPIC_RAW) if p.committed}
        assert committed == {(r.partition, max(x.offset for x in batch if x.partition == r.partition) + 1)
                             for r in batch}
        a.poll(20, 1.0)  # a rejoins; the rebalance completes
        joined.join(30)
        assert not joined.is_alive()
    finally:
        log_a.close()
        log_b.close()


def test_a_commit_after_the_member_was_evicted_is_dropped_and_replayed_elsewhere(kafka, caplog):
    """A member that outlives max_poll_interval loses its partitions; its late commit is dropped, not raised."""
    config = kafka.write_config(max_poll_interval="2s")
    kafka.publish(config, raw_records(30))
    slow, other = kafka.log(config), kafka.log(config)
    try:
        a = slow.consumer("classifier", [TOPIC_RAW])
        batch = drain_without_commit(a, 30)
        time.sleep(3.5)  # longer than max_poll_interval: the client leaves the group
        b = other.consumer("classifier", [TOPIC_RAW])
        assert len(drain(b, 30)) == 30  # the other member reads everything a did not commit
        a.commit({(r.topic, r.partition): r.offset + 1 for r in batch})  # no exception
        assert "event=commit_dropped" in caplog.text
        assert sum(p.lag for p in other.lag("classifier", TOPIC_RAW)) == 0
    finally:
        slow.close()
        other.close()
