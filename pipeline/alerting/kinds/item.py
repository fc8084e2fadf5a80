"""``item``, the default kind: each matching story alerts, once, or again after ``realert``, or in a
``digest`` per window; with ``feed_health`` the rule's actions also get the feed-health alerts;
``skip_marked_no`` skips stories an analyst marked off the rule's topics."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.alerting.values import duration, flag

__all__ = ["KEYS", "REQUIRED", "WINDOWED", "options"]

KEYS = frozenset({"realert", "digest", "feed_health", "skip_marked_no"})
REQUIRED: tuple[str, ...] = ()
WINDOWED = False


def options(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    return {"realert": duration(raw.get("realert"), f"{where}.realert", 1.0),
            "digest": duration(raw.get("digest"), f"{where}.digest", 60.0),
            "feed_health": flag(raw.get("feed_health", False), where, "feed_health"),
            "skip_marked_no": flag(raw.get("skip_marked_no", True), where, "skip_marked_no")}
