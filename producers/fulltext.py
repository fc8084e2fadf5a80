"""Optional full-text extraction (``full_text: true`` on a feed): the article page is fetched with
the feed limits and its main text extracted with trafilatura (``pip install 'newsmon[fulltext]'``).

Extraction never fetches anything itself; a failure (page unreachable, not HTML, nothing
extracted) leaves the item's body empty and its summary as the feed gave it.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence

from pipeline.errors import ConfigError
from pipeline.settings import FeedSpec
from producers.fetch import fetch_page
from producers.http import HttpLimits

__all__ = ["fulltext_available", "require_fulltext", "extract_body", "fetch_body"]

logger = logging.getLogger(__name__)

_HTML_TYPES = ("text/html", "application/xhtml+xml")


def fulltext_available() -> bool:
    return importlib.util.find_spec("trafilatura") is not None


def require_fulltext(feeds: Sequence[FeedSpec]) -> None:
    """ConfigError naming the first feed that asks for full text when trafilatura is not installed."""
    wanting = [feed.id for feed in feeds if feed.full_text]
    if wanting and not fulltext_available():
        raise ConfigError(f"feeds ({wanting[0]}).full_text: needs the trafilatura package"
                          " (pip install 'newsmon[fulltext]'), or set full_text: false")


def extract_body(page: bytes, url: str) -> str | None:
    """The main text of an HTML page as plain text (one paragraph a line), or None."""
    import trafilatura  # optional, and slow to import: only when a feed asks for it

    try:
        text = trafilatura.extract(page, url=url, output_format="txt", include_comments=False,
                                   include_tables=False, include_images=False, include_links=False,
                                   favor_precision=True)
    except Exception as exc:  # a parser failure on one hostile page must not stop the feed
        logger.warning("event=fulltext_failed url=%s error=%s", url, f"{type(exc).__name__}: {exc}")
        return None
    if not text or not text.strip():
        return None
    paragraphs = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(p for p in paragraphs if p) or None


def fetch_body(url: str, limits: HttpLimits) -> str | None:
    """Fetch an article page and extract its body; None (and a log line) when either fails."""
    try:
        response = fetch_page(url, limits)
    except Exception as exc:  # network or HTTP failure: keep the summary
        logger.warning("event=fulltext_failed url=%s error=%s", url, exc)
        return None
    content_type = response.headers.get("content-type", "text/html").split(";")[0].strip().lower()
    if content_type not in _HTML_TYPES:
        logger.warning("event=fulltext_failed url=%s error=not HTML (%s)", url, content_type)
        return None
    return extract_body(response.body, response.url)
