"""Prometheus metrics of a long-running newsmon process, on its own registry (no global state).

Exposed on ``http://<host>:<metrics_port>/metrics`` when ``metrics_port`` is set (0 = off):

- ``newsmon_records_total{stage, outcome}``: records handled (``processed``, ``dead_lettered``);
- ``newsmon_retries_total{stage}``: retryable failures met by the consume loop;
- ``newsmon_batch_seconds{stage}``: time to process, flush and commit one batch;
- ``newsmon_record_wait_seconds{stage}``: time a record waited in its input topic before processing;
- ``newsmon_end_to_end_seconds``: from the producer fetching an item to the indexer writing it;
- ``newsmon_consumer_lag{stage, topic, partition}``: records not yet committed by the stage's group;
- ``newsmon_feed_polls_total{outcome}`` and ``newsmon_items_published_total``: the producer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from pipeline.transport.base import PartitionLag

__all__ = ["Metrics"]

logger = logging.getLogger(__name__)

_LATENCY_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.records = Counter("newsmon_records", "Records handled by a stage", ["stage", "outcome"], registry=r)
        self.retries = Counter("newsmon_retries", "Retryable failures in the consume loop", ["stage"], registry=r)
        self.batch_seconds = Histogram("newsmon_batch_seconds", "Process, flush and commit one batch", ["stage"],
                                       buckets=_LATENCY_BUCKETS, registry=r)
        self.record_wait = Histogram("newsmon_record_wait_seconds", "Time a record waited in its input topic",
                                     ["stage"], buckets=_LATENCY_BUCKETS, registry=r)
        self.end_to_end = Histogram("newsmon_end_to_end_seconds", "From fetch by the producer to the index",
                                    buckets=_LATENCY_BUCKETS, registry=r)
        self.lag = Gauge("newsmon_consumer_lag", "Records not yet committed by a stage's consumer group",
                         ["stage", "topic", "partition"], registry=r)
        self.feed_polls = Counter("newsmon_feed_polls", "Feed fetches by outcome", ["outcome"], registry=r)
        self.items_published = Counter("newsmon_items_published", "New items published to newsmon.raw", registry=r)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        start_http_server(port, addr=host, registry=self.registry)
        logger.info("event=metrics_listening address=%s:%d", host, port)

    def record_lag(self, stage: str, lags: Iterable[PartitionLag]) -> None:
        for lag in lags:
            self.lag.labels(stage, lag.topic, str(lag.partition)).set(lag.lag)
