"""Benchmark of the feed producer at a desk's scale: poll cycles of 1,000 feeds, the requests each
host saw at once against the per-host cap, the poller's peak memory by number of feeds, and the
state store as the ids already seen (``seen_items``) pile up.

The feeds (bench/producer_feeds.py) are real-news stories as RSS and Atom with ETags, served by
another process from loopback hosts 127.0.0.x, which counts the requests each host answers at once.
The first cycle is cold (every feed a 200, every item new), then again by a new desk in a fresh
process parsing in the fetch threads (``parse_processes: 0``); each warm cycle gives 5% of the feeds one new story, the
rest answer 304. The poller runs with the producer's default settings
(``concurrency`` 4, ``per_host_concurrency`` 2) unless a row says otherwise, and publishes into a
real SQLite log; its state is a real SQLite store in a file of its own (as with ``state:``), so its
size is the state's alone. Then every answer is delayed (NEWSMON_BENCH_DELAY_MS, 100 ms), a remote
server's latency, for a warm cycle at the default concurrency and one at
NEWSMON_BENCH_CONCURRENCY (32). Then ``seen_items`` is filled through the store's public API to
thousands of ids per feed (NEWSMON_BENCH_SEEN, 2000), dated within the retention, and a warm cycle
runs at each size; last, a poller whose clock is 45 days on prunes what fell out of the retention.

Each size runs in a fresh child process, so one size's memory does not count in the next: peak RSS
is the child's VmHWM over its cold cycle (reset before each later phase that reports it, through
/proc/self/clear_refs); its parser processes' is sampled (bench/process_tree.py). CPU is the
poller process's own (user + system, all threads) plus its parser processes'; the servers' is not
counted. Sizes:
NEWSMON_BENCH_FEEDS (1000), NEWSMON_BENCH_MEMORY_FEEDS (250,500,2000), NEWSMON_BENCH_HOSTS (20).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from process_tree import Descendants
from producer_feeds import HOSTS, ITEMS, SECTIONS, LocalFeeds

from pipeline.settings import ProducerSettings
from pipeline.transport.sqlite_log import SqliteLog
from producers.poller import FeedPoller
from producers.state import FeedStateStore

CHANGED_EVERY = 20  # a warm cycle changes one feed in 20
WARM_CYCLES = 3
DAY = 86400.0
FEEDS = int(os.environ.get("NEWSMON_BENCH_FEEDS", "1000"))
MEMORY_FEEDS = [int(n) for n in os.environ.get("NEWSMON_BENCH_MEMORY_FEEDS", "250,500,2000").split(",") if n]
SEEN_PER_FEED = [int(n) for n in os.environ.get("NEWSMON_BENCH_SEEN", "2000").split(",") if n]
DELAY = float(os.environ.get("NEWSMON_BENCH_DELAY_MS", "100")) / 1000
RAISED_CONCURRENCY = int(os.environ.get("NEWSMON_BENCH_CONCURRENCY", "32"))
GOAL = 10.0  # seconds for a full cycle of 1,000 feeds


# --- measuring, inside a child process ---------------------------------------------------------------


class Desk:
    """A poller over local feeds with its log and state in ``workdir``."""

    def __init__(self, site: LocalFeeds, workdir: Path) -> None:
        self.site, self.workdir = site, workdir
        self.log = SqliteLog(f"sqlite:///{workdir}/log.db")
        self.log.ensure_topics(["newsmon.raw"])
        self.producer = self.log.producer()
        self.store = FeedStateStore(f"sqlite:///{workdir}/state.db")
        self.cycles = 0

    def poller(self, settings: ProducerSettings | None = None, clock: Callable[[], float] = time.time) -> FeedPoller:
        """A poller with ``settings`` (the producer's defaults unless given)."""
        return FeedPoller(self.site.feeds, self.store, self.producer, settings or ProducerSettings(), clock=clock)

    def cycle(self, poller: FeedPoller, label: str, change: bool = True) -> dict[str, Any]:
        """One poll of every feed; a warm one first gives one feed in 20 a new story."""
        if change and self.cycles:
            self.site.change(range(self.cycles % CHANGED_EVERY, len(self.site.feeds), CHANGED_EVERY))
        self.cycles += 1
        self.site.take_peaks()
        cpu, wall = time.process_time(), time.perf_counter()
        with Descendants(exclude={self.site.pid or 0}) as workers:  # the parser workers, not the feed server
            report = poller.poll(poller.feeds)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu - workers.sampler_cpu
        return {"label": label, "wall": wall, "cpu": cpu, "report": report, "peaks": self.site.take_peaks(),
                "settings": poller.settings, "feeds": len(poller.feeds), "workers_cpu": workers.cpu,
                "workers_kb": workers.peak_rss_kb}

    def state_bytes(self) -> int:
        return sum(path.stat().st_size for path in self.workdir.glob("state.db*"))

    def seen_rows(self) -> int:
        with sqlite3.connect(self.workdir / "state.db") as db:
            return db.execute("SELECT count(*) FROM seen_items").fetchone()[0]


def memory_kb() -> dict[str, int]:
    """The process's resident set now (VmRSS) and at its peak (VmHWM), in kB."""
    lines = Path("/proc/self/status").read_text().splitlines()
    return {key: int(line.split()[1]) for line in lines for key in ("VmRSS", "VmHWM") if line.startswith(key + ":")}


def reset_peak() -> None:
    """Start VmHWM again from the current resident set (Linux 4.0 and later)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def fill_seen(store: FeedStateStore, feed_ids: list[str], per_feed: int, now: float) -> None:
    """Give every feed ``per_feed`` more published ids, dated over the last 89 days, through the store's
    API. The ids are random 32-hex-digit values made in ascending order, so the inserts stay cheap."""
    step = 2 ** 128 // max(1, per_feed * len(feed_ids))
    for number, feed_id in enumerate(feed_ids):
        for start in range(0, per_feed, 500):
            first, last = number * per_feed + start, number * per_feed + min(start + 500, per_feed)
            ids = [f"{n * step + random.randrange(step):032x}" for n in range(first, last)]
            store.mark_seen(feed_id, ids, now - random.uniform(0, 89) * DAY)


def _seen_growth(desk: Desk) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = [{"label": f"{ITEMS}", "rows": desk.seen_rows(), "bytes": desk.state_bytes(),
                                   "fill": 0.0}]
    feed_ids, per_feed = [feed.id for feed in desk.site.feeds], ITEMS
    for target in SEEN_PER_FEED:
        started = time.perf_counter()
        fill_seen(desk.store, feed_ids, target - per_feed, time.time())
        fill, per_feed = time.perf_counter() - started, target
        reset_peak()
        rows.append({**desk.cycle(desk.poller(), f"{target}"), "fill": fill, "rows": desk.seen_rows(),
                     "bytes": desk.state_bytes(), "memory": memory_kb()})
    reset_peak()
    pruning = desk.poller(clock=lambda: time.time() + 45 * DAY)
    rows.append({**desk.cycle(pruning, "45 days on"), "fill": 0.0, "rows": desk.seen_rows(),
                 "bytes": desk.state_bytes(), "memory": memory_kb()})
    return rows


def desk_child(count: int, workdir: str, results: Connection) -> None:
    """The 1,000-feed run: cold and warm cycles, delayed answers, then seen ids piling up."""
    _quiet()
    before = memory_kb()
    with LocalFeeds(count) as site:
        desk = Desk(site, Path(workdir))
        poller = desk.poller()
        cycles = [desk.cycle(poller, "cold (all new)")]
        memory = {"before": before, "after": memory_kb(), "state": desk.state_bytes(), "cold": cycles[0]["wall"],
                  "workers_kb": cycles[0]["workers_kb"]}
        cycles += [desk.cycle(poller, f"warm {n}") for n in range(1, WARM_CYCLES + 1)]
        site.set_delay(DELAY)
        raised = replace(ProducerSettings(), concurrency=RAISED_CONCURRENCY)
        delayed = [desk.cycle(poller, "default"), desk.cycle(desk.poller(raised), "raised")]
        site.set_delay(0.0)
        seen = _seen_growth(desk) if SEEN_PER_FEED else []
        results.send({"stories": site.stories_from, "cycles": cycles, "memory": memory, "delayed": delayed,
                      "seen": seen})


def in_threads_child(count: int, workdir: str, results: Connection) -> None:
    """A cold cycle of ``count`` feeds in a fresh process, parsed in the fetch threads."""
    _quiet()
    with LocalFeeds(count) as site:
        desk = Desk(site, Path(workdir))
        poller = desk.poller(replace(ProducerSettings(), parse_processes=0))
        results.send(desk.cycle(poller, "cold, parsed in the fetch threads"))


def memory_child(count: int, workdir: str, results: Connection) -> None:
    """A cold cycle of ``count`` feeds in a fresh process: its memory before and at the peak."""
    _quiet()
    before = memory_kb()
    with LocalFeeds(count) as site:
        desk = Desk(site, Path(workdir))
        cold = desk.cycle(desk.poller(), "cold")
        results.send({"before": before, "after": memory_kb(), "state": desk.state_bytes(), "cold": cold["wall"],
                      "workers_kb": cold["workers_kb"]})


def _quiet() -> None:
    import logging
    logging.getLogger("producers").setLevel(logging.ERROR)  # corpus dates are years old: feeds look stale


def in_child(target: Callable[[int, str, Connection], None], count: int) -> Any:
    """Run ``target(count, workdir, connection)`` in a fresh process and return what it sends."""
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    with tempfile.TemporaryDirectory() as workdir:
        child = context.Process(target=target, args=(count, workdir, sender))
        child.start()
        sender.close()
        try:
            return receiver.recv()
        except EOFError:
            child.join(30)
            raise RuntimeError(f"{target.__name__}({count}) died with exit code {child.exitcode}") from None
        finally:
            child.join(30)


# --- reporting -----------------------------------------------------------------------------------


def _at_once(result: dict[str, Any]) -> str:
    peaks, settings = result["peaks"], result["settings"]
    per_host = max(peaks["per_host"].values(), default=0)
    return f"{peaks['in_flight']} / {per_host} ({settings.concurrency} / {settings.per_host_concurrency})"


def _cycle_row(result: dict[str, Any]) -> str:
    report, count = result["report"], result["feeds"]
    fetched = report.feeds_polled - report.feeds_failed - report.feeds_not_modified
    return (f"| {result['label']} | {result['wall']:.2f} s | {result['cpu'] / count * 1000:.2f}"
            f" + {result['workers_cpu'] / count * 1000:.2f} ms"
            f" | {count / result['wall']:.0f} | {fetched} / {report.feeds_not_modified} / {report.feeds_failed}"
            f" | {report.items_published}{_suppressed(report.items_suppressed)} | {_at_once(result)} |")


def _suppressed(count: int) -> str:
    return f" ({count} held back as near-duplicates)" if count else ""


def _cycle_lines(found: dict[str, Any], count: int) -> list[str]:
    cold, in_threads, *warm = found["cycles"]
    return [
        f"{count:,} feeds of {ITEMS} items ({SECTIONS} section feeds per outlet, one in five Atom) on {len(HOSTS)}"
        f" loopback hosts, served by another process from {found['stories']}; default producer settings"
        " (one parser process); real SQLite log and state. The cold cycle fetches and publishes everything; the"
        " second row is the same cold cycle by a new desk in a fresh process with `parse_processes: 0`"
        " (documents parsed in the fetch threads, one process); each warm cycle gives"
        f" {1 / CHANGED_EVERY:.0%} of the feeds a new story, the rest answer 304. *CPU per feed*: the poller"
        " process's, plus its parser workers' (sampled every"
        " 50 ms from /proc; the feed server's is not counted). *At once*: the most requests the servers were"
        " answering at the same time, in all and on one host, against the poller's `concurrency` and"
        " `per_host_concurrency` (on loopback an answer takes well under a millisecond, so requests seldom"
        " overlap at the server; the caps bind in the delayed cycles below).",
        "",
        "| cycle | wall time | CPU per feed: poller + parser | feeds/s | 200 / 304 / errors | items published"
        " | at once: all / one host (caps) |",
        "|---|---|---|---|---|---|---|",
        *[_cycle_row(result) for result in found["cycles"]],
        "",
        f"Goal: a full cycle of 1,000 feeds under {GOAL:.0f} s. Warm cycle median:"
        f" {statistics.median(r['wall'] for r in warm):.2f} s wall. The cold cycle, every item new (a new desk,"
        f" feeds added, a long stop), took {cold['wall']:.1f} s"
        f" ({'within' if cold['wall'] < GOAL else 'over'} the goal), {_cpu_ms(cold, count):.1f} ms CPU per feed"
        f" in all; parsed in the fetch threads it took {in_threads['wall']:.1f} s. The parser process moves"
        f" {_cpu_ms(cold, count, 'workers_cpu'):.1f} ms per feed of feedparser's work onto the second core.",
    ]


def _cpu_ms(result: dict[str, Any], count: int, part: str = "") -> float:
    """CPU milliseconds per feed: of ``part`` alone, or of the poller and its workers together."""
    seconds = result[part] if part else result["cpu"] + result["workers_cpu"]
    return seconds / count * 1000


def _delayed_lines(found: dict[str, Any]) -> list[str]:
    rows = []
    for result in found["delayed"]:
        settings = result["settings"]
        label = f"{settings.concurrency}" + (" (default)" if result["label"] == "default" else "")
        rows.append(_cycle_row({**result, "label": label}))
    return [
        f"Warm cycles with every answer delayed {DELAY * 1000:.0f} ms, as a remote server's latency would"
        " (on loopback the cycle above costs CPU only):",
        "",
        "| concurrency | wall time | CPU per feed | feeds/s | 200 / 304 / errors | items published | at once: all / one"
        " host (caps) |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        _delay_verdict(found["delayed"]),
    ]


def _delay_verdict(delayed: list[dict[str, Any]]) -> str:
    default, raised = delayed
    count, caps, more = default["feeds"], default["settings"], raised["settings"]
    return (f"At the default `concurrency` ({caps.concurrency}) the fetches alone take {count:,} ×"
            f" {DELAY * 1000:.0f} ms / {caps.concurrency} = {count * DELAY / caps.concurrency:.0f} s;"
            f" `producer.concurrency: {more.concurrency}` (per host still {more.per_host_concurrency}) gives"
            f" {raised['wall']:.1f} s (at most {len(HOSTS)} hosts × {caps.per_host_concurrency} ="
            f" {len(HOSTS) * caps.per_host_concurrency} requests can be in flight here). CPU per feed is the steadier"
            " figure: wall times move with whatever else runs on the machine.")


def _memory_lines(sizes: dict[int, dict[str, Any]]) -> list[str]:
    rows = []
    for count, found in sorted(sizes.items()):
        before, peak = found["before"]["VmRSS"], found["after"]["VmHWM"]
        rows.append(f"| {count:,} | {before / 1024:.0f} MB | {peak / 1024:.0f} MB | {(peak - before) / count:.0f} kB"
                    f" | {found['workers_kb'] / 1024:.0f} MB | {found['state'] / 1e6:.1f} MB | {found['cold']:.1f} s |")
    return [
        "Peak memory of the poller process over a cold cycle, a fresh process per size; beside it, the largest"
        " resident set of its parser processes at one time (the forkserver and the worker it forks; sampled"
        " every 50 ms, so a shorter peak can be missed):",
        "",
        "| feeds | RSS before polling | peak RSS | peak growth per feed | parser processes | state file | cold cycle |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ]


def _seen_lines(found: dict[str, Any], count: int) -> list[str]:
    first, rows = found["seen"][0], []
    for result in found["seen"]:
        if result["label"] == "45 days on":
            label, per_id, cycle = "clock 45 days on: pruned", "", f"{result['wall']:.2f} s"
        else:
            added = result["rows"] - first["rows"]
            label = f"{int(result['label']):,} per feed" + (" (after the cold cycle)" if result is first else "")
            per_id = f"{(result['bytes'] - first['bytes']) / added:.0f} B" if added else ""
            cycle = f"{result['wall']:.2f} s" if "wall" in result else ""
        peak = f"{result['memory']['VmHWM'] / 1024:.0f} MB" if "memory" in result else ""
        fill = f"{result['fill']:.1f} s" if result["fill"] else ""
        rows.append(f"| {label} | {result['rows']:,} | {result['bytes'] / 1e6:.0f} MB | {per_id} | {fill} | {cycle}"
                    f" | {peak} |")
    most = max(SEEN_PER_FEED)
    return [
        f"The state as published ids pile up: `seen_items` filled through `FeedStateStore.mark_seen` for all {count:,}"
        f" feeds with ids dated over the last 89 days (inside the 90-day `seen_retention`; {most:,} ids are 90 days"
        f" of a feed publishing {most / 90:.0f} items a day), then a warm cycle by a new poller (which prunes on its"
        " first poll);"
        " last, a poller whose clock is 45 days on forgets, in that first poll, the ids no feed listed for 90 days."
        " State file with its WAL; peak RSS of the poller process during that cycle.",
        "",
        "| seen ids | rows | state file | per added id | fill | warm cycle | peak RSS |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ]


def run() -> list[str]:
    """Markdown lines for bench/RESULTS.md."""
    found = in_child(desk_child, FEEDS)
    found["cycles"].insert(1, in_child(in_threads_child, FEEDS))
    sizes = {FEEDS: found["memory"]} | {n: in_child(memory_child, n) for n in MEMORY_FEEDS if n != FEEDS}
    lines = ["## Feed producer", "", *_cycle_lines(found, FEEDS), "", *_delayed_lines(found), "",
             *_memory_lines(sizes)]
    if found["seen"]:
        lines += ["", *_seen_lines(found, FEEDS)]
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
