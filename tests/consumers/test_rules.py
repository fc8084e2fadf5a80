"""Rule policy without I/O: filters, the realert/digest/silence decision table, and the backtest."""

from datetime import UTC, datetime, timezone

import pytest

from consumers.rules import (
    Decision,
    StoryHistory,
    Verdict,
    backtest,
    compile_rules,
    decide,
    digest_window,
    rule_matches,
)
from pipeline.alerting.rules import RuleSpec
from pipeline.document import index_document
from pipeline.query import prepare
from tests.factories import make_classified

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


def doc(**overrides):
    values = dict(title="TTP attack in Quetta", source="Dawn", topics=("counterterrorism",),
                  scores={"counterterrorism": 0.8, "minerals_cooperation": 0.2}, countries=("PK",),
                  entities={"persons": [], "organizations": [], "places": ["Quetta"],
                            "groups": ["Tehreek-e-Taliban Pakistan"]},
                  story_id="s1")
    values.update(overrides)
    return index_document(make_classified(**values), NOW)


def matches(**rule):
    return rule_matches(compile_rules([RuleSpec(name="r", **rule)])[0], prepare(doc(), NOW))


@pytest.mark.parametrize("rule, expected", [
    ({}, True),
    ({"query": "Quetta"}, True),
    ({"query": "Lahore"}, False),
    ({"topics": ("counterterrorism",)}, True),
    ({"topics": ("minerals_cooperation",)}, False),
    ({"topics": ("counterterrorism",), "min_score": 0.9}, False),
    ({"min_score": 0.8}, True),
    ({"countries": ("US", "PK")}, True),
    ({"countries": ("US",)}, False),
    ({"sources": ("dawn",)}, True),
    ({"sources": ("Geo",)}, False),
    ({"entities": {"groups": ("tehreek-e-taliban pakistan",)}}, True),
    ({"entities": {"groups": ("TTP",), "places": ("Quetta",)}}, False),
    ({"entities": {"places": ("Quetta", "Peshawar")}}, True),
], ids=str)
def test_filters(rule, expected):
    assert matches(**rule) is expected


def test_decision_table():
    once, realert = RuleSpec(name="r"), RuleSpec(name="r", realert=3600)
    digest = RuleSpec(name="r", digest=900, realert=3600)
    assert decide(once, StoryHistory(), 100.0).verdict is Verdict.ALERT
    assert decide(once, StoryHistory(0, 0.0), 10 ** 9).verdict is Verdict.DUPLICATE
    assert decide(realert, StoryHistory(0, 0.0), 3599.0).verdict is Verdict.DUPLICATE
    assert decide(realert, StoryHistory(0, 0.0), 3600.0) == Decision(Verdict.ALERT, 1)
    assert decide(digest, StoryHistory(), 1000.0).window == (900.0, 1800.0)
    assert decide(digest, StoryHistory(2, 0.0), 4000.0).seq == 3
    assert decide(once, StoryHistory(silenced_until=200.0), 100.0).verdict is Verdict.SILENCED
    assert decide(once, StoryHistory(silenced_until=100.0), 100.0).verdict is Verdict.ALERT


def test_digest_windows_are_aligned_on_the_epoch():
    assert digest_window(7201.0, 3600) == (7200.0, 10800.0)
    assert digest_window(7200.0, 3600) == (7200.0, 10800.0)


def indexed(item_id, story, at, title="Blast in Quetta"):
    d = index_document(make_classified(id=item_id, title=title, story_id=story), NOW)
    d["indexed_at"] = at
    return d


def test_backtest_replays_in_ingest_order_and_shows_suppressed_items():
    docs = [indexed("b", "s1", "2026-01-01T10:30:00Z"), indexed("a", "s1", "2026-01-01T10:00:00Z"),
            indexed("c", "s2", "2026-01-01T11:00:00Z"), indexed("d", "s1", "2026-01-01T17:00:00Z"),
            indexed("x", "s3", "2026-01-01T12:00:00Z", title="Cricket in Lahore")]
    rule = compile_rules([RuleSpec(name="r", query="Quetta", realert=6 * 3600)])[0]
    stories = backtest(rule, docs, NOW)
    assert [s.story_id for s in stories] == ["s1", "s2"]
    assert [(i.doc["id"], i.decision.verdict.value, i.decision.seq) for i in stories[0].items] == [
        ("a", "alert", 0), ("b", "duplicate", 0), ("d", "alert", 1)]
    assert stories[0].alerts == 2 and stories[1].alerts == 1


def test_backtest_digest_groups_stories_by_window():
    docs = [indexed("a", "s1", "2026-01-01T10:05:00Z"), indexed("b", "s2", "2026-01-01T10:50:00Z"),
            indexed("c", "s3", "2026-01-01T11:10:00Z")]
    stories = backtest(compile_rules([RuleSpec(name="r", digest=3600)])[0], docs, NOW)
    windows = [item.decision.window for s in stories for item in s.items]
    assert windows[0] == windows[1] != windows[2]
    assert all(item.decision.verdict is Verdict.DIGEST for s in stories for item in s.items)
