"""Local feeds for bench/bench_producer.py: documents made from the real-news corpus, served by
another process from loopback hosts, which records how many requests each host answered at once.

The stories (title, summary, link, publication date) are read at run time from
``$NEWSMON_SHARED/corpora/real-news/items.jsonl`` (NEWSMON_SHARED defaults to the ``shared`` folder
next to the repository); without the corpus, invented stories stand in. Feeds are laid out like a
desk's list: outlets of :data:`SECTIONS` section feeds each, an outlet's feeds on one host, the
outlets spread over the hosts in turn. A feed lists :data:`ITEMS` stories, its section's own
stretch of the corpus (the stretches of one outlet do not overlap), newest first; one feed in five
is Atom, the others RSS 2.0, the summary as HTML (a paragraph), as most outlets send it. 1,096
stories fill 20,000 feed items only when each story appears in many outlets, so every link carries
the outlet (``?bench=<outlet>-<round>``): the same story is one item in one outlet and a different
item, with a different source, in another. Every answer has an ETag; a feed changes when the bench
says so (the next story of its stretch added, its first dropped), else a conditional GET gets a 304.

A host's request counts from the moment the request has arrived until its answer is about to be
written: a span inside the poller's fetch, so the recorded peak may miss an overlap shorter than the
handling but never reports one that did not happen. An optional delay before each answer stands in
for a remote server's latency.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape as html_escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from pipeline.settings import FeedSpec

REPO = Path(__file__).resolve().parents[1]
CORPUS = Path(os.environ.get("NEWSMON_SHARED", REPO.parent / "shared")) / "corpora" / "real-news" / "items.jsonl"
ITEMS = 20  # stories per feed document
SECTIONS = 10  # feeds per outlet
ATOM_EVERY = 5  # one feed in five is Atom
HOST_COUNT = int(os.environ.get("NEWSMON_BENCH_HOSTS", "20"))
HOSTS = [f"127.0.0.{i}" for i in range(1, HOST_COUNT + 1)]
_OUTLET_STRIDE = 389  # where each outlet starts reading the corpus


@dataclass(frozen=True)
class Story:
    title: str
    summary: str
    url: str
    published: datetime


def load_stories(path: Path = CORPUS) -> tuple[list[Story], str]:
    """The corpus's stories with a title, a link and a date, and a line saying where they came from."""
    if not path.is_file():
        return _invented_stories(), f"invented text ({path} absent)"
    stories = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("title") and row.get("url") and row.get("published"):
            published = datetime.fromisoformat(row["published"])
            published = published if published.tzinfo else published.replace(tzinfo=UTC)
            stories.append(Story(row["title"], row.get("summary") or "", row["url"], published.astimezone(UTC)))
    return stories, f"the real-news corpus ({len(stories):,} stories, read from {path})"


def _invented_stories(count: int = 1000) -> list[Story]:
    return [Story(f"Story {n}: talks on security and mining continue",
                  f"Story {n}, an invented paragraph long enough to look like a summary of a report on"
                  " counterterrorism cooperation and critical minerals in the region.",
                  f"https://bench.example/story/{n}", datetime.fromtimestamp(1_780_000_000 + n * 900, UTC))
            for n in range(count)]


def outlet_of(index: int) -> int:
    return index // SECTIONS


def host_index(index: int) -> int:
    return outlet_of(index) % len(HOSTS)


def is_atom(index: int) -> bool:
    return index % ATOM_EVERY == ATOM_EVERY - 1


def feed_specs(ports: list[int], count: int) -> list[FeedSpec]:
    specs = []
    for index in range(count):
        host = host_index(index)
        kind = "atom" if is_atom(index) else "rss"
        specs.append(FeedSpec(id=f"bench-{index}", url=f"http://{HOSTS[host]}:{ports[host]}/feed/{index}.{kind}",
                              source=f"Outlet {outlet_of(index)}"))
    return specs


def feed_document(stories: list[Story], index: int, version: int) -> bytes:
    """Feed ``index`` after ``version`` changes: its section's stories ``version`` to ``version + ITEMS - 1``."""
    outlet, section = outlet_of(index), index % SECTIONS
    spacing = max(ITEMS, len(stories) // SECTIONS)
    entries = []
    for number in range(version, version + ITEMS):
        position = section * spacing + number  # in the outlet's run through the corpus
        story = stories[(outlet * _OUTLET_STRIDE + position) % len(stories)]
        link = f"{story.url}{'&' if '?' in story.url else '?'}bench={outlet}-{position // len(stories)}"
        entries.append((story, link))
    entries.sort(key=lambda entry: entry[0].published, reverse=True)
    title = f"Outlet {outlet}: section {section}"
    return (_atom if is_atom(index) else _rss)(title, f"https://outlet{outlet}.example/", entries).encode()


def _rss(title: str, home: str, entries: list[tuple[Story, str]]) -> str:
    items = "".join(
        f"<item><title>{escape(story.title)}</title><link>{escape(link)}</link>"
        f'<guid isPermaLink="true">{escape(link)}</guid>'
        f"<description>{escape('<p>' + html_escape(story.summary, quote=False) + '</p>')}</description>"
        f"<pubDate>{format_datetime(story.published, usegmt=True)}</pubDate></item>"
        for story, link in entries)
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{escape(title)}</title>'
            f"<link>{home}</link><language>en</language>{items}</channel></rss>")


