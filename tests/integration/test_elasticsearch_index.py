"""The Elasticsearch adapter against a real node: idempotent setup, the mapping's types, one copy per
item id, 429s retried alone, mapping rejections dead-lettered, start-up errors in one line."""

from __future__ import annotations

import json
import threading

import pytest

from consumers.indexer import IndexerStage
from pipeline.document import index_document
from pipeline.errors import ConfigError, RetryLater
from pipeline.item import Location, utc_now
from pipeline.loop import ConsumeLoop, StopSignal
from pipeline.settings import ConsumerSettings
from pipeline.transport.base import TOPIC_CLASSIFIED, TOPIC_DLQ
from pipeline.transport.elasticsearch_index import ElasticsearchIndex
from pipeline.transport.sqlite_log import SqliteLog
from tests.factories import make_classified
from tests.integration.es_fixtures import es, es_url

pytestmark = pytest.mark.integration


def full_item(item_id: str, **overrides):
    """A classified item with every field filled in."""
    values = dict(
        id=item_id, url=f"https://example.test/{item_id}", guid=f"guid-{item_id}", source="Dawn", body="Full text.",
        authors=("A. Writer",), tags=("security",), topics=("counterterrorism", "minerals_cooperation"),
        scores={"counterterrorism": 0.91, "minerals_cooperation": 0.62},
        evidence={"counterterrorism": ["terrorist attack"], "minerals_cooperation": ["reko diq"]},
        entities={"persons": ["Shehbaz Sharif"], "organizations": ["CTD"], "places": ["Quetta"],
                  "groups": ["Tehreek-e-Taliban Pakistan"]},
        countries=("PK", "US"), locations=(Location("Quetta", 30.18, 67.0, "PK"),), story_id="story-1",
        model_version="rules-1", classified_at="2026-01-02T03:05:00Z",
    )
    values.update(overrides)
    return make_classified(**values)


def mapped_types(properties: dict, prefix: str = "") -> dict[str, str]:
    out = {}
    for name, spec in properties.items():
        if "properties" in spec:
            out.update(mapped_types(spec["properties"], f"{prefix}{name}."))
        else:
            out[f"{prefix}{name}"] = spec["type"]
    return out


def test_setup_is_idempotent_and_documents_take_the_mapping_types(es):
    index = es.index()
    first, second = index.setup(), index.setup()
    assert "installed" in first and "up to date" in second
    with es.client() as client:
        assert list(client.indices.get_alias(name=es.alias).body) == [f"{es.alias}-{utc_now():%Y.%m}"]
    index.index([index_document(full_item("full-1"), utc_now())])
    assert index.flush() == []
    index.refresh()
    with es.client() as client:
        mapping = client.indices.get_mapping(index=f"{es.alias}-2026.01").body[f"{es.alias}-2026.01"]["mappings"]
        hit = client.search(index=es.alias, query={"ids": {"values": ["full-1"]}}, fields=["*"]).body["hits"]["hits"][0]
    types = mapped_types(mapping["properties"])
    assert types["scores.counterterrorism"] == "float" and types["evidence.counterterrorism"] == "keyword"
    assert types["locations.point"] == "geo_point" and types["@timestamp"] == "date"
    assert types["source"] == "keyword" and types["fts.title"] == "text"
    assert hit["_index"] == f"{es.alias}-2026.01"
    assert hit["fields"]["locations.point"] == [{"type": "Point", "coordinates": [67.0, 30.18]}]
    assert hit["fields"]["@timestamp"] == ["2026-01-02T01:00:00.000Z"]
    assert index.get("full-1") == {k: v for k, v in index_document(full_item("full-1"), utc_now()).items()
                                   if k != "indexed_at"} | {"indexed_at": index.get("full-1")["indexed_at"]}
    index.close()


