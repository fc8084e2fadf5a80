"""What keeps another web site from writing through the search page's ``POST /api/label``.

A browser lets any page send a cross-site POST, but a plain HTML form can send only
``application/x-www-form-urlencoded``, ``multipart/form-data`` or ``text/plain``; anything else
(``application/json``) needs a CORS preflight, which this server never grants. So a write is
accepted only as ``application/json``, never when the browser says it comes from another site
(``Sec-Fetch-Site: cross-site``), and, on an open loopback server, only from the page's own origin
when the browser names one (``Origin``). With ``NEWSMON_WEB_TOKEN`` the bearer token, which another
site cannot read, guards the write, and the origin is not compared (a TLS proxy in front changes it).
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

__all__ = ["JSON_TYPE", "refusal", "same_origin"]

JSON_TYPE = "application/json"


def _authority(scheme: str, netloc: str) -> str:
    netloc = netloc.strip().lower()
    default = ":443" if scheme == "https" else ":80"
    return netloc[:-len(default)] if netloc.endswith(default) else netloc


def same_origin(origin: str, host_header: str) -> bool:
    """Whether ``origin`` (an ``Origin`` header) is ``http://<Host>``, the page's own origin."""
    try:
        parts = urlsplit(origin.strip())
    except ValueError:
        return False
    if parts.scheme.lower() != "http" or parts.path or parts.query or not parts.netloc:
        return False
    return _authority("http", parts.netloc) == _authority("http", host_header)


def refusal(headers: Mapping[str, str], check_origin: bool) -> tuple[int, str] | None:
    """(status, one line) when a write must be refused, else None; ``headers`` by lower-case names."""
    if headers.get("sec-fetch-site", "").strip().lower() == "cross-site":
        return 403, "a write from another web site is refused (Sec-Fetch-Site: cross-site)"
    origin = headers.get("origin")
    if check_origin and origin is not None and not same_origin(origin, headers.get("host", "")):
        return 403, f"Origin: {origin[:80]!r} is not this page's origin; a write from another web site is refused"
    content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if content_type != JSON_TYPE:
        return 415, f"Content-Type: expected {JSON_TYPE}, got {content_type[:60]!r}"
    return None
