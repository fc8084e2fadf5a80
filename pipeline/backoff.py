"""Capped, jittered exponential backoff, the one formula every retry in newsmon uses, and the
server's own hint (``Retry-After``) that a delay never undercuts."""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["backoff_delay", "Backoff", "parse_retry_after"]


def backoff_delay(initial: float, maximum: float, attempt: int, hint: float | None = None,
                  rng: random.Random | None = None) -> float:
    """Delay before retry number ``attempt`` (0-based): uniform in [c/2, c] with
    c = min(maximum, initial * 2**attempt), and never shorter than a server's retry-after hint."""
    ceiling = min(maximum, initial * 2 ** max(0, attempt))
    delay = (rng or random).uniform(ceiling / 2, ceiling)
    return max(delay, hint or 0.0)


@dataclass
class Backoff:
    """Stateful backoff for a retry loop: :meth:`next_delay` grows, :meth:`reset` after a success."""

    initial: float
    maximum: float
    attempt: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def next_delay(self, hint: float | None = None) -> float:
        delay = backoff_delay(self.initial, self.maximum, self.attempt, hint, self.rng)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())
