"""Benchmark at a million documents: the search page's request on the embedded SQLite index and on
Elasticsearch, what each stores per document, and the memory of the process that serves the page.

Documents: those of :mod:`bench_search` (the real-news corpus, read at run time, sampled into stories
over one year, topics and countries from the labels, entities from the gazetteer plus a long tail of
generated names), title and summary only, as newsmon stores items by default (``full_text`` off);
the search section measures documents with bodies at 100,000. NEWSMON_BENCH_SCALE_DOCS changes the
count (default 1,000,000), NEWSMON_BENCH_SCALE_ROUNDS the rounds of requests (default 2).

One pass writes every document to the SQLite index in flushes of 500, as the indexer writes, and, in
a second thread, to Elasticsearch through raw ``helpers.bulk`` of the documents as newsmon shapes
them, twice: into the monthly indices behind the alias, and into one index of its own. The page's
request (``/api/search`` as the page calls it: :func:`bench_search.api_request`) then runs over the
same queries and filters on each, in a fresh process for SQLite so that its peak memory is the
reader's alone. The monthly indices are measured twice: as the load left them (a backfill before
the next setup), then after ``ElasticsearchIndex.setup()`` (what ``newsmon setup`` and every indexer's
start run) has merged the ended months to one segment each, the current month's index left as it
is; the one index shows what the monthly layout costs after that. The node is the one
:func:`bench_elasticsearch.node` finds or starts. Timings are reported, never asserted.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))

import bench_search
from bench_elasticsearch import SERVICES, node, sink_for
from bench_producer import memory_kb
from bench_search import FILTERS, QUERIES, api_request, corpus, iter_documents, stats
from elasticsearch import Elasticsearch, helpers

from pipeline.query import Query, parse_query
from pipeline.settings import load_settings
from pipeline.transport.base import SearchFilters
from pipeline.transport.elasticsearch_index import ElasticsearchIndex
from pipeline.transport.elasticsearch_mapping import monthly_index, to_source
from pipeline.transport.sqlite_index import SqliteIndex

CHUNK = 500


def title_and_summary() -> list[dict]:
    """The corpus rows without their bodies."""
    return [{**row, "body": None} for row in corpus()]


def load(total: int, sqlite_path: Path, url: str, alias: str, single: str) -> float:
    """Write ``total`` documents to the SQLite file and to Elasticsearch (both layouts) in one pass;
    the seconds it took."""
    index = SqliteIndex(f"sqlite:///{sqlite_path}")
    client = Elasticsearch(url, request_timeout=300)
    pending: Future | None = None
    chunk: list[dict] = []
    start = time.perf_counter()
    with ThreadPoolExecutor(1) as elastic:
        for doc in iter_documents(total, rows=title_and_summary()):
            chunk.append(doc)
            if len(chunk) == CHUNK:
                pending = _write_chunk(index, client, alias, single, chunk, elastic, pending)
                chunk = []
        if chunk:
            pending = _write_chunk(index, client, alias, single, chunk, elastic, pending)
        if pending is not None:
            pending.result()
    seconds = time.perf_counter() - start
    index.close()
    client.indices.refresh(index=f"{alias},{single}")
    return seconds


def _write_chunk(index: SqliteIndex, client: Elasticsearch, alias: str, single: str, chunk: list[dict],
                 elastic: ThreadPoolExecutor, pending: Future | None) -> Future:
    """SQLite here, Elasticsearch in the other thread (one bulk request in flight at a time)."""
    sources = [(d["id"], d["@timestamp"], to_source(d)) for d in chunk]
    if pending is not None:
        pending.result()
    future = elastic.submit(_bulk_both, client, alias, single, sources)
    index.index(chunk)
    index.flush()
    return future


def _bulk_both(client: Elasticsearch, alias: str, single: str, sources: list[tuple[str, str, dict]]) -> None:
    """One bulk request into the monthly indices of ``alias``, one into the single index of ``single``."""
    for index_of in (lambda stamp: monthly_index(alias, stamp), lambda stamp: f"{single}-all"):
        actions = [{"_index": index_of(stamp), "_id": id_, "_source": source} for id_, stamp, source in sources]
        helpers.bulk(client, actions, chunk_size=CHUNK, max_chunk_bytes=20 * 1024 * 1024)


def combos() -> list[tuple[str, Query, SearchFilters]]:
    return [(text, parse_query(text), filters) for text in QUERIES for filters in FILTERS.values()]


def measure_page(index, rounds: int) -> dict:
    """The first request, then every (query, filters) pair in turn ``rounds`` times (ms)."""
    pairs = combos()
    first = api_request(index, "*", parse_query("*"), FILTERS["none"])
    timings: list[float] = []
    per_query: dict[str, list[float]] = {text: [] for text in QUERIES}
    for _ in range(rounds):
        for text, query, filters in pairs:
            elapsed = api_request(index, text, query, filters)
            timings.append(elapsed)
            per_query[text].append(elapsed)
    return {"first": first, "all": timings, "per_query": per_query}


def _sqlite_reader(path: str, rounds: int, out) -> None:
    index = SqliteIndex(f"sqlite:///{path}")
    found = measure_page(index, rounds)
    index.close()
    # VmHWM, not getrusage's ru_maxrss: across the exec of a spawned process Linux carries the parent's
    # peak into it, so the reader would report the loader's
    found["max_rss_mb"] = memory_kb()["VmHWM"] / 1024
    out.put(found)


def measure_sqlite(path: Path, rounds: int) -> dict:
    """:func:`measure_page` in a fresh process (its peak RSS is the reader's)."""
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    process = context.Process(target=_sqlite_reader, args=(str(path), rounds, out))
    process.start()
    found = out.get()
    process.join()
    return found


def elastic_index(url: str, alias: str) -> ElasticsearchIndex:
    return ElasticsearchIndex(url, load_settings(None, {"NEWSMON_ELASTICSEARCH_ALIAS": alias}))


def store_figures(client: Elasticsearch, pattern: str) -> dict:
    stats_ = client.indices.stats(index=pattern, metric="store,docs,segments")["_all"]["primaries"]
    return {"bytes": stats_["store"]["size_in_bytes"], "docs": stats_["docs"]["count"],
            "segments": stats_["segments"]["count"],
            "indices": len(client.indices.get(index=pattern).body)}


def one_index(client: Elasticsearch, url: str, single: str) -> None:
    """The index that holds every document once more: alias ``single``, its own template."""
    sink_for(url, single).close()
    for name in client.indices.get(index=f"{single}-*").body:  # setup made this month's index: not wanted
        client.indices.delete(index=name)
    client.indices.create(index=f"{single}-all")


def merge_as_setup_does(client: Elasticsearch, url: str, alias: str, timeout: float = 900.0) -> tuple[str, float]:
    """Run newsmon's setup on ``alias`` and wait for the merges it starts; its message and the seconds."""
    start = time.perf_counter()
    index = elastic_index(url, alias)
    message = index.setup()
    index.close()
    while time.perf_counter() - start < timeout:
        if not client.tasks.list(actions="indices:admin/forcemerge*", detailed=False)["nodes"]:
            break
        time.sleep(1)
    client.indices.refresh(index=f"{alias}-*")
    return message, time.perf_counter() - start


def heap_used_mb(client: Elasticsearch) -> float:
    nodes = client.nodes.stats(metric="jvm")["nodes"]
    return sum(n["jvm"]["mem"]["heap_used_in_bytes"] for n in nodes.values()) / 1e6


def run() -> list[str]:
    """Markdown lines for bench/RESULTS.md."""
    total = int(os.environ.get("NEWSMON_BENCH_SCALE_DOCS", "1000000"))
    rounds = int(os.environ.get("NEWSMON_BENCH_SCALE_ROUNDS", "2"))
    run_id = uuid.uuid4().hex[:8]
    alias, single_alias = f"bench-scale-{run_id}", f"bench-one-{run_id}"
    url, started = node()
    client = Elasticsearch(url, request_timeout=300)
    try:
        sink_for(url, alias).close()
        one_index(client, url, single_alias)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "index.db"
            load_before = os.getloadavg()[0]
            loaded = load(total, path, url, alias, single_alias)
            print(f'loaded in {loaded:.0f} s', file=sys.stderr)
            sqlite_bytes = path.stat().st_size
            sqlite = measure_sqlite(path, rounds)
        loaded_monthly = store_figures(client, f"{alias}-*")
        unmerged = measure_page(elastic_index(url, alias), rounds)
        setup_message, merge_seconds = merge_as_setup_does(client, url, alias)
        print(f"setup: {setup_message} ({merge_seconds:.0f} s)", file=sys.stderr)
        monthly = store_figures(client, f"{alias}-*")
        elastic = measure_page(elastic_index(url, alias), rounds)
        heap = heap_used_mb(client)
        single = store_figures(client, f"{single_alias}-*")
        one = measure_page(elastic_index(url, single_alias), rounds)
        version = client.info()["version"]["number"]
        loads = (load_before, os.getloadavg()[0])
    finally:
        for name in (alias, single_alias):
            client.indices.delete(index=f"{name}-*", allow_no_indices=True)
            client.options(ignore_status=404).indices.delete_index_template(name=name)
        if started:
            subprocess.run([str(SERVICES), "down", "elasticsearch"], capture_output=True)
    merged = {"before": loaded_monthly, "page": unmerged, "seconds": merge_seconds}
    return report(total, rounds, loaded, sqlite_bytes, sqlite, monthly, elastic, heap, single, one, version, loads,
                  merged)


def report(total: int, rounds: int, loaded: float, sqlite_bytes: int, sqlite: dict, monthly: dict, elastic: dict,
           heap: float, single: dict, one: dict, version: str, loads: tuple[float, float],
           merged: dict) -> list[str]:
    requests = len(QUERIES) * len(FILTERS) * rounds
    source = "real-news corpus" if (bench_search.SHARED / "items.jsonl").is_file() else "generated text"
    return [
        "## Search page at scale (SQLite and Elasticsearch)", "",
        f"{total} documents ({source} title+summary items sampled into stories over one year, as in the search"
        f" section but without bodies: newsmon's default). One pass wrote them to the SQLite index (flushes of"
        f" {CHUNK}) and, in a second thread, to Elasticsearch {version} (single node, 512 MB heap, replicas 0, raw"
        f" `helpers.bulk` of newsmon-shaped documents into monthly indices) in {loaded:.0f} s.", "",
        f"The page's request is `/api/search` as the page calls it (as in the search section: 20 stories from up"
        f" to 100 hits, facets per filter group, the verdicts facet, histogram, item views; no HTTP) over"
        f" {len(QUERIES)} queries x {len(FILTERS)} filter sets, {rounds} rounds, {requests} requests per backend."
        f" Goal on Elasticsearch: p95 < 200 ms. Load average (1 min) {loads[0]:.1f} before the load, {loads[1]:.1f}"
        " after the last request; the node, the benchmark and anything else running share the 2 cores.", "",
        "| backend | stored | per document | page p50 ms | page p95 ms | max ms | first request ms | memory |",
        "|---|---|---|---|---|---|---|---|",
        f"| SQLite (one file) | {sqlite_bytes / 1e9:.2f} GB | {sqlite_bytes / total:.0f} B | {stats(sqlite['all'])}"
        f" | {sqlite['first']:.0f} | {sqlite['max_rss_mb']:.0f} MB peak RSS of the reading process |",
        f"| Elasticsearch, alias over {merged['before']['indices']} monthly indices as loaded"
        f" ({merged['before']['segments']} segments) | {merged['before']['bytes'] / 1e9:.2f} GB"
        f" | {merged['before']['bytes'] / max(1, merged['before']['docs']):.0f} B"
        f" | {stats(merged['page']['all'])} | {merged['page']['first']:.0f} | |",
        f"| Elasticsearch, the same after `newsmon setup` merged the ended months ({monthly['segments']} segments,"
        f" merged in {merged['seconds']:.0f} s) | {monthly['bytes'] / 1e9:.2f} GB"
        f" | {monthly['bytes'] / max(1, monthly['docs']):.0f} B"
        f" | {stats(elastic['all'])} | {elastic['first']:.0f} | {heap:.0f} MB heap used after the requests |",
        f"| Elasticsearch, one index with the same documents ({single['segments']} segments)"
        f" | {single['bytes'] / 1e9:.2f} GB | {single['bytes'] / max(1, single['docs']):.0f} B"
        f" | {stats(one['all'])} | {one['first']:.0f} | |",
        "", "Page request per query, p50 / p95 ms:", "",
        "| query | SQLite | Elasticsearch, monthly as loaded | monthly, merged | one index |", "|---|---|---|---|---|",
        *[f"| `{text}` | {_p50_p95(sqlite['per_query'][text])} | {_p50_p95(merged['page']['per_query'][text])}"
          f" | {_p50_p95(elastic['per_query'][text])} | {_p50_p95(one['per_query'][text])} |" for text in QUERIES],
    ]


def _p50_p95(values: list[float]) -> str:
    ordered = sorted(values)
    return f"{statistics.median(ordered):.0f} / {ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]:.0f}"


if __name__ == "__main__":
    print("\n".join(run()))
