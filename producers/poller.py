"""Polling feeds: schedule → fetch (concurrently) → parse → normalise → deduplicate → publish.

Fetching runs in a small thread pool; everything that touches the log or the state store runs in
the caller's thread. Items are published, the producer flushed, and only then marked as seen, so
a crash in between re-publishes (harmless downstream) rather than loses.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Callable, Sequence

from pipeline.errors import NewsmonError, RetryLater
from pipeline.item import FeedRef
from pipeline.settings import FeedSpec, ProducerSettings
from pipeline.transport.base import TOPIC_RAW, LogProducer
from producers.fetch import FetchResult, Validators, fetch_feed
from producers.normalise import normalise_feed
from producers.parse import parse_feed
from producers.schedule import delay_after_error, delay_after_success, max_age
from producers.state import FeedState, FeedStateStore

__all__ = ["PollReport", "FeedPoller", "Fetcher"]

logger = logging.getLogger(__name__)

Fetcher = Callable[[str, Validators], FetchResult]


@dataclass
class PollReport:
    feeds_polled: int = 0
    feeds_failed: int = 0
    items_seen: int = 0
    items_published: int = 0
    errors: list[str] = field(default_factory=list)


class FeedPoller:
    def __init__(self, feeds: Sequence[FeedSpec], store: FeedStateStore, producer: LogProducer,
                 settings: ProducerSettings, fetcher: Fetcher | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.feeds, self.store, self.producer, self.settings = tuple(feeds), store, producer, settings
        self.clock = clock
        self.fetcher = fetcher or (lambda url, v: fetch_feed(
            url, v, timeout=settings.timeout, max_bytes=settings.max_bytes, user_agent=settings.user_agent))

    def due(self) -> list[FeedSpec]:
        now = self.clock()
        return [f for f in self.feeds if self.store.get(f.id, f.url).next_check <= now]

    def seconds_until_due(self) -> float:
        if not self.feeds:
            return float("inf")
        now = self.clock()
        return max(0.0, min(self.store.get(f.id, f.url).next_check for f in self.feeds) - now)

    def poll(self, feeds: Sequence[FeedSpec]) -> PollReport:
        """Fetch the given feeds concurrently, then publish their new items."""
        report = PollReport()
        states = {f.id: self.store.get(f.id, f.url) for f in feeds}
        with ThreadPoolExecutor(max_workers=max(1, min(self.settings.concurrency, len(feeds) or 1))) as pool:
            outcomes = list(pool.map(lambda f: self._fetch(f, states[f.id].validators), feeds))
        for feed, outcome in zip(feeds, outcomes):
            report.feeds_polled += 1
            state = replace(states[feed.id], last_attempt=self.clock())
            if isinstance(outcome, Exception):
                self._record_error(feed, state, outcome, report)
            else:
                self._record_result(feed, state, outcome, report)
        return report

    def _fetch(self, feed: FeedSpec, validators: Validators) -> FetchResult | Exception:
        try:
            return self.fetcher(feed.url, validators)
        except Exception as exc:  # reported per feed; one feed never stops the others
            return exc

    def _record_error(self, feed: FeedSpec, state: FeedState, error: Exception, report: PollReport) -> None:
        streak = state.error_count + 1
        hint = error.retry_after if isinstance(error, RetryLater) else None
        delay = delay_after_error(self.settings, streak, hint)
        message = str(error) if isinstance(error, NewsmonError) else f"{feed.url}: {type(error).__name__}: {error}"
        logger.warning("event=feed_error feed=%s errors=%d retry_in=%.0fs error=%s", feed.id, streak, delay, message)
        report.feeds_failed += 1
        report.errors.append(f"{feed.id}: {message}")
        self.store.save(replace(state, error_count=streak, last_error=message, last_status="error",
                                next_check=self.clock() + delay))

    def _record_result(self, feed: FeedSpec, state: FeedState, result: FetchResult, report: PollReport) -> None:
        ttl = None
        published = 0
        if not result.not_modified:
            try:
                published, ttl = self._publish(feed, result, report)
            except Exception as exc:  # unparseable feed, log unavailable: count as an error, retry later
                self._record_error(feed, state, exc, report)
                return
        delay = delay_after_success(self.settings, feed.interval, ttl, max_age(result.headers.get("cache-control")))
        status = "not_modified" if result.not_modified else "ok"
        logger.info("event=feed_polled feed=%s status=%s published=%d next_in=%.0fs", feed.id, status, published, delay)
        self.store.save(replace(
            state, validators=result.validators, error_count=0, last_error=None, last_status=status,
            last_success=self.clock(), next_check=self.clock() + delay,
            items_published=state.items_published + published,
        ))

    def _publish(self, feed: FeedSpec, result: FetchResult, report: PollReport) -> tuple[int, float | None]:
        fetched_at = datetime.fromtimestamp(self.clock(), timezone.utc)
        parsed = parse_feed(result.body, url=result.url, content_type=result.headers.get("content-type"),
                            headers=result.headers)
        ref = FeedRef(id=feed.id, url=feed.url, title=feed.title or parsed.title or "")
        entries, errors = normalise_feed(parsed, feed=ref, source=feed.source, fetched_at=fetched_at,
                                         default_language=feed.language)
        for error in errors:
            logger.warning("event=entry_skipped feed=%s error=%s", feed.id, error)
        items = [entry.item for entry in entries]
        report.items_seen += len(items)
        fresh = self.store.unseen(item.id for item in items)
        new_items = [item for item in items if item.id in fresh]
        for item in new_items:
            self.producer.publish(TOPIC_RAW, item.id, item.to_json())
        self.producer.flush()
        self.store.mark_seen(feed.id, (item.id for item in new_items), self.clock())
        report.items_published += len(new_items)
        return len(new_items), parsed.ttl_seconds
