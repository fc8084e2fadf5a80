import json

import pytest

from pipeline.errors import SchemaError
from pipeline.item import MAX_ID_BYTES, ClassifiedItem, Location, RawItem, decode_json, item_id_for
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


def test_an_id_longer_than_512_utf8_bytes_is_a_schema_error_naming_field_and_limit():
    data = json.loads(make_raw().to_json())
    data["id"] = "é" * 300  # 300 characters, 600 bytes
    with pytest.raises(SchemaError, match=r"^field 'id': 600 bytes, longer than the 512 allowed$"):
        RawItem.from_dict(data)
    with pytest.raises(SchemaError, match="field 'id': 600 bytes"):
        ClassifiedItem.from_dict(data)
    data["id"] = "x" * MAX_ID_BYTES  # exactly the limit is fine
    assert RawItem.from_dict(data).id == "x" * 512


def test_the_producers_ids_are_32_hex_digits_well_under_the_limit():
    item_id = item_id_for("https://a.test/" + "x" * 5000, None)
    assert len(item_id) == 32 and int(item_id, 16) >= 0


def test_to_dict_is_asdict_with_lists_in_fresh_containers():
    from dataclasses import asdict

    item = make_classified(
        topics=("counterterrorism",), scores={"counterterrorism": 0.9}, evidence={"counterterrorism": ["ttp", "model:0.8"]},
        entities={"persons": ["A. Khan"], "organizations": [], "places": ["Quetta"], "groups": ["TTP"]},
        countries=("PK",), locations=(Location("Quetta", 30.18, 66.97, "PK"),), story_id="s1")
    expected = asdict(item)
    for name in ("authors", "tags", "topics", "countries"):
        expected[name] = list(expected[name])
    expected["locations"] = [asdict(loc) for loc in item.locations]
    out = item.to_dict()
    assert out == expected and json.loads(item.to_json()) == expected
    out["evidence"]["counterterrorism"].append("changed")
    out["entities"]["persons"].clear()
    out["scores"]["counterterrorism"] = 0.0
    assert item.evidence["counterterrorism"] == ["ttp", "model:0.8"] and item.entities["persons"] == ["A. Khan"]
    assert item.scores["counterterrorism"] == 0.9
    assert make_raw().to_dict()["feed"] == asdict(make_raw().feed)
