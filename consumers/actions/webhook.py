"""The generic JSON webhook: POST the alert document itself (docs/alert-payload.schema.json)."""

from __future__ import annotations

import json

from consumers.actions.base import Alert
from consumers.actions.http import post
from pipeline.rule_settings import ActionSpec

__all__ = ["body", "send"]


def body(alert: Alert) -> bytes:
    return json.dumps(alert, ensure_ascii=False, sort_keys=True).encode("utf-8")


def send(action: ActionSpec, alert: Alert) -> None:
    post(action, body(alert), alert["id"])
