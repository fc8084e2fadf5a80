"""Analysts' verdicts on the search page: ``POST /api/label`` and what the read answers show of them.

:func:`parse_label` reads and checks the JSON body (a bad field raises :class:`UserInputError`
naming it); :func:`label` finds the item or every item of the story (unknown: :class:`NotFound`)
and records the verdict through :func:`newsmon.feedback_writes.write_verdicts`, exactly as
``newsmon label`` does. :func:`add_given_by` puts who gave each standing verdict on item views, and
:func:`feedback_facet` counts the verdicts among a search's matches.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from newsmon.feedback_writes import given_by, story_documents, write_verdicts
from pipeline.errors import NewsmonError, UserInputError
from pipeline.feedback import VERDICTS
from pipeline.query import parse_query
from pipeline.transport.base import IndexReader, SearchFilters, SearchIndex
from pipeline.transport.sqlite_feedback import FeedbackStore

__all__ = ["MAX_BODY", "MAX_WHO", "LabelRequest", "parse_label", "label", "add_given_by", "feedback_facet"]

MAX_BODY = 16 * 1024  # bytes of a POST body
MAX_WHO = 64
_MAX_ID = 512
_FIELDS = ("item_id", "story_id", "topic", "verdict", "who")
_PLAIN_TOPIC = re.compile(r"^[A-Za-z0-9_]+$")


class NotFound(UserInputError):
    """The item or story named does not exist (HTTP 404)."""


@dataclass(frozen=True)
class LabelRequest:
    item_id: str | None
    story_id: str | None
    topic: str
    verdict: str | None  # None withdraws
    who: str


def _identifier(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > _MAX_ID:
        raise UserInputError(f"{name}: expected a non-empty string of at most {_MAX_ID} characters")
    return value


def _who(body: dict[str, Any]) -> str:
    value = body.get("who")
    if value is None or value == "":
        return "web"
    if not isinstance(value, str) or len(value) > MAX_WHO or not value.strip() or not value.isprintable():
        raise UserInputError(f"who: expected a name of 1 to {MAX_WHO} printable characters")
    return value.strip()


def _body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UserInputError("body: not UTF-8") from None
    except json.JSONDecodeError as exc:
        raise UserInputError(f"body: not JSON ({exc.msg} at character {exc.pos})") from None
    if not isinstance(body, dict):
        raise UserInputError('body: expected a JSON object like {"story_id": "…", "topic": "…", "verdict": "no"}')
    unknown = [key for key in body if key not in _FIELDS]
    if unknown:
        raise UserInputError(f"{str(unknown[0])[:40]}: unknown field (known: {', '.join(_FIELDS)})")
    return body


def parse_label(raw: bytes, topics: Sequence[str]) -> LabelRequest:
    """The verdict a ``POST /api/label`` body asks for; UserInputError naming the first bad field."""
    body = _body(raw)
    item_id, story_id = _identifier(body, "item_id"), _identifier(body, "story_id")
    if bool(item_id) == bool(story_id):
        raise UserInputError("item_id: give item_id or story_id (one of them)")
    topic = body.get("topic")
    if not isinstance(topic, str) or topic not in topics:
        shown = repr(topic)[:80] if topic is not None else "nothing"
        raise UserInputError(f"topic: unknown topic {shown} (known: {', '.join(topics)})")
    if "verdict" not in body or (body["verdict"] is not None and body["verdict"] not in VERDICTS):
        shown = repr(body.get("verdict"))[:40] if "verdict" in body else "nothing"
        raise UserInputError(f'verdict: expected "yes", "no" or null (to withdraw), got {shown}')
    return LabelRequest(item_id, story_id, topic, body["verdict"], _who(body))


def _targets(index: SearchIndex, request: LabelRequest) -> list[dict[str, Any]]:
    if request.item_id:
        doc = index.get(request.item_id)
        if doc is None:
            raise NotFound(f"item_id: no such item in the index: {request.item_id[:80]!r}")
        return [doc]
    docs = story_documents(index, str(request.story_id))
    if not docs:
        raise NotFound(f"story_id: no such story in the index: {str(request.story_id)[:80]!r}")
    return docs


def label(index: SearchIndex, store: FeedbackStore, request: LabelRequest) -> dict[str, Any]:
    """Record the verdict on the item or on every item of the story; answer each item's standing
    verdicts (``feedback``) and who gave them (``feedback_by``)."""
    docs = _targets(index, request)  # everything is checked before anything is written
    written = write_verdicts(index, store, docs, [(request.topic, request.verdict)], request.who)
    if written.refused:
        raise NewsmonError(written.refusal())
    by = given_by(store, list(written.feedback))
    items = [{"id": doc["id"], "story_id": doc.get("story_id") or doc["id"], "feedback": written.feedback[doc["id"]],
              "feedback_by": by.get(doc["id"], {})} for doc in docs]
    return {"item_id": request.item_id, "story_id": request.story_id, "topic": request.topic,
            "verdict": request.verdict, "who": request.who, "items": items}


def add_given_by(views: Sequence[dict[str, Any]], store: Callable[[], FeedbackStore] | None) -> None:
    """Fill ``feedback_by`` (topic -> who) of the item views that carry verdicts; the feedback store
    is asked only when one does."""
    with_verdicts = [view for view in views if view.get("feedback")]
    if not with_verdicts or store is None:
        return
    by = given_by(store(), [view["id"] for view in with_verdicts])
    for view in with_verdicts:
        view["feedback_by"] = by.get(view["id"], {})


def _any_verdict(index: IndexReader, text: str, filters: SearchFilters, topics: Sequence[str],
                 now: datetime) -> bool:
    clause = " OR ".join(f"_exists_:feedback.{topic}" for topic in topics)
    try:
        query = parse_query(f"({text}) AND ({clause})" if text.strip() else clause)
    except UserInputError:
        return False
    return index.search(query, filters, limit=1, now=now).total > 0


def feedback_facet(index: IndexReader, text: str, filters: SearchFilters, topics: Sequence[str],
                   now: datetime) -> list[list[Any]]:
    """``[["counterterrorism:no", items], …]``: the matching items carrying each verdict (none left out
    when zero), for the topics whose names can stand in a query unquoted."""
    found: list[list[Any]] = []
    plain = [t for t in topics if _PLAIN_TOPIC.match(t)]
    if not plain or not _any_verdict(index, text, filters, plain, now):
        return found  # one search answers the usual case: no matching item carries a verdict
    for topic in plain:
        for verdict in VERDICTS:
            clause = f"feedback.{topic}:{verdict}"
            try:
                query = parse_query(f"({text}) AND {clause}" if text.strip() else clause)
            except UserInputError:
                return []
            total = index.search(query, filters, limit=1, now=now).total
            if total:
                found.append([f"{topic}:{verdict}", total])
    return found
