"""Benchmark of the Elasticsearch indexer sink against raw ``helpers.bulk`` on the same documents.

Both write the same documents (the real-news corpus when ../shared is present, read and never
copied, else generated items; NEWSMON_BENCH_ES_DOCS of them, default 20000) into fresh monthly
indices made from the same template, with the same chunk size:

- raw: ``helpers.bulk`` of the finished Elasticsearch documents (shaped before the clock starts);
- sink: :class:`~pipeline.transport.elasticsearch_index.ElasticsearchIndex`, ``index()`` then
  ``flush()`` once per consume batch, as the indexer stage does; its time includes shaping the
  documents (FTS5 tokens, geo points), looking the ids up through the alias (in a second thread,
  overlapping the shaping), and the bulk requests.

The node is NEWSMON_ES_URL, else the local one (started with deploy/local/services.sh when it is
not running, and stopped again afterwards). Timings are reported, never asserted.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from elasticsearch import Elasticsearch, helpers

from pipeline.document import index_document
from pipeline.item import ClassifiedItem, FeedRef, Location, RawItem, format_time
from pipeline.settings import load_settings
from pipeline.transport.elasticsearch_index import ElasticsearchIndex
from pipeline.transport.elasticsearch_mapping import monthly_index, to_source

CORPUS = Path(os.environ.get("NEWSMON_SHARED", REPO.parent / "shared")) / "corpora/real-news/items.jsonl"
SERVICES = REPO / "deploy" / "local" / "services.sh"
CHUNK = 500


def texts() -> list[tuple[str, str, str | None]]:
    if not CORPUS.is_file():
        return [(f"Security forces in Balochistan item {i}", "Counterterrorism cooperation and critical minerals " * 5,
                 None) for i in range(1000)]
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    return [(r["title"], r.get("summary") or "", r.get("body")) for r in rows]


def documents(total: int) -> list[dict]:
    """``total`` index documents (ids unique, @timestamp spread over three months)."""
    corpus, indexed = texts(), datetime.now(UTC)
    docs = []
    for i in range(total):
        title, summary, body = corpus[i % len(corpus)]
        raw = RawItem(id=f"bench-{i:06d}", url=f"https://bench.example/{i}", guid="", source="Bench",
                      feed=FeedRef("bench", ""), title=title, summary=summary, body=body,
                      published=f"2026-0{1 + i % 3}-{1 + i % 28:02d}T06:00:00Z", fetched_at=format_time(indexed))
        item = ClassifiedItem.from_raw(raw, topics=("counterterrorism",), scores={"counterterrorism": 0.8},
                                       countries=("PK",), locations=(Location("Quetta", 30.18, 67.0, "PK"),),
                                       entities={"persons": [], "organizations": ["CTD"], "places": ["Quetta"],
                                                 "groups": []}, story_id=f"s{i % 97}")
        docs.append(index_document(item, indexed))
    return docs


def node() -> tuple[str, bool]:
    """The node URL, and whether this benchmark started it."""
    url = os.environ.get("NEWSMON_ES_URL") or f"http://127.0.0.1:{os.environ.get('NEWSMON_ES_PORT', '19200')}"
    if Elasticsearch(url).ping() or os.environ.get("NEWSMON_ES_URL"):
        return url, False
    subprocess.run([str(SERVICES), "up", "elasticsearch"], check=True, capture_output=True)
    return url, True


def sink_for(url: str, alias: str) -> ElasticsearchIndex:
    env = {"NEWSMON_ELASTICSEARCH_ALIAS": alias, "NEWSMON_ELASTICSEARCH_REPLICAS": "0",
           "NEWSMON_ELASTICSEARCH_BULK_DOCS": str(CHUNK)}
    index = ElasticsearchIndex(url, load_settings(None, env))
    index.setup()
    return index


def bench_raw(url: str, docs: list[dict], chunk: int = CHUNK) -> float:
    alias = f"bench-raw-{uuid.uuid4().hex[:8]}"
    sink_for(url, alias).close()  # the same template and alias, installed the same way
    actions = [{"_index": monthly_index(alias, d["@timestamp"]), "_id": d["id"], "_source": to_source(d)} for d in docs]
    client = Elasticsearch(url, request_timeout=120)
    start = time.perf_counter()
    ok, errors = helpers.bulk(client, actions, chunk_size=chunk, max_chunk_bytes=10 * 1024 * 1024)
    elapsed = time.perf_counter() - start
    assert ok == len(docs) and not errors
    cleanup(client, alias)
    return len(docs) / elapsed


def bench_sink(url: str, docs: list[dict], batch: int) -> float:
    alias = f"bench-sink-{uuid.uuid4().hex[:8]}"
    index = sink_for(url, alias)
    start = time.perf_counter()
    for first in range(0, len(docs), batch):
        index.index(docs[first:first + batch])
        assert index.flush() == []
    elapsed = time.perf_counter() - start
    index.close()
    cleanup(Elasticsearch(url), alias)
    return len(docs) / elapsed


def cleanup(client: Elasticsearch, alias: str) -> None:
    names = list(client.indices.get(index=f"{alias}-*").body)
    client.indices.delete(index=",".join(names))
    client.indices.delete_index_template(name=alias)


def rounds(url: str, docs: list[dict], count: int) -> dict[str, list[float]]:
    """Interleaved runs (raw and sink at 500 and at 100 documents per request, per round), so a busy
    machine slows all alike; each pair runs raw first in even rounds and sink first in odd ones, so a
    load that rises or falls during a round does not favour either."""
    figures: dict[str, list[float]] = {"raw": [], "sink_500": [], "raw_100": [], "sink_100": []}
    for round_number in range(count):
        for raw, sink, size in (("raw", "sink_500", CHUNK), ("raw_100", "sink_100", 100)):
            order = [raw, sink] if round_number % 2 == 0 else [sink, raw]
            for name in order:
                run = bench_raw if name == raw else bench_sink
                figures[name].append(run(url, docs, size))
    return figures


def shaping_seconds(docs: list[dict]) -> float:
    """CPU seconds to shape every document (:func:`to_source`), best of three."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        for doc in docs:
            to_source(doc)
        best = min(best, time.process_time() - start)
    return best


