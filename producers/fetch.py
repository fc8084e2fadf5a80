"""Fetching feeds and article pages: conditional GET on top of :mod:`producers.http`.

Returns a :class:`FetchResult` (not raw HTTP). Failures that may go away (network, timeouts, a
connection closed mid-response, 5xx, 408, 429) raise :class:`~pipeline.errors.RetryLater`
carrying the server's Retry-After; others (404, 410, too large, a redirect loop) raise
:class:`FetchError`. The scheduler counts both and retries with backoff; it never gives up.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipeline.backoff import parse_retry_after
from pipeline.errors import RetryLater
from pipeline.settings import ProducerSettings
from producers.http import FetchError, HttpLimits, HttpResponse, http_get

__all__ = ["Validators", "FetchResult", "FetchError", "limits_from", "fetch_feed", "fetch_page"]

_FEED_ACCEPT = ("application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9,"
                " application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5")
_PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"


@dataclass(frozen=True)
class Validators:
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class FetchResult:
    status: int  # 200 or 304
    url: str  # after redirects
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    validators: Validators = Validators()
    moved_to: str | None = None  # the target of a permanent (301/308) first redirect

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def limits_from(settings: ProducerSettings) -> HttpLimits:
    """The HTTP limits of the producer settings (``timeout`` bounds the connect and each read)."""
    return HttpLimits(connect_timeout=settings.timeout, read_timeout=settings.timeout,
                      total_timeout=settings.total_timeout, max_bytes=settings.max_bytes,
                      max_redirects=settings.max_redirects, user_agent=settings.user_agent)


def fetch_feed(url: str, validators: Validators, limits: HttpLimits) -> FetchResult:
    """GET a feed once, conditionally when validators are known."""
    headers = {"Accept": _FEED_ACCEPT}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    response = http_get(url, headers, limits)
    moved = response.redirects[0][1] if response.redirects and response.redirects[0][0] in (301, 308) else None
    if response.status == 304:
        return FetchResult(status=304, url=response.url, headers=response.headers,
                           validators=_validators(response.headers, validators), moved_to=moved)
    _raise_for_status(url, response)
    return FetchResult(status=response.status, url=response.url, body=response.body, headers=response.headers,
                       validators=_validators(response.headers, Validators()), moved_to=moved)


def fetch_page(url: str, limits: HttpLimits) -> HttpResponse:
    """GET an HTML page (an article, a home page) under the same limits as feeds."""
    response = http_get(url, {"Accept": _PAGE_ACCEPT}, limits)
    _raise_for_status(url, response)
    return response


def _validators(headers: dict[str, str], fallback: Validators) -> Validators:
    """A 304 may omit the validators; keep the ones that were sent then."""
    return Validators(headers.get("etag") or fallback.etag, headers.get("last-modified") or fallback.last_modified)


def _raise_for_status(url: str, response: HttpResponse) -> None:
    status = response.status
    if 200 <= status < 300:
        return
    if status in (408, 429) or status >= 500:
        raise RetryLater(f"{url}: HTTP {status}", parse_retry_after(response.headers.get("retry-after")))
    if 300 <= status < 400:
        raise FetchError(f"{url}: HTTP {status} without a usable Location")
    raise FetchError(f"{url}: HTTP {status}")
