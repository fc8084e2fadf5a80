"""``newsmon rules test`` for the spike, frequency, flatline and new_term kinds.

The alerter's own :class:`~consumers.rule_kinds.recorder.KindRecorder` replays the documents in
ingest order (``indexed_at``) on a throw-away state database: the clock is set to each document's
arrival, and before each arrival the windows whose grace is over are closed, as an alerter that kept
up with the log would have; at the end, those closed by now. What would have been queued is
collected instead. So the backtest decides exactly as the alerter does, lateness included, as if
the rule had been deployed when the replayed span began: its first windows have less history than
``baseline_windows``, and flatline watches the windows after the first close.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from consumers.alert_store import AlertStore, AlertTransaction
from consumers.rule_kinds.recorder import KindRecorder
from consumers.rule_kinds.state import WindowCount
from consumers.rules import CompiledRule, ingested, rule_matches
from pipeline.alerting.rules import RuleSpec
from pipeline.query import prepare

__all__ = ["KindBacktest", "backtest_kind"]

_INDEX_FIELDS = ("@timestamp", "indexed_at")  # what the index document adds to the classified item


@dataclass
class KindBacktest:
    """What a windowed or new-term rule would have done: ``fired`` holds the alert documents, in the
    order they would have been queued; ``windows`` every window that held stories, per key."""

    rule: RuleSpec
    items: int = 0  # documents that matched the rule
    verdicts: Counter[str] = field(default_factory=Counter)
    fired: list[dict[str, Any]] = field(default_factory=list)
    windows: list[WindowCount] = field(default_factory=list)
    terms: int = 0  # distinct values of a new_term rule's field seen


def _item(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in _INDEX_FIELDS}


def backtest_kind(rule: CompiledRule, docs: Iterable[dict[str, Any]], now: datetime) -> KindBacktest:
    """Replay ``docs`` through the rule (its ``kind`` is not ``item``), without silences."""
    result = KindBacktest(rule.spec)

    def collect(tx: AlertTransaction, payload: dict[str, Any], spec: RuleSpec, at: float) -> None:
        result.fired.append(payload)

    with tempfile.TemporaryDirectory(prefix="newsmon-backtest-") as tmp:
        store = AlertStore(f"sqlite:///{tmp}/state.db")
        try:
            recorder = KindRecorder([rule.spec], store, collect, quiet=True)
            for doc in sorted(docs, key=ingested):
                arrived = ingested(doc)
                recorder.close(arrived)
                if rule_matches(rule, prepare(doc, now)):
                    result.items += 1
                    result.verdicts[recorder.record(rule.spec, doc, _item(doc), arrived)] += 1
            recorder.close(now.astimezone(UTC).timestamp())
            result.windows = store.kinds().window_counts(rule.spec.name)
            result.terms = store.kinds().terms(rule.spec.name)
        finally:
            store.close()
    return result
