"""A Slack message as Slack shows it, for the README: ``python -m tests.browser.slack_preview [--out DIR]``.

:func:`render` turns a Block Kit message (what :func:`pipeline.alerting.channels.slack.message` returns) into a
standalone HTML page that looks like the message in a channel: header, sections with text or fields,
context, divider and buttons, the mrkdwn shown as Slack shows it (``*bold*``, ``_italic_``,
``~strike~``, `` `code` ``, ``<url|label>`` links, ``<!channel>`` mentions, ``&amp;``, ``&lt;`` and
``&gt;`` decoded). Every text is escaped for HTML after that decoding, so the page shows feed text as
text. Pure.

:func:`main` builds a spike alert the way the alerter does (a rule parsed from YAML, twelve invented
stories about Khyber Pakhtunkhwa, :func:`pipeline.alerting.envelope.window_alert`), renders the real Slack
message and saves ``slack-spike.png`` with headless Chromium (Debian's ``fonts-lato`` gives Slack's font).
"""

from __future__ import annotations

import argparse
import html
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from consumers.rule_kinds.policy import fires_open
from pipeline.alerting.channels.slack import message
from pipeline.alerting.envelope import story_brief, window_alert
from pipeline.alerting.rules import parse_rules
from pipeline.alerting.templates import with_text
from pipeline.item import format_time
from pipeline.topics import builtin_topics
from tests.browser.chromium import launch, missing_reason

__all__ = ["RULE_YAML", "render", "spike_alert", "shoot", "main"]

_CSS = """
body{margin:0;background:#fff;color:#1d1c1d;font:15px/1.46668 Lato,"Slack-Lato","Helvetica Neue",Helvetica,
"Segoe UI",Arial,sans-serif;-webkit-font-smoothing:antialiased}
.channel{padding:14px 20px;border-bottom:1px solid #ddd;font-size:18px;font-weight:900} .channel span{color:#616061;margin-right:3px}
.msg{display:flex;gap:8px;padding:12px 20px 20px}
.avatar{flex:none;width:36px;height:36px;border-radius:8px;background:#0b6e4f;color:#fff;font-weight:900;
font-size:20px;line-height:36px;text-align:center;margin-top:3px}
.body{min-width:0;flex:1} .who b{font-weight:900} b{font-weight:700} a{color:#1264a3;text-decoration:none}
.badge{background:rgba(29,28,29,.13);color:rgba(29,28,29,.7);font-size:10px;font-weight:700;padding:1px 3px;
border-radius:2px;margin:0 4px;vertical-align:2px}
.time{color:#616061;font-size:12px}
.block{margin-top:6px;overflow-wrap:anywhere}
.header{font-size:18px;font-weight:900;line-height:1.33;margin:6px 0 2px}
.fields{display:grid;grid-template-columns:1fr 1fr;gap:8px 16px}
.context{display:flex;flex-wrap:wrap;align-items:center;gap:4px 10px;font-size:12.5px;color:#616061}
.context img{width:20px;height:20px;border-radius:4px} .actions{display:flex;flex-wrap:wrap;gap:8px}
.divider{border:0;border-top:1px solid #ddd;margin:12px 0} .unknown{color:#616061;font-style:italic}
.button{border:1px solid rgba(29,28,29,.3);border-radius:4px;padding:3px 12px;font-size:15px;font-weight:700;
color:#1d1c1d;text-decoration:none}
.button.primary{background:#007a5a;color:#fff;border-color:#007a5a}
.button.danger{background:#e01e5a;color:#fff;border-color:#e01e5a}
.mention{background:rgba(232,171,0,.2);color:#1d1c1d;border-radius:3px;padding:0 2px}
code{font:12px Monaco,Menlo,Consolas,"Courier New",monospace;color:#e01e5a;background:rgba(29,28,29,.04);
border:1px solid rgba(29,28,29,.13);border-radius:3px;padding:2px 3px}
"""

_ENTITY = re.compile(r"&(amp|lt|gt);")
_CHARS = {"amp": "&", "lt": "<", "gt": ">"}
_LINK = re.compile(r"<([^<>]*)>")


def _wrap(tag: str) -> Callable[[re.Match[str]], str]:
    return lambda match: f"<{tag}>{match.group(1)}</{tag}>"


_SPANS = (  # mrkdwn marks, applied to HTML-escaped text in which every link is a NUL-quoted placeholder
    (re.compile(r"(?<![\w`])`([^`\n]+)`(?![\w`])"), _wrap("code")),
    (re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])"), _wrap("b")),
    (re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])"), _wrap("i")),
    (re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])"), _wrap("s")),
)
_PLACEHOLDER = re.compile("\x00(\\d+)\x00")
_SAFE_SCHEMES = ("http://", "https://", "mailto:")


