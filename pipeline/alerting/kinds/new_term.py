"""``new_term``: the first story in ``lookback`` naming a value of ``field`` not named in the ``lookback``
before it, after ``warmup`` from the rule's first story."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.alerting.kinds.keys import key_field
from pipeline.alerting.values import duration

__all__ = ["KEYS", "REQUIRED", "WINDOWED", "options"]

KEYS = frozenset({"field", "lookback", "warmup"})
REQUIRED = ("field",)
WINDOWED = False


def options(raw: Mapping[str, Any], where: str) -> dict[str, Any]:
    return {"term_field": key_field(raw["field"], f"{where}.field"),
            "lookback": duration(raw.get("lookback", "30d"), f"{where}.lookback", 3600.0, False),
            "warmup": duration(raw.get("warmup", 0), f"{where}.warmup", 0.0)}
