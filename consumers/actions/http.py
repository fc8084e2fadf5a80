"""POSTing an alert over HTTP, shared by the webhook, Slack and Teams actions.

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
import urllib.request

from pipeline.backoff import parse_retry_after
from pipeline.errors import PermanentError, RetryLater, Unreachable
from pipeline.rule_settings import ActionSpec

__all__ = ["SIGNATURE_HEADER", "ALERT_ID_HEADER", "sign", "post"]

SIGNATURE_HEADER = "X-Newsmon-Signature"
ALERT_ID_HEADER = "X-Newsmon-Alert-Id"


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
