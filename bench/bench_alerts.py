"""Benchmark of alert latency: from an item being published to the log to its webhook being received.

Items are published one at a time at a steady rate (NEWSMON_BENCH_ALERT_RATE per second, default
50) by this process; the published time is taken when the producer's flush returned (the record
is durable). A local HTTP receiver in this process notes when each alert arrives. One rule
(``query: '*'``, one generic webhook) matches every item, and every item is its own story, so every
item yields exactly one alert: titles and summaries are drawn at random, and a draw that newsmon's
story clustering would put in an earlier item's story (its MinHash bands, as the classifier stage
computes them) is skipped, so no alert is awaited that newsmon rightly does not send.
NEWSMON_BENCH_ALERTS items are measured per mode (default 1000), after a warm-up item that pays
for start-up (model loading).

Modes:

- ``alerter``: classified items into ``newsmon.classified`` on the SQLite log, one
  ``newsmon consume alerter`` process: the alerter stage alone;
- ``stages``: raw items into ``newsmon.raw``, ``newsmon consume classifier`` and
  ``newsmon consume alerter`` as two processes: classification + alerting;
- ``run``: raw items into the log of a running ``newsmon run`` (every stage in one process, no
  feeds). Its loop sleeps up to 1 s when idle, so records written by *another* process (this
  benchmark) wait for that; items from its own feed poller do not;
- ``kafka``: as ``stages`` on Kafka (6 partitions), when a broker answers on
  NEWSMON_BENCH_KAFKA (default 127.0.0.1:19092). The benchmark takes the integration tests' lock
  and deletes the newsmon topics and groups first: never point it at a broker that matters.

``NEWSMON_BENCH_ALERT_MODES`` picks modes (comma-separated; default all).
"""

from __future__ import annotations

import fcntl
import itertools
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.item import ClassifiedItem, FeedRef, RawItem, format_time, utc_now
from pipeline.nlp.stories import MemoryStoryStore, MinHasher
from pipeline.settings import load_settings
from pipeline.transport.base import ALL_TOPICS, TOPIC_CLASSIFIED, TOPIC_RAW
from pipeline.transport.registry import open_log
from tests.receiver import WebhookReceiver

COUNT = int(os.environ.get("NEWSMON_BENCH_ALERTS", "1000"))
RATE = float(os.environ.get("NEWSMON_BENCH_ALERT_RATE", "50"))
KAFKA = os.environ.get("NEWSMON_BENCH_KAFKA", "127.0.0.1:19092")
MODES = ("alerter", "stages", "run", "kafka")


