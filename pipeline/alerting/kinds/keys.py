"""The fields a rule may group its windows by (``group_by``) or watch for new values (``field``)."""

from __future__ import annotations

from typing import Any

from pipeline.alerting.values import fail

__all__ = ["KEY_FIELDS", "key_field"]

KEY_FIELDS = ("countries", "locations.name", "entities.groups", "entities.places", "entities.organizations",
              "entities.persons", "source", "topics")


def key_field(raw: Any, where: str) -> str:
    if raw not in KEY_FIELDS:
        raise fail(where, f"expected one of {', '.join(KEY_FIELDS)}, got {raw!r}")
    return str(raw)
