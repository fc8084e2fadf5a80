import json

import pytest

from consumers.classifier import ClassifierStage, HomeCountries, StoryAssigner, classify_items
from newsmon.app import build_classifier, build_home_countries
from pipeline.classify import Enrichment, Judgement
from pipeline.errors import SchemaError
from pipeline.item import ClassifiedItem, FeedRef, utc_now
from pipeline.settings import load_settings, settings_from_mapping
from pipeline.transport.base import TOPIC_CLASSIFIED, Record
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
