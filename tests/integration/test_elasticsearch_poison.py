"""No single record stops the indexer (real Elasticsearch): an id longer than the 512 bytes
Elasticsearch accepts is refused by the item decoder, and should one reach the writer anyway, the
bulk request it spoils is split down to that document; a value the mapping refuses is rejected per
document. Either way the record goes to ``newsmon.dlq`` with the reason, the good records around it
are indexed and the offsets are committed past it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import ApiError, Elasticsearch

from consumers.indexer import IndexerStage
from pipeline import item as item_module
from pipeline.document import index_document
from pipeline.errors import RetryLater
from pipeline.item import Location, utc_now
from pipeline.loop import ConsumeLoop, StopSignal
from pipeline.settings import ConsumerSettings
from pipeline.transport.base import TOPIC_CLASSIFIED, TOPIC_DLQ
from pipeline.transport.sqlite_log import SqliteLog
from tests.factories import make_classified
from tests.integration.es_fixtures import es, es_url

pytestmark = pytest.mark.integration

LONG_ID = "x" * 600
SETTINGS = ConsumerSettings(batch_size=20, poll_timeout=0, backoff_initial=0.05, backoff_max=0.2)


def item(item_id: str, **overrides: Any):
    return make_classified(id=item_id, url=f"https://example.test/{item_id[:40]}", title=f"Item {item_id[:40]}",
                           topics=("counterterrorism",), scores={"counterterrorism": 0.8}, **overrides)


def good(*numbers: int) -> list:
    return [item(f"good-{n}") for n in numbers]


def publish(log: SqliteLog, items: list) -> None:
    producer = log.producer()
    for one in items:
        producer.publish(TOPIC_CLASSIFIED, one.id, one.to_json())
    producer.flush()


def letters(log: SqliteLog) -> dict[str, dict]:
    """The dead letters by key (the long id shortened to ``long``)."""
    out = {}
    for record in log.read_from_start(TOPIC_DLQ, 100):
        letter = json.loads(record.value)
        out["long" if letter["key"] == LONG_ID else letter["key"]] = letter
    return out


def indexed_ids(es) -> list[str]:
    es.refresh()
    with es.client() as client:
        hits = client.search(index=es.alias, size=100, source=False)["hits"]["hits"]
    return sorted(hit["_id"] for hit in hits)


@pytest.mark.parametrize("where", ["decoder", "writer"])
def test_poison_records_go_to_the_dlq_and_the_indexer_moves_on(es, tmp_path, monkeypatch, where):
    if where == "writer":  # let the over-long id past the decoder, as a record from an older producer might
        monkeypatch.setattr(item_module, "MAX_ID_BYTES", 10_000)
    log = SqliteLog(f"sqlite:///{tmp_path}/log.db")
    log.ensure_topics([TOPIC_CLASSIFIED, TOPIC_DLQ])
    refused = item("bad-lat", locations=(Location("Nowhere", 123.0, 67.0, "PK"),))  # latitude out of range
    publish(log, [*good(1, 2, 3), item(LONG_ID), refused, *good(4, 5, 6)])
    loop = ConsumeLoop(IndexerStage(es.index()), log.consumer("indexer", [TOPIC_CLASSIFIED]), log.producer(),
                       SETTINGS, StopSignal())
    stats = loop.run(until_idle=True)

    assert indexed_ids(es) == [f"good-{n}" for n in range(1, 7)]
    dead = letters(log)
    assert sorted(dead) == ["bad-lat", "long"] and {d["stage"] for d in dead.values()} == {"indexer"}
    assert "illegal latitude value" in dead["bad-lat"]["error"]
    if where == "decoder":
        assert dead["long"]["error"] == "LimitExceeded: field 'id': 600 bytes, longer than the 512 allowed"
        assert dead["long"]["limit"] == {"field": "id", "size": 600, "limit": 512, "unit": "bytes"}
    else:
        assert dead["long"]["error"].startswith(f"IndexRejected: index rejected item {LONG_ID}: 400"
                                                " action_request_validation_exception")
        assert "must be no longer than 512 bytes" in dead["long"]["error"]
    assert (stats.dead_lettered, stats.batches) == (2, 1)
    assert log.lag("indexer", TOPIC_CLASSIFIED)[0].lag == 0  # committed past the poison records

    publish(log, good(7))  # the loop is still alive and indexes what comes next
    assert loop.run_once() == 1 and "good-7" in indexed_ids(es)
    assert log.lag("indexer", TOPIC_CLASSIFIED)[0].lag == 0
    log.close()


def test_the_writer_splits_a_refused_bulk_request_down_to_the_documents_at_fault(es):
    index = es.index(NEWSMON_ELASTICSEARCH_BULK_DOCS="8")  # several requests per flush
    docs = [index_document(one, utc_now()) for one in good(*range(40))]
    docs.insert(13, index_document(item("a" * 513), utc_now()))
    docs.insert(30, index_document(item("é" * 300), utc_now()))  # 300 characters, 600 bytes
    index.index(docs)
    rejected = index.flush()
    assert sorted(len(r.doc_id) for r in rejected) == [300, 513]
    assert all(r.reason.startswith("400 action_request_validation_exception") for r in rejected)
    assert all("is too long, must be no longer than 512 bytes" in r.reason and len(r.reason) < 450 for r in rejected)
    assert index._pending == {}
    assert indexed_ids(es) == sorted(f"good-{n}" for n in range(40))
    assert index.flush() == []  # the rejections were handed out once
    index.close()


def refusing_bulk(monkeypatch, status: int, error: str, when: str) -> None:
    """Make every bulk request whose body mentions ``when`` fail as a whole with ``status``."""
    real_bulk = Elasticsearch.bulk

    def bulk(self, *args: Any, operations: Any = None, **kwargs: Any):
        if any(when.encode() in bytes(line) for line in operations or ()):
            meta = ApiResponseMeta(status=status, http_version="1.1", headers=HttpHeaders(), duration=0.0,
                                   node=NodeConfig("http", "127.0.0.1", 19200))
            raise ApiError(error, meta, {"error": {"type": error, "reason": f"refused ({status})"}, "status": status})
        return real_bulk(self, *args, operations=operations, **kwargs)

    monkeypatch.setattr(Elasticsearch, "bulk", bulk)


def test_a_request_refused_as_too_large_is_split_down_to_the_document(es, monkeypatch):
    index = es.index()
    index.setup()
    refusing_bulk(monkeypatch, 413, "request_entity_too_large", when='"huge-1"')
    index.index([index_document(one, utc_now()) for one in [*good(1, 2), item("huge-1"), *good(3, 4)]])
    rejected = index.flush()
    assert [(r.doc_id, r.reason) for r in rejected] == [("huge-1", "413 request_entity_too_large: refused (413)")]
    assert indexed_ids(es) == [f"good-{n}" for n in range(1, 5)]
    index.close()


@pytest.mark.parametrize("status, error", [(429, "es_rejected_execution_exception"),
                                           (503, "unavailable_shards_exception"),
                                           (400, "cluster_block_exception")])
def test_a_request_refused_for_other_reasons_is_still_retried_later(es, monkeypatch, status, error):
    index = es.index(NEWSMON_ELASTICSEARCH_BULK_RETRIES="0")
    index.setup()
    refusing_bulk(monkeypatch, status, error, when='"good-1"')
    index.index([index_document(one, utc_now()) for one in good(1, 2)])
    with pytest.raises(RetryLater, match="Elasticsearch unavailable"):
        index.flush()
    assert sorted(index._pending) == ["good-1", "good-2"]  # nothing rejected, all still queued
    assert index.ready() is (status != 429)  # after a 429 the loop's backoff runs its course
    monkeypatch.undo()
    assert index.flush() == [] and indexed_ids(es) == ["good-1", "good-2"]
    index.close()
