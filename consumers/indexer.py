"""The indexer stage: ``newsmon.classified`` → the search index, keyed by item id (idempotent)."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from pipeline.document import index_document
from pipeline.item import ClassifiedItem, decode_json, parse_time, utc_now
from pipeline.metrics import Metrics
from pipeline.transport.base import Record, SearchIndex

__all__ = ["IndexerStage"]


class IndexerStage:
    name = "indexer"

    def __init__(self, index: SearchIndex, clock: Callable[[], datetime] = utc_now,
                 metrics: Metrics | None = None) -> None:
        self.index, self.clock, self.metrics = index, clock, metrics
        self._fetched: list[datetime] = []

    def handle(self, record: Record) -> None:
        item = ClassifiedItem.from_dict(decode_json(record.value, f"{record.topic} offset {record.offset}"))
        self.index.index([index_document(item, self.clock())])
        self._fetched.append(parse_time(item.fetched_at, "fetched_at"))

    def flush(self) -> None:
        self.index.flush()
        if self.metrics:
            now = self.clock()
            for fetched in self._fetched:
                self.metrics.end_to_end.observe(max(0.0, (now - fetched).total_seconds()))
        self._fetched.clear()
