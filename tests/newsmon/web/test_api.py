"""The search page's JSON API as pure functions: MemoryIndex and SQLite files, no HTTP."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from consumers.alert_store import AlertStore
from newsmon.web import api
from pipeline.errors import UserInputError
from pipeline.settings import ProducerSettings
from pipeline.transport.memory import MemoryIndex
from pipeline.transport.sqlite_index import SqliteIndex
from producers.health import assess
from producers.state import FeedState, FeedStateStore
from tests.newsmon.web.sample import DOCS, NOW, OLD_DOCS, TOPICS, doc


@pytest.fixture(params=["memory", "sqlite"])
def index(request, tmp_path: Path):
    store = MemoryIndex() if request.param == "memory" else SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}")
    store.index(DOCS)
    store.flush()
    yield store
    store.close()


def params(**values) -> dict[str, list[str]]:
    return {k: v if isinstance(v, list) else [v] for k, v in values.items()}


def run(index, **values) -> dict:
    return api.search(index, api.parse_search(params(**values), NOW, TOPICS), NOW)


# -- parameters ---------------------------------------------------------------------------------

def test_defaults_are_newest_first_all_time_twenty_stories():
    request = api.parse_search({}, NOW, TOPICS)
    assert (request.sort, request.range, request.limit, request.interval) == ("newest", "all", 20, "auto")
    assert request.filters.since is None and request.filters.until is None


def test_range_preset_and_dates_map_to_since_and_until():
    assert api.parse_search(params(range="24h"), NOW, TOPICS).filters.since == NOW - timedelta(hours=24)
    custom = api.parse_search(params(range="7d", **{"from": "2026-03-01", "to": "2026-03-02"}), NOW, TOPICS)
    assert custom.range == "custom"
    assert custom.filters.since == datetime(2026, 3, 1, tzinfo=UTC)
    assert custom.filters.until == datetime(2026, 3, 3, tzinfo=UTC)  # "to" includes that day


@pytest.mark.parametrize("values, named", [
    ({"q": "AND ("}, "query"), ({"topic": "sports"}, "topic"), ({"limit": "0"}, "limit"),
    ({"limit": "x"}, "limit"), ({"range": "1y"}, "range"), ({"sort": "oldest"}, "sort"),
    ({"from": "yesterday"}, "from"), ({"from": "2026-03-05", "to": "2026-03-01"}, "from"),
    ({"q": "nosuchfield:x"}, "nosuchfield"),
])
def test_bad_parameters_are_user_errors_naming_them(values, named):
    with pytest.raises(UserInputError, match=named):
        api.parse_search(params(**values), NOW, TOPICS)


def test_filters_collect_repeated_values_and_upper_case_countries():
    request = api.parse_search(params(country=["pk", "us"], source=["Dawn", "Dawn"], entity="TTP"), NOW, TOPICS)
    assert request.filters.countries == ("PK", "US")
    assert request.filters.sources == ("Dawn",)
    assert request.filters.entities == ("TTP",)


# -- search -------------------------------------------------------------------------------------

def test_one_row_per_story_newest_first_with_other_outlets_folded(index):
    result = run(index)
    assert [s["story_id"] for s in result["stories"]] == ["s-bannu", "s-reko", "i5", "i6"]
    bannu = result["stories"][0]
    assert bannu["item"]["source"] == "Dawn"
    assert [o["source"] for o in bannu["others"]] == ["Geo", "Tribune"]
    assert result["total"] == 6 and result["more"] is False


def test_limit_counts_stories_and_reports_more(index):
    result = run(index, limit="1")
    assert len(result["stories"]) == 1 and result["more"] is True
    assert len(result["stories"][0]["others"]) == 2


def test_query_topic_entity_and_time_filters(index):
    assert [s["story_id"] for s in run(index, q="copper")["stories"]] == ["s-reko"]
    assert [s["story_id"] for s in run(index, topic="counterterrorism")["stories"]] == ["s-bannu", "i6"]
    assert [s["story_id"] for s in run(index, topic="counterterrorism", range="7d")["stories"]] == ["s-bannu"]
    entity = run(index, entity="ttp")
    assert [s["story_id"] for s in entity["stories"]] == ["s-bannu"]
    assert [o["id"] for o in entity["stories"][0]["others"]] == ["i2"]  # i3 names no group


def test_facets_count_each_field_without_its_own_filter(index):
    facets = run(index, topic="counterterrorism")["facets"]
    assert dict(map(tuple, facets["topics"])) == {"counterterrorism": 4, "minerals_cooperation": 1}
    assert dict(map(tuple, facets["sources"])) == {"Dawn": 1, "Geo": 1, "Tribune": 2}
    assert facets["entities"] == [["TTP", 2]]


class CountingIndex:
    """The index, counting its facets requests and the filters they carried."""

    def __init__(self, index) -> None:
        self.index, self.facet_filters = index, []

    def __getattr__(self, name):
        return getattr(self.index, name)

    def facets(self, query, filters, fields, **options):
        self.facet_filters.append(filters)
        return self.index.facets(query, filters, fields, **options)


@pytest.mark.parametrize("values, requests", [({}, 1), ({"topic": "counterterrorism"}, 2),
                                              ({"topic": "counterterrorism", "source": "Dawn"}, 3)])
def test_facet_groups_without_a_filter_of_their_own_share_one_request(index, values, requests):
    counting, request = CountingIndex(index), api.parse_search(params(**values), NOW, TOPICS)
    shared = api.search(counting, request, NOW)["facets"]
    assert len(counting.facet_filters) == requests
    for name, field in (("topics", "topics"), ("countries", "countries"), ("sources", "source")):
        alone = index.facets(request.query, replace(request.filters, **{name: ()}), [field], size=15, now=NOW)
        assert shared[name] == [list(pair) for pair in alone[field]]  # as if counted by itself


def test_histogram_counts_stories_by_topic_per_bucket(index):
    histogram = run(index, range="24h")["histogram"]
    assert histogram["interval"] == "hour"
    assert [b["counts"]["all"] for b in histogram["buckets"] if b["counts"]["all"]] == [1, 1, 1]  # one story
    assert len(histogram["buckets"]) == 25  # every hour of the range, empty ones included
    assert histogram["buckets"][0]["start"] == "2026-03-09T12:00:00Z"
    day = run(index, interval="day")["histogram"]
    today = next(b for b in day["buckets"] if b["start"] == "2026-03-10T00:00:00Z")["counts"]
    assert today["all"] == 1 and today["counterterrorism"] == 1  # three items of one story count once


def test_highlights_query_terms_and_evidence_but_not_model_scores(index):
    item = run(index, q="checkpoint")["stories"][0]["item"]
    assert [text for text, marked in item["title_parts"] if marked] == ["attack", "checkpoint"]
    assert "".join(text for text, _ in item["title_parts"]) == "Militants attack checkpoint in Bannu"
    assert item["topics"] == [{"name": "counterterrorism", "score": 0.9, "model": 0.81, "evidence": ["attack"],
                               "against": []}]
    assert [text for text, marked in item["summary_parts"] if marked] == ["attackers"]


def test_story_lists_every_item_oldest_first(index):
    story = api.story(index, "s-bannu", NOW)
    assert [i["id"] for i in story["items"]] == ["i3", "i2", "i1"]
    assert story["sources"] == ["Tribune", "Geo", "Dawn"] and story["total"] == 3


def test_unknown_story_is_not_found_and_a_malformed_id_a_user_error(index):
    with pytest.raises(api.NotFound):
        api.story(index, "s-nothing", NOW)
    with pytest.raises(UserInputError, match="story id"):
        api.story(index, 'x" OR *', NOW)


def test_only_http_links_are_links(index):
    index.index([doc(9, 1, "Evil", "Scripted", url="javascript:alert(1)")])
    index.flush()
    item = api.story(index, "i9", NOW)["items"][0]
    assert item["url"] == "javascript:alert(1)" and item["link"] is None


def test_health_reports_items_and_topics(index):
    assert api.health(index, TOPICS, 10.0, "sqlite") == {
        "status": "ok", "items": 6, "backend": "sqlite", "topics": TOPICS, "refresh_seconds": 10.0}


# -- alerts and feeds ---------------------------------------------------------------------------

def test_alerts_newest_first_with_counts_and_status_filter(tmp_path: Path):
    store = AlertStore(f"sqlite:///{tmp_path / 'state.db'}")
    for n, kind in ((1, "story"), (2, "feed-health")):
        with store.transaction() as tx:
            tx.add_outbox({"id": f"a{n}", "rule": "r", "kind": kind, "story_id": f"s{n}", "item": {"title": f"T{n}"}},
                          [(0, "webhook:https://hooks.example.test/x")], 1000.0 + n)
    first = store.records(limit=5)[-1]
    store.mark_failed(first.id, "HTTP 500")
    everything = api.alerts(store, {})
    assert everything["counts"] == {"pending": 1, "sent": 0, "failed": 1, "silenced": 0}
    assert [(a["alert_id"], a["status"], a["story_link"]) for a in everything["alerts"]] == [
        ("a2", "pending", False), ("a1", "failed", True)]
    assert everything["alerts"][1]["last_error"] == "HTTP 500"
    assert everything["alerts"][1]["created_at"] == "1970-01-01T00:16:41Z"
    assert [a["alert_id"] for a in api.alerts(store, params(status="failed"))["alerts"]] == ["a1"]
    with pytest.raises(UserInputError, match="status"):
        api.alerts(store, params(status="lost"))
    store.close()


class Spec:
    def __init__(self, feed_id: str) -> None:
        self.id, self.source, self.title, self.url = feed_id, feed_id.title(), "", f"https://{feed_id}.test/rss"


def test_feeds_most_urgent_first_with_health(tmp_path: Path):
    now = 1_000_000.0
    store = FeedStateStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.save_many([
        FeedState("fine", "https://fine.test/rss", last_attempt=now - 60, last_success=now - 60, usual_gap=3600,
                  latest_item=now - 600, first_attempt=now - 86400, moved_to="https://fine.test/feed.xml"),
        FeedState("down", "https://down.test/rss", last_attempt=now - 60, error_count=7, last_error="HTTP 503"),
        FeedState("quiet", "https://quiet.test/rss", last_attempt=now - 60, last_success=now - 60, usual_gap=3600,
                  latest_item=now - 5 * 86400, first_attempt=now - 30 * 86400),
    ])
    specs = [Spec("fine"), Spec("down"), Spec("quiet"), Spec("fresh")]
    states = store.get_many([(s.id, s.url) for s in specs])
    result = api.feeds(specs, states, lambda state, at: assess(state, at, ProducerSettings()), now)
    assert [(f["id"], f["status"]) for f in result["feeds"]] == [
        ("down", "broken"), ("quiet", "stale"), ("fresh", "new"), ("fine", "ok")]
    assert result["broken"] == ["down"] and result["stale"] == ["quiet"]
    assert result["feeds"][0]["error_streak"] == 7 and "HTTP 503" in result["feeds"][0]["reason"]
    assert result["feeds"][3]["items_per_day"] == 24.0
    assert result["feeds"][3]["moved_to"] == "https://fine.test/feed.xml" and result["feeds"][0]["moved_to"] is None
    store.close()


def test_fill_buckets_puts_empty_weeks_back_from_monday():
    monday = datetime(2026, 3, 2, tzinfo=UTC)
    buckets = [(monday, {"all": 2}), (monday + timedelta(weeks=2), {"all": 1})]
    filled = api.fill_buckets(buckets, "week", None, None, NOW)
    assert [(start.day, counts["all"]) for start, counts in filled] == [(2, 2), (9, 0), (16, 1)]
    since = datetime(2026, 2, 25, 15, tzinfo=UTC)  # a Wednesday
    assert api.fill_buckets(buckets, "week", since, None, NOW)[0][0] == datetime(2026, 2, 23, tzinfo=UTC)
    assert api.fill_buckets([], "day", None, None, NOW) == []
    long_ago = NOW - timedelta(days=3000)
    assert api.fill_buckets(buckets, "day", long_ago, None, NOW) == buckets  # too many: left alone


def test_fill_buckets_fits_all_time_to_the_data_and_keeps_a_chosen_range():
    old = datetime(2024, 5, 6, tzinfo=UTC)
    buckets = [(old, {"all": 1}), (old + timedelta(days=3), {"all": 2})]
    assert [start.day for start, _ in api.fill_buckets(buckets, "day", None, None, NOW)] == [6, 7, 8, 9]
    until = datetime(2024, 5, 13, tzinfo=UTC)  # to=2024-05-12: that whole day
    chosen = api.fill_buckets(buckets, "day", datetime(2024, 5, 1, tzinfo=UTC), until, NOW)
    assert (chosen[0][0].day, chosen[-1][0].day, len(chosen)) == (1, 12, 12)
    assert api.fill_buckets(buckets, "day", None, until, NOW)[-1][0].day == 12
    weeks = [(old, {"all": 1})]
    assert api.fill_buckets(weeks, "week", old, None, NOW)[-1][0] == datetime(2026, 3, 9, tzinfo=UTC)  # a start: to now


class CountingHistograms(CountingIndex):
    def __init__(self, index) -> None:
        super().__init__(index)
        self.intervals: list[str] = []

    def histogram(self, query, filters, *, interval, now=None):
        self.intervals.append(interval)
        return self.index.histogram(query, filters, interval=interval, now=now)


@pytest.mark.parametrize("days, interval, asked", [
    (10, "day", ["week", "day"]), (120, "day", ["week", "day"]), (121, "week", ["week", "day"]),
    (127, "week", ["week", "day"]), (140, "week", ["week"]), (400, "week", ["week"]),
])
def test_all_time_bars_are_weekly_beyond_120_days_and_weeks_are_asked_first(days, interval, asked):
    first = datetime(2025, 3, 5, 12, tzinfo=UTC)  # a Wednesday: the weeks start two days before
    store = MemoryIndex()
    store.index([doc(1, (NOW - first).total_seconds() / 3600, "Dawn", "first"),
                 doc(2, (NOW - first).total_seconds() / 3600 - days * 24, "Geo", "last")])
    store.flush()
    counting = CountingHistograms(store)
    histogram = api.search(counting, api.parse_search({}, NOW, TOPICS), NOW)["histogram"]
    assert (histogram["interval"], counting.intervals) == (interval, asked)
    assert sum(b["counts"]["all"] for b in histogram["buckets"]) == 2


def test_all_time_histogram_runs_from_the_first_to_the_last_bucket_with_stories(tmp_path: Path):
    store = SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}")
    store.index(OLD_DOCS)
    store.flush()
    histogram = run(store)["histogram"]
    assert histogram["interval"] == "day"
    starts = [b["start"] for b in histogram["buckets"]]
    assert (starts[0], starts[-1], len(starts)) == ("2024-04-09T00:00:00Z", "2024-04-29T00:00:00Z", 21)
    assert [b["counts"]["all"] for b in histogram["buckets"] if b["counts"]["all"]] == [1, 1, 1]
    month = run(store, **{"from": "2024-04-01", "to": "2024-04-30"})["histogram"]["buckets"]
    assert (month[0]["start"], month[-1]["start"]) == ("2024-04-01T00:00:00Z", "2024-04-30T00:00:00Z")
    store.close()


def test_the_answer_says_how_the_query_was_read_and_warns_of_a_mixed_operator_trap(index):
    trap = run(index, q="copper OR gold AND Balochistan")
    assert trap["reading"] == "+gold +balochistan copper"
    assert len(trap["hints"]) == 1 and "add parentheses" in trap["hints"][0]
    clear = run(index, q="(copper OR gold) AND Balochistan")
    assert clear["reading"] == "+(copper gold) +balochistan" and clear["hints"] == []
