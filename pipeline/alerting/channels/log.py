"""The ``log`` action: one key=value log line per alert, and nothing sent anywhere. ``headline`` is the
line a chat channel would show (the rule's ``title_template`` when it has one), ``title`` the first
story's own title."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pipeline.alerting.actions import ActionSpec, Secrets
from pipeline.alerting.channels.base import Alert
from pipeline.alerting.render.view import headline, story_views

__all__ = ["KEYS", "configure", "target", "address", "send"]

logger = logging.getLogger("consumers.alerter")

KEYS: frozenset[str] = frozenset()


def configure(raw: Mapping[str, Any], where: str, secrets: Secrets) -> dict[str, Any]:
    return {}


def target(action: ActionSpec) -> str:
    return "log"


def address(action: ActionSpec) -> tuple[str, int] | None:
    return None  # connects nowhere


def send(action: ActionSpec, alert: Alert) -> None:
    stories = story_views(alert)
    logger.info("event=alert rule=%s kind=%s severity=%s id=%s stories=%d headline=%r title=%r", alert.get("rule"),
                alert.get("kind"), alert.get("severity"), alert.get("id"), len(stories), headline(alert),
                stories[0].title if stories else "")
