"""What a human-readable alert shows, taken from the alert document once for Slack, Teams and e-mail.

Values are plain text here; each renderer escapes them for its own format (Slack:
:mod:`pipeline.alerting.render.mrkdwn`, Teams: :mod:`pipeline.alerting.render.card_markdown`, e-mail: ``html.escape``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.alerting.channels.base import Alert
from pipeline.alerting.render.markup import Markup

__all__ = ["StoryView", "story_views", "lists_stories", "body", "body_lines", "headline", "safe_url", "clip", "when"]

_MAX_EVIDENCE, _MAX_NAMES = 5, 8
_WINDOW_KINDS = ("spike", "frequency", "flatline")  # rendered like a digest: the stories that made the window


@dataclass(frozen=True)
class StoryView:
    title: str
    url: str  # "" unless http(s)
    source: str
    when: str  # "2026-01-02 10:00 UTC", published else fetched
    summary: str
    topics: tuple[tuple[str, float], ...]  # the item's topics with their scores, best first
    evidence: tuple[tuple[str, tuple[str, ...]], ...]  # topic -> phrases that drove it
    entities: tuple[tuple[str, tuple[str, ...]], ...]  # kind -> names, kinds with names only
    countries: tuple[str, ...]
    story_id: str
    page: str = ""  # the story on newsmon's search page (web.public_url), where its topics are marked


def clip(text: str, limit: int) -> str:
    """``text`` with whitespace collapsed, cut to ``limit`` characters between two user-perceived
    characters (never inside an emoji sequence or before a combining mark), with an ellipsis when cut."""
    return str(Markup.text(text, str).clip(limit))


def safe_url(url: Any) -> str:
    return url if isinstance(url, str) and url.startswith(("http://", "https://")) else ""


def when(stamp: Any) -> str:
    if not isinstance(stamp, str) or len(stamp) < 16:
        return ""
    return stamp[:16].replace("T", " ") + " UTC"


def _story(story_id: str, item: dict[str, Any], page: Any = "") -> StoryView:
    scores = item.get("scores") or {}
    topics = tuple(sorted(((t, float(scores.get(t, 0.0))) for t in item.get("topics") or ()), key=lambda p: -p[1]))
    evidence = tuple((t, tuple((item.get("evidence") or {}).get(t, ())[:_MAX_EVIDENCE])) for t, _ in topics)
    entities = tuple((kind, tuple(names[:_MAX_NAMES])) for kind, names in (item.get("entities") or {}).items() if names)
    return StoryView(
        title=str(item.get("title") or "(no title)"), url=safe_url(item.get("url")),
        source=str(item.get("source") or ""),
        when=when(item.get("published") or item.get("fetched_at")), summary=str(item.get("summary") or ""),
        topics=topics, evidence=tuple(e for e in evidence if e[1]), entities=entities,
        countries=tuple(item.get("countries") or ()), story_id=story_id, page=safe_url(page),
    )


def lists_stories(alert: Alert) -> bool:
    """Whether the alert lists stories (a digest, a spike, frequency or flatline window) rather than
    showing one (a story, a new term, feed health)."""
    return alert.get("kind") in ("digest", *_WINDOW_KINDS)


def story_views(alert: Alert) -> list[StoryView]:
    """The stories of an alert: one for a story alert, each listed story for a digest or a window."""
    if lists_stories(alert):
        return [_story(s.get("story_id", ""), s.get("item") or {}, s.get("story_url"))
                for s in alert.get("stories") or ()]
    return [_story(alert.get("story_id", ""), alert.get("item") or {}, alert.get("story_url"))]


def _stories(count: int) -> str:
    return f"{count} {'story' if count == 1 else 'stories'}"


def _window_line(alert: Alert) -> str:
    """``spike: 12 stories for locations.name Quetta, 2026-01-02 10:00 to 11:00 UTC (trailing average 2.0)``."""
    window, kind, count = alert.get("window") or {}, alert.get("kind"), int(alert.get("count") or 0)
    start, end = when(window.get("start"))[:-4], when(window.get("end"))
    key = f" for {alert.get('group_by')} {alert['key']}" if alert.get("key") else ""
    least = (alert.get("threshold") or {}).get("min_stories", "")
    detail = {"spike": f"trailing average {float(alert.get('baseline') or 0.0):.1f}",
              "frequency": f"at least {least}", "flatline": f"fewer than {least}"}.get(str(kind), "")
    return f"{kind}: {_stories(count)}{key}, {start} to {end[11:] if end[:10] == start[:10] else end} ({detail})"


def body(alert: Alert) -> str:
    """The text the rule's ``body_template`` rendered for this alert ("" without one), shown above the stories."""
    text = alert.get("body")
    return text if isinstance(text, str) else ""


def body_lines(alert: Alert) -> list[str]:
    """:func:`body` as its non-blank lines, for the formats that collapse line breaks in text."""
    return [line for line in body(alert).splitlines() if line.strip()]


def headline(alert: Alert) -> str:
    """The title the rule's ``title_template`` rendered, else one line: ``[WARNING] rule: title``,
    ``[WARNING] rule digest: 4 stories, 10:00 to 11:00 UTC``,
    ``[WARNING] rule spike: 12 stories for locations.name Quetta, ... (trailing average 2.0)`` or
    ``[WARNING] rule: new entities.groups: <name> — title``."""
    if isinstance(alert.get("title"), str) and alert["title"].strip():
        return str(alert["title"])
    prefix = f"[{str(alert.get('severity', 'warning')).upper()}] {alert.get('rule', '')}"
    kind = alert.get("kind")
    if kind == "digest":
        window = alert.get("window") or {}
        count = len(alert.get("stories") or ())
        return f"{prefix} digest: {_stories(count)}, {when(window.get('start'))[:-4]} to {when(window.get('end'))}"
    if kind in _WINDOW_KINDS:
        return f"{prefix} {_window_line(alert)}"
    if kind == "new_term":
        return f"{prefix}: new {alert.get('field', '')}: {alert.get('term', '')} — {story_views(alert)[0].title}"
    return f"{prefix}: {story_views(alert)[0].title}"
