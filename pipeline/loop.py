"""The consume loop every stage runs: poll → process → flush sinks → commit, written down once.

Commit order (the only place it is decided):

1. process each record of the batch with ``stage.handle``; a record that fails permanently
   (bad JSON, schema violation, a bug on that one item) goes to ``newsmon.dlq`` with the error;
2. ``stage.flush()`` makes the stage's own sinks durable (index, outgoing topic, alert store); the
   records it returns were rejected for good by a sink (a document the index refuses) and are
   dead-lettered like records failing in step 1;
3. the producer is flushed, so dead letters and outgoing records are durable;
4. the consumer commits the offsets after the batch.

A crash anywhere before 4 replays the batch, which idempotent writes absorb (at-least-once made
effectively exactly-once). A failure that may go away (:class:`RetryLater`) is retried with
capped, jittered exponential backoff, resuming where it failed, without committing, for as long
as it takes, until a stop is requested; then nothing is committed and the batch replays later.
While it waits to retry the stage's flush (step 2), the loop asks ``stage.ready()`` every
:data:`PROBE_SECONDS` and retries as soon as it answers True, so a sink that comes back is written
to within about a second rather than at the end of a backoff that may have grown to
``consumer.backoff_max``; the producer's flush (step 3) and the commit (step 4) are probed the same
way with ``producer.ready()`` (the log answers again). A server's Retry-After is always waited out
in full. A poll is not probed: a log client that cannot reach its servers returns no records and
reconnects by itself.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Protocol

from pipeline.backoff import Backoff
from pipeline.dead_letter import MAX_KEY_CHARS, encode_letter, letter_for
from pipeline.errors import PermanentError, RetryLater
from pipeline.item import bound_text
from pipeline.metrics import Metrics
from pipeline.settings import ConsumerSettings
from pipeline.transport.base import TOPIC_DLQ, LogConsumer, LogProducer, Record

__all__ = ["Stage", "StageBase", "StopSignal", "StageStats", "ConsumeLoop", "dead_letter"]

logger = logging.getLogger(__name__)

PROBE_SECONDS = 1.0  # how often the loop asks ``stage.ready()`` while it waits to retry a flush


class Stage(Protocol):
    """What the loop runs. :class:`StageBase` gives the parts most stages leave alone (``idle``)."""

    name: str

    def handle(self, record: Record) -> None:
        """Process one record; raise PermanentError to dead-letter it, RetryLater to retry."""

    def flush(self) -> Sequence[tuple[Record, Exception]] | None:
        """Make the stage's writes durable; may raise RetryLater. Returns the records a sink rejected
        for good while flushing (e.g. a document the index mapping refuses): they are dead-lettered."""

    def idle(self) -> None:
        """Called when a poll returned nothing (the alerter delivers due retries); must not raise RetryLater."""

    def ready(self) -> bool:
        """A cheap probe, asked every :data:`PROBE_SECONDS` while the loop waits to retry a failed
        ``flush``: True ends the wait at once (the sink answers again). Must not raise."""

    @property
    def created(self) -> int:
        """What the stage produced since it started (items published, documents written, alerts queued)."""


class StageBase:
    """The defaults of :class:`Stage`'s optional part: a stage with nothing to do between batches."""

    def idle(self) -> None:
        """Nothing to do while no records arrive."""

    def ready(self) -> bool:
        """No probe: a failed flush is retried when its backoff delay has passed."""
        return False


class StopSignal:
    """Set by a signal handler (or a test) to ask loops to finish their batch and stop."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True when a stop was requested meanwhile."""
        return self._event.wait(seconds)


@dataclass
class StageStats:
    processed: int = 0
    dead_lettered: int = 0
    retries: int = 0
    batches: int = 0


def dead_letter(producer: LogProducer, stage: str, record: Record, error: Exception) -> None:
    """Queue the dead letter of ``record`` (see :mod:`pipeline.dead_letter` for what it holds). Should
    the log still refuse it, a letter without the value is queued instead: the stage never stops on
    a letter."""
    key = bound_text(record.key, MAX_KEY_CHARS)
    letter = letter_for(stage, record, error)
    try:
        producer.publish(TOPIC_DLQ, key, encode_letter(letter))
    except PermanentError as refused:
        logger.error("stage=%s event=dead_letter_refused offset=%s error=%s", stage, record.offset, refused)
        letter = {name: value for name, value in letter.items() if not name.startswith("value")}
        letter.update(key=key, value_omitted=f"{len(record.value)} bytes; the log refused the letter: {refused}")
        producer.publish(TOPIC_DLQ, key, encode_letter(letter))


