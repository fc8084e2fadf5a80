"""How an index document is shown: highlighted title and summary, topics with scores and evidence,
and hits folded into stories. Pure functions over plain dicts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["MODEL_PREFIX", "NEGATIVE_PREFIX", "is_web_link", "evidence_phrases", "against_phrases",
           "highlight_parts", "topic_views", "item_view", "brief_view", "group_stories"]

MODEL_PREFIX = "model:"
NEGATIVE_PREFIX = "-"  # a negative phrase that matched: "-earthquake", or "-earthquake (veto)"
_VETO_SUFFIX = " (veto)"
_SUMMARY_CHARS = 600
_MAX_PHRASES = 60
_WORD = r"[^\W_]"  # a letter or digit
_GAP = r"[\W_]+"  # what separates two words


def is_web_link(url: Any) -> bool:
    """Only http and https URLs become links on the page; anything else is shown as text."""
    return isinstance(url, str) and re.match(r"(?i)^https?://[^\s/]", url) is not None


def _positive(phrase: Any) -> bool:
    return isinstance(phrase, str) and bool(phrase.strip()) and not phrase.startswith((MODEL_PREFIX, NEGATIVE_PREFIX))


def _negative(phrase: Any) -> str | None:
    """The phrase of a negative evidence entry (``-earthquake`` -> ``earthquake``), else None."""
    if not isinstance(phrase, str) or not phrase.startswith(NEGATIVE_PREFIX):
        return None
    text = phrase[len(NEGATIVE_PREFIX):]
    text = text[:-len(_VETO_SUFFIX)] if text.endswith(_VETO_SUFFIX) else text
    return text.strip() or None


def _own_evidence(doc: dict[str, Any]) -> list[tuple[str, list[Any]]]:
    """(topic, evidence) for the topics the document has: the classifier writes evidence for every
    topic it scored, also those it did not assign."""
    evidence = doc.get("evidence") or {}
    return [(name, list(evidence.get(name) or [])) for name in doc.get("topics") or []]


def evidence_phrases(doc: dict[str, Any]) -> list[str]:
    """The positive evidence phrases of the document's own topics (no ``model:`` or negative
    entries), in order, without repeats."""
    found: list[str] = []
    for _, phrases in _own_evidence(doc):
        found.extend(p for p in phrases if _positive(p) and p not in found)
    return found


def against_phrases(doc: dict[str, Any]) -> dict[str, list[str]]:
    """The negative evidence of the document's own topics: phrase -> the topics it counts against."""
    found: dict[str, list[str]] = {}
    for name, phrases in _own_evidence(doc):
        for phrase in filter(None, map(_negative, phrases)):
            if name not in found.setdefault(phrase, []):
                found[phrase].append(name)
    return found


def _token_pattern(token: str, prefix: bool) -> str:
    # inflections: "attack" marks "attacks", "kill" marks "killed"; short words ("US") match whole
    tail = f"{_WORD}*" if prefix or len(token) >= 4 else ""
    return re.escape(token) + tail


def _phrase_pattern(phrase: str) -> str | None:
    prefix = phrase.endswith("*")
    tokens = re.findall(rf"{_WORD}+", phrase.rstrip("*"))
    if not tokens:
        return None
    last = len(tokens) - 1
    return _GAP.join(_token_pattern(t, prefix and i == last) for i, t in enumerate(tokens))


def _marks(phrases: Iterable[str], against: Mapping[str, Sequence[str]]) -> list[tuple[str, list[str]]]:
    """(pattern, topics) per distinct phrase, longest pattern first: no topics for a query word or
    positive evidence, the topics it counts against for negative evidence (on a tie the positive wins)."""
    entries: dict[str, list[str]] = {}
    wanted = [*((p, []) for p in phrases), *((p, list(t)) for p, t in against.items())]
    for phrase, topics in wanted[:_MAX_PHRASES]:
        pattern = _phrase_pattern(phrase)
        if pattern and pattern not in entries:
            entries[pattern] = topics
    return sorted(entries.items(), key=lambda entry: len(entry[0]), reverse=True)


