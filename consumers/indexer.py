"""The indexer stage: ``newsmon.classified`` → the search index, keyed by item id (idempotent).

A document the index refuses for good while flushing (``IndexWriter.flush`` returns it as a
:class:`~pipeline.transport.base.Rejection`, e.g. a value the Elasticsearch mapping cannot take)
is handed back to the consume loop with the record it came from, which dead-letters it; the rest of
the batch is indexed and committed. An unavailable index raises RetryLater from ``flush``; while
the loop waits to flush again it asks :meth:`IndexerStage.ready`, which passes the question to the
index when it has a cheap probe (Elasticsearch: the cluster health), so the stage resumes within
about a second of the index being back.

Each document carries the analysts' standing verdicts on its item (``feedback``, read from the
feedback store, the source of truth, in one lookup per flush just before writing), so an item
indexed again (a replay, a reprocess, a DLQ replay) keeps them.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from pipeline.document import index_document
from pipeline.errors import PermanentError, RetryLater
from pipeline.feedback import Verdict, by_item, with_feedback
from pipeline.item import ClassifiedItem, decode_json, parse_time, utc_now
from pipeline.loop import StageBase
from pipeline.metrics import Metrics
from pipeline.transport.base import IndexWriter, Record

__all__ = ["IndexerStage", "IndexRejected", "ItemVerdicts"]


class IndexRejected(PermanentError):
    """The search index refused the item's document for good; the reason is the index's own."""


class ItemVerdicts(Protocol):
    """Analysts' verdicts as the indexer asks for them (:class:`pipeline.transport.sqlite_feedback.FeedbackStore`)."""

    def for_items(self, item_ids: Sequence[str]) -> list[Verdict]:
        """The standing verdicts of these items."""


class IndexerStage(StageBase):
    """Writes through an :class:`~pipeline.transport.base.IndexWriter`; ``created`` counts the documents
    the index took (a replayed item counts again)."""

    name = "indexer"

    def __init__(self, index: IndexWriter, clock: Callable[[], datetime] = utc_now,
                 metrics: Metrics | None = None, verdicts: ItemVerdicts | None = None) -> None:
        self.index, self.clock, self.metrics, self.verdicts = index, clock, metrics, verdicts
        self.created = 0
        self._docs: dict[str, dict[str, Any]] = {}  # handled since the last flush, not yet given to the index
        self._fetched: dict[str, datetime] = {}
        self._records: dict[str, Record] = {}  # item id -> the record its queued document came from

    def handle(self, record: Record) -> None:
        item = ClassifiedItem.from_dict(decode_json(record.value, f"{record.topic} offset {record.offset}"))
        self._docs[item.id] = index_document(item, self.clock())
        self._records[item.id] = record
        self._fetched[item.id] = parse_time(item.fetched_at, "fetched_at")

    def flush(self) -> list[tuple[Record, Exception]]:
        """Flush the index (RetryLater propagates and keeps this batch's state for the retry);
        returns the records whose documents the index rejected, for the dead-letter topic."""
        if self._docs:
            self.index.index(self._with_verdicts(list(self._docs.values())))
            self._docs.clear()
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

    def _with_verdicts(self, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The documents with their items' standing verdicts as ``feedback``."""
        if self.verdicts is None:
            return docs
        try:
            standing = self.verdicts.for_items([doc["id"] for doc in docs])
        except sqlite3.OperationalError as exc:  # the state database stayed locked past its timeout
            raise RetryLater(f"feedback store: {exc}") from None
        found = by_item(standing)
        return [with_feedback(doc, found.get(doc["id"], {})) for doc in docs]

    def ready(self) -> bool:
        """The index's own readiness probe (Elasticsearch asks the cluster's health; SQLite cannot
        tell, so its retries wait out the backoff)."""
        return self.index.ready()
