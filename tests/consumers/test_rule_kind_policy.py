"""The rule kinds' pure decisions: windows on event time, closing and lateness, key values, the
trailing average and its floor, and when a term is new."""

import pytest

from consumers.rule_kinds.policy import (
    closed_bound,
    event_time,
    fires_closed,
    fires_open,
    is_late,
    key_values,
    term_alerts,
    term_is_new,
    trailing_average,
    window_of,
    windows_to_close,
)
from pipeline.alerting.rules import RuleSpec

H = 3600.0
SPIKE = RuleSpec(name="s", kind="spike", window=H, grace=600.0, baseline_windows=24, min_stories=5, ratio=3.0,
                 baseline_floor=1.0)


def test_event_time_is_published_else_fetched():
    assert event_time({"published": "2026-01-02T10:00:00Z", "fetched_at": "2026-01-02T11:00:00Z"}) == 1767348000.0
    assert event_time({"published": None, "fetched_at": "2026-01-02T11:00:00Z"}) == 1767351600.0
    assert event_time({"@timestamp": "2026-01-02T10:00:00Z", "fetched_at": "2026-01-02T11:00:00Z"}) == 1767348000.0


def test_windows_close_after_their_grace_and_later_items_are_late():
    assert window_of(7 * H + 5, H) == (7 * H, 8 * H)
    assert closed_bound(8 * H + 599, SPIKE) == 7 * H and closed_bound(8 * H + 600, SPIKE) == 8 * H
    assert not is_late(7 * H, H, None)  # nothing closed yet: everything counts
    assert is_late(7 * H, H, 8 * H) and not is_late(8 * H, H, 8 * H)
    assert windows_to_close(5 * H, 8 * H, H) == [5 * H, 6 * H, 7 * H]
    assert windows_to_close(0, 100 * H, H, cap=2) == [98 * H, 99 * H]  # after a long downtime, the last ones


def test_key_values_are_distinct_case_insensitive_and_keep_the_first_spelling():
    doc = {"locations": [{"name": "Quetta"}, {"name": "quetta"}, {"name": "Kech"}], "countries": ["PK"],
           "entities": {"groups": ["TTP", " "]}, "source": "Dawn", "topics": []}
    assert [(v.key, v.label) for v in key_values(doc, "locations.name")] == [("quetta", "Quetta"), ("kech", "Kech")]
    assert [v.label for v in key_values(doc, "entities.groups")] == ["TTP"]
    assert [v.label for v in key_values(doc, "source")] == ["Dawn"]
    assert key_values(doc, "topics") == [] and [v.key for v in key_values(doc, None)] == [""]


def test_trailing_average_over_the_history_there_is():
    counts = {(100 - i) * H: 2 for i in range(1, 30)}
    assert trailing_average(counts, 100 * H, SPIKE, first=0.0) == 2.0
    assert trailing_average({99 * H: 6}, 100 * H, SPIKE, first=97 * H) == 2.0  # three windows of history
    assert trailing_average({}, 100 * H, SPIKE, first=100 * H) == 0.0
    assert trailing_average({}, 100 * H, SPIKE, first=None) == 0.0


@pytest.mark.parametrize("count, baseline, fires", [
    (5, 2.0, False), (6, 2.0, True), (4, 0.0, False), (5, 0.0, True),  # the floor (1) stands in for no history
    (11, 4.0, False), (12, 4.0, True),
])
def test_spike_needs_min_stories_and_the_ratio_over_the_floored_average(count, baseline, fires):
    assert fires_open(SPIKE, count, baseline) is fires


def test_frequency_and_flatline_thresholds():
    frequency = RuleSpec(name="f", kind="frequency", window=H, min_stories=3)
    flatline = RuleSpec(name="q", kind="flatline", window=H, min_stories=3)
    assert [fires_open(frequency, n, None) for n in (2, 3)] == [False, True]
    assert [fires_closed(flatline, n) for n in (0, 2, 3)] == [True, True, False]
    assert not fires_closed(frequency, 0) and not fires_open(flatline, 10, None)


def test_a_term_is_new_when_unseen_in_the_lookback():
    day = 86400.0
    assert term_is_new(None, 100 * day, 30 * day)
    assert not term_is_new(80 * day, 100 * day, 30 * day) and term_is_new(69 * day, 100 * day, 30 * day)
    rule = RuleSpec(name="t", kind="new_term", term_field="entities.groups", lookback=30 * day, warmup=day)
    assert not term_alerts(rule, 10.5 * day, 11 * day, started=10 * day)  # still learning
    assert term_alerts(rule, 12 * day, 12 * day, started=10 * day)
    assert not term_alerts(rule, 12 * day, 50 * day, started=10 * day)  # a story older than the lookback
