"""Slack: an incoming-webhook message in Block Kit, signed like every HTTP action.

A story alert shows the title as a link, the source, the time, the severity, the topics with
their scores, the evidence phrases and the entities; a digest lists up to
:data:`MAX_DIGEST_STORIES` stories, one section each. Text is escaped for Slack's mrkdwn (``&``,
``<``, ``>``) and clipped to Block Kit's limits (header 150 characters, section text 3000,
10 fields, 10 context elements, 50 blocks).
"""

from __future__ import annotations

import json
from typing import Any

from consumers.actions.base import Alert
from consumers.actions.http import post
from consumers.actions.view import StoryView, clip, headline, story_views
from pipeline.rule_settings import ActionSpec

__all__ = ["MAX_DIGEST_STORIES", "message", "send"]

MAX_DIGEST_STORIES = 20
_SECTION, _FIELD, _HEADER = 3000, 2000, 150

Block = dict[str, Any]


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _link(story: StoryView, limit: int = 500) -> str:
    title = _esc(clip(story.title, limit))
    if not story.url:
        return f"*{title}*"
    return f"*<{story.url.replace('|', '%7C').replace('>', '%3E')}|{title}>*"


def _mrkdwn(text: str, limit: int = _SECTION) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text if len(text) <= limit else text[: limit - 1] + "…"}


def _context(*parts: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(p, _FIELD) for p in parts if p][:10]}


def _scores(story: StoryView) -> str:
    return ", ".join(f"{_esc(topic)} {score:.2f}" for topic, score in story.topics)


def _story_blocks(story: StoryView, alert: Alert) -> list[Block]:
    blocks: list[Block] = [
        {"type": "section", "text": _mrkdwn(f"{_link(story)}\n{_esc(clip(story.summary, 600))}")},
        _context(f"*Source:* {_esc(story.source)}", f"*Time:* {story.when}",
                 f"*Severity:* {_esc(str(alert.get('severity', '')))}", f"*Rule:* {_esc(str(alert.get('rule', '')))}"),
    ]
    if story.topics:
        fields = [_mrkdwn(f"*{_esc(t)}*\n{s:.2f}", _FIELD) for t, s in story.topics]
        blocks.append({"type": "section", "fields": fields[:10]})
    if story.evidence:
        lines = "\n".join(f"• {_esc(t)}: {_esc(clip(', '.join(p), 300))}" for t, p in story.evidence)
        blocks.append({"type": "section", "text": _mrkdwn(f"*Evidence*\n{lines}")})
    if story.entities:
        blocks.append(_context(*(f"*{kind}:* {_esc(clip(', '.join(names), 300))}" for kind, names in story.entities)))
    return blocks


def _digest_blocks(stories: list[StoryView], alert: Alert) -> list[Block]:
    blocks: list[Block] = [_context(f"*Rule:* {_esc(str(alert.get('rule', '')))}",
                                    f"*Severity:* {_esc(str(alert.get('severity', '')))}")]
    for story in stories[:MAX_DIGEST_STORIES]:
        details = " · ".join(p for p in (_esc(story.source), story.when, _scores(story)) if p)
        blocks.append({"type": "section", "text": _mrkdwn(f"{_link(story, 300)}\n{details}")})
    if len(stories) > MAX_DIGEST_STORIES:
        blocks.append(_context(f"…and {len(stories) - MAX_DIGEST_STORIES} more stories"))
    return blocks


def message(alert: Alert) -> dict[str, Any]:
    """The Slack message: a plain ``text`` fallback (notifications) and the ``blocks``."""
    stories = story_views(alert)
    header = {"type": "header", "text": {"type": "plain_text", "text": clip(headline(alert), _HEADER), "emoji": True}}
    body = _digest_blocks(stories, alert) if alert.get("kind") == "digest" else _story_blocks(stories[0], alert)
    return {"text": clip(headline(alert), 300), "blocks": [header, *body][:50]}


def send(action: ActionSpec, alert: Alert) -> None:
    post(action, json.dumps(message(alert), ensure_ascii=False).encode("utf-8"), alert["id"])
