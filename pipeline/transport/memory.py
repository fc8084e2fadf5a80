"""In-memory doubles of the log and the search index, for unit tests of the stages and the loop.

They keep the same contract as the real backends: offsets per topic start at 1, a group's committed
offset is the next one it reads, records are durable only after ``flush``, and indexing an id that
exists replaces it. Fault injection: set ``fail_next_flushes`` to make the next flushes raise RetryLater.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pipeline.errors import RetryLater
from pipeline.fields import keyword_values
from pipeline.query import Query, matches
from pipeline.transport.base import (
    ENTITY_FIELDS,
    Hit,
    Record,
    Rejection,
    SearchFilters,
    SearchResult,
    bucket_start,
    check_facets,
    check_interval,
    story_key,
    top_values,
)

__all__ = ["MemoryLog", "MemoryIndex"]


class MemoryLog:
    def __init__(self) -> None:
        self.topics: dict[str, list[Record]] = {}
        self.committed: dict[tuple[str, str], int] = {}

    def ensure_topics(self, topics: Sequence[str]) -> None:
        for topic in topics:
            self.topics.setdefault(topic, [])

    def append(self, topic: str, key: str, value: bytes) -> None:
        records = self.topics.setdefault(topic, [])
        records.append(Record(topic, 0, len(records) + 1, key, value, 0.0))

    def producer(self) -> MemoryProducer:
        return MemoryProducer(self)

    def consumer(self, group: str, topics: Sequence[str]) -> MemoryConsumer:
        self.ensure_topics(topics)
        return MemoryConsumer(self, group, tuple(topics))

    def values(self, topic: str) -> list[bytes]:
        return [r.value for r in self.topics.get(topic, [])]

    def close(self) -> None:
        pass


class MemoryProducer:
    def __init__(self, log: MemoryLog) -> None:
        self.log = log
        self.pending: list[tuple[str, str, bytes]] = []
        self.fail_next_flushes = 0
        self.answers_ready, self.probes = True, 0  # what ready() answers, and how often it was asked

    def publish(self, topic: str, key: str, value: bytes) -> None:
        self.pending.append((topic, key, value))

    def flush(self) -> None:
        if self.fail_next_flushes:
            self.fail_next_flushes -= 1
            raise RetryLater("injected log outage")
        for record in self.pending:
            self.log.append(*record)
        self.pending = []

    def ready(self) -> bool:
        self.probes += 1
        return self.answers_ready

    def close(self) -> None:
        self.flush()


class MemoryConsumer:
    def __init__(self, log: MemoryLog, group: str, topics: tuple[str, ...]) -> None:
        self.log, self.group, self.topics = log, group, topics
        self.position = {t: log.committed.get((group, t), 1) for t in topics}

    def poll(self, max_records: int, timeout: float) -> list[Record]:
        out: list[Record] = []
        for topic in self.topics:
            available = self.log.topics[topic][self.position[topic] - 1:]
            taken = available[: max_records - len(out)]
            if taken:
                self.position[topic] = taken[-1].offset + 1
                out.extend(taken)
        return out

    def commit(self, offsets: dict[tuple[str, int], int]) -> None:
        for (topic, _partition), next_offset in offsets.items():
            self.log.committed[(self.group, topic)] = next_offset

    def close(self) -> None:
        pass


class MemoryIndex:
    """:class:`~pipeline.transport.base.SearchIndex` over plain dicts: the reference the backends are tested against."""

    concurrent_reads = True  # reads only look at the dicts

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.pending: dict[str, dict[str, Any]] = {}
        self.fail_next_flushes = 0
        self.flushes = 0

    def setup(self) -> str:
        """Nothing to set up in memory."""
        return ""

    def ready(self) -> bool:
        """No probe in memory."""
        return False

    def index(self, docs: Sequence[dict[str, Any]]) -> None:
        for doc in docs:
            self.pending[doc["id"]] = doc

    def flush(self) -> list[Rejection]:
        if self.fail_next_flushes:
            self.fail_next_flushes -= 1
            raise RetryLater("injected index outage")
        self.docs.update(self.pending)
        self.pending = {}
        self.flushes += 1
        return []

    def search(self, query: Query, filters: SearchFilters, *, limit: int = 20, offset: int = 0,
               sort: str = "relevance", now: datetime | None = None) -> SearchResult:
        found = self._matching(query, filters, now)
        found.sort(key=lambda d: d.get("@timestamp") or "", reverse=True)
        return SearchResult(len(found), [Hit(d) for d in found[offset:offset + limit]])

    def facets(self, query: Query, filters: SearchFilters, fields: Sequence[str], *, size: int = 10,
               now: datetime | None = None) -> dict[str, list[tuple[str, int]]]:
        check_facets(fields, size)
        found = self._matching(query, filters, now)
        out = {}
        for name in fields:
            counts: Counter[str] = Counter()
            for doc in found:
                counts.update(set(keyword_values(doc, name)))
            out[name] = top_values(counts.items(), size)
        return out

    def histogram(self, query: Query, filters: SearchFilters, *, interval: str,
                  now: datetime | None = None) -> list[tuple[datetime, dict[str, int]]]:
        check_interval(interval)
        buckets: dict[datetime, dict[str, set[str]]] = {}
        for doc in self._matching(query, filters, now):
            moment = _moment(doc)
            if moment is None:
                continue
            story = story_key(doc)
            stories = buckets.setdefault(bucket_start(moment, interval), {"all": set()})
            stories["all"].add(story)
            for topic in set(keyword_values(doc, "topics")):
                stories.setdefault(topic, set()).add(story)
        return [(start, {name: len(ids) for name, ids in buckets[start].items()}) for start in sorted(buckets)]

    def _matching(self, query: Query, filters: SearchFilters, now: datetime | None) -> list[dict[str, Any]]:
        now = now or datetime.now(UTC)
        return [d for d in self.docs.values() if matches(query, d, now) and _passes(d, filters)]

    def get(self, item_id: str) -> dict[str, Any] | None:
        return self.docs.get(item_id)

    def count(self) -> int:
        return len(self.docs)

    def close(self) -> None:
        pass


def _moment(doc: dict[str, Any]) -> datetime | None:
    stamp = doc.get("@timestamp")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


def _passes(doc: dict[str, Any], filters: SearchFilters) -> bool:
    def has_any(fields: tuple[str, ...], wanted: tuple[str, ...]) -> bool:
        values = {v.casefold() for name in fields for v in keyword_values(doc, name)}
        return not wanted or bool(values & {w.casefold() for w in wanted})

    moment = _moment(doc)
    if filters.since and (moment is None or moment < filters.since):
        return False
    if filters.until and (moment is None or moment >= filters.until):
        return False
    return (has_any(("topics",), filters.topics) and has_any(("countries",), filters.countries)
            and has_any(("source",), filters.sources) and has_any(ENTITY_FIELDS, filters.entities))
