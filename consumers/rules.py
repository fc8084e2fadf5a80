"""Rule policy, free of I/O: does an item match a rule, and should a match alert now?

Matching (:func:`rule_matches`) applies a rule's filters to an index document: topics (any of),
``min_score`` (the best score among the rule's topics, or among all topics), countries (any of),
sources (any of, case-insensitive), entities (for every kind listed, any of the names,
case-insensitive), then the Lucene query.

Deciding (:func:`decide`) turns a match into a :class:`Verdict` from the story's history:

- a story alerts once per rule; with ``realert``, a later item of the same story may alert
  again once ``realert`` seconds have passed since the story's last alert (a follow-up);
- the same item never alerts twice for a rule (replays, several alerter processes): the store
  records every (rule, item) match and asks :func:`decide` only for new ones;
- a silenced rule or story records the match and sends nothing;
- with ``digest``, an alerting story joins the rule's digest for the window it falls in
  (:func:`digest_window`, windows aligned on the Unix epoch) instead of alerting on its own.

:func:`backtest` replays documents in ingest order through the same :func:`decide`, for
``newsmon rules test``. Rules of the other kinds (spike, frequency, flatline, new_term) are matched
here too, and decided in :mod:`consumers.rule_kinds`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from pipeline.alerting.rules import RuleSpec
from pipeline.item import parse_time
from pipeline.query import PreparedDocument, Query, matches_prepared, parse_query, prepare

__all__ = [
    "CompiledRule", "compile_rules", "rule_matches", "Verdict", "StoryHistory", "Decision", "decide",
    "digest_window", "BacktestItem", "BacktestStory", "backtest", "ingested",
]


@dataclass(frozen=True)
class CompiledRule:
    spec: RuleSpec
    query: Query


def compile_rules(rules: Sequence[RuleSpec]) -> list[CompiledRule]:
    return [CompiledRule(rule, parse_query(rule.query)) for rule in rules]


def _folded(values: Iterable[Any]) -> set[str]:
    return {str(v).casefold() for v in values}


def _filters_pass(spec: RuleSpec, doc: dict[str, Any]) -> bool:
    topics = spec.topics
    if topics and not set(topics) & set(doc.get("topics") or ()):
        return False
    scores = doc.get("scores") or {}
    considered = [scores.get(t, 0.0) for t in (topics or scores)]
    if spec.min_score and max(considered, default=0.0) < spec.min_score:
        return False
    if spec.countries and not set(spec.countries) & {c.upper() for c in doc.get("countries") or ()}:
        return False
    if spec.sources and not _folded(spec.sources) & _folded([doc.get("source") or ""]):
        return False
    entities = doc.get("entities") or {}
    return all(_folded(names) & _folded(entities.get(kind) or ()) for kind, names in spec.entities.items())


def rule_matches(rule: CompiledRule, doc: PreparedDocument) -> bool:
    r"""Whether the index document (:func:`pipeline.query.prepare`\ d once for all rules) passes the
    rule's filters and query (``enabled`` is not checked)."""
    return _filters_pass(rule.spec, doc.doc) and matches_prepared(rule.query, doc)


class Verdict(str, Enum):
    ALERT = "alert"  # a message for this story now
    DIGEST = "digest"  # the story joins the rule's digest for the current window
    DUPLICATE = "duplicate"  # the story alerted already (within the realert window, or ever)
    SILENCED = "silenced"  # the rule or the story is silenced


@dataclass(frozen=True)
class StoryHistory:
    """What the store knows about (rule, story) when a new item of it matches."""

    last_seq: int | None = None  # the last alert's sequence number; None = never alerted
    last_alert_at: float | None = None  # Unix seconds
    silenced_until: float | None = None  # the latest silence covering the rule or the story


@dataclass(frozen=True)
class Decision:
    verdict: Verdict
    seq: int = 0  # the story's alert number for this rule: 0, then 1, 2... on realerts
    window: tuple[float, float] | None = None  # digest window [start, end), Unix seconds

    @property
    def alerts(self) -> bool:
        return self.verdict in (Verdict.ALERT, Verdict.DIGEST)


def digest_window(now: float, length: float) -> tuple[float, float]:
    """The digest window holding ``now``: ``[k·length, (k+1)·length)`` in Unix seconds."""
    start = math.floor(now / length) * length
    return start, start + length


def decide(rule: RuleSpec, history: StoryHistory, now: float) -> Decision:
    """The verdict on a new (rule, item) match, given its story's history."""
    if history.silenced_until is not None and history.silenced_until > now:
        return Decision(Verdict.SILENCED)
    if history.last_seq is None:
        seq = 0
    elif rule.realert is not None and now - (history.last_alert_at or 0.0) >= rule.realert:
        seq = history.last_seq + 1
    else:
        return Decision(Verdict.DUPLICATE, history.last_seq)
    if rule.digest is not None:
        return Decision(Verdict.DIGEST, seq, digest_window(now, rule.digest))
    return Decision(Verdict.ALERT, seq)


@dataclass(frozen=True)
class BacktestItem:
    doc: dict[str, Any]
    ingested: float  # Unix seconds (the document's indexed_at)
    decision: Decision


@dataclass
class BacktestStory:
    story_id: str
    items: list[BacktestItem] = field(default_factory=list)

    @property
    def alerts(self) -> int:
        return sum(1 for i in self.items if i.decision.alerts)


def ingested(doc: dict[str, Any]) -> float:
    """Unix seconds when the document reached newsmon: ``indexed_at``, else ``classified_at``, else ``fetched_at``."""
    stamp = doc.get("indexed_at") or doc.get("classified_at") or doc.get("fetched_at")
    return parse_time(stamp, "indexed_at").timestamp() if stamp else 0.0


def backtest(rule: CompiledRule, docs: Iterable[dict[str, Any]], now: datetime) -> list[BacktestStory]:
    """Replay documents in ingest order (``indexed_at``) through the rule as the alerter would
    have, without silences; stories in the order they first matched."""
    stories: dict[str, BacktestStory] = {}
    history: dict[str, StoryHistory] = {}
    for doc in sorted(docs, key=ingested):
        if not rule_matches(rule, prepare(doc, now)):
            continue
        story_id, arrived = doc.get("story_id") or doc["id"], ingested(doc)
        decision = decide(rule.spec, history.get(story_id, StoryHistory()), arrived)
        if decision.alerts:
            history[story_id] = StoryHistory(decision.seq, arrived)
        stories.setdefault(story_id, BacktestStory(story_id)).items.append(BacktestItem(doc, arrived, decision))
    return list(stories.values())
