"""The classifier stage: ``newsmon.raw`` → topics, evidence, entities, countries, story → ``newsmon.classified``.

``handle`` only decodes a record (a bad one raises SchemaError and is dead-lettered at once) and
queues the item; ``flush`` judges the whole batch in one ``nlp.pipe`` per stage, assigns story ids
in one transaction of the story store, and publishes. Flush comes before the producer flush and the
offset commit in the consume loop, so delivery stays at-least-once; a batch replayed after a crash
gets the same story ids back from the store. An item whose judgement fails (a bug on that item) is
returned from ``flush`` with its error, and the loop dead-letters it.

Sizes: an item arriving with a huge ``title``, ``summary`` or ``body`` (a foreign producer, an old
record) has each cut to ``max_body_chars`` (``producer.max_body_chars``) at a word boundary with
`` […]`` before it is judged and published, so its classified record fits the log. A classified
record the log still refuses as too large (a topic with a lower ``max.message.bytes``) is returned
from ``flush`` as that record's failure, and the rest of the batch is published and committed; to
see the broker's answer, ``flush`` flushes the producer itself.

Home countries: a feed configured with ``country: PK`` marks its items as about Pakistan when the
text itself names no country (a domestic story about "the provincial assembly"); see
:class:`HomeCountries`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from pipeline.classify import Classifier, Judgement
from pipeline.errors import PermanentError, RetryLater
from pipeline.item import ClassifiedItem, RawItem, bound_text, decode_json, format_time, parse_time, utc_now
from pipeline.loop import StageBase
from pipeline.nlp.stories import MemoryStoryStore, MinHasher, StoryStore
from pipeline.settings import ProducerSettings
from pipeline.transport.base import TOPIC_CLASSIFIED, LogProducer, Record, RecordsRejected, RecordTooLarge

__all__ = ["classify_item", "classify_items", "HomeCountries", "StoryAssigner", "ClassifierStage"]

logger = logging.getLogger(__name__)

DEFAULT_STORY_WINDOW = 3 * 86400.0
DEFAULT_MAX_BODY_CHARS = ProducerSettings().max_body_chars

Failure = tuple[Record, Exception]


class StoryAssigner:
    """Story ids for items: MinHash/LSH bands of title and summary, resolved through a story store."""

    def __init__(self, store: StoryStore | None = None, window: float = DEFAULT_STORY_WINDOW) -> None:
        self.store = store if store is not None else MemoryStoryStore()
        self.window = window
        self._hasher = MinHasher()

    def assign(self, items: Sequence[RawItem]) -> list[str]:
        entries = [(item.id, self._hasher.band_keys(f"{item.title}\n{item.summary}"),
                    parse_time(item.fetched_at, "fetched_at").timestamp()) for item in items]
        return self.store.assign_many(entries, self.window)


class HomeCountries:
    """The configured home country of an item's feed: looked up by feed id, else by source name (so
    ``newsmon eval`` on items without a configured feed id still finds "Dawn"). A source whose feeds
    disagree has no home country by name."""

    def __init__(self, feeds: Iterable[tuple[str, str, str]] = ()) -> None:
        """``feeds``: (feed id, source, country code or "") for each configured feed."""
        self._by_feed: dict[str, str] = {}
        by_source: dict[str, set[str]] = {}
        for feed_id, source, country in feeds:
            if country:
                self._by_feed[feed_id] = country
            by_source.setdefault(source, set()).add(country)
        self._by_source = {source: codes.pop() for source, codes in by_source.items() if len(codes) == 1}

    def of(self, raw: RawItem) -> str:
        return self._by_feed.get(raw.feed.id) or self._by_source.get(raw.source, "")


NO_HOME_COUNTRIES = HomeCountries()


def _classified(raw: RawItem, judgement: Judgement, story_id: str, version: str, now: datetime,
                home: HomeCountries) -> ClassifiedItem:
    found = judgement.enrichment
    countries = found.countries or tuple(code for code in (home.of(raw),) if code)
    return ClassifiedItem.from_raw(
        raw,
        topics=judgement.topics, scores=judgement.scores, evidence=judgement.evidence,
        entities=found.entities, countries=countries, locations=found.locations,
        story_id=story_id, model_version=version, classified_at=format_time(now),
    )


def classify_items(classifier: Classifier, stories: StoryAssigner, raws: Sequence[RawItem],
                   now: datetime, home: HomeCountries = NO_HOME_COUNTRIES) -> list[ClassifiedItem]:
    """Judge a batch of items with one pass per stage, and give each its story id."""
    judgements = classifier.classify_many([(raw.title, raw.text) for raw in raws])
    story_ids = stories.assign(raws)
    return [_classified(raw, j, s, classifier.version, now, home)
            for raw, j, s in zip(raws, judgements, story_ids)]


def classify_item(classifier: Classifier, raw: RawItem, now: datetime,
                  stories: StoryAssigner | None = None) -> ClassifiedItem:
    """One item; without a story assigner its story is its own (a fresh in-memory store)."""
    return classify_items(classifier, stories or StoryAssigner(), [raw], now)[0]


def bounded(raw: RawItem, limit: int) -> RawItem:
    """``raw`` with ``title``, ``summary`` and ``body`` each cut to ``limit`` characters
    (:func:`pipeline.item.bound_text`)."""
    if max(len(raw.title), len(raw.summary), len(raw.body or "")) <= limit:
        return raw
    return replace(raw, title=bound_text(raw.title, limit), summary=bound_text(raw.summary, limit),
                   body=None if raw.body is None else bound_text(raw.body, limit))


class ClassifierStage(StageBase):
    """``created`` counts the items published to ``newsmon.classified`` (a replayed item counts again)."""

    name = "classifier"

    def __init__(self, classifier: Classifier, producer: LogProducer, stories: StoryAssigner | None = None,
                 clock: Callable[[], datetime] = utc_now, home: HomeCountries = NO_HOME_COUNTRIES,
                 max_body_chars: int = DEFAULT_MAX_BODY_CHARS) -> None:
        self.classifier, self.producer, self.clock, self.home = classifier, producer, clock, home
        self.stories = stories or StoryAssigner()
        self.max_body_chars = max_body_chars
        self.created = 0
        self._pending: list[tuple[Record, RawItem]] = []
        self._unflushed: dict[str, list[Record]] = {}  # published, not yet acknowledged: key -> sources
        self._failures: list[Failure] = []  # kept across a RetryLater of the producer flush

    def handle(self, record: Record) -> None:
        raw = RawItem.from_dict(decode_json(record.value, f"{record.topic} offset {record.offset}"))
        self._pending.append((record, bounded(raw, self.max_body_chars)))

    def flush(self) -> list[Failure]:
        """Judge and publish the queued items, then flush the producer; returns the records that failed
        (judgement failed, or the log refused the classified record as too large), to be dead-lettered.

        RetryLater while judging (story store busy) propagates with the queue intact, so the loop's retry
        redoes it; RetryLater from the producer flush propagates too, and the retry flushes again.
        """
        if self._pending:
            self._publish(self._judged())
        self._flush_producer()
        failures, self._failures = self._failures, []
        return failures

    def ready(self) -> bool:
        """The log producer's probe: a flush fails for later when the log does not acknowledge (or the
        story store stays busy, which is retried as soon as the log answers)."""
        return self.producer.ready()

    def _judged(self) -> list[tuple[Record, ClassifiedItem]]:
        """The queued items judged as one batch, else one by one (failures kept in ``_failures``)."""
        now = self.clock()
        raws = [raw for _, raw in self._pending]
        try:
            items = classify_items(self.classifier, self.stories, raws, now, self.home)
            return [(record, item) for (record, _), item in zip(self._pending, items)]
        except RetryLater:
            raise
        except Exception as exc:
            logger.warning("stage=classifier event=batch_failed items=%d error=%r", len(raws), exc)
        judged = []
        for record, raw in self._pending:
            try:
                (item,) = classify_items(self.classifier, self.stories, [raw], now, self.home)
                judged.append((record, item))
            except RetryLater:
                raise
            except Exception as item_exc:
                self._failures.append((record, item_exc))
        return judged

    def _publish(self, judged: list[tuple[Record, ClassifiedItem]]) -> None:
        """Hand every judged item to the producer; one the log refuses at once is that record's failure."""
        for record, item in judged:
            try:
                self.producer.publish(TOPIC_CLASSIFIED, item.id, item.to_json())
            except PermanentError as exc:  # e.g. larger than the producer's request limit
                self._failures.append((record, exc))
                continue
            self._unflushed.setdefault(item.id, []).append(record)
            self.created += 1
        self._pending.clear()

    def _flush_producer(self) -> None:
        """Flush the producer; records the broker refused for good become failures of their sources."""
        if not self._unflushed:
            return
        try:
            self.producer.flush()
        except RecordsRejected as exc:
            for error in exc.rejected:
                self._rejected(error)
        self._unflushed.clear()

    def _rejected(self, error: RecordTooLarge) -> None:
        """A record the log refused for good: a classified item fails its sources; anything else (a dead
        letter too large for the dead-letter topic) cannot be traced back and is logged."""
        topic, key = error.topic, error.key
        sources = self._unflushed.get(key, []) if topic == TOPIC_CLASSIFIED else []
        if not sources:
            logger.error("stage=classifier event=record_refused topic=%s key=%s error=%s", topic, key, error)
        self._failures += [(record, error) for record in sources]
        self.created -= len(sources)