def run() -> list[str]:
    """Markdown lines for bench/RESULTS.md."""
    total = int(os.environ.get("NEWSMON_BENCH_ES_DOCS", "10000"))
    count = int(os.environ.get("NEWSMON_BENCH_ES_ROUNDS", "5"))
    docs = documents(total)
    url, started = node()
    try:
        bench_sink(url, docs[:2000], 500)  # warm-up: JIT, caches, first index creations
        load_before = os.getloadavg()[0]
        figures = rounds(url, docs, count)
        load_after = os.getloadavg()[0]
        version = Elasticsearch(url).info()["version"]["number"]
    finally:
        if started:
            subprocess.run([str(SERVICES), "down", "elasticsearch"], capture_output=True)
    raw = statistics.median(figures["raw"])
    shaping = shaping_seconds(docs)
    ratio = {sink: statistics.median(s / r for s, r in zip(figures[sink], figures[raw_name]))
             for sink, raw_name in (("sink_500", "raw"), ("sink_100", "raw_100"))}
    source = "real-news corpus" if CORPUS.is_file() else "generated items"
    runs = "; ".join(f"{name} " + ", ".join(f"{v:.0f}" for v in values) for name, values in figures.items())
    return [
        "## Elasticsearch indexer sink", "",
        f"{total} documents ({source}, three monthly indices) per run, Elasticsearch {version} on this machine"
        f" (single node, 512 MB heap, sharing the 2 cores with the benchmark), bulk chunks of {CHUNK} documents,"
        f" {count} interleaved rounds; medians (the ratio is the median of the per-round ratios). Load average"
        f" (1 min) {load_before:.1f} before the rounds, {load_after:.1f} after.", "",
        "| writer | docs/s | vs raw bulk at the same request size |", "|---|---|---|",
        f"| raw `helpers.bulk` (documents shaped beforehand) | {raw:.0f} | 100% |",
        f"| indexer sink, flush every 500 documents | {statistics.median(figures['sink_500']):.0f}"
        f" | {ratio['sink_500']:.0%} |",
        f"| raw `helpers.bulk`, 100 documents per request | {statistics.median(figures['raw_100']):.0f} | 100% |",
        "| indexer sink, flush every 100 documents (the default consumer batch)"
        f" | {statistics.median(figures['sink_100']):.0f}"
        f" | {ratio['sink_100']:.0%} |",
        "", f"Every run, docs/s: {runs}. The sink's time includes shaping each document (FTS5 tokens, geo points:"
        f" {shaping:.2f} s of CPU for the {total} documents, measured alone), one id lookup through the alias per"
        " flush (in a second thread while the flush shapes its documents), and, at 100 per flush, five times as many"
        " bulk requests.",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
