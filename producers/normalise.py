"""Parsed entries → :class:`~pipeline.item.RawItem` (pure: the clock comes in as ``fetched_at``).

- :func:`canonical_url` — the URL the item id is derived from (tracking parameters removed).
- :func:`html_to_text` — plain text for ``title``/``summary``: tags removed, entities decoded,
  whitespace folded.
- :func:`normalise_entry` / :func:`normalise_feed` — one entry, or a whole document with per-entry
  errors as data and duplicate ids dropped.
- :func:`bound_text` / :func:`with_body` — the size bounds that keep one item well under Kafka's
  default 1 MB message limit: ``title`` and ``summary`` at fixed caps, ``body`` at
  ``producer.max_body_chars``, each cut at a word boundary with a visible marker (`` […]``).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit, urlunsplit

from pipeline.errors import PermanentError
from pipeline.item import TRUNCATION_MARKER, FeedRef, RawItem, bound_text, format_time, item_id_for
from pipeline.settings import ProducerSettings
from producers.parse import ParsedEntry, ParsedFeed

__all__ = [
    "TRACKING_PARAMS", "TRACKING_PREFIXES", "EARLIEST_PUBLISHED", "SUMMARY_CHARS",
    "MAX_TITLE_CHARS", "MAX_SUMMARY_CHARS", "MAX_BODY_CHARS", "TRUNCATION_MARKER",
    "EntryError", "NormalisedEntry", "canonical_url", "html_to_text", "truncate_text", "bound_text",
    "with_body", "normalise_entry", "normalise_feed",
]

#: Query parameters that only track the reader; compared case-insensitively.
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "twclid", "ttclid", "igshid",
    "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "vero_id", "li_fat_id",
    "ref", "ref_src", "ref_url", "cmpid", "ocid", "spm", "smid", "s_cid", "wt.mc_id",
    "at_medium", "at_campaign", "oly_anon_id", "oly_enc_id", "rb_clickid", "sr_share", "ito",
})
#: Parameter-name prefixes that only track the reader (``utm_source``, ``utm_medium``, …).
TRACKING_PREFIXES = ("utm_",)
#: Publication dates before this are taken as bogus (epoch zero, two-digit-year mistakes).
EARLIEST_PUBLISHED = datetime(1990, 1, 1, tzinfo=UTC)
#: Length a summary taken from the article content is cut to, at a sentence or word boundary.
SUMMARY_CHARS = 600
_TITLE_CHARS = 160
#: Hard caps of what one item carries (a feed that puts a whole book in ``<title>`` or ``<description>``).
MAX_TITLE_CHARS = 1_000
MAX_SUMMARY_CHARS = 20_000
#: The default of ``producer.max_body_chars``: an extracted article body is cut to this length.
MAX_BODY_CHARS = ProducerSettings().max_body_chars

_DEFAULT_PORTS = {"http": "80", "https": "443"}
_WEB_SCHEMES = ("http", "https")
_SKIPPED_ELEMENTS = frozenset({"script", "style", "noscript", "template"})
_BLOCK_ELEMENTS = frozenset({
    "address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "figcaption",
    "figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav",
    "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul",
})
_LEFTOVER_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z][a-zA-Z0-9]{1,31});")
_MARKUP = re.compile(r"<[a-zA-Z/!?]")
_UNFINISHED_TAG = re.compile(r"<[a-zA-Z/!?][^<>]*$")
_EXTRA_PASSES = 2
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]?\s")


class EntryError(PermanentError):
    """One feed entry cannot become an item; the message names the entry and the field."""


@dataclass(frozen=True)
class NormalisedEntry:
    item: RawItem
    notes: tuple[str, ...] = ()  # why something was replaced (a bogus date, a missing title)


# --- URLs ------------------------------------------------------------------------------------


def canonical_url(url: str) -> str:
    """Lower-case scheme and host, no default port, fragment or tracking parameters, dots resolved."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    netloc = _canonical_netloc(parts.netloc, scheme)
    path = _remove_dot_segments(parts.path) or ("/" if netloc else "")
    query = "&".join(p for p in parts.query.split("&") if p and not _is_tracking(p))
    return urlunsplit((scheme, netloc, path, query, ""))


