"""The Kafka log (``log: kafka://host:port[,host:port...]``): kafka-python behind the Log Protocol.

It keeps the SQLite log's contract, with Kafka's partitions and consumer groups underneath:

- **Producer.** Idempotent, ``acks=all``, LZ4-compressed batches (``lz4``, in the ``kafka`` extra:
  kafka-python's gzip runs at level 9, about 20 MB/s of JSON on one core here, against about 400 MB/s
  for LZ4), a 5 ms linger, keyed by item id so one story stays
  on one partition; :mod:`pipeline.transport.kafka_producer` keeps every record until it is
  acknowledged and makes a record too large for the log that record's failure. Record batches
  carry a CRC32C, which the client computes in C with the ``crc32c`` package (part of the
  ``kafka`` extra; without it kafka-python uses a pure-Python loop on every produced and fetched
  batch).
- **Consumer.** One consumer group per stage, no auto-commit, from the earliest offset when the
  group has none. ``commit()`` commits exactly the offsets given, synchronously, stamped with the
  time (the offset metadata) so ``lag()`` can show when. A commit refused because the group
  rebalanced is dropped with a warning: the partition's new owner re-reads from the last commit and
  the idempotent sinks absorb the replay.
- **Groups.** kafka-python's defaults: the EAGER protocol with the range assignor, so two members
  on six partitions hold three each, and a rebalance revokes everything before reassigning. The
  rebalance listener only logs (see :class:`_Membership` for why nothing needs committing there).
- **Idle.** ``poll()`` does not report "nothing left" while the consumer is still joining the
  group or rebalancing (up to the session timeout), and gives the fetcher a full poll timeout after
  each assignment, so ``consume --until-idle`` does not stop before it had a chance to read.
- **Topics** are created by ``ensure_topics`` (``newsmon setup``) with the configured partitions,
  replication and retention; the clients never auto-create one with the broker's defaults.

Only this module, :mod:`pipeline.transport.kafka_producer` and :mod:`pipeline.transport.kafka_admin`
import kafka-python.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Sequence
from typing import Any

from pipeline.errors import ConfigError, RetryLater
from pipeline.settings import KafkaSettings, Settings
from pipeline.transport.base import PartitionLag, Record

try:
    import kafka.errors as Errors
    from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.structs import OffsetAndMetadata
except ImportError as missing:  # an optional dependency
    raise ConfigError(f"log: kafka:// needs kafka-python ({missing}); pip install 'newsmon[kafka]'") from None

from pipeline.transport.kafka_admin import (
    CONNECT_WAIT_MAX,
    KafkaAdmin,
    client_config,
    commit_metadata,
    committed_at,
    connect_admin,
    kafka_error,
    parse_kafka_url,
    quiet_kafka_logging,
    translated,
)
from pipeline.transport.kafka_producer import KafkaLogProducer

__all__ = ["KafkaLog", "KafkaLogConsumer", "producer_config", "consumer_config", "reader_config"]

logger = logging.getLogger(__name__)

quiet_kafka_logging()

_LINGER_MS = 5
_REBALANCED = (Errors.CommitFailedError, Errors.RebalanceInProgressError, Errors.UnknownMemberIdError,
               Errors.IllegalGenerationError)


def producer_config(common: dict[str, Any], kafka: KafkaSettings) -> dict[str, Any]:
    """Idempotent (no duplicates from the client's own retries; Kafka >= 0.11), every replica in sync
    acknowledges, unlimited retries bounded by the delivery timeout, order kept per partition."""
    timeout_ms = common["request_timeout_ms"]
    return {
        **common, "client_id": f"{kafka.client_id}-producer",
        "acks": "all", "enable_idempotence": True, "compression_type": "lz4", "linger_ms": _LINGER_MS,
        "max_block_ms": timeout_ms, "bootstrap_timeout_ms": timeout_ms,
        "delivery_timeout_ms": max(120_000, timeout_ms + _LINGER_MS),
        "allow_auto_create_topics": False,  # topics come from ensure_topics, with newsmon's partitions
    }


def consumer_config(common: dict[str, Any], kafka: KafkaSettings, group: str) -> dict[str, Any]:
    session_ms = int(kafka.session_timeout * 1000)
    return {
        **common, "client_id": f"{kafka.client_id}-{group}", "group_id": group,
        "enable_auto_commit": False, "auto_offset_reset": "earliest",
        "session_timeout_ms": session_ms, "heartbeat_interval_ms": max(100, min(3000, session_ms // 3)),
        "max_poll_interval_ms": int(kafka.max_poll_interval * 1000),
        "bootstrap_timeout_ms": common["request_timeout_ms"], "allow_auto_create_topics": False,
    }


def reader_config(common: dict[str, Any], kafka: KafkaSettings) -> dict[str, Any]:
    """A consumer outside any group (``read_from_start``): assigned partitions, nothing committed."""
    return {**common, "client_id": f"{kafka.client_id}-reader", "group_id": None, "enable_auto_commit": False,
            "bootstrap_timeout_ms": common["request_timeout_ms"], "allow_auto_create_topics": False}


def _record(message: Any) -> Record:
    key = message.key.decode("utf-8", errors="replace") if message.key is not None else ""
    return Record(message.topic, message.partition, message.offset, key, message.value or b"",
                  message.timestamp / 1000.0)


def _names(partitions: Iterable[TopicPartition]) -> str:
    return ",".join(f"{tp.topic}:{tp.partition}" for tp in sorted(partitions)) or "-"


class KafkaLog:
    """``Log`` over a Kafka cluster. Construction connects (bounded) and fails with a ConfigError."""

    def __init__(self, url: str, settings: Settings | None = None) -> None:
        self.url = url
        self._kafka = settings.kafka if settings is not None else KafkaSettings()
        source = settings.source if settings is not None else "<defaults>"
        self._common = client_config(parse_kafka_url(url), self._kafka, source)
        wait = min(CONNECT_WAIT_MAX, self._kafka.request_timeout)
        self._admin = KafkaAdmin(url, connect_admin(url, self._common, wait), self._kafka, source)
        self._client: KafkaProducer | None = None  # one thread-safe client behind every producer()
        self._producers: list[KafkaLogProducer] = []
        self._consumers: list[KafkaLogConsumer] = []

    def producer(self) -> KafkaLogProducer:
        if self._client is None:
            with translated(self.url, "start a producer"):
                self._client = KafkaProducer(**producer_config(self._common, self._kafka))
        producer = KafkaLogProducer(self.url, self._client, self._kafka.request_timeout)
        self._producers.append(producer)
        return producer

    def consumer(self, group: str, topics: Sequence[str]) -> KafkaLogConsumer:
        with translated(self.url, f"start consumer group {group}"):
            client = KafkaConsumer(**consumer_config(self._common, self._kafka, group))
        # a join waits for every live member to rejoin, and for a dead one until its session expires
        consumer = KafkaLogConsumer(self.url, client, group, topics, join_wait=self._kafka.session_timeout,
                                    commit_timeout=self._kafka.request_timeout)
        self._consumers.append(consumer)
        return consumer

    def ensure_topics(self, topics: Sequence[str]) -> None:
        self._admin.ensure_topics(topics)

    def lag(self, group: str, topic: str) -> list[PartitionLag]:
        """Per partition; a group that never committed is behind by every retained record."""
        bounds = self._admin.bounds(topic)
        committed = self._admin.committed(group, topic, sorted(bounds))
        return [_partition_lag(topic, p, first, end, committed.get(p)) for p, (first, end) in sorted(bounds.items())]

    def read_from_start(self, topic: str, limit: int) -> list[Record]:
        """Up to ``limit`` records ordered by partition, then offset; RetryLater if they cannot be read in time."""
        bounds = self._admin.bounds(topic)
        if limit <= 0 or not bounds:
            return []
        with translated(self.url, f"read {topic}"):
            reader = KafkaConsumer(**reader_config(self._common, self._kafka))
            try:
                return _read_bounded(reader, topic, bounds, limit, time.monotonic() + self._kafka.request_timeout)
            finally:
                reader.close(autocommit=False)

    def close(self) -> None:
        for consumer in self._consumers:
            consumer.close()
        for producer in self._producers:
            producer.close()
        if self._client is not None:  # every producer flushed above; closing needs no long wait
            self._client.close(timeout=min(5.0, self._kafka.request_timeout))
        self._admin.close()
        self._consumers, self._producers, self._client = [], [], None


def _partition_lag(topic: str, partition: int, first: int, end: int, meta: OffsetAndMetadata | None) -> PartitionLag:
    if meta is None:
        return PartitionLag(topic, partition, end, None, end - first, None, first)
    behind = max(0, end - max(meta.offset, first))  # below the first retained offset the group resets to it
    return PartitionLag(topic, partition, end, meta.offset, behind, committed_at(meta.metadata), first)


def _read_bounded(reader: KafkaConsumer, topic: str, bounds: dict[int, tuple[int, int]], limit: int,
                  deadline: float) -> list[Record]:
    records: list[Record] = []
    for partition, (first, end) in sorted(bounds.items()):
        stop = min(end, first + limit - len(records))
        if stop > first:
            records.extend(_read_partition(reader, TopicPartition(topic, partition), first, stop, deadline))
        if len(records) >= limit:
            break
    return records[:limit]


def _read_partition(reader: KafkaConsumer, tp: TopicPartition, first: int, stop: int, deadline: float) -> list[Record]:
    reader.assign([tp])
    reader.seek(tp, first)
    out: list[Record] = []
    while reader.position(tp) < stop:
        if time.monotonic() > deadline:
            raise RetryLater(f"log: reading {tp.topic}:{tp.partition} did not reach offset {stop} in time")
        for messages in reader.poll(timeout_ms=200, max_records=max(1, stop - first)).values():
            out.extend(_record(m) for m in messages if m.offset < stop)
    return out


class _Membership(ConsumerRebalanceListener):
    """Logs rebalances and tells ``poll()`` whether an assignment is in place. It never commits.

    kafka-python runs these callbacks on its IO thread, and only from ``KafkaConsumer.poll()`` (a
    rejoin: revoke before JoinGroup, assign after SyncGroup; EAGER protocol) or ``close()``; the
    caller is blocked in that call. The consume loop commits every batch before it polls again, so
    at a revoke nothing processed is uncommitted. At close, a batch left uncommitted was left so on
    purpose (a stop while its flush was being retried): committing it here would lose it. A
    rebalance that starts while a batch is processed only makes the heartbeat ask for a rejoin; the
    generation stays valid and the broker still accepts that batch's commit. (A blocking commit
    from here would also fail: this client refuses blocking calls on its IO thread.)
    """

    def __init__(self, group: str) -> None:
        self.group = group
        self.settled = threading.Event()
        self.settled_at = 0.0

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self.settled.clear()
        if revoked:
            logger.info("event=partitions_revoked group=%s partitions=%s", self.group, _names(revoked))

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.settled_at = time.monotonic()
        self.settled.set()
        logger.info("event=partitions_assigned group=%s partitions=%s", self.group, _names(assigned))

    def on_partitions_lost(self, lost: set[TopicPartition]) -> None:
        self.settled.clear()
        logger.warning("event=partitions_lost group=%s partitions=%s", self.group, _names(lost))


class KafkaLogConsumer:
    """One member of a stage's consumer group (see the module docstring: idle rule, commits)."""

    def __init__(self, url: str, client: KafkaConsumer, group: str, topics: Sequence[str], *,
                 join_wait: float, commit_timeout: float) -> None:
        self._url, self._client, self._group = url, client, group
        self._join_wait, self._commit_timeout_ms = join_wait, int(commit_timeout * 1000)
        self._membership = _Membership(group)
        client.subscribe(topics=list(topics), listener=self._membership)
        with translated(url, f"look up {', '.join(topics)}"):
            # fresh metadata before the first join: without it the leader assigns nothing, sees the
            # partitions a moment later and the group rebalances at once
            missing = set(topics) - client.topics()
        if missing:
            logger.warning("event=topics_missing group=%s topics=%s", group, ",".join(sorted(missing)))

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        """Records from the assigned partitions, in order per partition; [] only when idle."""
        start = time.monotonic()
        while True:
            left = self._deadline(start, timeout) - time.monotonic()
            records = self._fetch(max_records, max(0.0, left))
            if records or time.monotonic() >= self._deadline(start, timeout):
                return records

    def _deadline(self, start: float, timeout: float) -> float:
        if not self._membership.settled.is_set():  # joining or rebalancing: not idle yet
            return start + max(timeout, self._join_wait)
        return max(start + timeout, self._membership.settled_at + timeout)

    def _fetch(self, max_records: int, seconds: float) -> list[Record]:
        """Raises RetryLater when the client failed transiently (the consume loop backs off and polls again)."""
        try:
            batches = self._client.poll(timeout_ms=int(seconds * 1000), max_records=max_records)
        except Errors.KafkaError as exc:
            raise kafka_error(self._url, f"poll for group {self._group}", exc) from exc
        return [_record(message) for messages in batches.values() for message in messages]

    def commit(self, offsets: dict[tuple[str, int], int]) -> None:
        """Commit exactly these next offsets; a commit the group no longer accepts is dropped."""
        owned = self._client.assignment()
        metadata = commit_metadata()
        keep = {TopicPartition(t, p): OffsetAndMetadata(o, metadata, -1) for (t, p), o in offsets.items()
                if TopicPartition(t, p) in owned}
        if len(keep) < len(offsets):
            gone = [TopicPartition(t, p) for t, p in offsets if TopicPartition(t, p) not in keep]
            logger.warning("event=commit_dropped reason=not_assigned group=%s partitions=%s", self._group, _names(gone))
        if not keep:
            return
        try:
            self._client.commit(keep, timeout_ms=self._commit_timeout_ms)
        except _REBALANCED as exc:
            logger.warning("event=commit_dropped reason=rebalanced group=%s partitions=%s error=%s",
                           self._group, _names(keep), type(exc).__name__)
        except Errors.KafkaError as exc:
            raise kafka_error(self._url, f"commit for group {self._group}", exc) from exc

    def close(self) -> None:
        try:
            self._client.close(autocommit=False, timeout_ms=self._commit_timeout_ms)
        except Errors.KafkaError as exc:
            logger.warning("event=close_failed group=%s error=%s", self._group, exc)
