"""Slack's mrkdwn for feed text: escaping, links and Slack's own measure of length. Pure.

Slack reads ``&``, ``<`` and ``>`` as control characters in every text object and in a message's
fallback ``text`` (what notifications show): ``<@U123>`` mentions a user, ``<#C123>`` links a
channel, ``<!channel>`` pings everyone in it, ``<url|label>`` is a link. Feed text therefore has
the three escaped as ``&amp;``, ``&lt;`` and ``&gt;`` (all Slack asks for, and all it decodes),
and so cannot mention, ping or link anything. A link newsmon writes, ``<url|label>``, has in its
URL ``&`` escaped and ``<``, ``>``, ``|``, spaces and control characters percent-encoded, and in
its label ``|`` replaced by ``¦`` (Slack has no escape for it); a URL longer than
:data:`MAX_URL` is not linked.

Slack's limits are counted in characters of the text as sent (escapes included). Slack does not say
whether a character is a code point or a UTF-16 unit; :func:`length` counts UTF-16 units, which is
never less than code points, so a text clipped to a limit by it fits either way.
"""

from __future__ import annotations

from pipeline.alerting.render.markup import Markup, utf16_units

__all__ = ["MAX_URL", "length", "escape", "text", "link", "clip"]

MAX_URL = 2000  # a link whose escaped URL is longer shows its label alone

_ESCAPES = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def length(markup: str) -> int:
    """A text's length as Slack's limits count it (see the module)."""
    return utf16_units(markup)


def escape(raw: str) -> str:
    return "".join(_ESCAPES.get(char, char) for char in raw)


def text(raw: str) -> Markup:
    """Feed text as mrkdwn atoms: escaped, never to be cut inside an escape or a character."""
    return Markup.text(raw, escape)


def clip(markup: Markup, limit: int) -> Markup:
    return markup.clip(limit, length)


def _url(url: str) -> str:
    out = []
    for char in url:
        if char in "<>| " or ord(char) < 0x20 or ord(char) == 0x7F:
            out.append("".join(f"%{byte:02X}" for byte in char.encode("utf-8")))
        else:
            out.append("&amp;" if char == "&" else char)
    return "".join(out)


def link(url: str, label: Markup) -> Markup:
    """``<url|label>`` as one atom; ``label`` (already mrkdwn) alone when there is no URL or it is too long."""
    safe = _url(url)
    if not url or length(safe) > MAX_URL:
        return label
    return Markup.literal(f"<{safe}|{str(label).replace('|', '¦')}>")
