"""The classifier stage: ``newsmon.raw`` → topics, evidence, entities, countries, story → ``newsmon.classified``.

``handle`` only decodes a record (a bad one raises SchemaError and is dead-lettered at once) and
queues the item; ``flush`` judges the whole batch in one ``nlp.pipe`` per stage, assigns story ids
in one transaction of the story store, and publishes. Flush comes before the producer flush and the
offset commit in the consume loop, so delivery stays at-least-once; a batch replayed after a crash
gets the same story ids back from the store. An item whose judgement fails (a bug on that item) is
returned from ``flush`` with its error, and the loop dead-letters it.

Home countries: a feed configured with ``country: PK`` marks its items as about Pakistan when the
text itself names no country (a domestic story about "the provincial assembly"); see
:class:`HomeCountries`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

from pipeline.classify import Classifier, Judgement
from pipeline.errors import RetryLater
from pipeline.item import ClassifiedItem, RawItem, decode_json, format_time, parse_time, utc_now
from pipeline.loop import StageBase
from pipeline.nlp.stories import MemoryStoryStore, MinHasher, StoryStore
from pipeline.transport.base import TOPIC_CLASSIFIED, LogProducer, Record

__all__ = ["classify_item", "classify_items", "HomeCountries", "StoryAssigner", "ClassifierStage"]

logger = logging.getLogger(__name__)

DEFAULT_STORY_WINDOW = 3 * 86400.0


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


class ClassifierStage(StageBase):
    """``created`` counts the items published to ``newsmon.classified`` (a replayed item counts again)."""

    name = "classifier"

    def __init__(self, classifier: Classifier, producer: LogProducer, stories: StoryAssigner | None = None,
                 clock: Callable[[], datetime] = utc_now, home: HomeCountries = NO_HOME_COUNTRIES) -> None:
        self.classifier, self.producer, self.clock, self.home = classifier, producer, clock, home
        self.stories = stories or StoryAssigner()
        self.created = 0
        self._pending: list[tuple[Record, RawItem]] = []

    def handle(self, record: Record) -> None:
        raw = RawItem.from_dict(decode_json(record.value, f"{record.topic} offset {record.offset}"))
        self._pending.append((record, raw))

    def flush(self) -> list[tuple[Record, Exception]]:
        """Judge and publish the queued items; returns the ones that failed, for the dead-letter topic.

        RetryLater (story store busy) propagates with the queue intact, so the loop's retry redoes it.
        """
        if not self._pending:
            return []
        now = self.clock()
        raws = [raw for _, raw in self._pending]
        failures: list[tuple[Record, Exception]] = []
        try:
            items = classify_items(self.classifier, self.stories, raws, now, self.home)
            published = list(zip(self._pending, items))
        except RetryLater:
            raise
        except Exception as exc:
            logger.warning("stage=classifier event=batch_failed items=%d error=%r", len(raws), exc)
            published = []
            for record, raw in self._pending:
                try:
                    (item,) = classify_items(self.classifier, self.stories, [raw], now, self.home)
                    published.append(((record, raw), item))
                except RetryLater:
                    raise
                except Exception as item_exc:
                    failures.append((record, item_exc))
        for _, item in published:
            self.producer.publish(TOPIC_CLASSIFIED, item.id, item.to_json())
        self.created += len(published)
        self._pending.clear()
        return failures
