"""A 200 response that is not a feed (malformed XML, an HTML page, an empty body) is a feed error:
through the poller and a local HTTP server, the stored state makes ``assess`` say ``failing`` with
the parser's reason, then ``broken`` after ``broken_after`` polls, and ``ok`` again once the feed
serves valid RSS. Feeds that merely have no items, or that feedparser grumbles about but reads,
stay ok."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from pipeline.settings import FeedSpec, ProducerSettings
from pipeline.transport.memory import MemoryLog
from producers.health import assess
from producers.poller import FeedPoller
from producers.state import FeedState, FeedStateStore
from tests.faultserver import FaultServer, content
from tests.producers.feeds import STORIES, rss

REPO = Path(__file__).resolve().parents[2]
SETTINGS = ProducerSettings(interval=900, min_interval=60, max_interval=6 * 3600, error_backoff_max=3600,
                            timeout=1, total_timeout=2, max_bytes=100_000, broken_after=3)
MALFORMED = b'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel>\n<title>Frontier</titel>\n'
LOGIN_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Sign in</title></head>"
              b"<body><form action=/login><input name=user></form></body></html>")

NOT_FEEDS = [
    pytest.param(MALFORMED, "application/rss+xml; charset=utf-8", "not a feed: mismatched tag at line 3",
                 id="malformed-xml"),
    pytest.param(LOGIN_PAGE, "text/html; charset=utf-8", "not a feed: an HTML page", id="html-page"),
    pytest.param(b"", "application/rss+xml", "not a feed: empty response", id="empty-200"),
]


class Clock:
    def __init__(self, now: float = 1_780_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Served:
    """What the route answers now (a 200 with this body and content type)."""

    def __init__(self, body: bytes, content_type: str) -> None:
        self.body, self.content_type = body, content_type

    def handler(self):
        return lambda request: content(self.body, self.content_type)(request)


def make_poller(server: FaultServer, db: str, clock: Clock, settings: ProducerSettings = SETTINGS,
                **kwargs) -> FeedPoller:
    spec = FeedSpec(id="desk", url=server.url("/feed"), source="Frontier Desk")
    return FeedPoller([spec], FeedStateStore(db), MemoryLog().producer(), settings, clock=clock, **kwargs)


def poll_when_due(poller: FeedPoller, clock: Clock) -> FeedState:
    """Move the clock to the feed's next check, poll it, and return its stored state."""
    spec = poller.feeds[0]
    clock.now = max(clock.now, poller.store.get(spec.id, spec.url).next_check)
    assert poller.due() == [spec]
    poller.poll(poller.due())
    return poller.store.get(spec.id, spec.url)


@pytest.mark.parametrize("body, content_type, reason", NOT_FEEDS)
def test_not_a_feed_is_failing_then_broken_then_ok_again(server, db, body, content_type, reason):
    served = Served(body, content_type)
    server.routes["/feed"] = served.handler()
    clock = Clock()
    poller = make_poller(server, db, clock)
    report = poller.poll(poller.feeds)
    assert (report.feeds_failed, report.items_published) == (1, 0)
    state = poller.store.get("desk", server.url("/feed"))
    assert (state.last_status, state.error_count) == ("error", 1)
    assert state.last_error == f"{server.url('/feed')}: {reason}"
    health = assess(state, clock.now, SETTINGS)
    assert (health.status, health.reason) == ("failing", f"1 error in a row: {state.last_error}")

    for streak in range(2, SETTINGS.broken_after + 1):
        state = poll_when_due(poller, clock)
        assert state.error_count == streak and reason in (state.last_error or "")
    health = assess(state, clock.now, SETTINGS)
    assert health.status == "broken" and health.reason == f"3 errors in a row: {state.last_error}"

    served.body, served.content_type = rss(STORIES), "application/rss+xml; charset=utf-8"
    state = poll_when_due(poller, clock)
    assert (state.last_status, state.error_count, state.last_error, state.items_published) == ("ok", 0, None, 3)
    assert assess(state, clock.now, SETTINGS).status == "ok"


@pytest.mark.parametrize("body, content_type, reason", NOT_FEEDS)
def test_not_a_feed_backs_off_like_an_error_and_keeps_no_validators(server, db, body, content_type, reason):
    server.routes["/feed"] = content(body, content_type)
    clock = Clock()
    poller = make_poller(server, db, clock)
    delays = []
    for _ in range(4):
        state = poll_when_due(poller, clock)
        delays.append(state.next_check - clock.now)
        assert state.validators.etag is None  # the bad answer's ETag would turn the next poll into a 304
    for streak, delay in enumerate(delays, start=1):
        ceiling = SETTINGS.min_interval * 2 ** (streak - 1)
        assert ceiling / 2 <= delay <= ceiling
    assert all("If-None-Match" not in headers for _, headers in server.requests)


