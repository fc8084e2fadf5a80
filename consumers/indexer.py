"""The indexer stage: ``newsmon.classified`` → the search index, keyed by item id (idempotent).

A document the index refuses for good while flushing (``IndexWriter.flush`` returns it as a
:class:`~pipeline.transport.base.Rejection`, e.g. a value the Elasticsearch mapping cannot take)
is handed back to the consume loop with the record it came from, which dead-letters it; the rest of
the batch is indexed and committed. An unavailable index raises RetryLater from ``flush``; while
the loop waits to flush again it asks :meth:`IndexerStage.ready`, which passes the question to the
index when it has a cheap probe (Elasticsearch: the cluster health), so the stage resumes within
about a second of the index being back.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from pipeline.document import index_document
from pipeline.errors import PermanentError
from pipeline.item import ClassifiedItem, decode_json, parse_time, utc_now
from pipeline.loop import StageBase
from pipeline.metrics import Metrics
from pipeline.transport.base import IndexWriter, Record

__all__ = ["IndexerStage", "IndexRejected"]


class IndexRejected(PermanentError):
    """The search index refused the item's document for good; the reason is the index's own."""


class IndexerStage(StageBase):
    """Writes through an :class:`~pipeline.transport.base.IndexWriter`; ``created`` counts the documents
    the index took (a replayed item counts again)."""

    name = "indexer"

    def __init__(self, index: IndexWriter, clock: Callable[[], datetime] = utc_now,
                 metrics: Metrics | None = None) -> None:
        self.index, self.clock, self.metrics = index, clock, metrics
        self.created = 0
        self._fetched: dict[str, datetime] = {}
        self._records: dict[str, Record] = {}  # item id -> the record its queued document came from

    def handle(self, record: Record) -> None:
        item = ClassifiedItem.from_dict(decode_json(record.value, f"{record.topic} offset {record.offset}"))
        self.index.index([index_document(item, self.clock())])
        self._records[item.id] = record
        self._fetched[item.id] = parse_time(item.fetched_at, "fetched_at")

    def flush(self) -> list[tuple[Record, Exception]]:
        """Flush the index (RetryLater propagates and keeps this batch's state for the retry);
        returns the records whose documents the index rejected, for the dead-letter topic."""
        rejected = self.index.flush() or []
        self.created += len(self._records.keys() - {rejection.doc_id for rejection in rejected})
        failures: list[tuple[Record, Exception]] = []
        for rejection in rejected:
            record = self._records.get(rejection.doc_id)
            self._fetched.pop(rejection.doc_id, None)
            if record is not None:
                failures.append((record, IndexRejected(f"index rejected item {rejection.doc_id}: {rejection.reason}")))
        if self.metrics:
            now = self.clock()
            for fetched in self._fetched.values():
                self.metrics.end_to_end.observe(max(0.0, (now - fetched).total_seconds()))
        self._fetched.clear()
        self._records.clear()
        return failures

    def ready(self) -> bool:
        """The index's own readiness probe (Elasticsearch asks the cluster's health; SQLite cannot
        tell, so its retries wait out the backoff)."""
        return self.index.ready()
