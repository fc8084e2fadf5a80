"""The Protocols every log and search-index backend implements, and the records they carry."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from pipeline.errors import LimitExceeded, PermanentError, UserInputError

if TYPE_CHECKING:  # the query package imports its parser (luqum); the log's users need none of it
    from pipeline.query.ast import Query

__all__ = [
    "TOPIC_RAW", "TOPIC_CLASSIFIED", "TOPIC_DLQ", "ALL_TOPICS",
    "Record", "PartitionLag", "RecordTooLarge", "RecordsRejected", "LogProducer", "LogConsumer", "Log",
    "SearchFilters", "Hit", "SearchResult", "Rejection", "IndexWriter", "IndexReader", "SearchIndex",
    "ENTITY_FIELDS", "FACET_FIELDS", "HISTOGRAM_INTERVALS", "check_facets", "check_interval", "top_values",
    "story_key", "bucket_start",
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
    read (None if it never committed: it reads from ``start``, the first offset still held), ``end``
    the next offset to be written; ``lag`` counts the records from there to ``end``."""

    topic: str
    partition: int
    end: int
    committed: int | None
    lag: int
    committed_at: float | None = None  # seconds since the epoch, when the backend knows it
    start: int = 0


class RecordTooLarge(LimitExceeded):
    """One record the log will never take: its ``size`` is over the producer's or the topic's
    ``limit`` (None when the broker refused it without saying its limit)."""

    def __init__(self, topic: str, key: str, reason: str, *, size: int = 0, limit: int | None = None) -> None:
        super().__init__(f"{topic} key {key}: {reason}", field="record", size=size, limit=limit)
        self.topic, self.key = topic, key


class RecordsRejected(PermanentError):
    """Raised by ``flush()`` once every other record is acknowledged: the broker refused these for good
    (``rejected``, one :class:`RecordTooLarge` each); they are not sent again."""

    def __init__(self, rejected: Sequence[RecordTooLarge]) -> None:
        super().__init__("; ".join(str(error) for error in rejected))
        self.rejected = tuple(rejected)


class LogProducer(Protocol):
    def publish(self, topic: str, key: str, value: bytes) -> None:
        """Queue a record; it is durable only after :meth:`flush` returns. Raises
        :class:`RecordTooLarge` for a record over the log's size limit."""

    def flush(self) -> None:
        """Make every queued record durable; raises RetryLater when the log is unreachable, and
        :class:`RecordsRejected` (after every other record is durable) for records refused for good."""

    def ready(self) -> bool:
        """A cheap check that the log answers again, asked while the consume loop waits to retry a
        flush or a commit; a log that cannot tell answers True."""

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


ENTITY_FIELDS = ("entities.persons", "entities.organizations", "entities.places", "entities.groups")
FACET_FIELDS = ("topics", "countries", "source", *ENTITY_FIELDS)
HISTOGRAM_INTERVALS = ("hour", "day", "week")


@dataclass(frozen=True)
class SearchFilters:
    """Filters applied on top of the query; all of them must hold. Within one field any of the values
    will do, compared case-insensitively; ``entities`` looks in all four ``entities.*`` fields;
    ``since`` (inclusive) and ``until`` (exclusive) bound ``@timestamp``."""

    topics: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    entities: tuple[str, ...] = ()


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


class IndexWriter(Protocol):
    """What the indexer stage writes through: queue documents, flush them, report the refused ones."""

    def setup(self) -> str:
        """Create what the index needs on its server (Elasticsearch: template, index, alias); idempotent.
        Returns a one-line description of what is in place, "" for an index with nothing to set up.
        Raises ConfigError naming what failed."""

    def ready(self) -> bool:
        """A cheap probe the consume loop asks while it waits to flush again after RetryLater: True
        when the server answers and can take writes. False when the index cannot tell (the loop then
        waits out its backoff)."""

    def index(self, docs: Sequence[dict[str, Any]]) -> None:
        """Queue documents for indexing; the document ``id`` is the key, so re-indexing replaces."""

    def flush(self) -> list[Rejection]:
        """Write every queued document and return the ones rejected for good (they leave the queue).
        Raises RetryLater when the index is unavailable; the documents not yet written stay queued."""

    def close(self) -> None: ...


class IndexReader(Protocol):
    """What the search page, ``newsmon search`` and ``newsmon rules test`` read through.
    ``concurrent_reads``: whether several threads may read through this one object at once (the
    search page then sends its searches, facets and histogram together)."""

    concurrent_reads: bool

    def search(self, query: Query, filters: SearchFilters, *, limit: int = 20, offset: int = 0,
               sort: str = "relevance", now: datetime | None = None) -> SearchResult:
        """The matching documents, ``limit`` from ``offset``; ``sort`` is ``relevance`` or ``newest``."""

    def facets(self, query: Query, filters: SearchFilters, fields: Sequence[str], *, size: int = 10,
               now: datetime | None = None) -> dict[str, list[tuple[str, int]]]:
        """For each of ``fields`` (among :data:`FACET_FIELDS`), the ``size`` values carried by the most
        matching documents, as (value, number of documents): most documents first, then by value.
        Values are counted as stored (case-sensitive), except that Elasticsearch reports ``topics``
        lower-cased. An unknown field or a size below 1 raises UserInputError."""

    def histogram(self, query: Query, filters: SearchFilters, *, interval: str,
                  now: datetime | None = None) -> list[tuple[datetime, dict[str, int]]]:
        """Matching documents in buckets of ``@timestamp`` (``interval`` ``hour``, ``day`` or ``week``,
        weeks starting on Monday, all in UTC), oldest first, empty buckets left out. Each bucket's
        dict holds ``"all"``: the number of distinct stories (``story_id``; a document without one is
        a story of its own), and per topic the number of distinct stories among the documents carrying it."""

    def get(self, item_id: str) -> dict[str, Any] | None:
        """The document with this id, or None."""

    def count(self) -> int:
        """The number of documents in the index."""

    def close(self) -> None: ...


class SearchIndex(IndexWriter, IndexReader, Protocol):
    """An index that is both, as every backend is: what :func:`pipeline.transport.registry.open_index` returns."""


def check_facets(fields: Sequence[str], size: int) -> None:
    """UserInputError naming the first field :meth:`IndexReader.facets` cannot count, or a bad size."""
    for name in fields:
        if name not in FACET_FIELDS:
            raise UserInputError(f"facets: unknown field {name!r} (known: {', '.join(FACET_FIELDS)})")
    if size < 1:
        raise UserInputError(f"facets: size must be at least 1, got {size}")


def check_interval(interval: str) -> None:
    if interval not in HISTOGRAM_INTERVALS:
        raise UserInputError(f"histogram: unknown interval {interval!r} (known: {', '.join(HISTOGRAM_INTERVALS)})")


def top_values(counts: Iterable[tuple[str, int]], size: int) -> list[tuple[str, int]]:
    """The ``size`` (value, count) pairs with the highest counts, ties by value (code point order)."""
    return sorted(counts, key=lambda pair: (-pair[1], pair[0]))[:size]


def bucket_start(moment: datetime, interval: str) -> datetime:
    """The start of the UTC hour, day or week (from Monday) holding ``moment``: a histogram bucket."""
    moment = moment.astimezone(UTC)
    if interval == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if interval == "day" else day - timedelta(days=day.weekday())


def story_key(doc: dict[str, Any]) -> str:
    """What a histogram counts as one story: the case-folded ``story_id``; a document without one is
    a story of its own (a NUL before its id keeps it apart from every story id)."""
    return str(doc["story_id"]).casefold() if doc.get("story_id") else "\0" + str(doc["id"])
