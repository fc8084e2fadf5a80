"""``spike``: a window's distinct stories (per ``group_by`` value) reach ``min_stories`` and ``ratio``
times the trailing average of the previous ``baseline_windows`` windows (at least ``baseline_floor``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.alerting.kinds.window import WINDOW_KEYS, window_options
from pipeline.alerting.values import count, number

__all__ = ["KEYS", "REQUIRED", "WINDOWED", "options"]

KEYS = WINDOW_KEYS | {"baseline_windows", "ratio", "baseline_floor", "group_by"}
REQUIRED = ("window",)
WINDOWED = True


def options(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    return {**window_options(raw, where),
            "baseline_windows": count(raw.get("baseline_windows", 24), f"{where}.baseline_windows", 1, 1000),
            "ratio": number(float, raw.get("ratio", 3.0), f"{where}.ratio", 1.0, 1000.0),
            "baseline_floor": number(float, raw.get("baseline_floor", 1.0), f"{where}.baseline_floor",
                                     0.01, 1_000_000.0)}
