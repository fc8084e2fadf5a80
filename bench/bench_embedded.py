"""Benchmark of the embedded core: classifier throughput, SQLite index write rate, search latency.

Inputs: the labelled real-news corpus when ../shared is present (read, never copied), else
generated items; the index size can be changed with NEWSMON_BENCH_DOCS.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from consumers.classifier import classify_item
from newsmon.app import build_classifier
from pipeline.document import index_document
from pipeline.item import FeedRef, RawItem, format_time, utc_now
from pipeline.query import parse_query
from pipeline.settings import load_settings
from pipeline.transport.base import SearchFilters
from pipeline.transport.sqlite_index import SqliteIndex

CORPUS = Path(os.environ.get("NEWSMON_SHARED", REPO.parent / "shared")) / "corpora/real-news/items.jsonl"
QUERIES = ['"Reko Diq"', "terrorism AND Pakistan", "topics:counterterrorism AND countries:PK",
           "miner* OR copper", 'title:(attack OR blast) -topics:minerals_cooperation', "*"]


def corpus_items() -> list[RawItem]:
    now = format_time(utc_now())
    if not CORPUS.is_file():
        return [RawItem(id=f"gen-{i}", url=f"https://bench.example/{i}", guid="", source="Bench",
                        feed=FeedRef("bench", ""), title=f"Security forces in Balochistan item {i}",
                        summary="Counterterrorism cooperation and critical minerals investment " * 5,
                        fetched_at=now) for i in range(1000)]
    items = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        items.append(RawItem(id=row["id"], url=row["url"], guid="", source=row["source"], feed=FeedRef("bench", ""),
                             title=row["title"], summary=row.get("summary") or "", body=row.get("body"),
                             published=None, fetched_at=now))
    return items


def bench_classifier(items: list[RawItem]) -> dict:
    classifier = build_classifier(load_settings(None, {}))
    start = time.perf_counter()
    classified = [classify_item(classifier, item, utc_now()) for item in items]
    elapsed = time.perf_counter() - start
    words = sum(len(item.text.split()) for item in items)
    return {"items": len(items), "seconds": elapsed, "items_per_s": len(items) / elapsed,
            "words_per_s": words / elapsed, "classified": classified}


def bench_index(classified, total: int, workdir: Path) -> dict:
    index = SqliteIndex(f"sqlite:///{workdir}/bench-index.db")
    start = time.perf_counter()
    written = 0
    while written < total:
        for item in classified:
            doc = index_document(item, datetime.now(UTC))
            doc["id"] = f"{item.id}-{written}"
            index.index([doc])
            written += 1
            if written % 500 == 0:
                index.flush()
            if written >= total:
                break
    index.flush()
    elapsed = time.perf_counter() - start
    return {"docs": written, "seconds": elapsed, "docs_per_s": written / elapsed, "index": index}


def bench_search(index: SqliteIndex, rounds: int = 20) -> dict:
    out = {}
    for text in QUERIES:
        query = parse_query(text)
        timings = []
        for _ in range(rounds):
            start = time.perf_counter()
            index.search(query, SearchFilters(), limit=20)
            timings.append((time.perf_counter() - start) * 1000)
        timings.sort()
        out[text] = {"p50_ms": statistics.median(timings), "p95_ms": timings[int(0.95 * (len(timings) - 1))]}
    return out


def run() -> list[str]:
    """Markdown lines for bench/RESULTS.md."""
    total = int(os.environ.get("NEWSMON_BENCH_DOCS", "20000"))
    items = corpus_items()
    cls = bench_classifier(items)
    with tempfile.TemporaryDirectory() as tmp:
        idx = bench_index(cls["classified"], total, Path(tmp))
        search = bench_search(idx["index"])
    return [
        "## Embedded core", "",
        "| benchmark | figure |", "|---|---|",
        "| default classifier (hybrid topics, gazetteer, NER on relevant items), one item per call without"
        f" batching, {cls['items']} real-news items (batched figures: Classifier section)"
        f" | {cls['items_per_s']:.0f} items/s ({cls['words_per_s'] / 1000:.0f}k words/s) |",
        f"| SQLite FTS5 index writes, {idx['docs']} docs in batches of 500 | {idx['docs_per_s']:.0f} docs/s |",
        "", f"Search latency over {idx['docs']} indexed docs (limit 20, 20 runs each):", "",
        "| query | p50 ms | p95 ms |", "|---|---|---|",
        *[f"| `{q}` | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} |" for q, r in search.items()],
    ]


if __name__ == "__main__":
    print("\n".join(run()))
