"""Feed discovery (pure): the feeds a web page advertises with ``<link rel="alternate" type=…>``.

Relative links are resolved against the page's ``<base href>``, else its URL. Only RSS, Atom, RDF
and JSON Feed types count; duplicates are dropped, document order is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

__all__ = ["FEED_TYPES", "FeedLink", "discover_feeds", "decode_page"]

#: MIME type of an alternate link → feed format.
FEED_TYPES = {
    "application/rss+xml": "rss", "application/atom+xml": "atom", "application/rdf+xml": "rdf",
    "application/feed+json": "json", "application/json": "json",
}
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class FeedLink:
    url: str
    format: str  # rss, atom, rdf, json
    title: str


class _LinkFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.links: list[tuple[str, str, str]] = []  # (href, format, title)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): (value or "").strip() for name, value in attrs}
        if tag == "base" and values.get("href") and self.base is None:
            self.base = values["href"]
        if tag not in ("link", "a"):
            return
        rels = values.get("rel", "").lower().split()
        kind = FEED_TYPES.get(values.get("type", "").lower().split(";")[0].strip())
        if "alternate" in rels and kind and values.get("href"):
            self.links.append((values["href"], kind, " ".join(values.get("title", "").split())))

    handle_startendtag = handle_starttag


def discover_feeds(page: str, url: str) -> list[FeedLink]:
    """The feed links of an HTML page fetched from ``url``, as absolute http(s) URLs."""
    finder = _LinkFinder()
    finder.feed(page)
    finder.close()
    base = urljoin(url, finder.base) if finder.base else url
    found: dict[str, FeedLink] = {}
    for href, kind, title in finder.links:
        try:
            absolute = urljoin(base, href).split("#", 1)[0]
            parts = urlsplit(absolute)
        except ValueError:
            continue
        if parts.scheme in ("http", "https") and parts.hostname:
            found.setdefault(absolute, FeedLink(absolute, kind, title))
    return list(found.values())


def decode_page(body: bytes, content_type: str | None) -> str:
    """Text of an HTML page: the header's charset, else a ``<meta charset>``, else UTF-8 (lenient)."""
    charset = None
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'")
    if not charset:
        match = _META_CHARSET.search(body[:4096])
        charset = match.group(1).decode("ascii") if match else "utf-8"
    try:
        return body.decode(charset, errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")
