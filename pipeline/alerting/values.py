"""The value checks every part of an alert rule's configuration shares: each error is a
:class:`~pipeline.errors.ConfigError` of one line, ``<where>: <reason>``, where ``where`` names the
file, the rule and the key (``rules.d/ct.yaml: rules[1] (ct-kp).realert``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipeline.durations import parse_duration
from pipeline.errors import ConfigError

__all__ = ["fail", "strings", "duration", "number", "count", "flag"]


def fail(where: str, message: str) -> ConfigError:
    return ConfigError(f"{where}: {message}")


def strings(raw: Any, where: str) -> tuple[str, ...]:
    """A string or a list of non-empty strings, stripped."""
    if raw is None:
        return ()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list) or not all(isinstance(v, str) and v.strip() for v in raw):
        raise fail(where, "expected a list of non-empty strings")
    return tuple(v.strip() for v in raw)


def duration(raw: Any, where: str, minimum: float, optional: bool = True) -> float | None:
    """Seconds from ``90``, ``"10m"``, ``"1h30m"``...; None for None."""
    if raw is None:
        return None
    try:
        seconds = parse_duration(raw)
    except ValueError as exc:
        raise fail(where, str(exc)) from None
    if seconds < minimum:
        raise fail(where, f"must be at least {minimum:g}s" + (" (omit the key to turn it off)" if optional else ""))
    return seconds


def number(convert: Callable[[Any], Any], raw: Any, where: str, low: float, high: float) -> Any:
    if isinstance(raw, bool):
        raise fail(where, f"expected a number, got {raw!r}")
    try:
        value = convert(raw)
    except (TypeError, ValueError):
        raise fail(where, f"expected a number, got {raw!r}") from None
    if not low <= value <= high:
        raise fail(where, f"expected a value from {low:g} to {high:g}, got {raw!r}")
    return value


def count(raw: Any, where: str, low: int, high: int) -> int:
    if isinstance(raw, float) and not raw.is_integer():
        raise fail(where, f"expected a whole number, got {raw!r}")
    value: int = number(int, raw, where, low, high)
    return value


def flag(raw: Any, where: str, key: str) -> bool:
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    if not isinstance(raw, bool):
        raise fail(f"{where}.{key}", f"expected true or false, got {raw!r}")
    return raw
