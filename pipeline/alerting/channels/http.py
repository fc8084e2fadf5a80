"""What the channels that POST (webhook, Slack, Teams) share: their keys, target, address and the request.

Their keys are ``url`` or ``url_env`` and ``secret_env`` (:data:`HTTP_KEYS`); their target is
``<type>:<scheme>://<host>/~<hash of the path>`` (:func:`~pipeline.alerting.actions.masked_url`).

Every request carries ``X-Newsmon-Alert-Id`` (the alert's stable id, the same on every retry, for
receivers that drop duplicates) and, when the action has a secret, ``X-Newsmon-Signature:
t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``. A receiver recomputes the HMAC over the
raw body with the shared secret and rejects stale timestamps (docs/configuration.md shows how).

Connect and every read are bounded by the action's ``timeout``. Network errors, timeouts, 408,
429 and 5xx raise RetryLater (with the Retry-After hint); other 4xx raise PermanentError.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from pipeline.alerting.actions import ActionSpec, Secrets, masked_url
from pipeline.alerting.values import fail
from pipeline.backoff import parse_retry_after
from pipeline.errors import PermanentError, RetryLater, Unreachable

__all__ = ["HTTP_KEYS", "SIGNATURE_HEADER", "ALERT_ID_HEADER", "configure", "target", "address", "sign", "post"]

HTTP_KEYS = frozenset({"url", "url_env", "secret_env"})
SIGNATURE_HEADER = "X-Newsmon-Signature"
ALERT_ID_HEADER = "X-Newsmon-Alert-Id"
_DEFAULT_PORTS = {"http": 80, "https": 443}


def configure(raw: Mapping[str, Any], where: str, secrets: Secrets) -> dict[str, Any]:
    """``url`` (or the variable ``url_env`` names) and the signing secret ``secret_env`` names."""
    url = raw.get("url") or ""
    if raw.get("url_env"):
        url = secrets.get(raw["url_env"], f"{where}.url_env")
        if not url:
            url = f"https://{raw['url_env']}.unset.invalid/"  # the .invalid domain never resolves
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise fail(f"{where}.url", f"a {raw['type']} action needs an http(s) url or url_env")
    secret = secrets.get(raw["secret_env"], f"{where}.secret_env") if raw.get("secret_env") else ""
    return {"url": url, "secret": secret}


def target(action: ActionSpec) -> str:
    return f"{action.type}:{masked_url(action.url)}"


def address(action: ActionSpec) -> tuple[str, int] | None:
    """The URL's (host, port); None for a URL that has none."""
    try:
        parts = urllib.parse.urlsplit(action.url)
        port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    return (parts.hostname, port) if parts.hostname and port else None


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post(action: ActionSpec, body: bytes, alert_id: str, content_type: str = "application/json") -> None:
    """POST ``body`` to the action's URL; returns when the receiver answered 2xx."""
    headers = {"Content-Type": f"{content_type}; charset=utf-8", "User-Agent": "newsmon-alerter",
               ALERT_ID_HEADER: alert_id}
    if action.secret:
        headers[SIGNATURE_HEADER] = sign(action.secret, int(time.time()), body)
    request = urllib.request.Request(action.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=action.timeout) as response:
            _drain(response)
    except urllib.error.HTTPError as exc:
        hint = parse_retry_after(exc.headers.get("Retry-After") if exc.headers else None)
        if exc.code in (408, 429) or exc.code >= 500:
            raise RetryLater(f"{action.type} HTTP {exc.code}", hint) from None
        raise PermanentError(f"{action.type} HTTP {exc.code} {exc.reason}") from None
    except urllib.error.URLError as exc:  # no connection was made (urllib wraps the connect's error)
        raise Unreachable(f"{action.type} unreachable: {exc.reason}") from None
    except (TimeoutError, http.client.HTTPException, OSError) as exc:  # connected, then no (whole) answer
        raise RetryLater(f"{action.type} unreachable: {exc}") from None


def _drain(response: http.client.HTTPResponse) -> None:
    """Read a little of the answer; the 2xx status already says the receiver took the alert."""
    with contextlib.suppress(OSError, http.client.HTTPException):
        response.read(65536)