def test_reindexing_an_item_never_makes_a_second_copy(es):
    index = es.index()
    item = full_item("same-1")
    for _ in range(3):
        index.index([index_document(item, utc_now())])
        index.flush()
        index.refresh()
    # the item published again (say after the producer lost its state) with a time in another month
    index.index([index_document(full_item("same-1", published=None, fetched_at="2026-02-01T00:00:00Z"), utc_now())])
    index.flush()
    index.refresh()
    with es.client() as client:
        hits = client.search(index=es.alias, query={"ids": {"values": ["same-1"]}}).body["hits"]["hits"]
    assert [h["_index"] for h in hits] == [f"{es.alias}-2026.01"]
    assert hits[0]["_source"]["fetched_at"] == "2026-02-01T00:00:00Z"  # the newer version, in the first index
    assert index.count() == 1
    index.close()


def test_documents_rejected_with_429_are_retried_alone(es):
    index = es.index(NEWSMON_ELASTICSEARCH_BULK_RETRIES="2")
    index.index([index_document(full_item("jan-1"), utc_now())])
    index.flush()
    with es.client() as client:  # the flood-stage disk block: Elasticsearch answers 429 for writes
        client.indices.put_settings(index=f"{es.alias}-2026.01", settings={"index.blocks.read_only_allow_delete": True})
    index.index([index_document(full_item("jan-2"), utc_now()),
                 index_document(full_item("mar-1", published="2026-03-03T00:00:00Z"), utc_now())])
    with pytest.raises(RetryLater, match="429"):
        index.flush()
    assert list(index._pending) == ["jan-2"]  # only the rejected document is still queued
    with es.client() as client:
        client.indices.put_settings(index=f"{es.alias}-2026.01", settings={"index.blocks.read_only_allow_delete": None})
    assert index.flush() == []
    index.refresh()
    assert index.count() == 3
    index.close()


def test_a_document_the_mapping_rejects_goes_to_the_dlq_and_the_rest_of_its_batch_is_indexed(es, tmp_path):
    log = SqliteLog(f"sqlite:///{tmp_path}/log.db")
    log.ensure_topics([TOPIC_CLASSIFIED, TOPIC_DLQ])
    producer = log.producer()
    bad = full_item("bad-1", locations=(Location("Nowhere", 123.0, 67.0, "PK"),))  # latitude out of range
    for item in (full_item("ok-1"), bad, full_item("ok-2")):
        producer.publish(TOPIC_CLASSIFIED, item.id, item.to_json())
    producer.flush()
    settings = ConsumerSettings(batch_size=10, poll_timeout=0, backoff_initial=0.05, backoff_max=0.2)
    loop = ConsumeLoop(IndexerStage(es.index()), log.consumer("indexer", [TOPIC_CLASSIFIED]), log.producer(),
                       settings, StopSignal())
    stats = loop.run(until_idle=True)
    assert (stats.batches, stats.dead_lettered) == (1, 1)
    letters = [json.loads(r.value) for r in log.read_from_start(TOPIC_DLQ, 10)]
    assert [(d["key"], d["stage"]) for d in letters] == [("bad-1", "indexer")]
    assert "illegal latitude value" in letters[0]["error"]
    es.refresh()
    assert loop.stage.index.count() == 2 and loop.stage.index.get("bad-1") is None
    assert log.lag("indexer", TOPIC_CLASSIFIED)[0].lag == 0
    log.close()


def test_unreachable_elasticsearch_at_start_up_is_one_line_and_exit_2(es):
    config = es.tmp / "newsmon.yaml"
    config.write_text(f"log: sqlite:///{es.tmp}/log.db\nindex: http://127.0.0.1:1\n")
    result = es.newsmon("consume", "indexer", "--until-idle", "-c", str(config))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(
        "newsmon: index: cannot connect to Elasticsearch at http://127.0.0.1:1:")
    with pytest.raises(ConfigError):
        ElasticsearchIndex("http://127.0.0.1:1", es.settings())


def test_search_on_a_fresh_alias_is_empty_not_an_error(es):
    from pipeline.query import parse_query
    from pipeline.transport.base import SearchFilters

    index = es.index()
    assert index.search(parse_query("anything"), SearchFilters()).total == 0 and index.count() == 0
    index.close()


def test_setup_runs_concurrently_without_errors(es):
    errors: list[Exception] = []

    def setup() -> None:
        try:
            es.index().setup()
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=setup) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