def _canonical_netloc(netloc: str, scheme: str) -> str:
    userinfo, at, hostport = netloc.rpartition("@")
    if hostport.startswith("["):  # IPv6 literal
        host, _, rest = hostport.partition("]")
        host, port = host + "]", rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    host = host.lower().rstrip(".")
    if port and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{userinfo}{at}{host}"


def _is_tracking(pair: str) -> bool:
    name = pair.split("=", 1)[0].lower()
    return name in TRACKING_PARAMS or name.startswith(TRACKING_PREFIXES)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, on whole segments."""
    if not path:
        return path
    segments = path.split("/")
    out: list[str] = []
    for segment in segments[1:] if path.startswith("/") else segments:
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    if segments[-1] in (".", ".."):
        out.append("")  # "/a/b/.." is the directory "/a/"
    return ("/" if path.startswith("/") else "") + "/".join(out)


# --- HTML → text -----------------------------------------------------------------------------


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping: list[str] = []  # open skipped elements, innermost last

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in _SKIPPED_ELEMENTS:
            self.skipping.append(tag)
        elif tag in _BLOCK_ELEMENTS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list) -> None:
        if tag in _BLOCK_ELEMENTS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.skipping:
            while self.skipping.pop() != tag:
                pass
        elif tag in _BLOCK_ELEMENTS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment, whitespace folded to single spaces.

    ``<script>``, ``<style>``, ``<noscript>`` and ``<template>`` are dropped with their contents;
    block elements and ``<br>`` separate words. Entities are decoded by the parser. The result never
    looks like markup: when decoding produced tags (markup escaped in the source, as RSS titles and
    Atom ``type="text"`` often carry), the text is stripped again, at most twice more, and a tag
    left unfinished at the very end is dropped. Then entities left over from double encoding
    (``&amp;amp;``) are decoded once more, except ``&lt;``/``&gt;`` and control characters.
    """
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:  # no tag, no entity: the parser would hand it back as it is
        return " ".join(fragment.split())
    text = _strip_markup(fragment)
    for _ in range(_EXTRA_PASSES):
        if not _MARKUP.search(text):
            break
        text, before = _strip_markup(text), text
        if text == before:
            break
    text = _UNFINISHED_TAG.sub("", text)
    text = _LEFTOVER_ENTITY.sub(_decode_leftover, text)
    return " ".join(text.split())


def _strip_markup(fragment: str) -> str:
    parser = _TextExtractor()
    parser.feed(fragment)
    parser.close()
    return "".join(parser.parts)


def _decode_leftover(match: re.Match) -> str:
    decoded = html.unescape(match.group(0))
    unsafe = decoded in ("<", ">") or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in decoded)
    return match.group(0) if unsafe else decoded


