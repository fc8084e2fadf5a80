"""Feed bytes → :class:`ParsedFeed` (pure: no network, no file system, no clock).

RSS 0.9x/1.0/2.0 and Atom 0.3/1.0 go through feedparser, always handed a byte *stream* (a bare
``bytes`` argument could be taken for a file name or URL) and the HTTP response headers, so its
encoding detection can use the declared charset. feedparser strips the DOCTYPE and every
non-literal ENTITY declaration before parsing and turns external general entities off, so nothing
is ever resolved or fetched. JSON Feed 1.0/1.1 is decoded here with :mod:`json`.

What is not a feed raises :class:`FeedParseError` with a one-line reason: an empty response, an
HTML page (an error or login page served with 200), XML so malformed that feedparser recovered
neither an entry nor a feed element, bytes with no RSS, Atom or RDF root, JSON that is not a JSON
Feed. A well-formed feed with no entries is a feed; so is one feedparser complained about (a wrong
declared encoding, an undefined entity) but still read entries or feed elements from: its
complaint is kept as :attr:`ParsedFeed.warning`.

Text fields of :class:`ParsedEntry` are always HTML: plain-text values are escaped, so callers can
treat every field alike. The HTML arrives as published (scripts, handlers and relative links
included), in every format: these fields are only ever meant to be read through
:func:`producers.normalise.html_to_text`, which drops scripts and keeps text. feedparser's own
sanitiser and link resolver are off: no HTML leaves the producer, and they were a quarter of the
parse's time.
"""

from __future__ import annotations

import calendar
import html
import io
import json
import logging
import time
import xml.sax
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from pipeline.errors import PermanentError

__all__ = ["ParsedFeed", "ParsedEntry", "FeedParseError", "parse_feed"]

logger = logging.getLogger(__name__)

_PASSED_HEADERS = ("content-type", "content-location", "content-language")
_DEFAULT_CONTENT_TYPE = "application/xml"  # lets the document's own XML declaration/BOM decide
_SY_PERIODS = {"hourly": 3600, "daily": 86400, "weekly": 604800, "monthly": 2592000, "yearly": 31536000}
_JSON_FEED_PREFIX = "https://jsonfeed.org/version/"


class FeedParseError(PermanentError):
    """The bytes are not a feed at all (empty, HTML page, malformed XML, binary junk, JSON that is not a
    JSON Feed). ``reason`` says why in one line; the message is ``<url>: not a feed: <reason>``."""

    def __init__(self, url: str, reason: str) -> None:
        self.url, self.reason = url, " ".join(reason.split())
        super().__init__(f"{url}: not a feed: {self.reason}")

    def __reduce__(self) -> tuple[type[FeedParseError], tuple[str, str]]:
        return type(self), (self.url, self.reason)


@dataclass(frozen=True)
class ParsedEntry:
    guid: str
    link: str
    title: str  # HTML
    summary: str  # HTML
    content: str  # HTML: the longest content:encoded / atom:content, else ""
    published: datetime | None  # aware, UTC
    authors: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    language: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    title: str  # as feedparser decodes it: plain text unless the feed itself put markup there
    link: str
    language: str | None
    ttl_seconds: int | None
    entries: tuple[ParsedEntry, ...]
    warning: str | None = None  # why feedparser complained, when it still produced a feed


def parse_feed(body: bytes, *, url: str, content_type: str | None = None,
               headers: dict[str, str] | None = None) -> ParsedFeed:
    """Parse one feed document; relative links are resolved against ``url``.

    Raises :class:`FeedParseError` when ``body`` is not a feed. A feed with no entries is valid.
    """
    if not body or not body.strip():
        raise FeedParseError(url, "empty response")
    response_headers = _response_headers(url, content_type, headers)
    if _looks_like_json(body):
        return _parse_json_feed(body, url)
    try:
        result = feedparser.parse(io.BytesIO(body), response_headers=response_headers,
                                  sanitize_html=False, resolve_relative_uris=False)
    except (ValueError, LookupError, RecursionError) as exc:  # feedparser gave up on hostile bytes
        raise FeedParseError(url, f"feedparser failed: {type(exc).__name__}: {exc}") from None
    entries = tuple(_xml_entry(e) for e in result.get("entries", ()))
    feed = result.get("feed", {})
    if not entries and _recovered_nothing(result, feed):
        raise FeedParseError(url, _not_a_feed_reason(body, result))
    return ParsedFeed(
        title=" ".join((feed.get("title") or "").split()), link=feed.get("link") or "",
        language=feed.get("language") or None, ttl_seconds=_ttl_seconds(feed), entries=entries,
        warning=_reason(result) if result.get("bozo") else None,
    )


def _response_headers(url: str, content_type: str | None, headers: dict[str, str] | None) -> dict[str, str]:
    """Only the headers that matter for decoding (content-encoding is already undone by the fetcher)."""
    given = {k.lower(): v for k, v in (headers or {}).items()}
    out = {name: given[name] for name in _PASSED_HEADERS if given.get(name)}
    out["content-type"] = content_type or out.get("content-type") or _DEFAULT_CONTENT_TYPE
    out.setdefault("content-location", url)
    return out


def _recovered_nothing(result: dict, feed: dict) -> bool:
    """No feed root element at all, or XML so malformed that not one feed element could be read
    (a malformed feed that still yields a title or an entry is kept, with a warning)."""
    return not result.get("version") or (_xml_error(result) is not None and not feed)


