"""Slack: an incoming-webhook message in Block Kit, signed like every HTTP action.

A story alert shows the title as a link, the source, the time, the severity, the topics with their
scores, the evidence phrases and the entities; a digest lists up to :data:`MAX_DIGEST_STORIES`
stories, one section each. With ``web.public_url`` set, a story and each story of a digest end with
"Wrong topic?", a link to the story's page. Every feed-derived string, the fallback ``text`` (what notifications
show) included, is escaped for mrkdwn (:mod:`pipeline.alerting.render.mrkdwn`), so feed text cannot mention,
ping or link; text is cut on safe boundaries to Block Kit's limits as Slack counts them (header 150,
section text 3000, field and context text 2000, 10 fields, 10 context elements, 50 blocks).

Size guard: Slack also refuses a message whose blocks hold too much text in all
(``msg_blocks_too_long``; undocumented, seen at about 13,200 characters), so a message keeps its
blocks' text within :data:`MAX_MESSAGE_TEXT`: a story alert drops to a brief form (title, shorter
summary, source and time), a digest shows as many stories as fit and ends with "… and N more stories
in this digest, not shown" (:mod:`pipeline.alerting.render.fit`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from pipeline.alerting.actions import ActionSpec
from pipeline.alerting.channels.base import Alert
from pipeline.alerting.channels.http import HTTP_KEYS, address, configure, post, target
from pipeline.alerting.render import mrkdwn
from pipeline.alerting.render.fit import first_that_fits, more_stories
from pipeline.alerting.render.markup import Markup
from pipeline.alerting.render.view import StoryView, body_lines, headline, lists_stories, story_views

__all__ = ["KEYS", "configure", "target", "address",
           "MAX_DIGEST_STORIES", "MAX_BLOCKS", "MAX_MESSAGE_TEXT", "message", "fits", "send"]

KEYS = HTTP_KEYS  # url or url_env, secret_env

MAX_DIGEST_STORIES = 20
MAX_BLOCKS = 50
MAX_MESSAGE_TEXT = 12_000  # all text of a message's blocks, below what Slack was seen to refuse
_HEADER, _SECTION, _FIELD, _FALLBACK = 150, 3000, 2000, 300
_TITLE, _SUMMARY, _BRIEF_SUMMARY, _LIST = 600, 600, 200, 300

Block = dict[str, Any]

_NEWLINE, _BOLD, _DOT = Markup.literal("\n"), Markup.literal("*"), Markup.literal(" · ")


def _mrkdwn(markup: Markup, limit: int) -> dict[str, str]:
    return {"type": "mrkdwn", "text": str(mrkdwn.clip(markup, limit)) or " "}


def _label(name: str, value: Markup) -> Markup:
    return _BOLD + mrkdwn.text(name) + Markup.literal(":") + _BOLD + Markup.literal(" ") + value


def _context(*parts: Markup) -> Block:
    return {"type": "context", "elements": [_mrkdwn(p, _FIELD) for p in parts if p][:10]}


def _title(story: StoryView, limit: int) -> Markup:
    label = mrkdwn.clip(mrkdwn.text(story.title), limit)
    return _BOLD + mrkdwn.link(story.url, label) + _BOLD


def _scores(story: StoryView) -> Markup:
    return Markup.join(Markup.literal(", "), (mrkdwn.text(f"{topic} {score:.2f}") for topic, score in story.topics))


def _about(story: StoryView, alert: Alert) -> Block:
    return _context(_label("Source", mrkdwn.clip(mrkdwn.text(story.source), _LIST)),
                    _label("Time", mrkdwn.text(story.when)),
                    _label("Severity", mrkdwn.text(str(alert.get("severity", "")))),
                    _label("Rule", mrkdwn.text(str(alert.get("rule", "")))))


def _story_blocks(story: StoryView, alert: Alert, brief: bool) -> list[Block]:
    summary = mrkdwn.clip(mrkdwn.text(story.summary), _BRIEF_SUMMARY if brief else _SUMMARY)
    blocks = [{"type": "section", "text": _mrkdwn(Markup.join(_NEWLINE, (_title(story, _TITLE), summary)), _SECTION)},
              _about(story, alert)]
    if brief:
        return blocks
    if story.topics:
        fields = [_mrkdwn(_BOLD + mrkdwn.text(t) + _BOLD + _NEWLINE + Markup.literal(f"{s:.2f}"), _FIELD)
                  for t, s in story.topics]
        blocks.append({"type": "section", "fields": fields[:10]})
    if story.evidence:
        lines = [Markup.literal("• ") + mrkdwn.text(topic) + Markup.literal(": ")
                 + mrkdwn.clip(mrkdwn.text(", ".join(phrases)), _LIST) for topic, phrases in story.evidence]
        evidence = _BOLD + Markup.literal("Evidence") + _BOLD + _NEWLINE + Markup.join(_NEWLINE, lines)
        blocks.append({"type": "section", "text": _mrkdwn(evidence, _SECTION)})
    if story.entities:
        blocks.append(_context(*(_label(kind, mrkdwn.clip(mrkdwn.text(", ".join(names)), _LIST))
                                 for kind, names in story.entities)))
    if story.page:
        mark = mrkdwn.link(story.page, mrkdwn.text("Mark it on the story page"))
        blocks.append(_context(mrkdwn.text("Wrong topic?") + Markup.literal(" ") + mark))
    return blocks


def _digest_blocks(stories: list[StoryView], alert: Alert, shown: int) -> list[Block]:
    blocks = [_context(_label("Rule", mrkdwn.text(str(alert.get("rule", "")))),
                       _label("Severity", mrkdwn.text(str(alert.get("severity", "")))))]
    for story in stories[:shown]:
        source = mrkdwn.clip(mrkdwn.text(story.source), _LIST)
        details = Markup.join(_DOT, (source, mrkdwn.text(story.when), _scores(story)))
        lines = [_title(story, _LIST), details]
        if story.page:
            lines.append(mrkdwn.link(story.page, mrkdwn.text("Wrong topic? Mark it on the story page")))
        section = Markup.join(_NEWLINE, lines)
        blocks.append({"type": "section", "text": _mrkdwn(section, _SECTION)})
    if shown < len(stories):
        blocks.append(_context(mrkdwn.text(more_stories(len(stories) - shown, "Slack"))))
    return blocks


def _texts(blocks: list[Block]) -> Iterator[str]:
    for block in blocks:
        for obj in (block.get("text"), *block.get("fields", ()), *block.get("elements", ())):
            if obj:
                yield obj["text"]


def fits(message: dict[str, Any]) -> bool:
    """Whether Slack takes the message: at most :data:`MAX_BLOCKS` blocks and :data:`MAX_MESSAGE_TEXT`
    of text in them (each block is within its own limit by construction)."""
    blocks = message["blocks"]
    return len(blocks) <= MAX_BLOCKS and sum(mrkdwn.length(t) for t in _texts(blocks)) <= MAX_MESSAGE_TEXT


def _message(alert: Alert, blocks: list[Block]) -> dict[str, Any]:
    title = mrkdwn.text(headline(alert))
    header = {"type": "header", "text": {"type": "plain_text", "text": str(mrkdwn.clip(title, _HEADER)),
                                         "emoji": False}}
    lines = body_lines(alert)  # the rule's body_template, rendered
    text = Markup.join(_NEWLINE, (mrkdwn.text(line) for line in lines))
    intro = [{"type": "section", "text": _mrkdwn(text, _SECTION)}] if lines else []
    return {"text": str(mrkdwn.clip(title, _FALLBACK)), "blocks": [header, *intro, *blocks]}


def message(alert: Alert) -> dict[str, Any]:
    """The Slack message: the fallback ``text`` (notifications) and the ``blocks``, the fullest that fits."""
    stories = story_views(alert)
    if lists_stories(alert):
        counts = range(min(len(stories), MAX_DIGEST_STORIES), -1, -1)
        candidates = (_message(alert, _digest_blocks(stories, alert, n)) for n in counts)
    else:
        candidates = (_message(alert, _story_blocks(stories[0], alert, brief)) for brief in (False, True))
    return first_that_fits(candidates, fits)


def send(action: ActionSpec, alert: Alert) -> None:
    post(action, json.dumps(message(alert), ensure_ascii=False).encode("utf-8"), alert["id"])
