"""OPML 1.0/2.0 subscription lists (pure): read the feeds out of one, and write the configured feeds.

Reading is strict about what could hurt and lenient about what feed readers vary in: a DOCTYPE or
an entity declaration is refused (nothing is ever resolved or fetched), malformed XML is an error
naming the file and line; folders (outlines without ``xmlUrl``) become categories, and any
nesting depth, attribute case (``xmlUrl``/``xmlurl``) and missing ``type`` are accepted.

Writing groups the feeds by source: one folder outline per outlet, which reads back as the
feeds' ``source`` when imported again.
"""

from __future__ import annotations

import re
import xml.parsers.expat
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import NoReturn
from urllib.parse import urlsplit
from xml.sax.saxutils import quoteattr

from pipeline.errors import UserInputError
from pipeline.settings import FeedSpec

__all__ = ["OpmlError", "OpmlFeed", "parse_opml", "render_opml", "feed_entries"]


class OpmlError(UserInputError):
    """The file is not a usable OPML document; the message names the file and line."""


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    title: str
    category: str  # titles of the enclosing folders, joined with " / "
    language: str
    line: int


class _Refused(Exception):
    pass


class _Reader:
    def __init__(self, name: str) -> None:
        self.name = name
        self.parser = xml.parsers.expat.ParserCreate()
        self.parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
        self.parser.StartDoctypeDeclHandler = self._refuse
        self.parser.EntityDeclHandler = self._refuse
        self.parser.ExternalEntityRefHandler = self._refuse
        self.parser.StartElementHandler = self._start
        self.parser.EndElementHandler = self._end
        self.root: str | None = None
        self.stack: list[str | None] = []  # folder title per open outline (None: a feed outline)
        self.feeds: list[OpmlFeed] = []

    def _refuse(self, *args: object) -> NoReturn:
        raise _Refused("DOCTYPE and entity declarations are not allowed in OPML")

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        if self.root is None:
            self.root = name
        if name != "outline":
            return
        attrs = {key.lower(): value.strip() for key, value in attrs.items()}
        url = attrs.get("xmlurl", "")
        title = attrs.get("title") or attrs.get("text") or ""
        if not url:
            self.stack.append(title)
            return
        line = self.parser.CurrentLineNumber
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            raise OpmlError(f"{self.name}:{line}: outline xmlUrl: expected an http(s) URL, got {url[:100]!r}")
        category = " / ".join(t for t in self.stack if t)
        self.feeds.append(OpmlFeed(url, title, category, attrs.get("language", ""), line))
        self.stack.append(None)

    def _end(self, name: str) -> None:
        if name == "outline" and self.stack:
            self.stack.pop()


def parse_opml(data: bytes, name: str) -> list[OpmlFeed]:
    """The feed outlines of an OPML document, in document order; :class:`OpmlError` when unusable."""
    reader = _Reader(name)
    try:
        reader.parser.Parse(data, True)
    except xml.parsers.expat.ExpatError as exc:
        reason = xml.parsers.expat.ErrorString(exc.code)
        raise OpmlError(f"{name}:{exc.lineno}: not well-formed XML ({reason}, column {exc.offset + 1})") from None
    except _Refused as exc:
        raise OpmlError(f"{name}:{reader.parser.CurrentLineNumber}: {exc}") from None
    if reader.root != "opml":
        raise OpmlError(f"{name}:1: not an OPML document (root element <{reader.root}>, expected <opml>)")
    if not reader.feeds:
        raise OpmlError(f"{name}: no feeds in it (no outline element has an xmlUrl)")
    return reader.feeds


def render_opml(feeds: Sequence[FeedSpec], now: datetime, title: str = "newsmon feeds") -> str:
    """OPML 2.0 listing ``feeds``, one folder per source, in configuration order."""
    by_source: dict[str, list[FeedSpec]] = {}
    for feed in feeds:
        by_source.setdefault(feed.source, []).append(feed)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<opml version="2.0">', "  <head>",
             f"    <title>{_text(title)}</title>", f"    <dateCreated>{format_datetime(now)}</dateCreated>",
             "  </head>", "  <body>"]
    for source, members in by_source.items():
        lines.append(f"    <outline text={quoteattr(source)} title={quoteattr(source)}>")
        for feed in members:
            name = feed.title or feed.id
            lines.append(f"      <outline type=\"rss\" text={quoteattr(name)} title={quoteattr(name)}"
                         f" xmlUrl={quoteattr(feed.url)} language={quoteattr(feed.language)}/>")
        lines.append("    </outline>")
    lines += ["  </body>", "</opml>"]
    return "\n".join(lines) + "\n"


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_SLUG = re.compile(r"[^a-z0-9]+")


def _slug(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:48].rstrip("-")


def feed_entries(found: Sequence[OpmlFeed], existing: Sequence[FeedSpec]) -> list[dict[str, str]]:
    """``feeds:`` entries (id, source, url, title, language) for the outlines not configured yet.

    The source is the enclosing folder's title, else the feed's title, else its host; the id a
    slug of source and title, made unique against the configured ids."""
    known_urls = {feed.url for feed in existing}
    taken = {feed.id for feed in existing}
    entries = []
    for outline in found:
        if outline.url in known_urls:
            continue
        known_urls.add(outline.url)
        host = urlsplit(outline.url).hostname or "feed"
        source = outline.category.split(" / ")[-1] if outline.category else (outline.title or host)
        named = f"{source} {outline.title}" if outline.title and outline.title != source else source
        base = _slug(named) or _slug(host)
        feed_id, n = base, 2
        while feed_id in taken:
            feed_id, n = f"{base}-{n}", n + 1
        taken.add(feed_id)
        entry = {"id": feed_id, "source": source, "url": outline.url}
        if outline.title and outline.title != source:
            entry["title"] = outline.title
        if re.fullmatch(r"[A-Za-z]{2}([-_][A-Za-z0-9]+)?", outline.language):
            entry["language"] = outline.language[:2].lower()
        entries.append(entry)
    return entries
