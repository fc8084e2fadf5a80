"""The keys the windowed kinds (spike, frequency, flatline) share: ``window``, ``grace``, ``min_stories``
and, where the kind takes it, ``group_by``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.alerting.kinds.keys import key_field
from pipeline.alerting.values import count, duration

__all__ = ["WINDOW_KEYS", "window_options"]

WINDOW_KEYS = frozenset({"window", "grace", "min_stories"})


def window_options(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    options: dict[str, Any] = {
        "window": duration(raw["window"], f"{where}.window", 60.0, False),
        "grace": duration(raw.get("grace", "10m"), f"{where}.grace", 0.0),
        "min_stories": count(raw.get("min_stories", 3), f"{where}.min_stories", 1, 1_000_000),
    }
    if "group_by" in raw:
        options["group_by"] = key_field(raw["group_by"], f"{where}.group_by")
    return options
