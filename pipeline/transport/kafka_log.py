"""The Kafka log (``log: kafka://host:port[,host:port...]``): kafka-python behind the Log Protocol.

It keeps the SQLite log's contract, with Kafka's partitions and consumer groups underneath:

- **Producer.** Idempotent, ``acks=all``, gzip, a 5 ms linger, keyed by item id so one story stays
  on one partition. ``publish()`` hands the record to the client and keeps its future; ``flush()``
  waits for every acknowledgement. A record that failed is sent again on the next flush and
  ``RetryLater`` is raised until all are acknowledged: a record is never dropped silently. A record
  too large for the log is that record's failure, never retried: ``publish()`` raises
  :class:`RecordTooLarge` when it exceeds the client's ``max_request_size``, and ``flush()`` raises
  :class:`RecordsRejected` (once everything else is acknowledged) for records the broker refused as
  larger than the topic's ``max.message.bytes``; both are PermanentErrors naming the size and limit.
  (kafka-python's idempotent client turns a broker refusal into a fatal state of the whole client;
  ``flush()`` then raises a NewsmonError naming ``max.message.bytes`` instead, see
  :meth:`KafkaLogProducer._check_client_alive`.)
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

Only this module and :mod:`pipeline.transport.kafka_admin` import kafka-python.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.errors import ConfigError, NewsmonError, PermanentError, RetryLater
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
    describe,
    is_transient,
    kafka_error,
    parse_kafka_url,
    quiet_kafka_logging,
    translated,
)

__all__ = ["KafkaLog", "KafkaLogProducer", "KafkaLogConsumer", "RecordTooLarge", "RecordsRejected",
           "producer_config", "consumer_config", "reader_config"]

logger = logging.getLogger(__name__)

quiet_kafka_logging()

_LINGER_MS = 5
#: What producing one record too large answers: the client's own check, or the broker's (the topic's
#: ``max.message.bytes``; a batch of several records is split by the client and sent again first).
_TOO_LARGE = (Errors.MessageSizeTooLargeError, Errors.RecordListTooLargeError)
_REBALANCED = (Errors.CommitFailedError, Errors.RebalanceInProgressError, Errors.UnknownMemberIdError,
               Errors.IllegalGenerationError)


def producer_config(common: dict[str, Any], kafka: KafkaSettings) -> dict[str, Any]:
    """Idempotent (no duplicates from the client's own retries; Kafka >= 0.11), every replica in sync
    acknowledges, unlimited retries bounded by the delivery timeout, order kept per partition."""
    timeout_ms = common["request_timeout_ms"]
    return {
        **common, "client_id": f"{kafka.client_id}-producer",
        "acks": "all", "enable_idempotence": True, "compression_type": "gzip", "linger_ms": _LINGER_MS,
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
        return PartitionLag(topic, partition, end, None, end - first, None)
    behind = max(0, end - max(meta.offset, first))  # below the first retained offset the group resets to it
    return PartitionLag(topic, partition, end, meta.offset, behind, committed_at(meta.metadata))


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


class RecordTooLarge(PermanentError):
    """One record the log will never take: its size is over the producer's or the topic's limit."""

    def __init__(self, topic: str, key: str, reason: str) -> None:
        super().__init__(f"{topic} key {key}: {reason}")
        self.topic, self.key = topic, key


class RecordsRejected(PermanentError):
    """Raised by ``flush()`` once every other record is acknowledged: the broker refused these for good
    (``rejected``, one :class:`RecordTooLarge` each); they are not sent again."""

    def __init__(self, rejected: Sequence[RecordTooLarge]) -> None:
        super().__init__("; ".join(str(error) for error in rejected))
        self.rejected = tuple(rejected)


def _size(key: str, value: bytes) -> int:
    return len(key.encode("utf-8")) + len(value)


@dataclass
class _Pending:
    topic: str
    key: str
    value: bytes
    future: Any = None  # kafka-python's FutureRecordMetadata; None while not handed to the client


class KafkaLogProducer:
    """Remembers every record until the broker acknowledged it; failed sends are retried on flush."""

    def __init__(self, url: str, client: KafkaProducer, timeout: float) -> None:
        self._url, self._client, self._timeout = url, client, timeout
        self._pending: list[_Pending] = []
        self._rejected: list[RecordTooLarge] = []  # refused by the broker, reported by the next flush()

    def publish(self, topic: str, key: str, value: bytes) -> None:
        pending = _Pending(topic, key, value)
        self._send(pending)
        self._pending.append(pending)

    def _send(self, pending: _Pending) -> None:
        try:
            pending.future = self._client.send(pending.topic, key=pending.key.encode("utf-8"), value=pending.value)
        except _TOO_LARGE as exc:  # this record can never be written
            limit = self._client.config["max_request_size"]
            raise RecordTooLarge(pending.topic, pending.key, f"record of {_size(pending.key, pending.value)} bytes"
                                 f" is over the producer's limit of {limit} bytes (max_request_size)") from exc
        except Errors.KafkaError as exc:  # e.g. no metadata within max_block_ms: sent again on flush
            logger.warning("event=send_failed topic=%s key=%s error=%s", pending.topic, pending.key, exc)
            pending.future = None

    def flush(self) -> None:
        """Wait for every acknowledgement: RetryLater while some are missing, RecordsRejected (after all
        others are acknowledged) for records the broker refused as too large."""
        if self._pending:
            for pending in self._pending:  # send again what never reached the client or failed transiently
                if pending.future is None or (pending.future.failed() and is_transient(pending.future.exception)):
                    self._send(pending)
            self._await_all(time.monotonic() + self._timeout)
            self._check_client_alive()
            self._rejected += [self._too_large(p) for p in self._pending if _refused_as_too_large(p)]
            self._pending = [p for p in self._pending if not (_acknowledged(p) or _refused_as_too_large(p))]
        if self._pending:
            raise self._unacknowledged()
        if self._rejected:
            rejected, self._rejected = self._rejected, []
            raise RecordsRejected(rejected)

    def _check_client_alive(self) -> None:
        """kafka-python's idempotent producer takes a broker's size refusal as fatal: from then on every
        batch fails with that error, so no failed record can be told from a good one. Then nothing is
        dead-lettered and the stage stops with the cause (nothing is committed; the batch replays)."""
        manager = getattr(self._client, "_transaction_manager", None)
        if manager is not None and manager.has_fatal_error():
            error = manager.last_error
            raise NewsmonError(f"log: {self._url}: the producer stopped after the broker refused a write"
                               f" ({describe(error)}); if it is MessageSizeTooLargeError, a topic's"
                               " max.message.bytes is below the producer's max_request_size (1 MB): raise it")

    @staticmethod
    def _too_large(pending: _Pending) -> RecordTooLarge:
        reason = (f"record of {_size(pending.key, pending.value)} bytes refused by the broker as over the"
                  f" topic's limit (max.message.bytes): {describe(pending.future.exception)}")
        logger.warning("event=record_too_large topic=%s key=%s size=%d", pending.topic, pending.key,
                       _size(pending.key, pending.value))
        return RecordTooLarge(pending.topic, pending.key, reason)

    def _await_all(self, deadline: float) -> None:
        """Wait for the acknowledgements up to one deadline (the client's flush() waits per batch)."""
        for pending in self._pending:
            if pending.future is None:
                continue
            # timed out or failed: it stays pending and is judged by the caller
            with contextlib.suppress(Errors.KafkaError):
                pending.future.get(timeout=max(0.0, deadline - time.monotonic()))

    def _unacknowledged(self) -> NewsmonError:
        errors = [p.future.exception for p in self._pending if p.future is not None and p.future.failed()]
        fatal = [e for e in errors if not is_transient(e)]
        if fatal:
            return NewsmonError(f"log: {self._url}: write refused: {describe(fatal[0])}")
        reason = describe(errors[0]) if errors else f"no acknowledgement within {self._timeout:g}s"
        return RetryLater(f"log: {self._url}: {len(self._pending)} records not acknowledged ({reason})")

    def close(self) -> None:
        """Flush what is left; records still unacknowledged are reported (their input was not committed)."""
        try:
            self.flush()
        except RecordsRejected as exc:
            logger.error("event=close_rejected records=%d error=%s", len(exc.rejected), exc)
        except NewsmonError as exc:
            logger.error("event=close_unflushed records=%d error=%s", len(self._pending), exc)
        self._pending = []


def _acknowledged(pending: _Pending) -> bool:
    return pending.future is not None and pending.future.succeeded()


def _refused_as_too_large(pending: _Pending) -> bool:
    return pending.future is not None and pending.future.failed() and isinstance(pending.future.exception, _TOO_LARGE)


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