def _xml_error(result: dict) -> xml.sax.SAXException | None:
    """The error that stopped the strict XML parser (encoding and content-type complaints are not)."""
    exc = result.get("bozo_exception") if result.get("bozo") else None
    return exc if isinstance(exc, xml.sax.SAXException) else None


def _not_a_feed_reason(body: bytes, result: dict) -> str:
    if _looks_like_html(body):
        return "an HTML page"
    exc = _xml_error(result)
    if isinstance(exc, xml.sax.SAXParseException):
        return f"{exc.getMessage()} at line {exc.getLineNumber()}"
    return _reason(result) or "no RSS, Atom or RDF root element"


def _looks_like_html(body: bytes) -> bool:
    head = body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html")) or any(tag in head for tag in (b"<html", b"<head", b"<body"))


def _reason(result: dict) -> str | None:
    exc = result.get("bozo_exception")
    if exc is None:
        return None
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _text_of(node: dict, name: str) -> str:
    """A text construct as HTML (feedparser's ``text/plain`` values are escaped)."""
    return _as_html(node.get(name) or "", node.get(f"{name}_detail") or {})


def _as_html(value: str, detail: dict) -> str:
    return html.escape(value, quote=False) if detail.get("type") == "text/plain" else value


def _xml_entry(entry: dict) -> ParsedEntry:
    contents = [(_as_html(c["value"], c), c) for c in entry.get("content") or () if c.get("value")]
    content, content_detail = max(contents, key=lambda pair: len(pair[0]), default=("", None))
    summary = _text_of(entry, "summary")
    if any(summary == value for value, _ in contents):
        summary = ""  # feedparser copies the content into a missing summary; undo that
    return ParsedEntry(
        guid=entry.get("id") or "", link=entry.get("link") or "",
        title=_text_of(entry, "title"), summary=summary, content=content,
        published=_struct_to_utc(entry.get("published_parsed") or entry.get("updated_parsed")
                                 or entry.get("created_parsed")),
        authors=_unique(a.get("name") or a.get("email") for a in entry.get("authors") or ()),
        tags=_unique(t.get("label") or t.get("term") for t in entry.get("tags") or ()),
        language=_entry_language(entry, content_detail),
    )


def _entry_language(entry: dict, content: dict | None) -> str | None:
    """xml:lang of the entry's title, summary or content (feedparser keeps it per text construct)."""
    details = (entry.get("title_detail"), entry.get("summary_detail"), content)
    return entry.get("language") or next((d["language"] for d in details if d and d.get("language")), None)


def _struct_to_utc(moment: time.struct_time | None) -> datetime | None:
    if moment is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(moment), UTC)
    except (OverflowError, ValueError, OSError):
        return None


def _unique(values: Iterable[Any]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        if isinstance(value, str) and value.strip():
            seen.setdefault(value.strip(), None)
    return tuple(seen)


def _ttl_seconds(feed: dict) -> int | None:
    """RSS ``<ttl>`` (minutes), else ``sy:updatePeriod`` / ``sy:updateFrequency``."""
    ttl = str(feed.get("ttl") or "").strip()
    if ttl.isdigit() and int(ttl) > 0:
        return int(ttl) * 60
    period = _SY_PERIODS.get(str(feed.get("sy_updateperiod") or "").strip().lower())
    if period is None:
        return None
    frequency = str(feed.get("sy_updatefrequency") or "1").strip()
    return period // int(frequency) if frequency.isdigit() and int(frequency) > 0 else period


# --- JSON Feed -------------------------------------------------------------------------------


def _looks_like_json(body: bytes) -> bool:
    """Sniffed from the bytes, not the header: servers often label feeds with the wrong type."""
    return body.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"{")


def _parse_json_feed(body: bytes, url: str) -> ParsedFeed:
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise FeedParseError(url, f"invalid JSON: {type(exc).__name__}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("items"), list) \
            or not str(doc.get("version", "")).startswith(_JSON_FEED_PREFIX):
        raise FeedParseError(url, "JSON without a jsonfeed.org version and an items list")
    feed_authors = _json_authors(doc)
    entries = tuple(_json_entry(item, feed_authors, url) for item in doc["items"] if isinstance(item, dict))
    return ParsedFeed(
        title=_string(doc.get("title")), link=_string(doc.get("home_page_url")),
        language=_string(doc.get("language")) or None, ttl_seconds=None, entries=entries,
    )


def _json_entry(item: dict, feed_authors: tuple[str, ...], base: str) -> ParsedEntry:
    content = _string(item.get("content_html")) or _escaped(item.get("content_text"))
    return ParsedEntry(
        guid=_string(item.get("id")) or _number(item.get("id")),
        link=_joined(base, _string(item.get("url")) or _string(item.get("external_url"))),
        title=_escaped(item.get("title")), summary=_escaped(item.get("summary")), content=content,
        published=_iso_to_utc(item.get("date_published")) or _iso_to_utc(item.get("date_modified")),
        authors=_json_authors(item) or feed_authors,
        tags=_unique(_list(item.get("tags"))),
        language=_string(item.get("language")) or None,
    )


def _json_authors(node: dict) -> tuple[str, ...]:
    authors = node.get("authors")
    if not isinstance(authors, list):
        authors = [node.get("author")]
    return _unique(a.get("name") for a in authors if isinstance(a, dict))


def _iso_to_utc(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def _joined(base: str, link: str) -> str:
    try:
        return urljoin(base, link) if link else ""
    except ValueError:  # a malformed link is left for the normaliser to reject
        return link


def _string(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _number(value: Any) -> str:
    return str(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _escaped(value: Any) -> str:
    return html.escape(_string(value), quote=False)
