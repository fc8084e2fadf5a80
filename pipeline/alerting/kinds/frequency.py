"""``frequency``: a window's distinct stories (per ``group_by`` value) reach ``min_stories``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.alerting.kinds.window import WINDOW_KEYS, window_options

__all__ = ["KEYS", "REQUIRED", "WINDOWED", "options"]

KEYS = WINDOW_KEYS | {"group_by"}
REQUIRED = ("window", "min_stories")
WINDOWED = True


def options(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    return window_options(raw, where)