def test_a_working_feed_that_turns_malformed_fails_and_recovers_on_a_304(server, db):
    served = Served(rss(STORIES), "application/rss+xml; charset=utf-8")
    server.routes["/feed"] = served.handler()
    clock = Clock()
    poller = make_poller(server, db, clock)
    good = poll_when_due(poller, clock)
    assert good.last_status == "ok" and good.validators.etag
    served.body = MALFORMED
    clock.now += 3600
    broken = poll_when_due(poller, clock)
    assert broken.last_status == "error" and "mismatched tag at line 3" in (broken.last_error or "")
    assert broken.validators == good.validators  # still those of the last good document
    served.body = rss(STORIES)  # the same document as before: the server answers 304 to its validators
    state = poll_when_due(poller, clock)
    assert (state.last_status, state.error_count, state.last_error) == ("not_modified", 0, None)
    assert assess(state, clock.now, SETTINGS).status == "ok"


def test_broken_by_a_not_a_feed_answer_raises_the_health_alert_once(server, db):
    server.routes["/feed"] = content(LOGIN_PAGE, "text/html")
    calls = []
    clock = Clock()
    poller = make_poller(server, db, clock, health_hook=lambda f, h, now: calls.append((h.status, h.reason)))
    for _ in range(SETTINGS.broken_after + 2):
        poll_when_due(poller, clock)
    assert [status for status, _ in calls] == ["broken"] and "not a feed: an HTML page" in calls[0][1]


@pytest.mark.parametrize("body, content_type, published", [
    (b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet desk</title></channel></rss>',
     "application/rss+xml", 0),
    (rss(STORIES), "text/html; charset=utf-8", 3),  # a feed served with an HTML content type
    (rss(STORIES).replace(b"Convoy attacked", "Convoy attacked \u2014".encode("windows-1252")),
     "application/rss+xml; charset=utf-8", 3),  # declared UTF-8, is Windows-1252
    (rss(STORIES).replace(b"Convoy attacked", b"Convoy&nbsp;attacked"), "application/rss+xml", 3),
], ids=["zero-items", "html-content-type", "wrong-declared-encoding", "undefined-entity"])
def test_feeds_that_work_today_stay_ok(server, db, body, content_type, published):
    server.routes["/feed"] = content(body, content_type)
    clock = Clock()
    poller = make_poller(server, db, clock)
    report = poller.poll(poller.feeds)
    state = poller.store.get("desk", server.url("/feed"))
    assert (report.feeds_failed, report.items_published) == (0, published)
    assert (state.last_status, state.error_count, state.last_error) == ("ok", 0, None)
    assert assess(state, clock.now, SETTINGS).status == "ok"


def test_feeds_check_shows_the_not_a_feed_reason(server, tmp_path):
    server.routes["/feed"] = content(MALFORMED)
    config = tmp_path / "newsmon.yaml"
    config.write_text(f"log: sqlite:///{tmp_path}/log.db\nproducer: {{broken_after: 3}}\n"
                      f"feeds:\n  - {{id: desk, source: Frontier Desk, url: '{server.url('/feed')}'}}\n")
    poller = make_poller(server, f"sqlite:///{tmp_path}/log.db", Clock())
    poller.poll(poller.feeds)
    poller.store.close()
    result = subprocess.run([sys.executable, "-m", "newsmon.cli", "feeds", "check", "--json", "-c", str(config)],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert (row["status"], row["error_streak"]) == ("failing", 1)
    assert row["reason"] == f"1 error in a row: {server.url('/feed')}: not a feed: mismatched tag at line 3"


def test_a_state_from_before_keeps_its_streak(server, db):
    """A feed already failing on fetch errors that starts answering with a login page stays on its streak."""
    server.routes["/feed"] = content(LOGIN_PAGE, "text/html")
    clock = Clock()
    poller = make_poller(server, db, clock)
    spec = poller.feeds[0]
    poller.store.save(replace(poller.store.get(spec.id, spec.url), error_count=2, last_error="HTTP 503",
                              last_attempt=clock.now - 60, last_status="error"))
    state = poll_when_due(poller, clock)
    assert state.error_count == 3 and assess(state, clock.now, SETTINGS).status == "broken"
