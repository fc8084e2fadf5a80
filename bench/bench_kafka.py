"""Benchmark of newsmon's Kafka log adapter against raw kafka-python, producing and consuming.

The records are ``newsmon.raw`` records exactly as the producer stage publishes them: a
:class:`~pipeline.item.RawItem` per item of the real-news corpus (read from $NEWSMON_SHARED, by
default ../shared, never copied; generated items when it is absent), key = item id, value =
``RawItem.to_json()``, cycled with a distinct URL per lap until there are NEWSMON_BENCH_KAFKA_RECORDS
of them. Serialisation happens before any clock starts.

- **Produce.** newsmon: ``KafkaLog(url, settings).producer()``, ``publish()`` per record and
  ``flush()`` after every feed's worth (:data:`FEED_ITEMS`), as the poller flushes once per
  feed. Raw: a ``KafkaProducer`` built from the same :func:`~pipeline.transport.kafka_log.producer_config`
  (acks=all, idempotence, LZ4, 5 ms linger), ``send()`` per record and ``flush()`` at the same batch
  size. Each run writes a fresh topic made by ``ensure_topics`` (the configured partitions); one
  long-lived client per side, as one producer process has.
- **Consume.** One pre-filled topic, NEWSMON_BENCH_KAFKA_CONSUME_LAPS (4) times the records (reading
  runs about ten times as fast as writing: a run of the produce count alone lasts a tenth of a second,
  and one fetch that waits out ``fetch_max_wait_ms`` would decide it); each run reads all of it with a
  fresh consumer group.
  newsmon: ``KafkaLog.consumer(group, topics)``, ``poll(batch_size, poll_timeout)`` and
  ``commit(offsets)`` per batch, as the consume loop does. Raw: a ``KafkaConsumer`` built from
  :func:`~pipeline.transport.kafka_log.consumer_config`, ``poll(max_records=batch_size)`` and a
  synchronous ``commit()`` of the batch's next offsets. Records/s are measured from the first
  records received to the last (that first batch not counted); the time from creating the consumer
  to its first records (connecting, joining the group, the first fetch) is reported apart.

Rounds are interleaved, each pair alternating which side goes first. The broker is
NEWSMON_KAFKA_URL, else the local one on 127.0.0.1:19092 (started with deploy/local/services.sh
when it is not running, and stopped again afterwards). Topics (``bench-kafka-<uuid>-...``) and
groups are deleted at the end. Timings are reported, never asserted.
"""

from __future__ import annotations

import json
import logging
import os
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.structs import OffsetAndMetadata

from pipeline.item import FeedRef, RawItem, format_time, item_id_for, parse_time
from pipeline.probe import accepts_connections
from pipeline.settings import Settings, load_settings
from pipeline.transport.kafka_admin import client_config, parse_kafka_url
from pipeline.transport.kafka_log import KafkaLog, consumer_config, producer_config
from producers.normalise import MAX_SUMMARY_CHARS, MAX_TITLE_CHARS, bound_text, canonical_url, with_body

