"""A channel written for the registry test: POSTs the headline as text/plain to ``url`` with an
``Authorization: Bearer`` token from ``token_env`` — what a channel outside newsmon's own looks like."""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping
from typing import Any

from pipeline.alerting.actions import ActionSpec, Secrets, masked_url
from pipeline.alerting.channels.http import address
from pipeline.alerting.render.view import headline
from pipeline.alerting.values import fail
from pipeline.errors import RetryLater

__all__ = ["KEYS", "configure", "target", "address", "send"]

KEYS = frozenset({"url", "token_env", "priority"})


def configure(raw: Mapping[str, Any], where: str, secrets: Secrets) -> dict[str, Any]:
    if not str(raw.get("url", "")).startswith(("http://", "https://")):
        raise fail(f"{where}.url", "a plain action needs an http(s) url")
    if raw.get("priority", "default") not in ("low", "default", "high"):
        raise fail(f"{where}.priority", "expected low, default or high")
    token = secrets.get(raw["token_env"], f"{where}.token_env") if raw.get("token_env") else ""
    return {"url": raw["url"], "secret": token, "options": raw.get("priority", "default")}


def target(action: ActionSpec) -> str:
    return f"plain:{masked_url(action.url)}"


def send(action: ActionSpec, alert: dict[str, Any]) -> None:
    request = urllib.request.Request(action.url, data=headline(alert).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "text/plain; charset=utf-8",
                                              "Authorization": f"Bearer {action.secret}", "X-Priority": action.options})
    try:
        with urllib.request.urlopen(request, timeout=action.timeout) as response:
            response.read()
    except OSError as exc:
        raise RetryLater(f"plain: {exc}") from None
