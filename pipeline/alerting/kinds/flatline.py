"""``flatline``: a closed window holds fewer than ``min_stories`` of the rule's stories (no ``group_by``:
a key that never appears could not be told from one that went quiet)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.alerting.kinds.window import WINDOW_KEYS, window_options

__all__ = ["KEYS", "REQUIRED", "WINDOWED", "options"]

KEYS = WINDOW_KEYS
REQUIRED = ("window", "min_stories")
WINDOWED = True


def options(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    return window_options(raw, where)
