"""The index document: a classified item plus ``@timestamp`` (published, else fetched) and ``indexed_at``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pipeline.item import ClassifiedItem, format_time

__all__ = ["index_document"]


def index_document(item: ClassifiedItem, indexed_at: datetime) -> dict[str, Any]:
    doc = item.to_dict()
    doc["@timestamp"] = item.published or item.fetched_at
    doc["indexed_at"] = format_time(indexed_at)
    return doc
