"""Microsoft Teams through a Workflows webhook: a message with one Adaptive Card (version 1.4).

Workflows ("Post to a channel when a webhook request is received") accept
``{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
"content": <card>}]}``; the retired Office 365 connector format (MessageCard) is not sent. A story
card shows the headline, the title as a link, the summary, a FactSet (source, time, severity,
rule, topics with scores, evidence, entities, countries) and an "Open article" button; a digest
card lists up to :data:`MAX_DIGEST_STORIES` stories, one Container each.
"""

from __future__ import annotations

import json
from typing import Any

from consumers.actions.base import Alert
from consumers.actions.http import post
from consumers.actions.view import StoryView, clip, headline, story_views
from pipeline.rule_settings import ActionSpec

__all__ = ["CARD_VERSION", "MAX_DIGEST_STORIES", "card", "message", "send"]

CARD_VERSION = "1.4"
MAX_DIGEST_STORIES = 20
_COLOURS = {"critical": "Attention", "warning": "Warning", "info": "Default"}

Element = dict[str, Any]


def _text(text: str, **style: Any) -> Element:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _link(story: StoryView, limit: int = 300) -> str:
    title = clip(story.title, limit).replace("[", "(").replace("]", ")")
    if not story.url:
        return title
    url = story.url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")
    return f"[{title}]({url})"


def _facts(story: StoryView, alert: Alert) -> Element:
    facts = [("Source", story.source), ("Time", story.when), ("Severity", str(alert.get("severity", ""))),
             ("Rule", str(alert.get("rule", ""))),
             ("Topics", ", ".join(f"{t} {s:.2f}" for t, s in story.topics))]
    facts += [(f"Evidence ({t})", clip(", ".join(p), 300)) for t, p in story.evidence]
    facts += [(kind.capitalize(), clip(", ".join(names), 300)) for kind, names in story.entities]
    facts.append(("Countries", ", ".join(story.countries)))
    return {"type": "FactSet", "facts": [{"title": k, "value": v} for k, v in facts if v]}


def _story_body(story: StoryView, alert: Alert) -> list[Element]:
    body = [_text(_link(story), weight="Bolder")]
    if story.summary:
        body.append(_text(clip(story.summary, 600), spacing="Small"))
    body.append(_facts(story, alert))
    return body


def _digest_body(stories: list[StoryView]) -> list[Element]:
    body: list[Element] = []
    for story in stories[:MAX_DIGEST_STORIES]:
        scores = ", ".join(f"{t} {s:.2f}" for t, s in story.topics)
        details = " · ".join(p for p in (story.source, story.when, scores) if p)
        body.append({"type": "Container", "separator": True, "items": [
            _text(_link(story), weight="Bolder"), _text(details, isSubtle=True, spacing="None")]})
    if len(stories) > MAX_DIGEST_STORIES:
        body.append(_text(f"…and {len(stories) - MAX_DIGEST_STORIES} more stories", isSubtle=True))
    return body


def card(alert: Alert) -> dict[str, Any]:
    """The Adaptive Card of the alert."""
    stories = story_views(alert)
    colour = _COLOURS.get(str(alert.get("severity")), "Default")
    body = [_text(clip(headline(alert), 300), weight="Bolder", size="Medium", color=colour)]
    content: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                               "type": "AdaptiveCard", "version": CARD_VERSION, "msteams": {"width": "Full"}}
    if alert.get("kind") == "digest":
        body += _digest_body(stories)
    else:
        body += _story_body(stories[0], alert)
        if stories[0].url:
            content["actions"] = [{"type": "Action.OpenUrl", "title": "Open article", "url": stories[0].url}]
    content["body"] = body
    return content


def message(alert: Alert) -> dict[str, Any]:
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card(alert)}]}


def send(action: ActionSpec, alert: Alert) -> None:
    post(action, json.dumps(message(alert), ensure_ascii=False).encode("utf-8"), alert["id"])
