import json

import pytest

from consumers.classifier import ClassifierStage, HomeCountries, StoryAssigner, classify_items
from newsmon.app import build_classifier, build_home_countries
from pipeline.classify import Enrichment, Judgement
from pipeline.errors import RetryLater, SchemaError
from pipeline.item import TRUNCATION_MARKER, ClassifiedItem, FeedRef, bound_text, utc_now
from pipeline.loop import ConsumeLoop, StopSignal
from pipeline.settings import load_settings, settings_from_mapping
from pipeline.transport.base import TOPIC_CLASSIFIED, TOPIC_DLQ, Record, RecordsRejected, RecordTooLarge
from pipeline.transport.memory import MemoryLog
from tests.factories import make_raw


@pytest.fixture
def stage_and_log():
    log = MemoryLog()
    producer = log.producer()
    return ClassifierStage(build_classifier(load_settings(None, {})), producer), log, producer


def test_classified_item_is_published_keyed_by_id(stage_and_log):
    stage, log, producer = stage_and_log
    raw = make_raw(title="Suicide bombing kills soldiers in North Waziristan; TTP claims attack")
    stage.handle(Record("newsmon.raw", 0, 1, raw.id, raw.to_json(), 0.0))
    assert stage.flush() == []  # the batch is judged and published on flush
    producer.flush()
    (record,) = log.topics[TOPIC_CLASSIFIED]
    item = ClassifiedItem.from_dict(json.loads(record.value))
    assert record.key == raw.id == item.id
    assert item.topics == ("counterterrorism",)
    assert item.entities["groups"] == ["Tehreek-e-Taliban Pakistan"]
    assert item.locations[0].name == "North Waziristan" and item.countries == ("PK",)
    assert item.model_version and item.classified_at and item.story_id


def test_invalid_records_raise_schema_errors(stage_and_log):
    stage, _, _ = stage_and_log
    with pytest.raises(SchemaError, match="invalid JSON"):
        stage.handle(Record("newsmon.raw", 0, 7, "k", b"{not json", 0.0))
    with pytest.raises(SchemaError, match="field 'feed'"):
        stage.handle(Record("newsmon.raw", 0, 8, "k", json.dumps({"id": "x", "title": "t"}).encode(), 0.0))


class _FixedCountries:
    """A classifier double whose every judgement finds the given countries and nothing else."""

    version = "fixed-1"

    def __init__(self, countries: tuple[str, ...]) -> None:
        self.countries = countries

    def classify(self, title, text):
        return self.classify_many([(title, text)])[0]

    def classify_many(self, items):
        found = Enrichment(entities={}, countries=self.countries, locations=())
        return [Judgement((), {}, {}, found) for _ in items]


HOME = HomeCountries([("dawn-home", "Dawn", "PK"), ("dawn-world", "Dawn", "PK"), ("bbc-asia", "BBC News", ""),
                      ("wire-a", "Wire", "US"), ("wire-b", "Wire", "GB")])


def test_home_country_is_found_by_feed_id_then_by_source():
    assert HOME.of(make_raw(source="Anything", feed=FeedRef("wire-b", "https://w.test/b"))) == "GB"
    assert HOME.of(make_raw(source="Dawn", feed=FeedRef("cli", ""))) == "PK"
    assert HOME.of(make_raw(source="Wire", feed=FeedRef("cli", ""))) == ""  # its feeds disagree
    assert HOME.of(make_raw(source="BBC News", feed=FeedRef("bbc-asia", ""))) == ""  # none configured
    assert HOME.of(make_raw(source="Unknown")) == ""


@pytest.mark.parametrize("found, expected", [((), ("PK",)), (("AF", "IN"), ("AF", "IN"))])
def test_home_country_fills_in_only_when_the_text_names_none(found, expected):
    raw = make_raw(source="Dawn", feed=FeedRef("dawn-home", "https://dawn.test/feed"))
    (item,) = classify_items(_FixedCountries(found), StoryAssigner(), [raw], utc_now(), HOME)
    assert item.countries == expected
    (plain,) = classify_items(_FixedCountries(()), StoryAssigner(), [raw], utc_now())
    assert plain.countries == ()


