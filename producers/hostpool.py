"""Running blocking work (HTTP fetches) concurrently with a cap per host as well as overall.

A monitoring team's feed list often holds ten section feeds of one outlet; fetching them all at
once looks like an attack to that outlet. :func:`map_per_host` keeps at most ``per_host`` tasks of
one host running, takes hosts in turn, and returns the results in input order.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import TypeVar
from urllib.parse import urlsplit

__all__ = ["host_of", "map_per_host"]

T = TypeVar("T")
R = TypeVar("R")


def host_of(url: str) -> str:
    """The host name a URL's requests go to (lower-case), or the URL itself when it has none."""
    try:
        return (urlsplit(url).hostname or url).lower()
    except ValueError:
        return url


def map_per_host(items: Sequence[T], host: Callable[[T], str], work: Callable[[T], R], *,
                 concurrency: int, per_host: int) -> list[R]:
    """``[work(item) for item in items]``, run in threads: at most ``concurrency`` at once and at most
    ``per_host`` for one ``host(item)``. ``work`` should return its failures rather than raise."""
    if not items:
        return []
    pending: dict[str, deque[int]] = {}
    for index, item in enumerate(items):
        pending.setdefault(host(item), deque()).append(index)
    ready = deque(pending)  # hosts with work waiting and a free slot, in turn
    queued = set(ready)
    active: Counter[str] = Counter()
    running: dict[Future, tuple[int, str]] = {}
    results: list = [None] * len(items)
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(items)))) as pool:
        while ready or running:
            while ready and len(running) < concurrency:
                name = ready.popleft()
                queued.discard(name)
                index = pending[name].popleft()
                running[pool.submit(work, items[index])] = (index, name)
                active[name] += 1
                if pending[name] and active[name] < per_host:
                    ready.append(name)
                    queued.add(name)
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                index, name = running.pop(future)
                active[name] -= 1
                results[index] = future.result()
                if pending[name] and name not in queued:
                    ready.append(name)
                    queued.add(name)
    return results
