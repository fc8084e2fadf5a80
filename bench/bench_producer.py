"""Benchmark of the feed producer: full polling cycles of 1,000 feeds on local HTTP servers.

The feeds (20 items each, invented) are served by a separate process from ten loopback addresses
(127.0.0.1-10, a hundred feeds each), with ETags, so an unchanged feed costs a 304. The first
cycle is cold (every feed a 200, every item new); each later cycle changes 5% of the feeds (one
new item each) and the rest answer 304. The poller runs as configured by default except for
``concurrency`` (8) and publishes into a real SQLite log; its state is a real SQLite store.
CPU is the poller process's own (user + system, all threads); the servers' CPU is not counted.
Change the size with NEWSMON_BENCH_FEEDS.
"""

from __future__ import annotations

import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.settings import FeedSpec, ProducerSettings
from pipeline.transport.sqlite_log import SqliteLog
from producers.poller import FeedPoller
from producers.state import FeedStateStore

HOSTS = [f"127.0.0.{i}" for i in range(1, 11)]
ITEMS = 20
CHANGED = 0.05
CYCLES = 4


def _feed(index: int, version: int) -> bytes:
    items = "".join(
        f"<item><title>Feed {index} story {n}: talks on security and mining continue</title>"
        f"<link>https://bench{index % 50}.example/{index}/{n}</link><guid>{index}-{n}</guid>"
        f"<description>Story {n} of feed {index}, an invented paragraph long enough to look like a summary"
        f" of a report on counterterrorism cooperation and critical minerals in the region.</description>"
        f"<pubDate>{time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime(1_780_000_000 + n * 900))}</pubDate></item>"
        for n in range(version, version + ITEMS))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Bench {index}</title>'
            f"<link>https://bench.example/</link>{items}</channel></rss>").encode()


def _handler(versions):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            index = int(self.path.rsplit("/", 1)[1])
            version = versions[index]
            etag = f'"{index}-{version}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            body = _feed(index, version)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
    return Handler


def _serve(versions, ports, ready, stop) -> None:
    servers = []
    for host in HOSTS:
        server = ThreadingHTTPServer((host, 0), _handler(versions))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        ports.append(server.server_address[1])
    ready.set()
    stop.wait()
    for server in servers:
        server.shutdown()


def _cycle(poller: FeedPoller, feeds: list[FeedSpec]) -> dict:
    cpu, wall = time.process_time(), time.perf_counter()
    report = poller.poll(feeds)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"wall": wall, "cpu": cpu, "report": report}


def _measure(count: int, workdir: Path) -> list[dict]:
    context = multiprocessing.get_context("spawn")
    manager = context.Manager()
    versions, ports = manager.list([0] * count), manager.list()
    ready, stop = manager.Event(), manager.Event()
    server = context.Process(target=_serve, args=(versions, ports, ready, stop), daemon=True)
    server.start()
    try:
        ready.wait(30)
        feeds = [FeedSpec(id=f"bench-{i}", url=f"http://{HOSTS[i % len(HOSTS)]}:{ports[i % len(HOSTS)]}/feed/{i}",
                          source=f"Bench {i % 50}") for i in range(count)]
        log = SqliteLog(f"sqlite:///{workdir}/log.db")
        log.ensure_topics(["newsmon.raw"])
        settings = replace(ProducerSettings(), concurrency=8)
        poller = FeedPoller(feeds, FeedStateStore(f"sqlite:///{workdir}/log.db"), log.producer(), settings)
        results = [_cycle(poller, feeds)]
        for cycle in range(1, CYCLES):
            for index in range(cycle % 20, count, round(1 / CHANGED)):
                versions[index] = versions[index] + 1
            results.append(_cycle(poller, feeds))
        log.close()
        return results
    finally:
        stop.set()
        server.join(10)
        manager.shutdown()


def _row(label: str, result: dict, count: int) -> str:
    report = result["report"]
    return (f"| {label} | {result['wall']:.2f} s | {result['cpu'] / count * 1000:.2f} ms | {count / result['wall']:.0f}"
            f" | {report.feeds_polled - report.feeds_failed - report.feeds_not_modified} / {report.feeds_not_modified}"
            f" / {report.feeds_failed} | {report.items_published} |")


def run() -> list[str]:
    """Markdown lines for bench/RESULTS.md."""
    import logging
    logging.getLogger("producers").setLevel(logging.ERROR)  # the invented feeds are months old: stale
    count = int(os.environ.get("NEWSMON_BENCH_FEEDS", "1000"))
    with tempfile.TemporaryDirectory() as tmp:
        results = _measure(count, Path(tmp))
    warm = results[1:]
    lines = [
        "## Feed producer",
        "",
        f"{count} feeds of {ITEMS} items on {len(HOSTS)} local hosts (served by another process), concurrency 8,"
        " 2 per host, real SQLite log and state. The cold cycle fetches and publishes everything; each warm cycle"
        f" changes {CHANGED:.0%} of the feeds (one new item each), the rest answer 304.",
        "",
        "| cycle | wall time | CPU per feed | feeds/s | 200 / 304 / errors | items published |",
        "|---|---|---|---|---|---|",
        _row("cold (all new)", results[0], count),
        *[_row(f"warm {i}", result, count) for i, result in enumerate(warm, 1)],
        "",
        f"Warm cycle median: {statistics.median(r['wall'] for r in warm):.2f} s wall,"
        f" {statistics.median(r['cpu'] for r in warm) / count * 1000:.2f} ms CPU per feed"
        " (goal: a full cycle of 1,000 feeds under 10 s).",
    ]
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
