"""The producer half of the Kafka log: every record is kept until the broker acknowledged it.

``publish()`` hands the record to kafka-python and keeps its future; ``flush()`` has the client send
what it holds at once, as kafka-python's own ``flush()`` does, and waits for every acknowledgement.
A record that failed is sent again on the next flush and ``RetryLater`` is raised until all are
acknowledged: a record is never dropped silently. A record too large for the log is
that record's failure, never retried: ``publish()`` raises ``RecordTooLarge`` when it exceeds
the client's ``max_request_size``, and ``flush()`` raises ``RecordsRejected`` (once everything
else is acknowledged) for records the broker refused as larger than the topic's
``max.message.bytes``; both name the size and the limit. (kafka-python's idempotent client turns a
broker's refusal into a fatal state of the whole client; ``flush()`` then raises a NewsmonError
naming ``max.message.bytes`` instead, see :meth:`KafkaLogProducer._check_client_alive`. Topics that
``newsmon setup`` creates take records up to the producer's limit, so only a topic made elsewhere
with a lower limit gets there.)
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import kafka.errors as Errors
from kafka import KafkaProducer

from pipeline.errors import NewsmonError, RetryLater
from pipeline.probe import accepts_connections
from pipeline.transport.base import RecordsRejected, RecordTooLarge
from pipeline.transport.kafka_admin import describe, is_transient, parse_kafka_url

__all__ = ["KafkaLogProducer"]

logger = logging.getLogger(__name__)

#: What producing one record too large answers: the client's own check, or the broker's (the topic's
#: ``max.message.bytes``; a batch of several records is split by the client and sent again first).
_TOO_LARGE = (Errors.MessageSizeTooLargeError, Errors.RecordListTooLargeError)


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
        self._servers = parse_kafka_url(url)
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
            size = _size(pending.key, pending.value)
            raise RecordTooLarge(pending.topic, pending.key, f"record of {size} bytes is over the producer's"
                                 f" limit of {limit} bytes (max_request_size)", size=size, limit=limit) from exc
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
            with _sending_now(self._client):
                self._await_all(time.monotonic() + self._timeout)
            self._check_client_alive()
            self._rejected += [self._too_large(p) for p in self._pending if _refused_as_too_large(p)]
            self._pending = [p for p in self._pending if not (_acknowledged(p) or _refused_as_too_large(p))]
        if self._pending:
            raise self._unacknowledged()
        if self._rejected:
            rejected, self._rejected = self._rejected, []
            raise RecordsRejected(rejected)

    def ready(self) -> bool:
        """The loop's probe while it waits to retry: False while the client still has records in flight
        (it is resending them itself; they settle when the broker answers), else whether a broker
        accepts a TCP connection (:func:`pipeline.probe.accepts_connections`)."""
        if any(p.future is not None and not p.future.is_done for p in self._pending):
            return False
        return any(_accepts_connections(server) for server in self._servers)

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
        return RecordTooLarge(pending.topic, pending.key, reason, size=_size(pending.key, pending.value))

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


@contextlib.contextmanager
def _sending_now(client: Any) -> Iterator[None]:
    """While flush() waits, the client sends what it holds at once rather than after its linger: the
    start and end of kafka-python's own ``flush()`` without its wait, which has a timeout per batch
    (``_await_all`` waits up to one deadline). Without it every flush waited out what was left of the
    5 ms linger: at 20 records per flush, 5 to 17% slower than kafka-python's own send and flush
    (bench/bench_kafka.py). A client without these internals (a test double) waits out the linger."""
    accumulator, sender = getattr(client, "_accumulator", None), getattr(client, "_sender", None)
    flushes = getattr(accumulator, "_flushes_in_progress", None)
    if accumulator is None or flushes is None or sender is None:
        yield
        return
    accumulator.begin_flush()  # every batch counts as ready to send while a flush is in progress
    sender.wakeup()
    try:
        yield
    finally:
        flushes.decrement()  # what the client's flush() does when its wait ends


def _accepts_connections(server: str) -> bool:
    host, _, port = server.rpartition(":")
    return accepts_connections(host, int(port))


def _acknowledged(pending: _Pending) -> bool:
    return pending.future is not None and pending.future.succeeded()


def _refused_as_too_large(pending: _Pending) -> bool:
    return pending.future is not None and pending.future.failed() and isinstance(pending.future.exception, _TOO_LARGE)
