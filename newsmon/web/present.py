"""How an index document is shown: highlighted title and summary, topics with scores and evidence,
and hits folded into stories. Pure functions over plain dicts."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["MODEL_PREFIX", "is_web_link", "evidence_phrases", "highlight_parts", "topic_views", "item_view",
           "brief_view", "group_stories"]

MODEL_PREFIX = "model:"
_SUMMARY_CHARS = 600
_MAX_PHRASES = 60
_WORD = r"[^\W_]"  # a letter or digit
_GAP = r"[\W_]+"  # what separates two words


def is_web_link(url: Any) -> bool:
    """Only http and https URLs become links on the page; anything else is shown as text."""
    return isinstance(url, str) and re.match(r"(?i)^https?://[^\s/]", url) is not None


def evidence_phrases(doc: dict[str, Any]) -> list[str]:
    """Every topic's evidence phrases without the ``model:`` entries, in order, without repeats."""
    found: list[str] = []
    for phrases in (doc.get("evidence") or {}).values():
        for phrase in phrases or []:
            if not isinstance(phrase, str) or not phrase.strip() or phrase.startswith(MODEL_PREFIX):
                continue
            if phrase not in found:
                found.append(phrase)
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


def highlight_parts(text: str, phrases: Iterable[str]) -> list[list[Any]]:
    """``text`` cut into ``[piece, marked]`` pairs, marking each phrase case-insensitively at word starts.

    A phrase is words separated by anything else (``reko diq`` marks ``Reko-Diq``); a trailing ``*``
    marks words starting so; words of four letters or more also mark their inflections."""
    patterns = sorted({p for p in (_phrase_pattern(x) for x in list(phrases)[:_MAX_PHRASES]) if p},
                      key=len, reverse=True)
    if not text:
        return []
    if not patterns:
        return [[text, False]]
    regex = re.compile(rf"(?<!{_WORD})(?:{'|'.join(patterns)})(?!{_WORD})", re.IGNORECASE)
    parts: list[list[Any]] = []
    position = 0
    for match in regex.finditer(text):
        if match.start() > position:
            parts.append([text[position:match.start()], False])
        parts.append([match.group(0), True])
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
    """The document's topics, each with its score, the model's part of it and the evidence phrases."""
    scores, evidence = doc.get("scores") or {}, doc.get("evidence") or {}
    views = []
    for name in doc.get("topics") or []:
        phrases = evidence.get(name) or []
        score = scores.get(name)
        views.append({
            "name": name, "score": round(float(score), 3) if isinstance(score, (int, float)) else None,
            "model": _model_score(phrases),
            "evidence": [p for p in phrases if isinstance(p, str) and not p.startswith(MODEL_PREFIX)],
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
    phrases = [*query_terms, *evidence_phrases(doc)]
    summary = _shorten(doc.get("summary") or "", summary_chars)
    entities = doc.get("entities") or {}
    return {
        **brief_view(doc),
        "story_id": doc.get("story_id") or doc.get("id"),
        "published": doc.get("published"), "fetched_at": doc.get("fetched_at"),
        "title_parts": highlight_parts(doc.get("title") or "", phrases),
        "summary_parts": highlight_parts(summary, phrases),
        "topics": topic_views(doc),
        "entities": {kind: list(entities.get(kind) or []) for kind in ("persons", "organizations", "places", "groups")},
        "countries": list(doc.get("countries") or []),
        "language": doc.get("language"),
    }


def group_stories(docs: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Documents folded by ``story_id`` (an item without one is its own story), in the order each
    story first appears; within a story the first document leads, the others follow newest first."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        groups.setdefault(str(doc.get("story_id") or doc.get("id")), []).append(doc)
    return [[lead, *sorted(rest, key=lambda d: d.get("@timestamp") or "", reverse=True)]
            for lead, *rest in groups.values()]
