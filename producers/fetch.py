"""HTTP fetching of feeds: conditional GET, hard timeouts, bounded size, safe decompression.

Returns a :class:`FetchResult` (not raw HTTP). Failures that may go away (network, timeouts, 5xx,
429) raise :class:`~pipeline.errors.RetryLater` carrying the server's Retry-After; others (404,
oversized body) raise :class:`FetchError`. Both are counted by the scheduler, which never gives up.
"""

from __future__ import annotations

import email.utils
import socket
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

from pipeline.errors import PermanentError, RetryLater

__all__ = ["Validators", "FetchResult", "FetchError", "fetch_feed", "parse_retry_after"]

_ACCEPT = "application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


class FetchError(PermanentError):
    """The server answered in a way that retrying right away will not fix (404, 410, too large)."""


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

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - (now or datetime.now(timezone.utc))).total_seconds())


def _decompress(body: bytes, encoding: str, limit: int, url: str) -> bytes:
    if encoding not in ("gzip", "x-gzip", "deflate"):
        return body
    decoder = zlib.decompressobj(16 + zlib.MAX_WBITS if "gzip" in encoding else zlib.MAX_WBITS)
    try:
        out = decoder.decompress(body, limit + 1)
    except zlib.error as exc:
        raise FetchError(f"{url}: corrupt {encoding} body: {exc}") from None
    if len(out) > limit:
        raise FetchError(f"{url}: decompressed body larger than the {limit}-byte cap")
    return out


def _read_capped(response, limit: int, url: str) -> bytes:
    body = response.read(limit + 1)
    if len(body) > limit:
        raise FetchError(f"{url}: response larger than the {limit}-byte cap")
    return body


def _request(url: str, validators: Validators, user_agent: str) -> urllib.request.Request:
    headers = {"User-Agent": user_agent, "Accept": _ACCEPT, "Accept-Encoding": "gzip, deflate"}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return urllib.request.Request(url, headers=headers)


def fetch_feed(url: str, validators: Validators, *, timeout: float, max_bytes: int, user_agent: str) -> FetchResult:
    """GET a feed once. ``timeout`` bounds the connect and each read."""
    try:
        with urllib.request.urlopen(_request(url, validators, user_agent), timeout=timeout) as response:
            raw = _read_capped(response, max_bytes, url)
            headers = {k.lower(): v for k, v in response.headers.items()}
            body = _decompress(raw, headers.get("content-encoding", "").lower(), max_bytes, url)
            return FetchResult(
                status=response.status, url=response.geturl(), body=body, headers=headers,
                validators=Validators(headers.get("etag"), headers.get("last-modified")),
            )
    except urllib.error.HTTPError as exc:
        return _http_error(url, exc, validators)
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise RetryLater(f"{url}: unreachable: {reason}") from None


def _http_error(url: str, exc: urllib.error.HTTPError, validators: Validators) -> FetchResult:
    if exc.code == 304:
        return FetchResult(status=304, url=url, validators=validators)
    retry_after = parse_retry_after(exc.headers.get("Retry-After") if exc.headers else None)
    if exc.code == 429 or exc.code >= 500 or exc.code == 408:
        raise RetryLater(f"{url}: HTTP {exc.code}", retry_after) from None
    raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}") from None
