"""producers.health: the status of a feed from its state, and the feed-health alert in the outbox."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pipeline.alerting.actions import ActionSpec
from pipeline.alerting.envelope import FEED_HEALTH
from pipeline.alerting.rules import RuleSpec
from pipeline.settings import FeedSpec, ProducerSettings
from producers.fetch import Validators
from producers.health import HealthAlerts, alert_status, assess, stale_threshold
from producers.state import FeedState, FeedStateStore

NOW = 1_780_000_000.0
DAY = 86400.0
SETTINGS = ProducerSettings(broken_after=5, stale_after=DAY)
HEALTHY = FeedState("f", "https://e.example/feed", Validators('"x"'), last_attempt=NOW - 600, last_success=NOW - 600,
                    usual_gap=3600.0, latest_item=NOW - 7200, first_attempt=NOW - 30 * DAY)


@pytest.mark.parametrize("changes, status, reason", [
    ({}, "ok", ""),
    ({"last_attempt": None, "last_success": None}, "new", "not polled yet"),
    ({"error_count": 2, "last_error": "HTTP 503"}, "failing", "2 errors in a row: HTTP 503"),
    ({"error_count": 5, "last_error": "HTTP 404"}, "broken", "5 errors in a row: HTTP 404"),
    ({"latest_item": NOW - 2 * DAY}, "stale", "no new item for 2d (threshold 1d)"),
    ({"latest_item": NOW - 2 * DAY, "usual_gap": DAY}, "ok", ""),  # a daily feed is stale after 3 days
    ({"latest_item": NOW - 4 * DAY, "usual_gap": DAY}, "stale", "no new item for 4d (threshold 3d)"),
    ({"latest_item": None}, "stale", "no item at all in 30d"),
    ({"latest_item": None, "first_attempt": NOW - 3600}, "ok", ""),
    ({"latest_item": NOW - 9 * DAY, "error_count": 7}, "broken", "7 errors in a row: unknown error"),
])
def test_assess(changes, status, reason):
    health = assess(replace(HEALTHY, **changes), NOW, SETTINGS)
    assert (health.status, health.reason) == (status, reason)


def test_items_per_day_and_threshold():
    health = assess(HEALTHY, NOW, SETTINGS)
    assert health.items_per_day == 24 and health.error_streak == 0 and health.last_success == NOW - 600
    assert stale_threshold(None, SETTINGS) == DAY and stale_threshold(2 * DAY, SETTINGS) == 6 * DAY


def test_alert_status_only_on_turning():
    broken = assess(replace(HEALTHY, error_count=6), NOW, SETTINGS)
    assert alert_status(broken, None) == "broken"
    assert alert_status(broken, "broken") is None
    assert alert_status(broken, "stale") == "broken"
    assert alert_status(assess(HEALTHY, NOW, SETTINGS), None) is None


def test_health_alerts_go_to_the_outbox_of_rules_that_ask_once_a_day(tmp_path):
    store_mod = pytest.importorskip("consumers.alert_store")
    store = store_mod.AlertStore(f"sqlite:///{tmp_path}/state.db")
    rules = [RuleSpec("ops", "NOT *", actions=(ActionSpec("log"), ActionSpec("webhook", url="https://hooks.example/x?t=1")),
                      feed_health=True),
             RuleSpec("stories", "*", actions=(ActionSpec("log"),))]
    alerts = HealthAlerts(rules, store)
    feed = FeedSpec("dawn", "https://www.dawn.com/feeds/home", "Dawn")
    broken = assess(replace(HEALTHY, error_count=5, last_error="HTTP 404"), NOW, SETTINGS)
    assert alerts(feed, broken, NOW) == 2
    assert alerts(feed, broken, NOW + 3600) == 0  # flapped back the same day
    assert alerts(feed, broken, NOW + DAY) == 2  # a new day
    rows = store.due(NOW + 2 * DAY)
    assert {row.rule for row in rows} == {"ops"} and len(rows) == 4
    payload = rows[0].payload
    assert payload["kind"] == FEED_HEALTH and payload["story_id"] == "feed:dawn:broken:2026-05-28"
    assert payload["item"]["title"] == "Feed dawn (Dawn) is broken: 5 errors in a row: HTTP 404"
    assert payload["feed"]["status"] == "broken" and payload["feed"]["url"] == feed.url
    store.close()


def test_state_store_adds_new_columns_to_an_old_file(tmp_path):
    import sqlite3
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE feed_state (feed_id TEXT PRIMARY KEY, url TEXT NOT NULL, etag TEXT, last_modified TEXT,"
                   " next_check REAL NOT NULL DEFAULT 0, error_count INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
                   " last_success REAL, last_attempt REAL, last_status TEXT, items_published INTEGER NOT NULL DEFAULT 0)")
        db.execute("INSERT INTO feed_state (feed_id, url, etag, items_published) VALUES ('f', 'https://e.example/feed', 'e', 4)")
    store = FeedStateStore(f"sqlite:///{path}")
    state = store.get("f", "https://e.example/feed")
    assert (state.validators.etag, state.items_published, state.usual_gap, state.health_flag) == ("e", 4, None, None)
    store.save(replace(state, usual_gap=60.0, health_flag="stale"))
    assert store.get("f", "https://e.example/feed").usual_gap == 60.0
    moved = store.get("f", "https://e.example/new-feed")
    assert moved.validators == Validators() and moved.items_published == 4
