"""producers.parse_pool: documents parsed in worker processes give what parsing them in the poller's
own process gives, from many threads at once; a worker that dies on a document is replaced, and a
document that kills its worker twice is that feed's error alone; the poller publishes the same
items either way."""

from __future__ import annotations

import os
import signal
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.settings import FeedSpec, ProducerSettings
from pipeline.transport.base import TOPIC_RAW
from pipeline.transport.memory import MemoryLog
from producers.fetch import FetchResult, Validators
from producers.parse import FeedParseError
from producers.parse_pool import ParserDied, ParserPool, document_parser, parse_fetched
from producers.poller import FeedPoller
from producers.state import FeedStateStore
from tests.producers.feeds import STORIES, rss

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
KINDS = {"rss20.xml": "application/rss+xml", "atom10.xml": "application/atom+xml", "rss10.xml": None,
         "rss20-windows-1252.xml": "text/xml; charset=windows-1252", "jsonfeed.json": "application/feed+json"}
DIE = b"<!-- kill the parser -->"


def fetched(name: str, url: str = "https://news.example.pk/feed/") -> FetchResult:
    content_type = KINDS.get(name)
    headers = {"content-type": content_type} if content_type else {}
    return FetchResult(status=200, url=url, body=(FEEDS / name).read_bytes(), headers=headers)


def die_on_marker(result: FetchResult) -> object:
    """Parses like the poller, but the worker process exits at once on a marked document."""
    if DIE in result.body:
        os._exit(3)
    return parse_fetched(result)


def die_once(result: FetchResult) -> object:
    """Exits the worker the first time it sees a marked document (a file remembers), then parses it."""
    marker = Path(result.body.split(b"\n", 1)[0].decode().removeprefix("<!-- ").removesuffix(" -->"))
    if not marker.exists():
        marker.write_text("died once")
        os._exit(3)
    return parse_fetched(replace(result, body=result.body.split(b"\n", 1)[1]))


@pytest.fixture
def pool():
    parsers = ParserPool(1)
    yield parsers
    parsers.close()


def test_a_pool_gives_what_parsing_in_process_gives(pool):
    for name in KINDS:
        assert pool(fetched(name)) == parse_fetched(fetched(name)), name
    assert pool.started and pool.restarts == 0


def test_no_process_starts_before_the_first_document():
    pool = ParserPool(2)
    assert not pool.started
    pool.close()
    assert not pool.started
    with pytest.raises(RuntimeError, match="closed"):  # a late document never starts a process again
        pool(fetched("rss20.xml"))
    assert not pool.started


def test_what_is_not_a_feed_raises_the_same_error_through_the_pool(pool):
    with pytest.raises(FeedParseError) as in_process:
        parse_fetched(fetched("not-a-feed.html"))
    with pytest.raises(FeedParseError) as pooled:
        pool(fetched("not-a-feed.html"))
    assert str(pooled.value) == str(in_process.value)
    assert pooled.value.url == "https://news.example.pk/feed/"


def test_documents_from_many_threads_each_get_their_own_feed():
    documents = [fetched(name, f"https://e{n}.example/feed/") for n in range(4) for name in KINDS]
    with closing(ParserPool(2)) as pool, ThreadPoolExecutor(6) as threads:
        parsed = list(threads.map(pool, documents))
    assert parsed == [parse_fetched(document) for document in documents]


def test_a_document_that_kills_its_worker_twice_is_its_own_error(caplog):
    pool = ParserPool(1, parse=die_on_marker)
    try:
        assert pool(fetched("rss20.xml")).entries  # a worker is running
        deadly = replace(fetched("atom10.xml"), body=DIE + b"\n" + fetched("atom10.xml").body)
        with pytest.raises(ParserDied, match=r"^https://news.example.pk/feed/: the parser process died twice"):
            pool(deadly)
        assert pool.restarts == 2
        assert sum("event=parser_died url=https://news.example.pk/feed/" in m for m in caplog.messages) == 2
        assert pool(fetched("atom10.xml")) == parse_fetched(fetched("atom10.xml"))  # a new worker takes over
    finally:
        pool.close()


def test_a_worker_that_died_once_is_replaced_and_the_document_parsed(tmp_path):
    pool = ParserPool(1, parse=die_once)
    document = fetched("rss20.xml")
    marked = replace(document, body=f"<!-- {tmp_path / 'died'} -->\n".encode() + document.body)
    try:
        assert pool(marked) == parse_fetched(document)
        assert pool.restarts == 1 and (tmp_path / "died").exists()
    finally:
        pool.close()


def interrupt_me(result: FetchResult) -> object:
    """Sends the worker itself SIGINT (as Ctrl-C does to the whole process group), then parses."""
    try:
        os.kill(os.getpid(), signal.SIGINT)
    except KeyboardInterrupt:
        return "interrupted"
    return parse_fetched(result)


def test_ctrl_c_is_left_to_the_poller(pool):
    pool.parse = interrupt_me
    assert pool(fetched("rss20.xml")) == parse_fetched(fetched("rss20.xml"))
    assert pool.restarts == 0


def test_document_parser_is_in_process_at_zero_and_a_closed_pool_otherwise():
    with document_parser(0) as parse:
        assert parse is parse_fetched
    with document_parser(1) as parse:
        assert isinstance(parse, ParserPool)
        assert parse(fetched("rss20.xml")).entries
    assert not parse.started  # its workers stopped with the poll


def test_the_poller_publishes_the_same_items_whichever_parses(tmp_path):
    documents = {f"https://e{n}.example/feed/": rss(STORIES, base=f"https://e{n}.example") for n in range(4)}
    feeds = [FeedSpec(id=f"feed-{n}", url=url, source=f"e{n}") for n, url in enumerate(documents)]

    def fetcher(url: str, validators: Validators) -> FetchResult:
        return FetchResult(status=200, url=url, body=documents[url], headers={"content-type": "application/rss+xml"})

    published, reports = [], []
    for processes in (0, 1):
        log = MemoryLog()
        settings = ProducerSettings(parse_processes=processes)
        store = FeedStateStore(f"sqlite:///{tmp_path}/state-{processes}.db")
        report = FeedPoller(feeds, store, log.producer(), settings, fetcher=fetcher, clock=lambda: 1_780_000_000.0
                            ).poll(feeds)
        reports.append(report)
        published.append(log.values(TOPIC_RAW))
    assert reports[0] == reports[1] and reports[0].feeds_failed == 0
    assert published[0] == published[1] and len(published[0]) == reports[0].items_published == 12