class ConsumeLoop:
    """Runs one stage over one consumer; :meth:`run_once` handles a single batch."""

    def __init__(self, stage: Stage, consumer: LogConsumer, producer: LogProducer,
                 settings: ConsumerSettings, stop: StopSignal, metrics: Metrics | None = None) -> None:
        self.stage, self.consumer, self.producer = stage, consumer, producer
        self.settings, self.stop, self.metrics = settings, stop, metrics
        self.stats = StageStats()
        self._backoff = Backoff(settings.backoff_initial, settings.backoff_max)

    def run(self, *, until_idle: bool = False) -> StageStats:
        """Loop until stopped (or, with ``until_idle``, until a poll returns nothing)."""
        while not self.stop.is_set():
            if not self.run_once() and until_idle:
                break
        return self.stats

    def run_once(self) -> int:
        """Poll one batch and take it through process → flush → commit; returns its size."""
        batch = self._poll()
        if batch is None:
            return 0  # stopped while the log was unavailable
        if not batch:
            self.stage.idle()
            return 0
        started = time.monotonic()
        if not self._process(batch) or not self._flush_sinks():
            return len(batch)  # stopped while retrying: commit nothing, the batch replays
        offsets = {}
        for record in batch:
            offsets[(record.topic, record.partition)] = record.offset + 1
        if self._retrying(lambda: self.consumer.commit(offsets), probe=self.producer.ready):
            self.stats.batches += 1
            if self.metrics:
                self.metrics.batch_seconds.labels(self.stage.name).observe(time.monotonic() - started)
        return len(batch)

    def _poll(self) -> list[Record] | None:
        """The next batch; a log that is unavailable is retried with backoff (None: stopped meanwhile)."""
        polled: list[list[Record]] = []
        if not self._retrying(lambda: polled.append(self.consumer.poll(self.settings.batch_size,
                                                                          self.settings.poll_timeout))):
            return None
        return polled[-1]

    def _process(self, batch: list[Record]) -> bool:
        """Handle every record in order; False when stopped while retrying one (the rest not handled)."""
        return all(self._retrying(partial(self._handle, record)) for record in batch)

    def _handle(self, record: Record) -> None:
        if self.metrics:
            self.metrics.record_wait.labels(self.stage.name).observe(max(0.0, time.time() - record.timestamp))
        try:
            self.stage.handle(record)
            self.stats.processed += 1
            if self.metrics:
                self.metrics.records.labels(self.stage.name, "processed").inc()
        except RetryLater:
            raise
        except PermanentError as exc:
            self._dead_letter(record, exc)
        except Exception as exc:  # a bug on one item must not stop the stage
            logger.error("stage=%s event=handler_bug offset=%s error=%r\n%s", self.stage.name,
                         record.offset, exc, traceback.format_exc())
            self._dead_letter(record, exc)

    def _dead_letter(self, record: Record, error: Exception) -> None:
        logger.warning("stage=%s event=dead_letter topic=%s offset=%s key=%s error=%s",
                       self.stage.name, record.topic, record.offset, record.key, error)
        dead_letter(self.producer, self.stage.name, record, error)
        self.stats.dead_lettered += 1
        if self.metrics:
            self.metrics.records.labels(self.stage.name, "dead_lettered").inc()

    def _flush_sinks(self) -> bool:
        """Flush the stage (retried, probing ``stage.ready`` while waiting) and dead-letter what its
        sinks rejected, then flush the producer (retried, probing ``producer.ready``); False when stopped."""
        return (self._retrying(self._flush_stage, probe=self.stage.ready)
                and self._retrying(self.producer.flush, probe=self.producer.ready))

    def _flush_stage(self) -> None:
        for record, error in self.stage.flush() or ():
            self._dead_letter(record, error)

    def _retrying(self, action: Callable[[], None], probe: Callable[[], bool] | None = None) -> bool:
        """Run ``action`` until it succeeds (True) or a stop is requested during backoff (False).
        With ``probe``, a wait without a server's retry-after hint ends early when the probe says so."""
        while True:
            try:
                action()
                self._backoff.reset()
                return True
            except RetryLater as exc:
                delay = self._backoff.next_delay(exc.retry_after)
                self.stats.retries += 1
                if self.metrics:
                    self.metrics.retries.labels(self.stage.name).inc()
                logger.warning("stage=%s event=retry delay=%.1fs error=%s", self.stage.name, delay, exc)
                if not self._wait(delay, probe if exc.retry_after is None else None):
                    return False

    def _wait(self, delay: float, probe: Callable[[], bool] | None) -> bool:
        """Sleep up to ``delay`` seconds; False when a stop is requested meanwhile. With ``probe``, sleep
        in slices of at most :data:`PROBE_SECONDS` and return as soon as the probe answers True."""
        deadline = time.monotonic() + delay
        while (left := deadline - time.monotonic()) > 0:
            if self.stop.wait(min(left, PROBE_SECONDS) if probe else left):
                return False
            if probe is not None and deadline - time.monotonic() > 0 and probe():
                logger.info("stage=%s event=ready waited=%.1fs of %.1fs", self.stage.name,
                            delay - (deadline - time.monotonic()), delay)
                return True
        return True
