"""The ``log`` action: one key=value log line per alert, and nothing sent anywhere."""

from __future__ import annotations

import logging

from consumers.actions.base import Alert
from consumers.actions.view import story_views
from pipeline.rule_settings import ActionSpec

__all__ = ["send"]

logger = logging.getLogger("consumers.alerter")


def send(action: ActionSpec, alert: Alert) -> None:
    stories = story_views(alert)
    logger.info("event=alert rule=%s kind=%s severity=%s id=%s stories=%d title=%r", alert.get("rule"),
                alert.get("kind"), alert.get("severity"), alert.get("id"), len(stories),
                stories[0].title if stories else "")
