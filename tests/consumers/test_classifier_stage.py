import json

import pytest

from consumers.classifier import ClassifierStage
from pipeline.app import build_classifier
from pipeline.errors import SchemaError
from pipeline.item import ClassifiedItem
from pipeline.settings import load_settings
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
