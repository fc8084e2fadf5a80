"""Parsing fetched feed documents, in the poller's threads or in worker processes beside it.

feedparser is pure Python, and on a cycle where every item is new, parsing is about half of the
poller's CPU. Under one interpreter lock it cannot overlap with normalising, deduplicating and
publishing the document before. With ``producer.parse_processes`` above 0, :func:`document_parser`
gives a :class:`ParserPool`: a fetch thread hands the document to a worker process and waits for
the parsed feed without holding the lock, so parsing runs on another core.

The pool lives for one poll: a poll where every feed answers 304 starts no process, and none sits
idle between polls. Workers come from a ``forkserver`` (forked from a clean, single-threaded
server that has already imported the parser, never from the poller's own threads), so starting
a pool costs milliseconds after the first.

A worker that dies on a document (a crash in the XML parser, killed for memory) breaks the pool
(``event=parser_died``). The document is parsed once more in a new pool. If its worker dies again, the feed gets a
:class:`ParserDied` error (retried with backoff like any feed error) and the other feeds go on.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

from pipeline.errors import RetryLater
from producers.fetch import FetchResult
from producers.parse import ParsedFeed, parse_feed

__all__ = ["DocumentParser", "ParserDied", "ParserPool", "parse_fetched", "document_parser"]

logger = logging.getLogger(__name__)

#: Parses one fetched document; raises :class:`~producers.parse.FeedParseError` when it is not a feed.
DocumentParser = Callable[[FetchResult], ParsedFeed]
_ATTEMPTS = 2  # a document whose worker died is tried once more in a new pool
_START_METHOD = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


class ParserDied(RetryLater):
    """The worker process parsing a document died twice (the document, or the machine's memory)."""


def parse_fetched(result: FetchResult) -> ParsedFeed:
    """The fetched document as a feed, parsed in the caller's process."""
    return parse_feed(result.body, url=result.url, content_type=result.headers.get("content-type"),
                      headers=result.headers)


class ParserPool:
    """Parses documents in ``processes`` worker processes, started on the first document; safe to
    call from many threads at once. ``parse`` must be a module-level function (it is pickled)."""

    def __init__(self, processes: int, parse: DocumentParser = parse_fetched) -> None:
        if processes < 1:
            raise ValueError(f"a parser pool needs at least one process, got {processes}")
        self.processes, self.parse = processes, parse
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0  # bumped each time a broken pool is let go
        self._closed = False
        self.restarts = 0

    def __call__(self, result: FetchResult) -> ParsedFeed:
        for _ in range(_ATTEMPTS):
            executor, generation = self._current()
            try:
                return executor.submit(self.parse, result).result()
            except BrokenProcessPool:
                logger.warning("event=parser_died url=%s bytes=%d hint=a new parser process takes over",
                               result.url, len(result.body))
                self._let_go(generation)
        raise ParserDied(f"{result.url}: the parser process died twice reading this document "
                         f"({len(result.body)} bytes)")

    @property
    def started(self) -> bool:
        """Whether worker processes are running (none until the first document)."""
        return self._executor is not None

    def close(self) -> None:
        """Stop the workers once the documents handed over are parsed; later documents are refused."""
        with self._lock:
            executor, self._executor, self._closed = self._executor, None, True
        if executor is not None:
            executor.shutdown(wait=True)

    def _current(self) -> tuple[ProcessPoolExecutor, int]:
        with self._lock:
            if self._closed:
                raise RuntimeError("the parser pool is closed")
            if self._executor is None:
                context = multiprocessing.get_context(_START_METHOD)
                if _START_METHOD == "forkserver":  # takes effect when the server starts, once per process
                    context.set_forkserver_preload(["producers.parse_pool"])
                self._executor = ProcessPoolExecutor(self.processes, mp_context=context,
                                                     initializer=_ignore_interrupts)
            return self._executor, self._generation

    def _let_go(self, generation: int) -> None:
        """Drop the broken pool (once, whichever of its callers gets here first)."""
        with self._lock:
            if generation != self._generation or self._executor is None:
                return
            broken, self._executor = self._executor, None
            self._generation += 1
            self.restarts += 1
        broken.shutdown(wait=False, cancel_futures=True)


def _ignore_interrupts() -> None:
    """In a worker: Ctrl-C reaches the whole process group, but stopping is the poller's to decide
    (it finishes the poll, then closes the pool)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextmanager
def document_parser(processes: int) -> Iterator[DocumentParser]:
    """The parser for one poll: in the caller's threads when ``processes`` is 0, else a pool."""
    if processes == 0:
        yield parse_fetched
        return
    pool = ParserPool(processes)
    try:
        yield pool
    finally:
        pool.close()