def test_stage_built_from_settings_uses_the_feeds_home_countries():
    settings = settings_from_mapping({"feeds": [
        {"id": "dawn-home", "source": "Dawn", "url": "https://dawn.test/feed", "country": "pk"}]}, "test.yaml", {})
    log = MemoryLog()
    producer = log.producer()
    stage = ClassifierStage(_FixedCountries(()), producer, home=build_home_countries(settings))
    raw = make_raw(feed=FeedRef("dawn-home", "https://dawn.test/feed"))
    stage.handle(Record("newsmon.raw", 0, 1, raw.id, raw.to_json(), 0.0))
    assert stage.flush() == []
    producer.flush()
    (record,) = log.topics[TOPIC_CLASSIFIED]
    assert ClassifiedItem.from_dict(json.loads(record.value)).countries == ("PK",)


class _FailingOn(_FixedCountries):
    """Judges like :class:`_FixedCountries`, but fails on a title (a bug on that one item)."""

    def __init__(self, bad_title: str) -> None:
        super().__init__(())
        self.bad_title = bad_title

    def classify_many(self, items):
        if any(title == self.bad_title for title, _ in items):
            raise ValueError("a bug on one item")
        return super().classify_many(items)


def test_created_counts_the_items_published_not_the_failed_ones():
    log = MemoryLog()
    stage = ClassifierStage(_FailingOn("broken"), log.producer())
    for offset, title in enumerate(["one", "broken", "two"], start=1):
        raw = make_raw(id=f"id-{offset}", url=f"https://x.test/{offset}", title=title)
        stage.handle(Record("newsmon.raw", 0, offset, raw.id, raw.to_json(), 0.0))
    assert stage.created == 0
    failures = stage.flush()
    assert [record.offset for record, _ in failures] == [2]
    assert stage.created == 2
    stage.idle()  # the default: nothing to do between batches
    assert stage.created == 2


# --- sizes -----------------------------------------------------------------------------------

HUGE_BODY = "Floods displaced thousands across Sindh province overnight. " * 90_000  # ~5.4 MB


def _raw_record(offset: int, **fields) -> Record:
    raw = make_raw(id=f"id-{offset}", url=f"https://x.test/{offset}", **fields)
    return Record("newsmon.raw", 0, offset, raw.id, raw.to_json(), 0.0)


def _published(log: MemoryLog) -> dict[str, ClassifiedItem]:
    return {r.key: ClassifiedItem.from_dict(json.loads(r.value)) for r in log.topics.get(TOPIC_CLASSIFIED, [])}


def test_bound_text_cuts_at_a_word_boundary_with_a_marker_and_leaves_short_text_alone():
    assert bound_text("short text", 20) == "short text"
    assert bound_text("alpha beta gamma delta", 16) == "alpha beta" + TRUNCATION_MARKER
    assert len(bound_text(HUGE_BODY, 1000)) <= 1000


def test_a_huge_body_from_a_foreign_producer_is_published_cut_to_the_bound():
    log = MemoryLog()
    producer = log.producer()
    stage = ClassifierStage(_FixedCountries(()), producer, max_body_chars=10_000)
    stage.handle(_raw_record(1, body=HUGE_BODY, summary="S " * 20_000))
    stage.handle(_raw_record(2, body="A normal body."))
    assert stage.flush() == []
    items = _published(log)
    big = items["id-1"]
    assert len(big.body) <= 10_000 and big.body.endswith(TRUNCATION_MARKER)
    assert HUGE_BODY.startswith(big.body.removesuffix(TRUNCATION_MARKER))
    assert len(big.summary) <= 10_000 and len(big.to_json()) < 25_000
    assert items["id-2"].body == "A normal body." and stage.created == 2


def test_the_default_bound_is_the_producer_setting():
    assert ClassifierStage(_FixedCountries(()), MemoryLog().producer()).max_body_chars == \
        load_settings(None, {}).producer.max_body_chars == 200_000


