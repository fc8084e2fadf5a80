"""When to poll a feed next (pure).

After a success: the feed's configured ``interval``, else its *usual gap* (the median gap between
its recent items' publish times, so a wire that publishes every 5 minutes is polled every 5 and a
weekly bulletin a few times a day), else ``producer.interval``; stretched by the feed's own hints
(RSS ``<ttl>``, ``Cache-Control: max-age``) and clamped to ``[min_interval, max_interval]``.

After an error: a jittered exponential backoff (``min_interval · 2^(streak-1)``, capped by
``error_backoff_max``), never shorter than the server's ``Retry-After`` (which is honoured up to a
day), and never giving up.
"""

from __future__ import annotations

import random
import re
import statistics
from collections.abc import Iterable
from itertools import pairwise

from pipeline.backoff import backoff_delay
from pipeline.settings import ProducerSettings

__all__ = ["RECENT_ITEMS", "MAX_RETRY_AFTER", "max_age", "usual_gap", "delay_after_success", "delay_after_error"]

#: How many of the newest publish times the usual gap is computed from.
RECENT_ITEMS = 20
#: A longer Retry-After is taken as this long (a server's typo must not stop polling for a year).
MAX_RETRY_AFTER = 86400.0

_MAX_AGE = re.compile(r"max-age\s*=\s*(\d+)", re.IGNORECASE)


def max_age(cache_control: str | None) -> float | None:
    match = _MAX_AGE.search(cache_control or "")
    return float(match.group(1)) if match else None


def usual_gap(published: Iterable[float], recent: int = RECENT_ITEMS) -> float | None:
    """Median gap in seconds between the newest distinct publish times (Unix seconds); None when
    fewer than three distinct times are known."""
    times = sorted(set(published), reverse=True)[: recent + 1]
    if len(times) < 3:
        return None
    return float(statistics.median(newer - older for newer, older in pairwise(times)))


def delay_after_success(settings: ProducerSettings, interval: float | None, hints: Iterable[float | None] = (),
                        gap: float | None = None) -> float:
    """The configured interval, else the usual gap, else the default; at least any hint; within bounds."""
    delay = max([interval or gap or settings.interval, *[h for h in hints if h]])
    return min(settings.max_interval, max(settings.min_interval, delay))


def delay_after_error(settings: ProducerSettings, error_count: int, retry_after: float | None,
                      rng: random.Random | None = None) -> float:
    """Exponential in the error streak (``min_interval * 2**(n-1)``), jittered, capped, never below a hint."""
    hint = min(retry_after, MAX_RETRY_AFTER) if retry_after else None
    return backoff_delay(settings.min_interval, settings.error_backoff_max, error_count - 1, hint, rng)
