"""Prometheus metrics of the embedded run, scraped over HTTP."""

import socket
import urllib.request
from dataclasses import replace
from pathlib import Path

from newsmon.app import run_embedded
from pipeline.loop import StopSignal
from pipeline.settings import FeedSpec, load_settings
from tests.feedserver import FeedServer

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "e2e"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_run_exposes_stage_producer_and_latency_metrics(tmp_path):
    with FeedServer(files={"/f.xml": FIXTURES / "frontier-desk.xml"}) as server:
        settings = replace(
            load_settings(None, {}), log=f"sqlite:///{tmp_path}/log.db", index=f"sqlite:///{tmp_path}/index.db",
            feeds=(FeedSpec("f", f"{server.base}/f.xml", "Test"), FeedSpec("gone", f"{server.base}/gone.xml", "Test")),
            metrics_port=free_port(),
        )
        stop = StopSignal()
        run_embedded(settings, stop, once=True)
        text = urllib.request.urlopen(f"http://127.0.0.1:{settings.metrics_port}/metrics", timeout=10).read().decode()
        stop.set()
    lines = {line.rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
             if line and not line.startswith("#")}
    assert lines['newsmon_feed_polls_total{outcome="ok"}'] == 1
    assert lines['newsmon_feed_polls_total{outcome="error"}'] == 1
    assert lines["newsmon_items_published_total"] == 4
    assert lines['newsmon_records_total{outcome="processed",stage="classifier"}'] == 4
    assert lines['newsmon_records_total{outcome="processed",stage="indexer"}'] == 4
    assert lines["newsmon_end_to_end_seconds_count"] == 4
    assert lines['newsmon_batch_seconds_count{stage="alerter"}'] >= 1
    assert any(key.startswith("newsmon_consumer_lag{") for key in lines)