SHARED = Path(os.environ.get("NEWSMON_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpora/real-news/items.jsonl"
SERVICES = REPO / "deploy" / "local" / "services.sh"
FEED_ITEMS = 20  # records per producer flush: one feed's new items (bench_producer's feeds carry 20)
CONSUME_DEADLINE = 300.0  # seconds a consume run may take before the benchmark gives up
CONSUME_LAPS = int(os.environ.get("NEWSMON_BENCH_KAFKA_CONSUME_LAPS", "4"))  # the consume topic: laps of the records

KeyedValue = tuple[str, bytes]  # (item id, the JSON the producer publishes)


def corpus_rows() -> list[dict[str, Any]]:
    if not CORPUS.is_file():
        return [{"url": f"https://bench.example/{i}", "source": "Bench", "published": "2026-01-02T06:00:00Z",
                 "title": f"Security forces in Balochistan item {i}",
                 "summary": "Counterterrorism cooperation and critical minerals " * 5, "body": None}
                for i in range(1000)]
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]


def raw_item(row: dict[str, Any], lap: int, fetched_at: datetime) -> RawItem:
    """The item the producer would publish for this corpus row (a later lap gets its own URL, so its own id)."""
    url = canonical_url(row["url"] + (f"{'&' if '?' in row['url'] else '?'}lap={lap}" if lap else ""))
    parts = urlsplit(url)
    source = row.get("source") or parts.netloc
    item = RawItem(id=item_id_for(url, None), url=url, guid="", source=source,
                   feed=FeedRef(source.lower().replace(" ", "-"), f"{parts.scheme}://{parts.netloc}/feed", source),
                   title=bound_text(row["title"], MAX_TITLE_CHARS),
                   summary=bound_text(row.get("summary") or "", MAX_SUMMARY_CHARS),
                   fetched_at=format_time(fetched_at),
                   published=format_time(parse_time(row["published"], "published")) if row.get("published") else None)
    return with_body(item, row.get("body"))


def raw_records(total: int) -> list[KeyedValue]:
    rows, now = corpus_rows(), datetime.now(UTC)
    items = (raw_item(rows[i % len(rows)], i // len(rows), now) for i in range(total))
    return [(item.id, item.to_json()) for item in items]


def broker() -> tuple[str, bool]:
    """The broker URL, and whether this benchmark started it."""
    url = os.environ.get("NEWSMON_KAFKA_URL") or "kafka://127.0.0.1:19092"
    host, _, port = parse_kafka_url(url)[0].rpartition(":")
    if accepts_connections(host, int(port)) or os.environ.get("NEWSMON_KAFKA_URL"):
        return url, False
    subprocess.run([str(SERVICES), "up", "kafka"], check=True, capture_output=True)
    return url, True


@dataclass
class Bench:
    """Both sides' clients on one broker, and every topic and group made, for the clean-up."""

    url: str
    settings: Settings
    log: KafkaLog
    raw_producer: KafkaProducer
    prefix: str = field(default_factory=lambda: f"bench-kafka-{uuid.uuid4().hex[:12]}")
    topics: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)

    @property
    def common(self) -> dict[str, Any]:
        return client_config(parse_kafka_url(self.url), self.settings.kafka)

    def fresh_topic(self, name: str) -> str:
        topic = f"{self.prefix}-{name}-{len(self.topics)}"
        self.log.ensure_topics([topic])
        self.topics.append(topic)
        return topic

    def fresh_group(self, name: str) -> str:
        group = f"{self.prefix}-{name}-{len(self.groups)}"
        self.groups.append(group)
        return group

    def written(self, topic: str) -> int:
        return sum(p.end for p in self.log.lag(self.prefix, topic))


def open_bench(url: str) -> Bench:
    settings = load_settings(None, {})  # the defaults: what a newsmon.yaml without a kafka: section gets
    log = KafkaLog(url, settings)
    raw = KafkaProducer(**producer_config(client_config(parse_kafka_url(url), settings.kafka), settings.kafka))
    return Bench(url, settings, log, raw)


def close_bench(bench: Bench) -> None:
    bench.raw_producer.close(timeout=5)
    bench.log.close()
    admin = KafkaAdminClient(**bench.common)
    try:
        if bench.topics:
            admin.delete_topics(bench.topics)
        if bench.groups:
            admin.delete_groups(bench.groups)
    finally:
        admin.close()


def produce_newsmon(bench: Bench, records: Sequence[KeyedValue], topic: str) -> float:
    """Seconds to publish and flush every record, a feed's worth per flush, through the adapter."""
    producer = bench.log.producer()
    start = time.perf_counter()
    for first in range(0, len(records), FEED_ITEMS):
        for key, value in records[first:first + FEED_ITEMS]:
            producer.publish(topic, key, value)
        producer.flush()
    return time.perf_counter() - start


def produce_raw(bench: Bench, records: Sequence[KeyedValue], topic: str) -> float:
    """The same through kafka-python's own producer, configured the same way."""
    client = bench.raw_producer
    start = time.perf_counter()
    for first in range(0, len(records), FEED_ITEMS):
        for key, value in records[first:first + FEED_ITEMS]:
            client.send(topic, key=key.encode("utf-8"), value=value)
        client.flush()
    return time.perf_counter() - start


@dataclass(frozen=True)
class ConsumeRun:
    join: float  # seconds from creating the consumer to its first records
    rate: float  # records/s after the first batch


class ConsumeClock:
    """Times a consume run: the first batch ends the join, the last one the reading."""

    def __init__(self, total: int) -> None:
        self.total, self.read, self.created = total, 0, time.perf_counter()
        self.first_at, self.first_count = 0.0, 0

    def add(self, count: int) -> None:
        if not self.first_at:
            self.first_at, self.first_count = time.perf_counter(), count
        self.read += count

    def waiting(self) -> bool:
        if time.perf_counter() - self.created > CONSUME_DEADLINE:
            raise RuntimeError(f"read {self.read} of {self.total} records in {CONSUME_DEADLINE:g}s")
        return self.read < self.total

    def result(self) -> ConsumeRun:
        if self.read != self.total:
            raise RuntimeError(f"read {self.read} records, expected {self.total}")
        seconds = time.perf_counter() - self.first_at
        return ConsumeRun(self.first_at - self.created, (self.total - self.first_count) / seconds)


def consume_newsmon(bench: Bench, topic: str, total: int) -> ConsumeRun:
    """Read the whole topic with a fresh group through the adapter, committing every batch as the loop does."""
    batch, timeout = bench.settings.consumer.batch_size, bench.settings.consumer.poll_timeout
    clock = ConsumeClock(total)
    consumer = bench.log.consumer(bench.fresh_group("newsmon"), [topic])
    try:
        while clock.waiting():
            records = consumer.poll(batch, timeout)
            if not records:
                continue
            offsets = {}
            for record in records:
                offsets[(record.topic, record.partition)] = record.offset + 1
            consumer.commit(offsets)
            clock.add(len(records))
    finally:
        consumer.close()
    return clock.result()


def consume_raw(bench: Bench, topic: str, total: int) -> ConsumeRun:
    """The same with kafka-python's own consumer, configured the same way, committing synchronously."""
    batch, timeout_ms = bench.settings.consumer.batch_size, int(bench.settings.consumer.poll_timeout * 1000)
    clock = ConsumeClock(total)
    consumer = KafkaConsumer(**consumer_config(bench.common, bench.settings.kafka, bench.fresh_group("raw")))
    consumer.subscribe([topic])
    try:
        while clock.waiting():
            batches = consumer.poll(timeout_ms=timeout_ms, max_records=batch)
            if not batches:
                continue
            consumer.commit({tp: OffsetAndMetadata(messages[-1].offset + 1, "", -1)
                             for tp, messages in batches.items()})
            clock.add(sum(len(messages) for messages in batches.values()))
    finally:
        consumer.close(autocommit=False)
    return clock.result()


@dataclass
class Figures:
    produce: dict[str, list[float]] = field(default_factory=lambda: {"raw": [], "newsmon": []})  # records/s
    consume: dict[str, list[ConsumeRun]] = field(default_factory=lambda: {"raw": [], "newsmon": []})


def ordered(round_number: int) -> tuple[str, str]:
    return ("raw", "newsmon") if round_number % 2 == 0 else ("newsmon", "raw")


def produce_once(bench: Bench, records: Sequence[KeyedValue], side: str) -> float:
    topic = bench.fresh_topic(f"produce-{side}")
    run: Callable[[Bench, Sequence[KeyedValue], str], float] = produce_raw if side == "raw" else produce_newsmon
    seconds = run(bench, records, topic)
    if bench.written(topic) != len(records):
        raise RuntimeError(f"{side}: {bench.written(topic)} records on {topic}, expected {len(records)}")
    return len(records) / seconds


def rounds(bench: Bench, records: Sequence[KeyedValue], filled: str, count: int) -> Figures:
    """Per round: produce with both sides (fresh topics), then consume ``filled`` with both (fresh groups),
    raw first in even rounds and newsmon first in odd ones."""
    figures = Figures()
    for round_number in range(count):
        for side in ordered(round_number):
            figures.produce[side].append(produce_once(bench, records, side))
        for side in ordered(round_number):
            consume = consume_raw if side == "raw" else consume_newsmon
            figures.consume[side].append(consume(bench, filled, len(records) * CONSUME_LAPS))
    return figures


def warm_up(bench: Bench, records: Sequence[KeyedValue]) -> str:
    """Fill the topic every consume run reads (with newsmon's producer, which warms it up), then run
    the other three untimed on a small topic; returns the filled topic."""
    filled = bench.fresh_topic("consume")
    produce_newsmon(bench, [*records] * CONSUME_LAPS, filled)
    warm = records[:1000]
    produce_once(bench, warm, "raw")
    consume_raw(bench, bench.topics[-1], len(warm))
    consume_newsmon(bench, bench.topics[-1], len(warm))
    return filled


def ratio(newsmon: Sequence[float], raw: Sequence[float]) -> float:
    return statistics.median(n / r for n, r in zip(newsmon, raw))


def config_text(bench: Bench) -> str:
    """The settings that decide throughput, as both sides' clients get them."""
    produce = producer_config(bench.common, bench.settings.kafka)
    consume = consumer_config(bench.common, bench.settings.kafka, "group")
    shown = ", ".join(f"{key}={produce[key]}"
                      for key in ("acks", "enable_idempotence", "compression_type", "linger_ms"))
    read = ", ".join(f"{key}={consume[key]}"
                     for key in ("enable_auto_commit", "auto_offset_reset", "session_timeout_ms"))
    return (f"Both producers are built from `producer_config()` ({shown}; kafka-python's defaults otherwise:"
            f" batch_size 16384, 5 requests in flight), both consumers from `consumer_config()` ({read}; fetch"
            " sizes at kafka-python's defaults).")


def run() -> list[str]:
    """Markdown lines for bench/RESULTS.md."""
    total = int(os.environ.get("NEWSMON_BENCH_KAFKA_RECORDS", "5000"))
    count = int(os.environ.get("NEWSMON_BENCH_KAFKA_ROUNDS", "5"))
    records = raw_records(total)
    url, started = broker()
    logging.getLogger("kafka").setLevel(logging.ERROR)
    bench = open_bench(url)
    try:
        filled = warm_up(bench, records)
        load_before = os.getloadavg()[0]
        figures = rounds(bench, records, filled, count)
        load_after = os.getloadavg()[0]
    finally:
        close_bench(bench)
        if started:
            subprocess.run([str(SERVICES), "down", "kafka"], capture_output=True)
    return report(bench, records, figures, count, (load_before, load_after))


def report(bench: Bench, records: Sequence[KeyedValue], figures: Figures, count: int,
           load: tuple[float, float]) -> list[str]:
    produce, consume = figures.produce, figures.consume
    rates = {side: [r.rate for r in consume[side]] for side in consume}
    joins = {side: statistics.median(r.join for r in consume[side]) for side in consume}
    mean_bytes = statistics.mean(len(key) + len(value) for key, value in records)
    source = "the real-news corpus" if CORPUS.is_file() else "generated items"
    batch = bench.settings.consumer.batch_size

    def every(values: dict[str, list[float]]) -> str:
        return "; ".join(f"{side} " + ", ".join(f"{v:.0f}" for v in values[side]) for side in ("raw", "newsmon"))

    return [
        "## Kafka log adapter", "",
        f"{len(records)} `newsmon.raw` records per run (RawItems from {source}, as the producer publishes them:"
        f" key = item id, value = `RawItem.to_json()`, {mean_bytes:.0f} bytes on average), one local broker"
        f" sharing the 2 cores with the benchmark, topics of {bench.settings.kafka.partitions} partitions,"
        f" {count} interleaved rounds; medians (the ratio is the median of the per-round ratios). Load average"
        f" (1 min) {load[0]:.1f} before the rounds, {load[1]:.1f} after. Goal: the adapter at 90% of raw"
        " kafka-python or better.", "",
        "| | newsmon adapter | raw kafka-python | adapter vs raw |", "|---|---|---|---|",
        f"| produce, records/s (flush every {FEED_ITEMS} records, fresh topic)"
        f" | {statistics.median(produce['newsmon']):.0f} | {statistics.median(produce['raw']):.0f}"
        f" | {ratio(produce['newsmon'], produce['raw']):.0%} |",
        f"| consume, records/s ({len(records) * CONSUME_LAPS} records, poll {batch}, synchronous commit per batch,"
        " fresh group)"
        f" | {statistics.median(rates['newsmon']):.0f} | {statistics.median(rates['raw']):.0f}"
        f" | {ratio(rates['newsmon'], rates['raw']):.0%} |",
        f"| consume, seconds to the first records (connect, join the group, first fetch; not in records/s)"
        f" | {joins['newsmon']:.2f} | {joins['raw']:.2f} | |",
        "", config_text(bench) + " The newsmon producer is `KafkaLog(url, settings).producer()`: `publish()`, then"
        " `flush()`, which waits for every record's acknowledgement up to one deadline and, like kafka-python's"
        " `flush()`, has the client send what it holds without waiting out the linger; the raw one `send()` then"
        " `flush()`. The newsmon consumer is `KafkaLog.consumer()` (`poll(max_records,"
        " timeout)`, `commit(offsets)` as the consume loop builds them); the raw one `poll(max_records=...)` and"
        " `commit()` of each partition's next offset. Consume records/s count from the first batch received to"
        " the last, the first batch left out.",
        "", f"Every run, records/s: produce {every(produce)}; consume {every(rates)}.",
    ]


if __name__ == "__main__":
    started_at = time.perf_counter()
    print("\n".join(run()))
    print(f"\n(wall time {time.perf_counter() - started_at:.0f} s)", file=sys.stderr)
