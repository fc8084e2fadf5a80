"""The Protocols every log and search-index backend implements, and the records they carry."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, Sequence

__all__ = [
    "TOPIC_RAW", "TOPIC_CLASSIFIED", "TOPIC_DLQ", "ALL_TOPICS",
    "Record", "PartitionLag", "LogProducer", "LogConsumer", "Log",
    "SearchFilters", "Hit", "SearchResult", "Rejection", "SearchIndex",
]

TOPIC_RAW = "newsmon.raw"
TOPIC_CLASSIFIED = "newsmon.classified"
TOPIC_DLQ = "newsmon.dlq"
ALL_TOPICS = (TOPIC_RAW, TOPIC_CLASSIFIED, TOPIC_DLQ)


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str
    value: bytes
    timestamp: float  # seconds since the epoch, when the record was appended


@dataclass(frozen=True)
class PartitionLag:
    """Where a consumer group stands on one partition: ``committed`` is the next offset it will
    read (None if it never committed), ``end`` the next offset to be written."""

    topic: str
    partition: int
    end: int
    committed: int | None
    lag: int
    committed_at: float | None = None  # seconds since the epoch, when the backend knows it


class LogProducer(Protocol):
    def publish(self, topic: str, key: str, value: bytes) -> None:
        """Queue a record; it is durable only after :meth:`flush` returns."""

    def flush(self) -> None:
        """Make every queued record durable; raises RetryLater when the log is unreachable."""

    def close(self) -> None: ...


class LogConsumer(Protocol):
    def poll(self, max_records: int, timeout: float) -> list[Record]:
        """The next records after the current position (waits up to ``timeout`` seconds for some)."""

    def commit(self, offsets: dict[tuple[str, int], int]) -> None:
        """Record, for this consumer group, the next offset to read per (topic, partition)."""

    def close(self) -> None: ...


class Log(Protocol):
    def producer(self) -> LogProducer: ...

    def consumer(self, group: str, topics: Sequence[str]) -> LogConsumer: ...

    def ensure_topics(self, topics: Sequence[str]) -> None:
        """Create the topics if missing (idempotent)."""

    def lag(self, group: str, topic: str) -> list[PartitionLag]:
        """The group's position and lag on every partition of the topic."""

    def read_from_start(self, topic: str, limit: int) -> list[Record]:
        """Up to ``limit`` records from the beginning of the topic, outside any consumer group."""

    def close(self) -> None: ...


@dataclass(frozen=True)
class SearchFilters:
    """Filters applied on top of the query; all of them must hold."""

    topics: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Hit:
    doc: dict[str, Any]
    score: float | None = None


@dataclass(frozen=True)
class SearchResult:
    total: int
    hits: list[Hit] = field(default_factory=list)


@dataclass(frozen=True)
class Rejection:
    """A queued document the index refused for good (e.g. a mapping error): retrying cannot help."""

    doc_id: str
    reason: str


class SearchIndex(Protocol):
    def index(self, docs: Sequence[dict[str, Any]]) -> None:
        """Queue documents for indexing; the document ``id`` is the key, so re-indexing replaces."""

    def flush(self) -> list[Rejection]:
        """Write every queued document and return the ones rejected for good (they leave the queue).
        Raises RetryLater when the index is unavailable; the documents not yet written stay queued."""

    def search(self, query: Any, filters: SearchFilters, *, limit: int = 20, offset: int = 0,
               sort: str = "relevance", now: datetime | None = None) -> SearchResult:
        """``query`` is a parsed :class:`pipeline.query.Query`; ``sort`` is ``relevance`` or ``newest``."""

    def get(self, item_id: str) -> dict[str, Any] | None: ...

    def count(self) -> int: ...

    def close(self) -> None: ...
