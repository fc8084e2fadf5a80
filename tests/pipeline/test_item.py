import json

import pytest

from pipeline.errors import SchemaError
from pipeline.item import ClassifiedItem, Location, RawItem, decode_json, item_id_for
from tests.factories import make_classified, make_raw


def test_raw_item_round_trips_through_json():
    item = make_raw(body="Full text", authors=("A. Writer",), tags=("security",))
    assert RawItem.from_dict(json.loads(item.to_json())) == item


def test_classified_item_round_trips_through_json():
    item = make_classified(
        topics=("counterterrorism",), scores={"counterterrorism": 0.9, "minerals_cooperation": 0.1},
        evidence={"counterterrorism": ["terrorism"]}, countries=("PK",),
        locations=(Location("Quetta", 30.18, 66.97, "PK"),), story_id="s1", model_version="rules-1",
        classified_at="2026-01-02T03:05:00Z",
    )
    assert ClassifiedItem.from_dict(json.loads(item.to_json())) == item


def test_timestamps_are_normalised_to_utc():
    data = json.loads(make_raw().to_json())
    data["published"] = "2026-01-02T08:00:00+05:00"
    assert RawItem.from_dict(data).published == "2026-01-02T03:00:00Z"


@pytest.mark.parametrize("field, value, message", [
    ("title", None, "field 'title': required"),
    ("title", 5, "field 'title': expected a string"),
    ("feed", "dawn", "field 'feed'"),
    ("published", "yesterday", "field 'published': not an RFC 3339"),
    ("authors", "someone", "field 'authors'"),
    ("id", "", "field 'id'"),
])
def test_schema_errors_name_the_field(field, value, message):
    data = json.loads(make_raw().to_json())
    data[field] = value
    with pytest.raises(SchemaError, match=message):
        RawItem.from_dict(data)


def test_decode_json_rejects_non_objects_and_bad_json():
    with pytest.raises(SchemaError, match="invalid JSON"):
        decode_json(b"{nope", "newsmon.raw offset 3")
    with pytest.raises(SchemaError, match="expected a JSON object"):
        decode_json(b"[1, 2]")


def test_item_id_prefers_url_and_is_stable():
    assert item_id_for("https://a.test/x", "g") == item_id_for("https://a.test/x", "other")
    assert item_id_for(None, "g") != item_id_for("https://a.test/x", "g")
    with pytest.raises(SchemaError):
        item_id_for(None, None)