def _decode(text: str) -> str:
    """Slack's three escapes back to characters, in one pass (``&amp;lt;`` stays ``&lt;``, as text)."""
    return _ENTITY.sub(lambda m: _CHARS[m.group(1)], text)


def _html(text: str) -> str:
    """Decoded Slack text, escaped for HTML; a NUL (never text in HTML) becomes U+FFFD."""
    return html.escape(_decode(text).replace("\x00", "\ufffd"))


def _plain(text: str) -> str:
    return _html(text).replace("\n", "<br>")


def _href(url: str) -> str:
    """``url`` escaped for an attribute, or "" unless it is http(s) or mailto (never ``javascript:``)."""
    return html.escape(url, quote=True) if url.lower().startswith(_SAFE_SCHEMES) else ""


def _angle(inner: str) -> str:
    """``<url|label>``, ``<url>``, ``<!channel>``, ``<@U1>`` or ``<#C1|name>`` as HTML."""
    target, _, label = inner.partition("|")
    if target[:1] in "!@#":
        name = label or target[1:].split("^")[0]
        return f'<span class="mention">{"#" if target[0] == "#" else "@"}{_html(name)}</span>'
    href, shown = _href(_decode(target)), _html(label or target)
    return f'<a href="{href}" target="_blank" rel="noopener">{shown}</a>' if href else shown


def _mrkdwn(text: str) -> str:
    """Slack mrkdwn (feed text in it already escaped by :mod:`pipeline.alerting.render.mrkdwn`) as HTML."""
    parts = _LINK.split(text)  # text, link, text, ...: a bare < or > in feed text is Slack's &lt; &gt;
    links = [_angle(p) for p in parts[1::2]]
    marked = "".join(_html(p) if i % 2 == 0 else f"\x00{i // 2}\x00" for i, p in enumerate(parts))
    for pattern, wrap in _SPANS:
        marked = pattern.sub(wrap, marked)
    return _PLACEHOLDER.sub(lambda m: links[int(m.group(1))], marked).replace("\n", "<br>")


def _text(obj: dict[str, Any] | None) -> str:
    if not obj:
        return ""
    text = str(obj.get("text", ""))
    return _mrkdwn(text) if obj.get("type") == "mrkdwn" else _plain(text)


def _element(element: dict[str, Any]) -> str:
    """A context or actions element: text, image or button."""
    kind = element.get("type")
    if kind == "image":
        alt = html.escape(str(element.get("alt_text", "")), quote=True)
        return f'<img src="{_href(str(element.get("image_url", "")))}" alt="{alt}">'
    if kind == "button":
        style, href = html.escape(str(element.get("style", "")), quote=True), _href(str(element.get("url", "")))
        return f'<a class="button {style}" href="{href}">{_text(element.get("text"))}</a>'
    return f"<span>{_text(element)}</span>"


def _section(block: dict[str, Any]) -> str:
    parts = [f"<div>{_text(block.get('text'))}</div>"] if block.get("text") else []
    if block.get("fields"):
        parts.append('<div class="fields">' + "".join(f"<div>{_text(f)}</div>" for f in block["fields"]) + "</div>")
    return "".join(parts)


_BLOCKS: dict[str, Callable[[dict[str, Any]], str]] = {
    "header": lambda b: _text(b.get("text")),
    "section": _section,
    "context": lambda b: "".join(map(_element, b.get("elements", ()))),
    "actions": lambda b: "".join(map(_element, b.get("elements", ()))),
}


def _block(block: dict[str, Any]) -> str:
    kind = str(block.get("type", ""))
    if kind == "divider":
        return '<hr class="divider">'
    if kind not in _BLOCKS:
        return f'<div class="block unknown">[{html.escape(kind)} block]</div>'
    return f'<div class="block {kind}">{_BLOCKS[kind](block)}</div>'


def render(payload: dict[str, Any], *, app: str = "newsmon", channel: str = "ct-alerts", time: str = "") -> str:
    """The Block Kit message ``payload`` as a standalone HTML page: posted by ``app`` in ``channel``
    at ``time`` (as Slack shows it, e.g. ``10:48 AM``)."""
    blocks = "".join(_block(b) for b in payload.get("blocks", ()))
    return ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{_plain(str(payload.get('text', '')))}</title><style>{_CSS}</style></head><body>"
            f'<div class="channel"><span>#</span>{html.escape(channel)}</div>'
            f'<div class="msg"><div class="avatar">{html.escape(app[:1].upper())}</div><div class="body">'
            f'<div class="who"><b>{html.escape(app)}</b><span class="badge">APP</span>'
            f'<span class="time">{html.escape(time)}</span></div>{blocks}</div></div></body></html>')