class _SizeLimitedProducer:
    """A producer double for ``newsmon.classified`` with a request limit checked on publish (like
    kafka-python's) and a broker limit reported on flush (like the topic's ``max.message.bytes``); a
    flush may first fail transiently. Other topics (the dead letters) take any size."""

    def __init__(self, log: MemoryLog, publish_limit: int, broker_limit: int, transient_flushes: int = 0) -> None:
        self.inner, self.publish_limit, self.broker_limit = log.producer(), publish_limit, broker_limit
        self.transient_flushes = transient_flushes
        self._refused: list[RecordTooLarge] = []

    def publish(self, topic, key, value):
        if topic == TOPIC_CLASSIFIED and len(value) > self.publish_limit:
            raise RecordTooLarge(topic, key, f"record of {len(value)} bytes is over the limit of {self.publish_limit}")
        if topic == TOPIC_CLASSIFIED and len(value) > self.broker_limit:
            self._refused.append(RecordTooLarge(topic, key, f"over max.message.bytes {self.broker_limit}"))
        else:
            self.inner.publish(topic, key, value)

    def flush(self):
        if self.transient_flushes:
            self.transient_flushes -= 1
            raise RetryLater("broker busy")
        self.inner.flush()
        if self._refused:
            refused, self._refused = self._refused, []
            raise RecordsRejected(refused)

    def ready(self):
        return True


def _sized_stage(log: MemoryLog, **limits) -> tuple[ClassifierStage, _SizeLimitedProducer]:
    producer = _SizeLimitedProducer(log, **limits)
    stage = ClassifierStage(_FixedCountries(()), producer, max_body_chars=200_000)
    for offset, body in enumerate(["small", "b" * 60_000, "small", "c " * 20_000, "small"], start=1):
        stage.handle(_raw_record(offset, body=body))
    return stage, producer


def test_a_record_too_large_to_publish_is_that_records_failure_and_the_rest_is_published():
    log = MemoryLog()
    stage, _ = _sized_stage(log, publish_limit=50_000, broker_limit=10**9)
    failures = stage.flush()
    assert [(record.offset, type(error).__name__) for record, error in failures] == [(2, "RecordTooLarge")]
    assert "over the limit of 50000" in str(failures[0][1])
    assert sorted(_published(log)) == ["id-1", "id-3", "id-4", "id-5"] and stage.created == 4


def test_a_record_the_broker_refuses_on_flush_is_that_records_failure_even_after_a_retry():
    log = MemoryLog()
    stage, _ = _sized_stage(log, publish_limit=10**9, broker_limit=30_000, transient_flushes=1)
    with pytest.raises(RetryLater):
        stage.flush()  # the loop backs off and calls flush again
    failures = stage.flush()
    assert sorted(record.offset for record, _ in failures) == [2, 4]
    assert all("max.message.bytes" in str(error) for _, error in failures)
    assert sorted(_published(log)) == ["id-1", "id-3", "id-5"] and stage.created == 3
    assert stage.flush() == []  # nothing left over for the next batch


def test_the_consume_loop_dead_letters_the_too_large_record_and_commits_the_batch():
    log = MemoryLog()
    producer = _SizeLimitedProducer(log, publish_limit=50_000, broker_limit=30_000)
    for offset, body in enumerate(["small", "b " * 40_000, "small", "x" * 40_000], start=1):
        raw = make_raw(id=f"id-{offset}", url=f"https://x.test/{offset}", body=body)
        log.append("newsmon.raw", raw.id, raw.to_json())
    stage = ClassifierStage(_FixedCountries(()), producer)
    loop = ConsumeLoop(stage, log.consumer("classifier", ["newsmon.raw"]), producer,
                       load_settings(None, {}).consumer, StopSignal())
    stats = loop.run(until_idle=True)
    letters = [json.loads(value) for value in log.values(TOPIC_DLQ)]
    assert sorted(letter["key"] for letter in letters) == ["id-2", "id-4"] and stats.dead_lettered == 2
    assert all(letter["error"].startswith("RecordTooLarge: ") for letter in letters)
    assert sorted(_published(log)) == ["id-1", "id-3"]
    assert loop.run_once() == 0  # everything committed: nothing replays


def test_the_stage_is_ready_when_its_log_producer_answers():
    log = MemoryLog()
    producer = log.producer()
    stage = ClassifierStage(_FixedCountries(()), producer)
    producer.answers_ready = False
    assert stage.ready() is False
    producer.answers_ready = True
    assert stage.ready() is True and producer.probes == 2
