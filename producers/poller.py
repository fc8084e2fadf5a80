"""Polling feeds: schedule → fetch (concurrently, capped per host) → parse → normalise →
deduplicate → (full text) → publish → record state and health.

Fetching runs in a thread pool, and each fetch thread parses what it fetched, in a worker process
when ``producer.parse_processes`` is above 0 (:mod:`producers.parse_pool`); everything that touches
the log or the state store runs in the caller's thread. Feeds are handled in the order given, each
as soon as it and those before it are fetched, while the next are being fetched (so a poll takes
about the longer of fetching and handling, not their sum, and a fetched document is let go once
handled); a poll holding a full-text feed fetches every feed first, so that article pages, fetched
under the same caps, never run beside feed fetches. For each changed feed, new items are published
and the producer flushed, and only then are they marked as seen; the feed's new validators are
stored after that. A crash in between re-publishes (harmless downstream: every write is idempotent)
rather than loses.

Deduplication, in order: the item id (canonical URL, else GUID) against every id ever published by
any feed, so the same story in two section feeds is published once; then the content fingerprint
against the same source's items of the last ``producer.dedup_window``, so a re-publish with an
edited title under a new URL is not published again. Both survive restarts (``producers.state``).

A response that is not a feed (an empty 200, an HTML error or login page, XML too malformed to read;
:class:`~producers.parse.FeedParseError`) is a feed error like a failed fetch: the error streak
grows toward ``broken``, ``last_error`` says why, the next poll backs off, and the validators of
the bad response are not kept (so the next poll fetches it again rather than getting a 304).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from pipeline.errors import NewsmonError, RetryLater
from pipeline.item import FeedRef, RawItem, parse_time
from pipeline.settings import FeedSpec, ProducerSettings
from pipeline.transport.base import TOPIC_RAW, LogProducer
from producers.fetch import FetchResult, Validators, fetch_feed, limits_from
from producers.fingerprint import Fingerprint, KnownStories, content_fingerprint
from producers.fulltext import fetch_body, require_fulltext
from producers.health import FLAGGED, FeedHealth, alert_status, assess
from producers.hostpool import host_of, iter_per_host, map_per_host
from producers.normalise import html_to_text, normalise_feed, with_body
from producers.parse import ParsedFeed
from producers.parse_pool import DocumentParser, document_parser
from producers.schedule import delay_after_error, delay_after_success, max_age, usual_gap
from producers.state import FeedState, FeedStateStore

__all__ = ["PollReport", "FeedPoller", "Fetcher", "BodyFetcher", "HealthHook"]

logger = logging.getLogger(__name__)

Fetcher = Callable[[str, Validators], FetchResult]
BodyFetcher = Callable[[str], "str | None"]
HealthHook = Callable[[FeedSpec, FeedHealth, float], object]
_PRUNE_EVERY = 3600.0


@dataclass
class PollReport:
    feeds_polled: int = 0
    feeds_failed: int = 0
    feeds_not_modified: int = 0
    items_seen: int = 0
    items_published: int = 0
    items_suppressed: int = 0  # near-duplicates of an item already published (edited re-publish)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Fetched:
    """A fetch's result and what parsing its document gave (None for a 304)."""

    result: FetchResult
    parsed: ParsedFeed | Exception | None


@dataclass
class _Fresh:
    """The unseen items of one fetched document."""

    publish: list[RawItem] = field(default_factory=list)
    suppressed: list[str] = field(default_factory=list)
    prints: list[tuple[str, Fingerprint]] = field(default_factory=list)


