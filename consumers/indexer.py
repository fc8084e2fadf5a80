"""The indexer stage: ``newsmon.classified`` → the search index, keyed by item id (idempotent)."""

from __future__ import annotations

from datetime import datetime
from typing import Callable

from pipeline.document import index_document
from pipeline.item import ClassifiedItem, decode_json, utc_now
from pipeline.transport.base import Record, SearchIndex

__all__ = ["IndexerStage"]


class IndexerStage:
    name = "indexer"

    def __init__(self, index: SearchIndex, clock: Callable[[], datetime] = utc_now) -> None:
        self.index, self.clock = index, clock

    def handle(self, record: Record) -> None:
        item = ClassifiedItem.from_dict(decode_json(record.value, f"{record.topic} offset {record.offset}"))
        self.index.index([index_document(item, self.clock())])

    def flush(self) -> None:
        self.index.flush()
