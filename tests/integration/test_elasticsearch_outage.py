"""Elasticsearch stopped mid-stream and started again: a real ``newsmon consume indexer`` process keeps
retrying with backoff, commits nothing while the cluster is down, and catches up by itself when it
is back; the final count equals the number of distinct items, with no duplicates."""

from __future__ import annotations

import signal
import time

import pytest

from pipeline.transport.base import TOPIC_CLASSIFIED
from tests.factories import make_classified
from tests.integration.conftest import wait_until
from tests.integration.es_fixtures import es, es_url, services

pytestmark = pytest.mark.integration


def records(start: int, stop: int) -> list[tuple[str, str, bytes]]:
    out = []
    for i in range(start, stop):
        item = make_classified(id=f"out-{i:04d}", url=f"https://example.test/out/{i}", title=f"Item {i} on Quetta",
                               topics=("counterterrorism",), scores={"counterterrorism": 0.8}, countries=("PK",),
                               published=f"2026-0{1 + i % 3}-1{i % 10}T06:00:00Z")
        out.append((TOPIC_CLASSIFIED, item.id, item.to_json()))
    return out


def count(es) -> int:
    with es.client() as client:
        client.indices.refresh(index=es.alias)
        return client.count(index=es.alias)["count"]


def test_the_indexer_rides_out_an_elasticsearch_outage(kafka, es):
    if not es.local:
        pytest.skip("needs the local node run by deploy/local/services.sh, with its pid file (it is stopped"
                    " and started)")
    config = kafka.tmp / "newsmon.yaml"
    config.write_text(f"""log: {kafka.url}
state: sqlite:///{kafka.tmp}/state.db
kafka: {{partitions: 3, session_timeout: 6s, request_timeout: 10s}}
consumer: {{batch_size: 25, poll_timeout: 0.5s, backoff_initial: 0.2s, backoff_max: 2s}}
{es.yaml()}""")
    assert kafka.newsmon("setup", "-c", str(config)).returncode == 0
    kafka.publish(config, records(0, 150))
    indexer = kafka.start("indexer", "consume", "indexer", "-c", str(config))
    wait_until(lambda: count(es) > 0, 60, "the first documents to be indexed")

    stopped = services("down", "elasticsearch")
    assert stopped.returncode == 0 and services("status", "elasticsearch").returncode == 3, stopped.stderr
    kafka.publish(config, records(150, 300) + records(0, 50))  # more items, and 50 replays of earlier ones
    time.sleep(6)  # the indexer is failing and retrying now
    assert indexer.popen.poll() is None, indexer.stderr()
    started = services("up", "elasticsearch", keep_data=True)
    assert started.returncode == 0, started.stderr

    kafka.publish(config, records(300, 350))
    try:
        wait_until(lambda: count(es) == 350, 120, "every distinct item to be indexed after the outage")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {count(es)} indexed; indexer log:\n{indexer.stderr()[-4000:]}") from None
    time.sleep(2)  # nothing more arrives: no duplicate, no late second copy
    assert count(es) == 350
    with es.client() as client:
        per_id = client.search(index=es.alias, size=0, aggs={"ids": {"terms": {"field": "id", "min_doc_count": 2}}})
    assert per_id["aggregations"]["ids"]["buckets"] == []
    assert indexer.stop(signal.SIGTERM) == 0
    log = indexer.stderr()
    assert "event=retry" in log and "Elasticsearch unavailable" in log
    lag = kafka.lag(config, "indexer", TOPIC_CLASSIFIED)
    assert sum(p.lag for p in lag) == 0, lag
