"""The size guard shared by the Slack and Teams renderers: the fullest message the receiver accepts. Pure.

A renderer offers its candidates from the fullest down, for a digest one per number of stories shown
(every story, then one fewer, ... down to none); :func:`first_that_fits` takes the first the
receiver's limit admits. A digest thus loses stories from its end, never from the middle of one, and
:func:`more_stories` says in its last line how many were left out and why; the header still gives
the window and the number of stories it holds. Nothing is split into several messages: one outbox row
stays one request, retried and de-duplicated as a whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

__all__ = ["first_that_fits", "more_stories"]

T = TypeVar("T")


def first_that_fits(candidates: Iterable[T], fits: Callable[[T], bool]) -> T:
    """The first candidate that ``fits``, else the last one (the smallest there is)."""
    last: T | None = None
    for candidate in candidates:
        if fits(candidate):
            return candidate
        last = candidate
    if last is None:
        raise ValueError("no candidate message")
    return last


def more_stories(left_out: int, receiver: str) -> str:
    """The line that ends a shortened digest (plain text: escape it for the channel)."""
    noun = "story" if left_out == 1 else "stories"
    return (f"… and {left_out} more {noun} in this digest, not shown: the message would exceed {receiver}'s"
            " size limit. newsmon's search page lists them all (the rule's query over this window).")
