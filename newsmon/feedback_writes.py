"""Recording analysts' verdicts, shared by ``newsmon label`` and the search page's ``POST /api/label``.

Both find the index documents a verdict applies to (one item, or every item of a story), then
:func:`write_verdicts` stores the verdicts in the feedback store and writes each document again with
its standing verdicts as ``feedback: {topic: yes|no}``. The callers check everything first, so a
refused request writes nothing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipeline.feedback import Verdict, by_item, with_feedback
from pipeline.query import parse_query
from pipeline.transport.base import Rejection, SearchFilters, SearchIndex
from pipeline.transport.sqlite_feedback import FeedbackStore

__all__ = ["STORY_LIMIT", "Written", "story_documents", "write_verdicts", "given_by"]

STORY_LIMIT = 1000


@dataclass(frozen=True)
class Written:
    """What :func:`write_verdicts` did: the verdicts stored, each document's standing verdicts
    (item id -> topic -> yes|no) and the documents the index refused."""

    verdicts: list[Verdict]
    feedback: dict[str, dict[str, str]]
    refused: list[Rejection]

    def refusal(self) -> str:
        """The one line saying that the index refused documents (when :attr:`refused` is not empty)."""
        return (f"the verdicts are kept, but the index refused {len(self.refused)} document(s):"
                f" {self.refused[0].reason} (`newsmon setup` brings the index up to date; then label again)")


def story_documents(index: SearchIndex, story_id: str) -> list[dict[str, Any]]:
    """The index documents of one story (up to :data:`STORY_LIMIT`); empty for an unknown story."""
    escaped = story_id.replace("\\", "\\\\").replace('"', '\\"')
    found = index.search(parse_query(f'story_id:"{escaped}"'), SearchFilters(), limit=STORY_LIMIT,
                         now=datetime.now(UTC))
    return [hit.doc for hit in found.hits]


def write_verdicts(index: SearchIndex, store: FeedbackStore, docs: Sequence[dict[str, Any]],
                   changes: Sequence[tuple[str, str | None]], who: str, at: float | None = None) -> Written:
    """Record ``changes`` ((topic, yes|no|None), None withdrawing) on every document of ``docs`` by
    ``who``, then index each document again with its standing verdicts and flush."""
    at = time.time() if at is None else at
    verdicts = [Verdict(doc["id"], topic, verdict, who, at, doc.get("story_id") or doc["id"])
                for doc in docs for topic, verdict in changes]
    store.record(verdicts)
    standing = by_item(store.for_items([doc["id"] for doc in docs]))
    feedback = {doc["id"]: standing.get(doc["id"], {}) for doc in docs}
    index.index([with_feedback(doc, feedback[doc["id"]]) for doc in docs])
    return Written(verdicts, feedback, index.flush())


def given_by(store: FeedbackStore, item_ids: Sequence[str]) -> dict[str, dict[str, str]]:
    """Who gave each standing verdict of these items: item id -> topic -> who."""
    found: dict[str, dict[str, str]] = {}
    for verdict in store.for_items(item_ids):
        found.setdefault(verdict.item_id, {})[verdict.topic] = verdict.who
    return found
