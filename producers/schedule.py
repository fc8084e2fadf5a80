"""When to poll a feed next (pure): the configured interval, stretched by the feed's own hints
(RSS ``<ttl>``, ``Cache-Control: max-age``, ``Retry-After``), clamped to configured bounds, and a
jittered exponential backoff after errors that never gives up for good."""

from __future__ import annotations

import random
import re

from pipeline.backoff import backoff_delay
from pipeline.settings import ProducerSettings

__all__ = ["max_age", "delay_after_success", "delay_after_error"]

_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.IGNORECASE)


def max_age(cache_control: str | None) -> float | None:
    match = _MAX_AGE.search(cache_control or "")
    return float(match.group(1)) if match else None


def delay_after_success(settings: ProducerSettings, interval: float | None, *hints: float | None) -> float:
    """The feed's interval (or the default), at least as long as any server hint, within bounds."""
    delay = max([interval or settings.interval, *[h for h in hints if h]])
    return min(settings.max_interval, max(settings.min_interval, delay))


def delay_after_error(settings: ProducerSettings, error_count: int, retry_after: float | None,
                      rng: random.Random | None = None) -> float:
    """Exponential in the error streak (``min_interval * 2**(n-1)``), jittered, capped, never below a hint."""
    return backoff_delay(settings.min_interval, settings.error_backoff_max, error_count - 1, retry_after, rng)
