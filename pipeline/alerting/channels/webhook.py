"""The generic JSON webhook: POST the alert document itself (docs/alert-payload.schema.json)."""

from __future__ import annotations

import json

from pipeline.alerting.actions import ActionSpec
from pipeline.alerting.channels.base import Alert
from pipeline.alerting.channels.http import HTTP_KEYS, address, configure, post, target

__all__ = ["KEYS", "configure", "target", "address", "body", "send"]

KEYS = HTTP_KEYS  # url or url_env, secret_env


def body(alert: Alert) -> bytes:
    return json.dumps(alert, ensure_ascii=False, sort_keys=True).encode("utf-8")


def send(action: ActionSpec, alert: Alert) -> None:
    post(action, body(alert), alert["id"])
