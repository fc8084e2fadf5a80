"""producers.poller against a local HTTP server: conditional GET, server hints, every kind of fetch
failure recorded per feed, backoff, restarts, deduplication, per-host limits, full text, health,
and a feed handled while the next are still being fetched."""

from __future__ import annotations

import json
import random
import time
from dataclasses import replace

import pytest

from pipeline.settings import FeedSpec, ProducerSettings
from pipeline.transport.base import TOPIC_RAW
from pipeline.transport.memory import MemoryLog
from producers.fetch import FetchResult, Validators, fetch_feed, limits_from
from producers.health import assess
from producers.poller import FeedPoller
from producers.state import FeedStateStore
from tests.faultserver import (
    FaultServer,
    close_mid_response,
    content,
    gzip_bomb,
    redirect,
    slow,
    slow_drip,
    status,
)
from tests.producers.feeds import STORIES, Story, rss

SETTINGS = ProducerSettings(interval=900, min_interval=60, max_interval=6 * 3600, error_backoff_max=3600,
                            timeout=1, total_timeout=2, max_bytes=100_000, concurrency=4, per_host_concurrency=2)


class Clock:
    def __init__(self, now: float = 1_780_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_poller(feeds, db, log=None, clock=None, settings=SETTINGS, **kwargs) -> FeedPoller:
    return FeedPoller(feeds, FeedStateStore(db), (log or MemoryLog()).producer(), settings,
                      clock=clock or Clock(), **kwargs)


def feed(server, path: str, feed_id: str | None = None, source: str = "Frontier Desk", **extra) -> FeedSpec:
    return FeedSpec(id=feed_id or path.strip("/"), url=server.url(path), source=source, **extra)


def published(log: MemoryLog) -> list[dict]:
    return [json.loads(value) for value in log.values(TOPIC_RAW)]


def test_second_poll_is_a_304_and_publishes_nothing(server, db):
    server.routes["/feed"] = content(rss(STORIES))
    log, clock = MemoryLog(), Clock()
    poller = make_poller([feed(server, "/feed")], db, log, clock)
    first = poller.poll(poller.feeds)
    assert (first.items_published, first.feeds_failed) == (3, 0)
    clock.now += 3600
    second = poller.poll(poller.due())
    assert (second.feeds_not_modified, second.items_published) == (1, 0)
    assert server.requests[-1][1]["If-None-Match"] and len(published(log)) == 3


def test_retry_after_is_respected(server, db):
    server.routes["/busy"] = status(429, {"Retry-After": "7200"})
    clock = Clock()
    poller = make_poller([feed(server, "/busy")], db, clock=clock)
    report = poller.poll(poller.feeds)
    state = poller.store.get("busy", server.url("/busy"))
    assert report.feeds_failed == 1 and "HTTP 429" in state.last_error
    assert state.next_check >= clock.now + 7200
    clock.now += 3600
    assert poller.due() == []


@pytest.mark.parametrize("route, error", [
    (slow_drip(100, every=1.5), "timed out"),
    (redirect("/fault"), "redirect loop"),
    (status(200, {"Content-Type": "text/xml"}, b"<rss>" + b" " * 200_000), "larger than the 100000-byte cap"),
    (gzip_bomb(16 * 1024 * 1024), "decompressed body larger"),
    (close_mid_response(rss(STORIES)[:200], 5000), "closed mid-response"),
    (status(200, {"Content-Type": "text/html"}, b"<html><body>Login</body></html>"), "not a feed"),
    (status(404), "HTTP 404"),
], ids=["timeout", "redirect-loop", "oversized", "gzip-bomb", "closed-mid-response", "html", "404"])
def test_each_fetch_fault_is_a_recorded_feed_error(server, db, route, error):
    server.routes["/fault"] = route
    server.routes["/good"] = content(rss(STORIES))
    poller = make_poller([feed(server, "/fault"), feed(server, "/good")], db)
    report = poller.poll(poller.feeds)
    assert (report.feeds_polled, report.feeds_failed, report.items_published) == (2, 1, 3)
    state = poller.store.get("fault", server.url("/fault"))
    assert state.error_count == 1 and state.last_status == "error" and error in state.last_error
    assert poller.store.get("good", server.url("/good")).error_count == 0


def test_backoff_grows_with_jitter_never_gives_up_and_resets_on_success(server, db):
    server.routes["/flaky"] = status(503)
    clock = Clock()
    poller = make_poller([feed(server, "/flaky")], db, clock=clock)
    delays = []
    for _ in range(9):
        clock.now = max(clock.now, poller.store.get("flaky", server.url("/flaky")).next_check)
        poller.poll(poller.due())
        delays.append(poller.store.get("flaky", server.url("/flaky")).next_check - clock.now)
    for n, delay in enumerate(delays):
        ceiling = min(SETTINGS.error_backoff_max, SETTINGS.min_interval * 2 ** n)
        assert ceiling / 2 <= delay <= ceiling
    assert len({round(d, 3) for d in delays[6:]}) > 1  # jittered even at the cap
    assert poller.store.get("flaky", server.url("/flaky")).error_count == 9
    server.routes["/flaky"] = content(rss(STORIES))
    clock.now += 3600
    poller.poll(poller.due())
    state = poller.store.get("flaky", server.url("/flaky"))
    assert (state.error_count, state.last_error, state.last_status) == (0, None, "ok")
    assert state.next_check - clock.now == 3600  # the usual gap between the stories


def test_state_survives_a_restart(server, db):
    server.routes["/feed"] = content(rss(STORIES))
    log, clock = MemoryLog(), Clock()
    first = make_poller([feed(server, "/feed")], db, log, clock)
    first.poll(first.feeds)
    first.store.close()
    restarted = make_poller([feed(server, "/feed")], db, log, clock)
    assert restarted.due() == []  # the schedule survived
    report = restarted.poll(restarted.feeds)
    assert report.feeds_not_modified == 1  # and the validators
    server.routes["/feed"] = content(rss(STORIES) .replace(b"<title>Frontier Desk", b"<title>Frontier Desk (new look)"))
    report = restarted.poll(restarted.feeds)
    assert (report.items_seen, report.items_published) == (3, 0)  # and the ids published
    assert len(published(log)) == 3


def test_the_same_story_in_two_section_feeds_is_published_once(server, db):
    security = [s for s in STORIES if s.slug.startswith("security/")]
    server.routes["/all"] = content(rss(STORIES))
    server.routes["/security"] = content(rss([replace(s, slug=s.slug + "?utm_source=rss") for s in security]))
    log = MemoryLog()
    poller = make_poller([feed(server, "/all"), feed(server, "/security")], db, log)
    report = poller.poll(poller.feeds)
    assert (report.items_seen, report.items_published) == (5, 3)
    assert sorted(item["url"] for item in published(log)) == sorted(f"https://frontier.example/{s.slug}" for s in STORIES)


def test_an_edited_title_republished_under_a_new_url_is_not_published_again(server, db):
    server.routes["/feed"] = content(lambda: rss(current))
    current = STORIES[:2]
    log, clock = MemoryLog(), Clock()
    poller = make_poller([feed(server, "/feed")], db, log, clock)
    poller.poll(poller.feeds)
    edited = Story("business/reko-diq-financing-signed", "Lenders sign long-awaited financing terms for Reko Diq copper project",
                   STORIES[1].summary, STORIES[1].published + 600)
    current = [*STORIES[:2], edited, STORIES[2]]
    clock.now += 7200
    report = poller.poll(poller.feeds)
    assert (report.items_published, report.items_suppressed) == (1, 1)
    assert [item["title"] for item in published(log)][-1] == STORIES[2].title
    restarted = make_poller([feed(server, "/feed")], db, log, clock)  # and the fingerprints persist
    server.routes["/feed"] = content(rss([*current, replace(edited, slug="business/reko-diq-2")]))
    assert restarted.poll(restarted.feeds).items_published == 0


def test_a_sources_recent_stories_are_read_once_per_poll_and_still_catch_an_edit_in_another_feed(server, db):
    """The second feed of a source sees the first feed's items of the same poll (they are not in the
    state database's reading, taken once for the source), so an edited republication there is held back."""
    edited = Story("business/reko-diq-financing-signed", "Lenders sign long-awaited financing terms for Reko Diq copper project",
                   STORIES[1].summary, STORIES[1].published + 600)
    server.routes["/first"] = content(rss(STORIES[:2]))
    server.routes["/second"] = content(rss([edited, STORIES[2]]))
    server.routes["/other"] = content(rss([replace(STORIES[2], slug="other/ctd-arrests")]))
    log = MemoryLog()
    poller = make_poller([feed(server, "/first"), feed(server, "/second"), feed(server, "/other", source="Other Desk")],
                         db, log)
    reads = []
    original = poller.store.fingerprints
    poller.store.fingerprints = lambda source, since: reads.append(source) or original(source, since)
    report = poller.poll(poller.feeds)
    assert sorted(reads) == ["Frontier Desk", "Other Desk"]
    assert (report.items_published, report.items_suppressed) == (2 + 1 + 1, 1)  # another source: its own story
    assert edited.title not in [item["title"] for item in published(log)]


def test_fetches_per_host_are_capped(server, db):
    for i in range(6):
        server.routes[f"/f{i}"] = slow(content(rss(STORIES)), 0.3)
    settings = replace(SETTINGS, concurrency=6, per_host_concurrency=2)
    poller = make_poller([feed(server, f"/f{i}") for i in range(6)], db, settings=settings)
    report = poller.poll(poller.feeds)
    assert report.feeds_failed == 0 and server.max_in_flight == 2


def test_adaptive_interval_follows_the_publishing_rate(server, db):
    hourly = [Story(f"n/{i}", f"Story number {i} on the frontier", "", 1_780_000_000.0 - i * 3600) for i in range(10)]
    server.routes["/hourly"] = content(rss(hourly))
    server.routes["/fixed"] = content(rss(hourly))
    server.routes["/ttl"] = content(rss(hourly, ttl=180))
    clock = Clock()
    poller = make_poller([feed(server, "/hourly"), feed(server, "/fixed", interval=600.0), feed(server, "/ttl")],
                         db, clock=clock)
    poller.poll(poller.feeds)
    next_in = {f.id: poller.store.get(f.id, f.url).next_check - clock.now for f in poller.feeds}
    assert next_in == {"hourly": 3600, "fixed": 600, "ttl": 3 * 3600}


def test_a_feed_turning_broken_raises_one_health_alert(server, db):
    server.routes["/down"] = status(500)
    calls = []
    clock = Clock()
    settings = replace(SETTINGS, broken_after=3)
    poller = make_poller([feed(server, "/down")], db, clock=clock, settings=settings,
                         health_hook=lambda f, h, now: calls.append((f.id, h.status)))
    for _ in range(5):
        clock.now += 7200
        poller.poll(poller.feeds)
    assert calls == [("down", "broken")]
    assert poller.store.get("down", server.url("/down")).health_flag == "broken"
    server.routes["/down"] = content(rss(STORIES))
    poller.poll(poller.feeds)
    assert poller.store.get("down", server.url("/down")).health_flag is None


def test_full_text_is_extracted_and_the_summary_kept_when_extraction_fails(server, db):
    pytest.importorskip("trafilatura")
    article = ("<html><head><title>x</title><script>track()</script></head><body><nav>Home | World</nav>"
               "<article><h1>Lenders sign financing terms</h1>"
               + "".join(f"<p>Paragraph {i}: the lenders agreed the terms for the first phase of the copper and"
                         f" gold mine after months of talks with the provincial government.</p>" for i in range(6))
               + "</article><footer>Copyright</footer></body></html>").encode()
    server.routes["/reko"] = content(article, "text/html; charset=utf-8")
    stories = [replace(STORIES[1], slug="reko"), replace(STORIES[0], slug="missing")]
    server.routes["/feed"] = content(rss(stories, base=server.base))
    log = MemoryLog()
    poller = make_poller([feed(server, "/feed", full_text=True)], db, log)
    poller.poll(poller.feeds)
    items = {item["url"].rsplit("/", 1)[1]: item for item in published(log)}
    assert "Paragraph 0: the lenders agreed" in items["reko"]["body"] and "Paragraph 5:" in items["reko"]["body"]
    assert "track()" not in items["reko"]["body"] and "Copyright" not in items["reko"]["body"]
    assert items["missing"]["body"] is None and items["missing"]["summary"] == STORIES[0].summary


def test_full_text_without_trafilatura_is_a_config_error_naming_the_feed(server, db, monkeypatch):
    from pipeline.errors import ConfigError
    monkeypatch.setattr("producers.fulltext.fulltext_available", lambda: False)
    with pytest.raises(ConfigError, match=r"feeds \(wanted\)\.full_text: needs the trafilatura package"):
        make_poller([feed(server, "/a"), feed(server, "/b", "wanted", full_text=True)], db)


def test_a_log_outage_keeps_the_validators_so_nothing_is_lost(server, db):
    server.routes["/feed"] = content(rss(STORIES))
    log, clock = MemoryLog(), Clock()
    poller = make_poller([feed(server, "/feed")], db, log, clock)
    poller.producer.fail_next_flushes = 1
    report = poller.poll(poller.feeds)
    assert report.feeds_failed == 1 and "injected log outage" in report.errors[0]
    assert poller.store.get("feed", server.url("/feed")).validators.etag is None
    clock.now += 3600
    report = poller.poll(poller.feeds)
    assert report.items_published == 3 and {i["id"] for i in published(log)} == {i["id"] for i in published(log)[:3]}


def test_one_bad_feed_among_many_does_not_stop_the_others(server, db):
    rng = random.Random(7)
    routes = [status(500), content(b"not a feed"), redirect("/nowhere"), content(rss(STORIES))]
    feeds = []
    for i in range(20):
        server.routes[f"/m{i}"] = rng.choice(routes)
        feeds.append(feed(server, f"/m{i}"))
    poller = make_poller(feeds, db)
    report = poller.poll(poller.feeds)
    assert report.feeds_polled == 20 and 0 < report.feeds_failed < 20


def test_a_permanently_moved_feed_is_fetched_at_its_new_address_until_the_configuration_changes(server, db):
    server.routes.update({"/old": redirect("/new", 301), "/new": content(rss(STORIES))})
    clock = Clock()
    moved = feed(server, "/old", feed_id="desk")
    poller = make_poller([moved], db, clock=clock)
    assert poller.poll(poller.feeds).items_published == 3
    clock.now += 3600
    poller.poll(poller.feeds)
    assert [path for path, _ in server.requests] == ["/old", "/new", "/new"]  # the old address asked once
    state = poller.store.get("desk", moved.url)
    assert state.moved_to == server.url("/new")
    assert assess(state, clock.now, SETTINGS).moved_to == server.url("/new")
    updated = replace(moved, url=server.url("/new"))  # the configuration now has the new address
    assert poller.store.get("desk", updated.url).moved_to is None


def test_a_feed_is_handled_while_the_next_is_still_being_fetched(server, db):
    server.routes["/first"] = content(rss(STORIES[:1]))
    server.routes["/second"] = content(rss(STORIES[1:], base="https://second.example"))
    log, seen_first = MemoryLog(), []

    def fetcher(url: str, validators: Validators) -> FetchResult:
        if url.endswith("/second"):  # answers once the first feed's item is published, or after 5 s
            deadline = time.monotonic() + 5
            while not log.values(TOPIC_RAW) and time.monotonic() < deadline:
                time.sleep(0.01)
            seen_first.append(bool(log.values(TOPIC_RAW)))
        return fetch_feed(url, validators, limits_from(SETTINGS))

    poller = make_poller([feed(server, "/first"), feed(server, "/second")], db, log, fetcher=fetcher)
    report = poller.poll(poller.feeds)
    assert (report.items_published, seen_first) == (3, [True])
