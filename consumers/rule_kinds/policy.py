"""The decisions of the windowed and new-term rule kinds, free of I/O.

Windows are on the item's *event time* (``published``, else ``fetched_at``: the index document's
``@timestamp``), ``[k·window, (k+1)·window)`` in Unix seconds (aligned on UTC, like digests). A
window stays open for ``grace`` seconds after it ends; an alerter *closes* the windows that ended
more than ``grace`` ago (:func:`closed_bound`) when it has caught up with the log, and records how far
it closed them (the rule's *mark*). An item whose window ends at or before the mark is late
(:func:`is_late`): it is not counted.

- ``spike`` fires on a key's window when its distinct stories reach ``min_stories`` and ``ratio``
  times the trailing average of the previous ``baseline_windows`` windows (windows before the rule's
  first story do not count; the average is at least ``baseline_floor``): :func:`fires_open`;
- ``frequency`` fires when they reach ``min_stories`` (:func:`fires_open`);
- both decide as each story is counted, so they fire as the threshold is crossed, not at the end;
- ``flatline`` decides when a window is closed: fewer than ``min_stories`` (:func:`fires_closed`);
- ``new_term`` fires on the first story naming a value never named in the ``lookback`` before it
  (:func:`term_is_new`), once ``warmup`` has passed since the rule's first story and unless the story
  is itself older than ``lookback`` (:func:`term_alerts`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.alerting.rules import RuleSpec
from pipeline.item import parse_time

__all__ = ["CATCH_UP_WINDOWS", "KeyValue", "event_time", "window_of", "closed_bound", "is_late", "windows_to_close",
           "key_values", "trailing_average", "fires_open", "fires_closed", "term_is_new", "term_alerts",
           "history_start"]

CATCH_UP_WINDOWS = 24  # after a downtime, at most this many missed flatline windows are evaluated


def event_time(doc: Mapping[str, Any]) -> float:
    """Unix seconds of the item's event time: ``@timestamp``, else ``published``, else ``fetched_at``."""
    stamp = doc.get("@timestamp") or doc.get("published") or doc["fetched_at"]
    return parse_time(stamp, "@timestamp").timestamp()


def window_of(moment: float, length: float) -> tuple[float, float]:
    """The window holding ``moment``: ``[k·length, (k+1)·length)``."""
    start = math.floor(moment / length) * length
    return start, start + length


def closed_bound(now: float, rule: RuleSpec) -> float:
    """The end of the latest window whose grace is over at ``now``: every window ending at or before
    it may be closed."""
    assert rule.window is not None
    return math.floor((now - rule.grace) / rule.window) * rule.window


def is_late(start: float, length: float, mark: float | None) -> bool:
    """Whether the window ``[start, start + length)`` was closed already (it ends at or before the mark)."""
    return mark is not None and start + length <= mark


def windows_to_close(mark: float, bound: float, length: float, cap: int = CATCH_UP_WINDOWS) -> list[float]:
    """The starts of the windows a close from ``mark`` to ``bound`` evaluates, at most the last ``cap``."""
    count = max(0, round((bound - mark) / length))
    first = max(0, count - cap)
    return [mark + i * length for i in range(first, count)]


@dataclass(frozen=True)
class KeyValue:
    key: str  # case-folded: what windows and terms are counted under
    label: str  # as the item wrote it, for messages


def _field_values(doc: Mapping[str, Any], field: str) -> Iterable[Any]:
    if field == "source":
        return [doc.get("source")]
    if field == "locations.name":
        return [loc.get("name") for loc in doc.get("locations") or () if isinstance(loc, Mapping)]
    if field.startswith("entities."):
        return (doc.get("entities") or {}).get(field.split(".", 1)[1]) or ()
    return doc.get(field) or ()  # countries, topics


def key_values(doc: Mapping[str, Any], field: str | None) -> list[KeyValue]:
    """The distinct values of ``field`` the item names (case-insensitive, first spelling kept); one
    value ``""`` when the rule has no ``group_by``; none when the item names no value."""
    if field is None:
        return [KeyValue("", "")]
    seen: dict[str, KeyValue] = {}
    for value in _field_values(doc, field):
        label = str(value or "").strip()
        if label and label.casefold() not in seen:
            seen[label.casefold()] = KeyValue(label.casefold(), label)
    return list(seen.values())


def history_start(first_story: float | None, length: float) -> float | None:
    """The start of the window of the rule's first counted story (None: nothing counted yet)."""
    return None if first_story is None else window_of(first_story, length)[0]


def trailing_average(counts: Mapping[float, int], start: float, rule: RuleSpec, first: float | None) -> float:
    """The mean of the key's story counts over the ``baseline_windows`` windows before ``start``, or
    over fewer when the rule's history (from the window ``first``) is shorter; 0 without history."""
    assert rule.window is not None
    available = 0 if first is None else round((start - first) / rule.window)
    windows = min(rule.baseline_windows, available)
    if windows <= 0:
        return 0.0
    return sum(counts.get(start - i * rule.window, 0) for i in range(1, windows + 1)) / windows


def fires_open(rule: RuleSpec, count: int, baseline: float | None) -> bool:
    """spike and frequency, as a story is counted: does the window fire now?"""
    if count < rule.min_stories:
        return False
    if rule.kind == "spike":
        return count / max(baseline or 0.0, rule.baseline_floor) >= rule.ratio
    return rule.kind == "frequency"


def fires_closed(rule: RuleSpec, count: int) -> bool:
    """flatline, when its window is closed: fewer stories than ``min_stories``."""
    return rule.kind == "flatline" and count < rule.min_stories


def term_is_new(last_seen: float | None, moment: float, lookback: float) -> bool:
    """Whether a value last named at ``last_seen`` (None: never, or forgotten) is new at ``moment``."""
    return last_seen is None or moment - last_seen > lookback


def term_alerts(rule: RuleSpec, moment: float, now: float, started: float) -> bool:
    """Whether a new value alerts: not while the rule learns (``warmup`` from its first story, on event
    time), and not from a story older than ``lookback`` (a back-dated item: no first mention *now*)."""
    return moment >= started + rule.warmup and moment >= now - rule.lookback