def truncate_text(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a sentence end if one is past the middle,
    else at a word boundary, with an ellipsis when anything was cut."""
    if len(text) <= limit:
        return text
    head = text[: limit]
    sentence_ends = [m.end() for m in _SENTENCE_END.finditer(head + " ")]
    if sentence_ends and sentence_ends[-1] > limit // 2:
        return head[: sentence_ends[-1]].rstrip()
    cut = head[: limit - 1].rsplit(" ", 1)[0] if " " in head[: limit - 1] else head[: limit - 1]
    return cut.rstrip(" ,;:-") + "…"


def with_body(item: RawItem, body: str | None, max_body_chars: int = MAX_BODY_CHARS) -> RawItem:
    """``item`` carrying the extracted ``body`` bounded to ``max_body_chars`` (``producer.max_body_chars``);
    an item without a summary gets one from the body. A missing or empty body leaves the item as it is."""
    if not body:
        return item
    summary = item.summary or truncate_text(" ".join(body.split()), SUMMARY_CHARS)
    return replace(item, body=bound_text(body, max_body_chars), summary=summary)


# --- entries ---------------------------------------------------------------------------------


def normalise_entry(entry: ParsedEntry, *, feed: FeedRef, source: str, fetched_at: datetime,
                    default_language: str = "en", max_future: timedelta = timedelta(minutes=15),
                    index: int | None = None) -> NormalisedEntry:
    """One parsed entry as a :class:`RawItem`; :class:`EntryError` if it has no link, GUID or title."""
    where = "entry" if index is None else f"entry {index}"
    notes: list[str] = []
    fetched_at = _as_utc(fetched_at)
    url = _entry_url(entry.link, feed.url, notes)
    guid = entry.guid.strip()
    title = bound_text(html_to_text(entry.title), MAX_TITLE_CHARS)
    summary = bound_text(html_to_text(entry.summary), MAX_SUMMARY_CHARS) or truncate_text(
        html_to_text(entry.content), SUMMARY_CHARS)
    if not (url or guid or title):
        raise EntryError(f"{where}: no link, guid or title (fields 'link', 'guid', 'title' all empty)")
    if not title and summary:
        title = truncate_text(summary, _TITLE_CHARS)
        notes.append("no title: taken from the summary")
    if not (url or guid):
        notes.append("no link or guid: id derived from the feed URL and title")
    item = RawItem(
        id=item_id_for(url or None, guid or f"{feed.url}\n{title}"), url=url, guid=guid,
        source=source, feed=feed, title=title, summary=summary, fetched_at=format_time(fetched_at),
        published=_checked_published(entry.published, fetched_at, max_future, notes),
        language=_iso639(entry.language) or default_language,
        authors=_texts(entry.authors), tags=_texts(entry.tags),
    )
    return NormalisedEntry(item=item, notes=tuple(f"{where}: {note}" for note in notes))


def normalise_feed(parsed: ParsedFeed, *, feed: FeedRef, source: str, fetched_at: datetime,
                   default_language: str = "en", max_future: timedelta = timedelta(minutes=15),
                   ) -> tuple[list[NormalisedEntry], list[str]]:
    """Every entry of a document: ``(items, errors)``. A bad entry is reported and skipped, and an
    entry whose id repeats an earlier one in the same document is dropped (and reported)."""
    language = _iso639(parsed.language) or default_language
    items: list[NormalisedEntry] = []
    errors: list[str] = []
    first_index: dict[str, int] = {}
    for index, entry in enumerate(parsed.entries):
        try:
            normalised = normalise_entry(entry, feed=feed, source=source, fetched_at=fetched_at,
                                         default_language=language, max_future=max_future, index=index)
        except PermanentError as exc:
            errors.append(str(exc) if str(exc).startswith("entry ") else f"entry {index}: {exc}")
            continue
        item_id = normalised.item.id
        if item_id in first_index:
            errors.append(f"entry {index}: duplicate of entry {first_index[item_id]} (id {item_id})")
            continue
        first_index[item_id] = index
        items.append(normalised)
    return items, errors


def _entry_url(link: str, base: str, notes: list[str]) -> str:
    """The canonical absolute http(s) URL of ``link``, or "" (with a note) when it has none."""
    link = link.strip()
    if not link:
        return ""
    try:
        absolute = urljoin(base, link) if base else link
        parts = urlsplit(absolute)
        if parts.scheme.lower() in _WEB_SCHEMES and parts.hostname:
            return canonical_url(absolute)
    except ValueError:  # e.g. an unbalanced "[" in the host
        pass
    notes.append(f"link {link[:80]!r} is not an absolute http(s) URL: ignored")
    return ""


def _checked_published(published: datetime | None, fetched_at: datetime, max_future: timedelta,
                       notes: list[str]) -> str | None:
    """RFC 3339 UTC, or ``fetched_at`` (with a note) for dates in the future or before 1990."""
    if published is None:
        return None
    published = _as_utc(published)
    if published > fetched_at + max_future:
        notes.append(f"published {format_time(published)} is in the future: replaced by fetched_at")
        return format_time(fetched_at)
    if published < EARLIEST_PUBLISHED:
        notes.append(f"published {format_time(published)} is before 1990: replaced by fetched_at")
        return format_time(fetched_at)
    return format_time(published)


def _as_utc(moment: datetime) -> datetime:
    """Aware UTC; a naive value is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _iso639(tag: str | None) -> str | None:
    """``en-US`` → ``en``; None unless the primary subtag is two ASCII letters."""
    primary = (tag or "").strip().replace("_", "-").split("-")[0].lower()
    return primary if len(primary) == 2 and primary.isascii() and primary.isalpha() else None


def _texts(values: tuple[str, ...]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        text = html_to_text(value)
        if text:
            seen.setdefault(text, None)
    return tuple(seen)
