"""Recovery in seconds: Elasticsearch stopped while the indexer is flushing and started again. The
consume loop's backoff has grown by then (towards ``consumer.backoff_max``, 60 s here as by default),
but its readiness probe (``IndexerStage.ready`` → ``ElasticsearchIndex.ready``, asked every second)
ends the wait as soon as the cluster answers. The test prints the measured seconds from "the node
answers" to "the indexer wrote" (a measurement, not an assertion) and asserts only that every item
is indexed, once."""

from __future__ import annotations

import threading
import time

import pytest
from elasticsearch import Elasticsearch

from consumers.indexer import IndexerStage
from pipeline.loop import ConsumeLoop, StopSignal
from pipeline.settings import ConsumerSettings
from pipeline.transport.base import TOPIC_CLASSIFIED, TOPIC_DLQ
from pipeline.transport.sqlite_log import SqliteLog
from tests.factories import make_classified
from tests.integration.conftest import wait_until
from tests.integration.es_fixtures import es, es_url, services

pytestmark = pytest.mark.integration

SETTINGS = ConsumerSettings(batch_size=50, poll_timeout=0.2, backoff_initial=0.5, backoff_max=60.0)
OUTAGE_SECONDS = 15  # long enough for the backoff to grow past 8 s


class TimedIndexer(IndexerStage):
    """The real indexer stage, noting when each flush wrote something and when its probe said ready."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.wrote_at: list[float] = []
        self.ready_at: list[float] = []

    def ready(self) -> bool:
        answer = super().ready()
        if answer:
            self.ready_at.append(time.monotonic())
        return answer

    def flush(self):
        pending = bool(self._records)
        failures = super().flush()
        if pending:
            self.wrote_at.append(time.monotonic())
        return failures


class Runner(threading.Thread):
    """The consume loop in its own thread, on its own connection to the SQLite log."""

    def __init__(self, url: str, stage: IndexerStage) -> None:
        super().__init__(name="indexer-loop", daemon=True)
        self.url, self.stage, self.stop = url, stage, StopSignal()
        self.loop: ConsumeLoop | None = None

    def run(self) -> None:
        log = SqliteLog(self.url)
        try:
            self.loop = ConsumeLoop(self.stage, log.consumer("indexer", [TOPIC_CLASSIFIED]), log.producer(),
                                    SETTINGS, self.stop)
            self.loop.run()
        finally:
            log.close()

    @property
    def retries(self) -> int:
        return self.loop.stats.retries if self.loop else 0


def publish(log: SqliteLog, start: int, stop: int) -> None:
    producer = log.producer()
    for i in range(start, stop):
        item = make_classified(id=f"rec-{i:04d}", url=f"https://example.test/rec/{i}", title=f"Item {i} on Quetta",
                               topics=("counterterrorism",), scores={"counterterrorism": 0.8})
        producer.publish(TOPIC_CLASSIFIED, item.id, item.to_json())
    producer.flush()


def count(es) -> int:
    with es.client() as client:
        client.indices.refresh(index=f"{es.alias}-*", allow_no_indices=True)
        return int(client.count(index=f"{es.alias}-*", allow_no_indices=True)["count"])


def first_answer(url: str, deadline: float) -> float | None:
    """The moment (monotonic) the node first answers a ping, polled every 50 ms."""
    with Elasticsearch(url, request_timeout=1, max_retries=0) as client:
        while time.monotonic() < deadline:
            try:
                if client.ping():
                    return time.monotonic()
            except Exception:
                pass
            time.sleep(0.05)
    return None


def test_the_indexer_writes_within_seconds_of_elasticsearch_coming_back(es, tmp_path, capsys):
    if not es.local:
        pytest.skip("needs the local node run by deploy/local/services.sh, with its pid file (it is stopped"
                    " and started)")
    url = f"sqlite:///{tmp_path}/log.db"
    log = SqliteLog(url)
    log.ensure_topics([TOPIC_CLASSIFIED, TOPIC_DLQ])
    stage = TimedIndexer(es.index())
    runner = Runner(url, stage)
    publish(log, 0, 20)
    runner.start()
    try:
        wait_until(lambda: count(es) == 20, 60, "the first documents to be indexed")
        stopped = services("down", "elasticsearch")
        assert stopped.returncode == 0, stopped.stderr
        try:
            down_at = time.monotonic()
            publish(log, 20, 60)  # the indexer handles these, then fails to flush them and backs off
            time.sleep(OUTAGE_SECONDS)
            assert runner.is_alive() and runner.retries >= 3
        finally:
            starting = threading.Thread(target=services, args=("up", "elasticsearch"), kwargs={"keep_data": True})
            starting.start()
            answered = first_answer(es.url, time.monotonic() + 300)
            starting.join(300)
        assert answered is not None, "Elasticsearch did not come back"
        wait_until(lambda: count(es) == 60, 180, "every item to be indexed after the outage")
        wrote = next(t for t in stage.wrote_at if t > down_at)
        ready = next((f"{t - answered:.2f}s" for t in stage.ready_at if t > down_at), "never")
        with capsys.disabled():
            print(f"\nrecovery: node answered {answered - down_at:.1f}s after the stop; probe said ready {ready}"
                  f" and the indexer wrote {wrote - answered:.2f}s after the node answered ({runner.retries} retries,"
                  f" backoff max {SETTINGS.backoff_max:g}s)")
        assert count(es) == 60
        with es.client() as client:
            per_id = client.search(index=es.alias, size=0,
                                   aggs={"ids": {"terms": {"field": "id", "min_doc_count": 2}}})
        assert per_id["aggregations"]["ids"]["buckets"] == []
        assert runner.is_alive()
    finally:
        runner.stop.set()
        runner.join(120)
    assert not runner.is_alive()
    assert sum(p.lag for p in log.lag("indexer", TOPIC_CLASSIFIED)) == 0
    log.close()