def _atom(title: str, home: str, entries: list[tuple[Story, str]]) -> str:
    items = "".join(
        f'<entry><title type="text">{escape(story.title)}</title><link rel="alternate" href="{escape(link)}"/>'
        f"<id>{escape(link)}</id><published>{story.published.isoformat()}</published>"
        f"<updated>{story.published.isoformat()}</updated>"
        f'<summary type="html">{escape("<p>" + html_escape(story.summary, quote=False) + "</p>")}</summary></entry>'
        for story, link in entries)
    updated = max((story.published for story, _ in entries), default=datetime.now(UTC)).isoformat()
    return (f'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">'
            f'<title>{escape(title)}</title><id>{home}</id><updated>{updated}</updated>'
            f'<link rel="alternate" href="{home}"/>{items}</feed>')


class _Site:
    """The server side: each feed's version and document, and the requests each host is answering."""

    def __init__(self, stories: list[Story], count: int) -> None:
        self.stories, self.versions = stories, [0] * count
        self.documents = [feed_document(stories, index, 0) for index in range(count)]
        self.delay = 0.0
        self._lock = threading.Lock()
        self._active: Counter[str] = Counter()
        self._peaks: Counter[str] = Counter()
        self._in_flight = self._peak_in_flight = 0

    def arrive(self, host: str) -> None:
        with self._lock:
            self._active[host] += 1
            self._in_flight += 1
            self._peaks[host] = max(self._peaks[host], self._active[host])
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)

    def leave(self, host: str) -> None:
        with self._lock:
            self._active[host] -= 1
            self._in_flight -= 1

    def answer(self, index: int) -> tuple[str, bytes]:
        with self._lock:
            version, document = self.versions[index], self.documents[index]
        return f'"{index}-{version}"', document

    def change(self, indices: Iterable[int]) -> None:
        for index in indices:
            document = feed_document(self.stories, index, self.versions[index] + 1)
            with self._lock:
                self.versions[index] += 1
                self.documents[index] = document

    def take_peaks(self) -> dict[str, Any]:
        """The most requests answered at once, per host and in all, since the last call."""
        with self._lock:
            peaks = {"per_host": dict(self._peaks), "in_flight": self._peak_in_flight}
            self._peaks, self._peak_in_flight = Counter(), self._in_flight
        return peaks


def _handler(site: _Site, host: str) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            site.arrive(host)
            try:
                if site.delay:
                    time.sleep(site.delay)
                etag, body = site.answer(int(self.path.rsplit("/", 1)[1].split(".")[0]))
            finally:
                site.leave(host)
            fresh = self.headers.get("If-None-Match") != etag
            self.send_response(200 if fresh else 304)
            self.send_header("ETag", etag)
            if fresh:
                kind = "atom" if self.path.endswith(".atom") else "rss"
                self.send_header("Content-Type", f"application/{kind}+xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if fresh:
                self.wfile.write(body)
    return Handler


def _serve(control: Connection, count: int, corpus: str) -> None:
    """The server process: one HTTP server per loopback host, commands from the bench on ``control``."""
    stories, stories_from = load_stories(Path(corpus))
    site = _Site(stories, count)
    servers = []
    for host in HOSTS:
        server = ThreadingHTTPServer((host, 0), _handler(site, host))
        server.daemon_threads = True
        server.request_queue_size = 64
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
    control.send(([server.server_address[1] for server in servers], stories_from))
    while True:
        command, argument = control.recv()
        if command == "stop":
            break
        if command == "change":
            site.change(argument)
        elif command == "delay":
            site.delay = argument
        control.send(site.take_peaks() if command == "peaks" else None)
    for server in servers:
        server.shutdown()
        server.server_close()


class LocalFeeds:
    """``count`` feeds served by another process, as a context manager: ``feeds`` to poll, ``change``
    to give feeds a new story, ``set_delay`` to answer later, ``take_peaks`` for the concurrency seen."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.feeds: list[FeedSpec] = []
        self.stories_from = ""  # where the stories came from, as the server process says

    def __enter__(self) -> LocalFeeds:
        context = multiprocessing.get_context("spawn")
        self._control, server_end = context.Pipe()
        self._process = context.Process(target=_serve, args=(server_end, self.count, str(CORPUS)), daemon=True)
        self._process.start()
        if not self._control.poll(120):
            raise RuntimeError("the feed servers did not start within 120 s")
        ports, self.stories_from = self._control.recv()
        self.feeds = feed_specs(ports, self.count)
        return self

    @property
    def pid(self) -> int | None:
        """The server process's id."""
        return self._process.pid

    def _ask(self, command: str, argument: Any = None) -> Any:
        self._control.send((command, argument))
        return self._control.recv()

    def change(self, indices: Iterable[int]) -> None:
        self._ask("change", list(indices))

    def set_delay(self, seconds: float) -> None:
        self._ask("delay", seconds)

    def take_peaks(self) -> dict[str, Any]:
        return self._ask("peaks")

    def __exit__(self, *exc: object) -> None:
        self._control.send(("stop", None))
        self._process.join(10)
        if self._process.is_alive():
            self._process.terminate()