RULE_YAML = """\
- name: ct-spike-kp
  kind: spike
  topics: [counterterrorism]
  window: 1h
  group_by: locations.name
  min_stories: 5
  ratio: 3
  title_template: "{{ count }} counterterrorism stories about {{ key }} in an hour (usually {{ baseline }})"
  actions: [{type: slack, url_env: SLACK_CT_URL}]
"""
BASELINE = 4.0  # the trailing average: 12 stories / 4 = 3, so the spike fires on the twelfth story (see main)
_START = datetime(2026, 2, 17, 10, tzinfo=UTC).timestamp()
_STORIES = (  # minutes into the window, source, invented headline, score
    (3, "Dawn", "Militants attack police post in Bannu; two constables injured", 0.93),
    (7, "Geo", "Lakki Marwat police station comes under fire overnight", 0.91),
    (12, "The Express Tribune", "Police & FC check posts attacked in North Waziristan", 0.94),
    (15, "APP", "Three soldiers killed in roadside blast near Mir Ali", 0.95),
    (19, "Dawn", "Gunmen torch police vehicle on the Bannu-Miranshah road", 0.88),
    (24, "Geo", "Curfew in parts of Lakki Marwat after a gunfight with militants", 0.9),
    (28, "The Express Tribune", "Drone strikes police compound in Bannu; no casualties reported", 0.86),
    (33, "APP", "Two militants killed in intelligence-based operation in Tank district", 0.92),
    (37, "Dawn", "Dera Ismail Khan police on high alert after attacks in nearby districts", 0.79),
    (41, "Geo", "Banned group claims Lakki Marwat check post attack", 0.9),
    (44, "The Express Tribune", "CTD arrests three suspected facilitators of Bannu police post attack", 0.87),
    (47, "Dawn", "KP police chief orders security review after spate of attacks in south", 0.84),
)


def _brief(n: int, minute: int, source: str, title: str, score: float) -> dict[str, Any]:
    at = format_time(datetime.fromtimestamp(_START + 60 * minute, UTC))
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return {"id": f"item-kp-{n:02d}", "title": title, "url": f"https://news.example.org/{n:02d}/{slug}",
            "source": source, "published": at, "fetched_at": at, "topics": ["counterterrorism"],
            "scores": {"counterterrorism": score}, "countries": ["PK"]}


def spike_alert() -> dict[str, Any]:
    """The alert the alerter sends when the rule of :data:`RULE_YAML` fires on the twelfth story."""
    rule = parse_rules(yaml.safe_load(RULE_YAML), "rules.d/ct.yaml", {}, set(builtin_topics()))[0]
    counts = range(1, len(_STORIES) + 1)
    assert [fires_open(rule, n, BASELINE) for n in counts] == [n == len(_STORIES) for n in counts]
    stories = [(f"story-kp-{n:02d}", _START + 60 * s[0], story_brief(_brief(n, *s))) for n, s in enumerate(_STORIES)]
    alert = window_alert(rule, (_START, _START + 3600), ("khyber pakhtunkhwa", "Khyber Pakhtunkhwa"),
                         len(stories), BASELINE, stories, stories[-1][1] + 20)  # sent 20 s after the last story
    return with_text(alert, rule.title_template, rule.body_template)  # as the alerter queues it


def shoot(page_html: str, path: Path, width: int = 760) -> None:
    """``page_html`` in headless Chromium, saved whole as a PNG ``width`` pixels wide."""
    from playwright.sync_api import sync_playwright  # only here: render() and the tests need no browser

    with sync_playwright() as playwright:
        browser = launch(playwright)
        try:
            page = browser.new_page(viewport={"width": width, "height": 100}, device_scale_factor=1)
            page.set_content(page_html, wait_until="load")
            page.screenshot(path=str(path), full_page=True)
        finally:
            browser.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots", help="folder for slack-spike.png (default: docs/screenshots)")
    args = parser.parse_args()
    reason = missing_reason()
    if reason:
        print(f"slack_preview: {reason}", file=sys.stderr)
        return 1
    alert = spike_alert()
    posted = datetime.fromisoformat(alert["created_at"]).strftime("%I:%M %p").lstrip("0")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    shoot(render(message(alert), time=posted), out / "slack-spike.png")
    print(out / "slack-spike.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