class Receiver:
    """When the alert of each item first arrived, read from the tests' webhook receiver."""

    def __init__(self) -> None:
        self.hook = WebhookReceiver().__enter__()
        self.arrived: dict[str, float] = {}
        self.duplicates = 0
        self._seen = 0  # deliveries already read

    @property
    def url(self) -> str:
        return f"{self.hook.base}/hook"

    def read(self) -> None:
        deliveries = self.hook.accepted()
        for delivery in deliveries[self._seen:]:
            item_id = delivery.json()["item"]["id"]
            if item_id in self.arrived:
                self.duplicates += 1
            self.arrived.setdefault(item_id, delivery.received_at)
        self._seen = len(deliveries)

    def wait_for(self, ids: set[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read()
            if ids <= self.arrived.keys():
                return True
            time.sleep(0.05)
        self.read()
        return False

    def close(self) -> None:
        self.hook.__exit__(None, None, None)


_SYLLABLES = ("ka", "lo", "mi", "ne", "pu", "ra", "si", "to", "vu", "ze")
_WORDS = [a + b + c for a in _SYLLABLES for b in _SYLLABLES for c in ("bar", "den", "gor", "lim", "nus", "pek")]


def _words(rng: random.Random, count: int) -> str:
    return " ".join(rng.sample(_WORDS, count)).title()


def _item(prefix: str, n: int, classified: bool) -> RawItem:
    """An item with its own story: title and summary words drawn at random, so no two cluster together."""
    rng = random.Random(f"{prefix}-{n}")
    raw = RawItem(id=f"{prefix}-{n}", url=f"https://bench.example/{prefix}/{n}", guid="", source="Bench",
                  feed=FeedRef("bench", ""), title=f"{_words(rng, 7)} police post attacked",
                  summary=f"TTP terrorists struck {_words(rng, 14)}.",
                  fetched_at=format_time(utc_now()))
    if not classified:
        return raw
    return ClassifiedItem.from_raw(raw, topics=("counterterrorism",), scores={"counterterrorism": 0.9},
                                   story_id=f"story-{prefix}-{n}", classified_at=format_time(utc_now()))


def _distinct_items(prefix: str, count: int, classified: bool) -> list[RawItem]:
    """The warm-up item, then ``count`` items of which no two fall in one story."""
    hasher, stories = MinHasher(), MemoryStoryStore()
    drawn = itertools.chain([_item(f"{prefix}-warm", 0, classified)],
                            (_item(prefix, n, classified) for n in itertools.count()))
    items: list[RawItem] = []
    for seen, item in enumerate(drawn):
        bands = hasher.band_keys(f"{item.title}\n{item.summary}")
        if stories.assign_many([(item.id, bands, float(seen))], float("inf")) == [item.id]:
            items.append(item)
            if len(items) == count + 1:
                break
    return items


def _config(tmp: Path, log_url: str, receiver: Receiver) -> Path:
    config = tmp / "newsmon.yaml"
    config.write_text(f"""
log: {log_url}
index: sqlite:///{tmp}/index.db
state: sqlite:///{tmp}/state.db
kafka: {{partitions: 6}}
consumer: {{poll_timeout: 1s}}
rules:
  - {{name: bench, query: '*', actions: [{{type: webhook, url: '{receiver.url}'}}]}}
""")
    return config


def _start(tmp: Path, config: Path, *args: str) -> subprocess.Popen:
    log = (tmp / f"{'-'.join(args)}.log").open("w")
    return subprocess.Popen([sys.executable, "-m", "newsmon.cli", "--log-level", "warning", *args, "-c", str(config)],
                            cwd=tmp, stdout=subprocess.DEVNULL, stderr=log)


def _publish_paced(config: Path, topic: str, prefix: str, classified: bool, receiver: Receiver) -> dict[str, float]:
    log = open_log(load_settings(config, {}))
    producer = log.producer()
    try:
        warm, *items = _distinct_items(prefix, COUNT, classified)
        producer.publish(topic, warm.id, warm.to_json())
        producer.flush()
        if not receiver.wait_for({warm.id}, 180):
            raise RuntimeError("the warm-up alert never arrived (see the stage logs in the work directory)")
        published: dict[str, float] = {}
        start = time.monotonic()
        for n, item in enumerate(items):
            time.sleep(max(0.0, start + n / RATE - time.monotonic()))
            producer.publish(topic, item.id, item.to_json())
            producer.flush()
            published[item.id] = time.time()
        return published
    finally:
        log.close()


def _measure(mode: str, log_url: str, commands: list[tuple[str, ...]], topic: str, classified: bool) -> dict:
    receiver = Receiver()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config = _config(tmp, log_url.format(tmp=tmp), receiver)
        log = open_log(load_settings(config, {}))
        log.ensure_topics(ALL_TOPICS)
        log.close()
        processes = [_start(tmp, config, *command) for command in commands]
        try:
            published = _publish_paced(config, topic, mode, classified, receiver)
            complete = receiver.wait_for(set(published), 120)
        finally:
            for process in processes:
                process.send_signal(signal.SIGINT)
            for process in processes:
                process.wait(60)
            receiver.read()  # duplicates arriving after the last first arrival count too
            receiver.close()
    latencies = sorted(receiver.arrived[i] - t for i, t in published.items() if i in receiver.arrived)
    if not latencies:
        raise RuntimeError(f"none of the {len(published)} alerts arrived")
    return {"mode": mode, "items": len(published), "received": len(latencies), "complete": complete,
            "duplicates": receiver.duplicates, "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], "max": latencies[-1]}


def _kafka_up() -> bool:
    host, _, port = KAFKA.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


@contextmanager
def _clean_kafka() -> Iterator[None]:
    """Hold the integration tests' broker lock; delete the newsmon topics and stage groups first."""
    from kafka import KafkaAdminClient  # the benchmark's own clean-up; newsmon itself goes through its adapter

    run_dir = Path(os.environ.get("NEWSMON_RUN_DIR", "/tmp/newsmon-services"))
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / "kafka-integration-tests.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        admin = KafkaAdminClient(bootstrap_servers=KAFKA)
        try:
            admin.delete_topics([t for t in admin.list_topics() if t in ALL_TOPICS])
            admin.delete_groups(["classifier", "indexer", "alerter"])
        except Exception as exc:  # absent groups or topics: nothing to delete
            print(f"kafka clean-up: {exc}", file=sys.stderr)
        deadline = time.monotonic() + 30
        while set(admin.list_topics()) & set(ALL_TOPICS) and time.monotonic() < deadline:
            time.sleep(0.3)
        admin.close()
        yield


def _run_mode(mode: str) -> dict | str:
    stages = [("consume", "classifier"), ("consume", "alerter")]
    if mode == "alerter":
        return _measure(mode, "sqlite:///{tmp}/log.db", [("consume", "alerter")], TOPIC_CLASSIFIED, True)
    if mode == "stages":
        return _measure(mode, "sqlite:///{tmp}/log.db", stages, TOPIC_RAW, False)
    if mode == "run":
        return _measure(mode, "sqlite:///{tmp}/log.db", [("run",)], TOPIC_RAW, False)
    if not _kafka_up():
        return f"no Kafka broker answers on {KAFKA} (start one with `deploy/local/services.sh up kafka`)"
    with _clean_kafka():
        return _measure(mode, f"kafka://{KAFKA}", stages, TOPIC_RAW, False)


_LABELS = {
    "alerter": "embedded, alerter alone: `newsmon.classified` (SQLite) → `consume alerter` → webhook",
    "stages": "embedded, stage processes: `newsmon.raw` (SQLite) → `consume classifier` → `consume alerter`",
    "run": "embedded, `newsmon run` (one process) fed by another process through `newsmon.raw`",
    "kafka": "Kafka, stage processes: `newsmon.raw` (6 partitions) → `consume classifier` → `consume alerter`",
}


def run() -> list[str]:
    """Markdown lines for bench/RESULTS.md."""
    selected = [m for m in os.environ.get("NEWSMON_BENCH_ALERT_MODES", ",".join(MODES)).split(",") if m]
    lines = ["## Alert latency", "",
             f"From an item published to the log (flush returned) to its webhook received, {COUNT} items per mode"
             f" at {RATE:g} items/s, one story per item, one rule matching all. Goal: p99 < 1 s embedded,"
             " < 2 s on Kafka.", "",
             "| mode | received | p50 ms | p99 ms | max ms | duplicates |", "|---|---|---|---|---|---|"]
    notes = []
    for mode in selected:
        print(f"  bench_alerts: mode {mode} ...", file=sys.stderr)
        try:
            result = _run_mode(mode)
        except Exception as exc:  # report, do not hide: a mode that failed is a finding
            result = f"failed: {type(exc).__name__}: {exc}"
        if isinstance(result, str):
            notes.append(f"- {_LABELS[mode]}: not measured: {result}")
            continue
        lines.append(f"| {_LABELS[mode]} | {result['received']}/{result['items']} | {result['p50'] * 1000:.0f}"
                     f" | {result['p99'] * 1000:.0f} | {result['max'] * 1000:.0f} | {result['duplicates']} |")
    return lines + (["", *notes] if notes else [])


if __name__ == "__main__":
    print("\n".join(run()))
