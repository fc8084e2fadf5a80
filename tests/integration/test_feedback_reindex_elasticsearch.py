"""Analysts' verdicts on a real Elasticsearch node survive the indexer writing the item again: the
indexer process (`newsmon consume indexer`) puts the feedback store's standing verdicts on every
document it writes, so a replayed or reprocessed item stays `feedback.<topic>:no`."""

from __future__ import annotations

import json

import pytest

from pipeline.settings import load_settings
from pipeline.transport.base import TOPIC_CLASSIFIED
from pipeline.transport.registry import open_log
from tests.factories import make_classified
from tests.integration.es_fixtures import es, es_url

pytestmark = pytest.mark.integration


def config(es, tmp_path) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(es.yaml() + f"log: sqlite:///{tmp_path}/log.db\nstate: sqlite:///{tmp_path}/state.db\n")
    return str(path)


def publish(path: str, item_id: str, score: float) -> None:
    """Append the item's classified record to the log, as the classifier (or a replay) does."""
    log = open_log(load_settings(path))
    try:
        producer = log.producer()
        item = make_classified(id=item_id, url=f"https://x.test/{item_id}", story_id="s1",
                               topics=("counterterrorism",), scores={"counterterrorism": score})
        producer.publish(TOPIC_CLASSIFIED, item_id, item.to_json())
        producer.flush()
    finally:
        log.close()


def run(es, path: str, *args: str) -> None:
    done = es.newsmon(*args, "-c", path)
    assert done.returncode == 0, f"{args}: {done.stderr}"


def search(es, path: str, query: str) -> list[dict]:
    done = es.newsmon("search", query, "--json", "-c", path)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["hits"]


def test_a_verdict_survives_the_indexer_writing_the_item_again(es, tmp_path):
    path = config(es, tmp_path)
    run(es, path, "setup")
    publish(path, "a1", 0.9)
    publish(path, "a2", 0.9)
    run(es, path, "consume", "indexer", "--until-idle")
    run(es, path, "label", "a1", "--topic", "counterterrorism=no", "--by", "ana")
    es.refresh()
    assert [hit["id"] for hit in search(es, path, "feedback.counterterrorism:no")] == ["a1"]
    publish(path, "a1", 0.6)  # the same item again: a replay or a reprocess with a new score
    run(es, path, "consume", "indexer", "--until-idle")
    es.refresh()
    hits = search(es, path, "feedback.counterterrorism:no")
    assert [hit["id"] for hit in hits] == ["a1"]
    with es.client() as client:
        doc = client.search(index=es.alias, query={"ids": {"values": ["a1"]}})["hits"]["hits"][0]["_source"]
    assert doc["scores"] == {"counterterrorism": 0.6} and doc["feedback"] == {"counterterrorism": "no"}
