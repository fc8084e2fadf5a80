"""Capped, jittered exponential backoff, the one formula every retry in newsmon uses."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["backoff_delay", "Backoff"]


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