class FeedPoller:
    def __init__(self, feeds: Sequence[FeedSpec], store: FeedStateStore, producer: LogProducer,
                 settings: ProducerSettings, fetcher: Fetcher | None = None,
                 clock: Callable[[], float] = time.time, health_hook: HealthHook | None = None,
                 body_fetcher: BodyFetcher | None = None) -> None:
        require_fulltext(feeds)
        self.feeds, self.store, self.producer, self.settings = tuple(feeds), store, producer, settings
        self.clock, self.health_hook = clock, health_hook
        limits = limits_from(settings)
        self.fetcher = fetcher or (lambda url, validators: fetch_feed(url, validators, limits))
        self.body_fetcher = body_fetcher or (lambda url: fetch_body(url, limits))
        self._pruned_at = 0.0
        self._known: dict[str, KnownStories] = {}  # this poll's recent stories per source

    def _states(self, feeds: Sequence[FeedSpec]) -> dict[str, FeedState]:
        return self.store.get_many([(f.id, f.url) for f in feeds])

    def due(self) -> list[FeedSpec]:
        now, states = self.clock(), self._states(self.feeds)
        return [f for f in self.feeds if states[f.id].next_check <= now]

    def seconds_until_due(self) -> float:
        if not self.feeds:
            return float("inf")
        now = self.clock()
        return max(0.0, min(s.next_check for s in self._states(self.feeds).values()) - now)

    def poll(self, feeds: Sequence[FeedSpec]) -> PollReport:
        """Fetch the given feeds concurrently, publish their new items, record state and health."""
        report = PollReport()
        self._known = {}  # read once per source and poll: a source's feeds share its recent stories
        states = self._states(feeds)
        with document_parser(self.settings.parse_processes) as parse:
            fetches = iter_per_host(feeds, lambda f: host_of(f.url), lambda f: self._fetch(states[f.id], parse),
                                    concurrency=self.settings.concurrency,
                                    per_host=self.settings.per_host_concurrency)
            # with a full-text feed, every feed is fetched before any article page is
            outcomes = iter(list(fetches)) if any(feed.full_text for feed in feeds) else fetches
            with closing(fetches):  # a failure here starts no more fetches
                updated = [self._handle(feed, states[feed.id], outcome, report)
                           for feed, outcome in zip(feeds, outcomes)]
        self.store.save_many(updated)
        self._prune()
        return report

    def _handle(self, feed: FeedSpec, state: FeedState, outcome: _Fetched | Exception,
                report: PollReport) -> FeedState:
        """The feed's state after its fetch's outcome, with the new items published."""
        report.feeds_polled += 1
        now = self.clock()
        state = replace(state, last_attempt=now, first_attempt=state.first_attempt or now)
        if isinstance(outcome, Exception):
            state = self._after_error(feed, state, outcome, report)
        else:
            state = self._after_result(feed, state, outcome, report)
        return self._check_health(feed, state)

    def _fetch(self, state: FeedState, parse: DocumentParser) -> _Fetched | Exception:
        """Fetch the feed where it lives now (its URL, or where it permanently moved to) and parse it."""
        try:
            result = self.fetcher(state.moved_to or state.url, state.validators)
        except Exception as exc:  # reported per feed; one feed never stops the others
            return exc
        if result.not_modified:
            return _Fetched(result, None)
        try:
            return _Fetched(result, parse(result))
        except Exception as exc:  # not a feed (FeedParseError), the parser process died: this feed's error
            return _Fetched(result, exc)

    def _after_error(self, feed: FeedSpec, state: FeedState, error: Exception, report: PollReport) -> FeedState:
        streak = state.error_count + 1
        hint = error.retry_after if isinstance(error, RetryLater) else None
        delay = delay_after_error(self.settings, streak, hint)
        message = str(error) if isinstance(error, NewsmonError) else f"{feed.url}: {type(error).__name__}: {error}"
        message = " ".join(message.split())  # last_error and every report show it on one line
        logger.warning("event=feed_error feed=%s errors=%d retry_in=%.0fs error=%s", feed.id, streak, delay, message)
        report.feeds_failed += 1
        report.errors.append(f"{feed.id}: {message}")
        return replace(state, error_count=streak, last_error=message, last_status="error",
                       next_check=self.clock() + delay)

    def _after_result(self, feed: FeedSpec, state: FeedState, fetched: _Fetched, report: PollReport) -> FeedState:
        result = fetched.result
        if result.moved_to and result.moved_to != state.moved_to:
            logger.warning("event=feed_moved feed=%s url=%s moved_to=%s hint=fetched from the new address from now"
                           " on; update the feed's url in the configuration", feed.id, feed.url, result.moved_to)
            state = replace(state, moved_to=result.moved_to)
        ttl, published, gap, latest = None, 0, state.usual_gap, state.latest_item
        if isinstance(fetched.parsed, Exception):  # not a feed: an error, retried with backoff
            return self._after_error(feed, state, fetched.parsed, report)
        if fetched.parsed is None:
            report.feeds_not_modified += 1
        else:
            try:
                published, ttl, gap, latest = self._ingest(feed, state, fetched.parsed, report)
            except Exception as exc:  # log unavailable: an error, retried with backoff
                return self._after_error(feed, state, exc, report)
        delay = delay_after_success(self.settings, feed.interval, (ttl, max_age(result.headers.get("cache-control"))),
                                    gap)
        status = "not_modified" if result.not_modified else "ok"
        logger.info("event=feed_polled feed=%s status=%s published=%d next_in=%.0fs", feed.id, status, published, delay)
        return replace(state, validators=result.validators, error_count=0, last_error=None, last_status=status,
                       last_success=self.clock(), next_check=self.clock() + delay,
                       items_published=state.items_published + published, usual_gap=gap, latest_item=latest)

    def _ingest(self, feed: FeedSpec, state: FeedState, parsed: ParsedFeed,
                report: PollReport) -> tuple[int, float | None, float | None, float | None]:
        """Normalise, deduplicate and publish one document: (published, ttl, usual gap, latest item)."""
        now = self.clock()
        ref = FeedRef(id=feed.id, url=feed.url, title=feed.title or html_to_text(parsed.title))
        entries, errors = normalise_feed(parsed, feed=ref, source=feed.source,
                                         fetched_at=datetime.fromtimestamp(now, UTC),
                                         default_language=feed.language)
        for error in errors:
            logger.warning("event=entry_skipped feed=%s error=%s", feed.id, error)
        items = [entry.item for entry in entries]
        report.items_seen += len(items)
        fresh = self._fresh(feed, items, now)
        if feed.full_text and fresh.publish:
            fresh.publish = self._with_bodies(fresh.publish)
        for item in fresh.publish:
            self.producer.publish(TOPIC_RAW, item.id, item.to_json())
        self.producer.flush()
        self.store.mark_seen(feed.id, [item.id for item in fresh.publish] + fresh.suppressed, now)
        self.store.add_fingerprints(feed.source, fresh.prints, now)
        report.items_published += len(fresh.publish)
        report.items_suppressed += len(fresh.suppressed)
        times = [_epoch(item.published) for item in items if item.published]
        gap = usual_gap(times) or state.usual_gap
        new_ids = {item.id for item in fresh.publish} | set(fresh.suppressed)
        newest = [_epoch(item.published) if item.published else now for item in items if item.id in new_ids]
        latest = max([t for t in (state.latest_item, *newest) if t is not None], default=None)
        return len(fresh.publish), parsed.ttl_seconds, gap, latest

    def _fresh(self, feed: FeedSpec, items: list[RawItem], now: float) -> _Fresh:
        """The items never published, less the near-duplicates of the same source's recent items."""
        unseen = self.store.unseen((item.id for item in items), now)
        fresh = _Fresh()
        candidates = [item for item in items if item.id in unseen]
        if not candidates:
            return fresh
        known = self._known.get(feed.source)
        if known is None:  # the source's first feed in this poll; the later ones see what it added
            known = KnownStories(self.store.fingerprints(feed.source, now - self.settings.dedup_window))
            self._known[feed.source] = known
        for item in candidates:
            fingerprint = content_fingerprint(item.title, item.summary)
            same_as = known.find(fingerprint) if fingerprint else None
            if same_as:
                logger.info("event=near_duplicate feed=%s item=%s same_as=%s title=%r", feed.id, item.id, same_as,
                            item.title[:80])
                fresh.suppressed.append(item.id)
                continue
            fresh.publish.append(item)
            if fingerprint:
                known.add(item.id, fingerprint)
                fresh.prints.append((item.id, fingerprint))
        return fresh

    def _with_bodies(self, items: list[RawItem]) -> list[RawItem]:
        """Items with the body extracted from their pages (fetched concurrently, capped per host)."""
        bodies = map_per_host(items, lambda i: host_of(i.url), self._body, concurrency=self.settings.concurrency,
                              per_host=self.settings.per_host_concurrency)
        return [with_body(item, body, self.settings.max_body_chars) for item, body in zip(items, bodies)]

    def _body(self, item: RawItem) -> str | None:
        if not item.url:
            return None
        try:
            return self.body_fetcher(item.url)
        except Exception as exc:  # keep the summary
            logger.warning("event=fulltext_failed item=%s url=%s error=%s", item.id, item.url, exc)
            return None

    def _check_health(self, feed: FeedSpec, state: FeedState) -> FeedState:
        now = self.clock()
        health = assess(state, now, self.settings)
        turned = alert_status(health, state.health_flag)
        if turned:
            logger.warning("event=feed_unhealthy feed=%s status=%s reason=%s", feed.id, turned, health.reason)
            if self.health_hook:
                try:
                    self.health_hook(feed, health, now)
                except Exception as exc:  # the outbox being busy must not stop polling; retried next poll
                    logger.error("event=feed_health_alert_failed feed=%s error=%s", feed.id, exc)
                    return state
        return replace(state, health_flag=health.status if health.status in FLAGGED else None)

    def _prune(self) -> None:
        now = self.clock()
        if now - self._pruned_at >= _PRUNE_EVERY:
            self._pruned_at = now
            removed = self.store.prune_fingerprints(now - self.settings.dedup_window)
            if removed:
                logger.info("event=fingerprints_pruned removed=%d", removed)
            forgotten = self.store.prune_seen(now - self.settings.seen_retention)
            if forgotten:
                logger.info("event=published_ids_pruned removed=%d", forgotten)


def _epoch(text: str) -> float:
    return parse_time(text, "published").timestamp()
