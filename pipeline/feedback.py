"""Analysts' verdicts on an item's topics (pure): ``yes`` (on topic) or ``no`` (not on topic), by whom
and when, and what they do to an index document and to a training row.

The latest verdict per (item, topic) wins; withdrawing one leaves the topic as the classifier put it.
On the index document the verdicts are ``feedback.<topic>: yes|no`` (searchable, e.g.
``feedback.counterterrorism:no``); in a training or eval row (the ``newsmon eval`` format) a verdict
decides the topic's label and ``verdicts`` keeps what the analysts said.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.errors import UserInputError

__all__ = ["VERDICTS", "Verdict", "parse_topic_verdicts", "by_item", "with_feedback", "labelled_row",
           "merge_training_rows"]

VERDICTS = ("yes", "no")


@dataclass(frozen=True)
class Verdict:
    """One analyst's word on one topic of one item; ``verdict`` None records a withdrawal."""

    item_id: str
    topic: str
    verdict: str | None
    who: str
    at: float  # Unix seconds
    story_id: str = ""  # the item's story when it was given, so a rule can skip the story's later items


def parse_topic_verdicts(values: Sequence[str], topics: Iterable[str]) -> dict[str, str]:
    """``["counterterrorism=yes", "minerals_cooperation=no"]`` -> {topic: verdict}; a bad one is a
    UserInputError naming it (nothing is written before every value was read)."""
    known = list(topics)
    found: dict[str, str] = {}
    for value in values:
        topic, sign, verdict = value.partition("=")
        if not sign:
            raise UserInputError(f"--topic {value}: expected TOPIC=yes or TOPIC=no")
        if topic not in known:
            raise UserInputError(f"--topic {value}: unknown topic {topic!r} (known: {', '.join(known)})")
        if verdict not in VERDICTS:
            raise UserInputError(f"--topic {value}: expected yes or no, got {verdict!r}")
        found[topic] = verdict
    return found


def by_item(verdicts: Iterable[Verdict]) -> dict[str, dict[str, str]]:
    """Standing verdicts grouped for the documents: item id -> topic -> yes|no (withdrawals left out)."""
    found: dict[str, dict[str, str]] = {}
    for verdict in verdicts:
        if verdict.verdict is not None:
            found.setdefault(verdict.item_id, {})[verdict.topic] = verdict.verdict
    return found


def with_feedback(doc: dict[str, Any], verdicts: Mapping[str, str]) -> dict[str, Any]:
    """The index document with its verdicts as ``feedback`` (the field goes when none is left)."""
    updated = {key: value for key, value in doc.items() if key != "feedback"}
    if verdicts:
        updated["feedback"] = dict(sorted(verdicts.items()))
    return updated


def labelled_row(doc: Mapping[str, Any], verdicts: Mapping[str, str]) -> dict[str, Any]:
    """An eval/train row of the item: its texts, its topics as the classifier gave them corrected by
    the verdicts, and the verdicts themselves."""
    labels = [t for t in doc.get("topics") or [] if verdicts.get(t) != "no"]
    labels += [t for t, v in sorted(verdicts.items()) if v == "yes" and t not in labels]
    return {"id": doc.get("id"), "source": doc.get("source") or "", "title": doc.get("title") or "",
            "summary": doc.get("summary") or "", "body": doc.get("body"), "labels": labels,
            "countries": list(doc.get("countries") or []), "verdicts": dict(sorted(verdicts.items()))}


def merge_training_rows(rows: Sequence[dict[str, Any]], feedback: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The training rows with the exported verdicts applied: for an item in both, each verdict
    decides its topic's label over the corpus label (the other topics keep theirs); an item only in
    the export is added with its labels."""
    by_id = {row["id"]: row for row in feedback if row.get("id")}
    merged = []
    for row in rows:
        extra = by_id.pop(row.get("id"), None) if row.get("id") else None
        if extra is None:
            merged.append(row)
            continue
        verdicts = extra.get("verdicts") or {}
        labels = [t for t in row.get("labels") or [] if verdicts.get(t) != "no"]
        labels += [t for t, v in sorted(verdicts.items()) if v == "yes" and t not in labels]
        merged.append({**row, "labels": labels})
    return merged + list(by_id.values())
