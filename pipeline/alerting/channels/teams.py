"""Microsoft Teams through a Workflows webhook: a message with one Adaptive Card (version 1.4).

Workflows ("Post to a channel when a webhook request is received") accept
``{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
"content": <card>}]}``; the retired Office 365 connector format (MessageCard) is not sent. A story
card shows the headline, the title as a link, the summary, a FactSet (source, time, severity,
rule, topics with scores, evidence, entities, countries) and an "Open article" button; a digest
card lists up to :data:`MAX_DIGEST_STORIES` stories, one Container each. With ``web.public_url`` set,
a story card has a "Wrong topic?" button and each story of a digest a link to its story page. Every
feed-derived string in a TextBlock or a FactSet is escaped for the card's markdown
(:mod:`pipeline.alerting.render.card_markdown`), so feed text cannot make a link or format the card, and is
cut on safe boundaries.

Size guard: Teams refuses a message over about 28 KB, so the request body is kept within
:data:`MAX_BYTES` (UTF-8, as sent): a story card drops to a brief form (headline, title, shorter
summary, source and time), a digest shows as many stories as fit and ends with "… and N more stories
in this digest, not shown" (:mod:`pipeline.alerting.render.fit`).
"""

from __future__ import annotations

import json
from typing import Any

from pipeline.alerting.actions import ActionSpec
from pipeline.alerting.channels.base import Alert
from pipeline.alerting.channels.http import HTTP_KEYS, address, configure, post, target
from pipeline.alerting.render import card_markdown as md
from pipeline.alerting.render.fit import first_that_fits, more_stories
from pipeline.alerting.render.markup import Markup
from pipeline.alerting.render.view import StoryView, body_lines, headline, lists_stories, story_views

__all__ = ["KEYS", "configure", "target", "address",
           "CARD_VERSION", "MAX_DIGEST_STORIES", "MAX_BYTES", "card", "message", "body", "fits", "send"]

KEYS = HTTP_KEYS  # url or url_env, secret_env

CARD_VERSION = "1.4"
MAX_DIGEST_STORIES = 20
MAX_BYTES = 25_000  # of the request body; Teams' limit is about 28 KB for the whole message it posts
_HEADLINE, _TITLE, _SUMMARY, _BRIEF_SUMMARY, _LIST = 300, 300, 600, 200, 300
_BODY = 3000  # the rule's rendered body_template
_PARAGRAPH = Markup.literal("\n\n")
_COLOURS = {"critical": "Attention", "warning": "Warning", "info": "Default"}

Element = dict[str, Any]


def _text(markup: Markup, limit: int, **style: Any) -> Element:
    return {"type": "TextBlock", "text": str(markup.clip(limit)) or " ", "wrap": True, **style}


def _title(story: StoryView) -> Markup:
    return md.link(story.url, md.text(story.title).clip(_TITLE))


def _facts(story: StoryView, alert: Alert, brief: bool) -> Element:
    facts = [("Source", story.source), ("Time", story.when), ("Severity", str(alert.get("severity", ""))),
             ("Rule", str(alert.get("rule", "")))]
    if not brief:
        facts.append(("Topics", ", ".join(f"{t} {s:.2f}" for t, s in story.topics)))
        facts += [(f"Evidence ({t})", ", ".join(p)) for t, p in story.evidence]
        facts += [(kind.capitalize(), ", ".join(names)) for kind, names in story.entities]
        facts.append(("Countries", ", ".join(story.countries)))
    return {"type": "FactSet", "facts": [{"title": str(_fact_title(k)), "value": str(md.text(v).clip(_LIST))}
                                         for k, v in facts if v.strip()]}


def _fact_title(title: str) -> Markup:
    """A fact's title: "Evidence (topic)" keeps its own parentheses, the topic is escaped."""
    label, _, topic = title.partition(" (")
    if not topic:
        return md.text(title).clip(_LIST)
    return md.text(label) + Markup.literal(" (") + md.text(topic.removesuffix(")")).clip(_LIST) + Markup.literal(")")


def _story_body(story: StoryView, alert: Alert, brief: bool) -> list[Element]:
    body = [_text(_title(story), _TITLE + md.MAX_URL + 4, weight="Bolder")]
    if story.summary.strip():
        body.append(_text(md.text(story.summary), _BRIEF_SUMMARY if brief else _SUMMARY, spacing="Small"))
    body.append(_facts(story, alert, brief))
    return body


def _digest_body(stories: list[StoryView], shown: int) -> list[Element]:
    body: list[Element] = []
    for story in stories[:shown]:
        scores = ", ".join(f"{t} {s:.2f}" for t, s in story.topics)
        details = Markup.join(Markup.literal(" · "), (md.text(p) for p in (story.source, story.when, scores)))
        items = [_text(_title(story), _TITLE + md.MAX_URL + 4, weight="Bolder"),
                 _text(details, _LIST, isSubtle=True, spacing="None")]
        if story.page and len(story.page) <= md.MAX_URL:
            items.append(_text(md.link(story.page, md.text("Wrong topic? Mark it on the story page")),
                               md.MAX_URL + 64, spacing="None"))
        body.append({"type": "Container", "separator": True, "items": items})
    if shown < len(stories):
        body.append(_text(md.text(more_stories(len(stories) - shown, "Teams")), _SUMMARY, isSubtle=True))
    return body


def _card(alert: Alert, elements: list[Element], url: str = "", page: str = "") -> dict[str, Any]:
    colour = _COLOURS.get(str(alert.get("severity")), "Default")
    lines = body_lines(alert)  # the rule's body_template, rendered: one paragraph a line
    intro = [_text(Markup.join(_PARAGRAPH, (md.text(line) for line in lines)), _BODY)] if lines else []
    content: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                               "type": "AdaptiveCard", "version": CARD_VERSION, "msteams": {"width": "Full"},
                               "body": [_text(md.text(headline(alert)), _HEADLINE, weight="Bolder", size="Medium",
                                              color=colour), *intro, *elements]}
    actions = [{"type": "Action.OpenUrl", "title": title, "url": link}
               for title, link in (("Open article", url), ("Wrong topic?", page)) if link and len(link) <= md.MAX_URL]
    if actions:
        content["actions"] = actions
    return content


def _wrap(content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": content}]}


def body(message: dict[str, Any]) -> bytes:
    """The request body, as sent and as measured."""
    return json.dumps(message, ensure_ascii=False).encode("utf-8")


def fits(message: dict[str, Any]) -> bool:
    return len(body(message)) <= MAX_BYTES


def message(alert: Alert) -> dict[str, Any]:
    """The Workflows message holding the card, the fullest that fits."""
    stories = story_views(alert)
    if lists_stories(alert):
        counts = range(min(len(stories), MAX_DIGEST_STORIES), -1, -1)
        candidates = (_wrap(_card(alert, _digest_body(stories, n))) for n in counts)
    else:
        story = stories[0]
        candidates = (_wrap(_card(alert, _story_body(story, alert, brief), story.url, story.page))
                      for brief in (False, True))
    return first_that_fits(candidates, fits)


def card(alert: Alert) -> dict[str, Any]:
    """The Adaptive Card of the alert."""
    content: dict[str, Any] = message(alert)["attachments"][0]["content"]
    return content


def send(action: ActionSpec, alert: Alert) -> None:
    post(action, body(message(alert)), alert["id"])