def highlight_parts(text: str, phrases: Iterable[str],
                    against: Mapping[str, Sequence[str]] | None = None) -> list[list[Any]]:
    """``text`` cut into ``[piece, marked]`` pairs, marking each phrase case-insensitively at word
    starts; a piece matching a phrase of ``against`` (negative evidence: phrase -> topics) is
    ``[piece, False, topics]`` instead.

    A phrase is words separated by anything else (``reko diq`` marks ``Reko-Diq``); a trailing ``*``
    marks words starting so; words of four letters or more also mark their inflections."""
    marks = _marks(phrases, against or {})
    if not text:
        return []
    if not marks:
        return [[text, False]]
    alternatives = "|".join(f"({pattern})" for pattern, _ in marks)  # a group per mark: lastindex names it
    regex = re.compile(rf"(?<!{_WORD})(?:{alternatives})(?!{_WORD})", re.IGNORECASE)
    parts: list[list[Any]] = []
    position = 0
    for match in regex.finditer(text):
        if match.start() > position:
            parts.append([text[position:match.start()], False])
        topics = marks[(match.lastindex or 1) - 1][1]
        parts.append([match.group(0), False, topics] if topics else [match.group(0), True])
        position = match.end()
    if position < len(text):
        parts.append([text[position:], False])
    return parts


def _model_score(phrases: Sequence[Any]) -> float | None:
    for phrase in phrases or []:
        if isinstance(phrase, str) and phrase.startswith(MODEL_PREFIX):
            try:
                return float(phrase[len(MODEL_PREFIX):])
            except ValueError:
                return None
    return None


def topic_views(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The document's topics, each with its score, the model's part of it, the evidence phrases and the
    negative phrases that counted against it (``against``)."""
    scores, evidence = doc.get("scores") or {}, doc.get("evidence") or {}
    views = []
    for name in doc.get("topics") or []:
        phrases = evidence.get(name) or []
        score = scores.get(name)
        views.append({
            "name": name, "score": round(float(score), 3) if isinstance(score, (int, float)) else None,
            "model": _model_score(phrases),
            "evidence": [p for p in phrases if _positive(p)],
            "against": list(dict.fromkeys(filter(None, map(_negative, phrases)))),
        })
    return views


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return text[:cut if cut > limit // 2 else limit].rstrip() + "…"


def brief_view(doc: dict[str, Any]) -> dict[str, Any]:
    """What a folded item ("also reported by") shows."""
    url = doc.get("url") or ""
    return {"id": doc.get("id"), "title": doc.get("title") or "", "source": doc.get("source") or "",
            "time": doc.get("@timestamp"), "url": url, "link": url if is_web_link(url) else None}


def item_view(doc: dict[str, Any], query_terms: Sequence[str] = (),
              summary_chars: int = _SUMMARY_CHARS) -> dict[str, Any]:
    """Everything a result row shows; texts stay plain text, cut into highlighted parts."""
    phrases, against = [*query_terms, *evidence_phrases(doc)], against_phrases(doc)
    summary = _shorten(doc.get("summary") or "", summary_chars)
    entities = doc.get("entities") or {}
    return {
        **brief_view(doc),
        "story_id": doc.get("story_id") or doc.get("id"),
        "published": doc.get("published"), "fetched_at": doc.get("fetched_at"),
        "title_parts": highlight_parts(doc.get("title") or "", phrases, against),
        "summary_parts": highlight_parts(summary, phrases, against),
        "topics": topic_views(doc),
        "entities": {kind: list(entities.get(kind) or []) for kind in ("persons", "organizations", "places", "groups")},
        "countries": list(doc.get("countries") or []),
        "language": doc.get("language"),
        "feedback": dict(doc["feedback"]) if isinstance(doc.get("feedback"), dict) else {},
        "feedback_by": {},  # who gave each verdict, filled in from the feedback store
    }


def group_stories(docs: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Documents folded by ``story_id`` (an item without one is its own story), in the order each
    story first appears; within a story the first document leads, the others follow newest first."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        groups.setdefault(str(doc.get("story_id") or doc.get("id")), []).append(doc)
    return [[lead, *sorted(rest, key=lambda d: d.get("@timestamp") or "", reverse=True)]
            for lead, *rest in groups.values()]
