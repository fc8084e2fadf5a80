"""Sending an alert as a JSON POST, signed with HMAC-SHA256 when the action has a secret.

Signature header: ``X-Newsmon-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``.
A receiver recomputes the HMAC with the shared secret and rejects stale timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any

from pipeline.errors import PermanentError, RetryLater
from pipeline.settings import ActionSpec
from producers.fetch import parse_retry_after

__all__ = ["sign", "post_json"]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def post_json(action: ActionSpec, payload: dict[str, Any]) -> None:
    """POST the payload; RetryLater on network errors, timeouts, 429 and 5xx; PermanentError on other 4xx."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json", "User-Agent": "newsmon-alerter"}
    if action.secret:
        headers["X-Newsmon-Signature"] = sign(action.secret, int(time.time()), body)
    request = urllib.request.Request(action.url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=action.timeout) as response:
            response.read(65536)
    except urllib.error.HTTPError as exc:
        hint = parse_retry_after(exc.headers.get("Retry-After") if exc.headers else None)
        if exc.code in (408, 429) or exc.code >= 500:
            raise RetryLater(f"webhook HTTP {exc.code}", hint) from None
        raise PermanentError(f"webhook HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, socket.timeout, TimeoutError, ConnectionError, OSError) as exc:
        raise RetryLater(f"webhook unreachable: {getattr(exc, 'reason', exc)}") from None
