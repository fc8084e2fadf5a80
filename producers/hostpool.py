"""Running blocking work (HTTP fetches) concurrently with a cap per host as well as overall.

A monitoring team's feed list often holds ten section feeds of one outlet; fetching them all at
once looks like an attack to that outlet. :func:`iter_per_host` keeps at most ``per_host`` tasks of
one host running, takes hosts in turn, and hands the results back in input order, each as soon as it
and those before it are done, while the rest keep running: the caller handles one feed while the
next are being fetched. :func:`map_per_host` waits for them all and returns the list.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Generator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

__all__ = ["host_of", "map_per_host", "iter_per_host"]

T = TypeVar("T")
R = TypeVar("R")
_PENDING: Any = object()  # a result not in yet


class _Raised:
    """What a ``work`` that raised leaves as its result: the exception, raised in its turn."""

    def __init__(self, error: BaseException) -> None:
        self.error = error


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
    return list(iter_per_host(items, host, work, concurrency=concurrency, per_host=per_host))


def iter_per_host(items: Sequence[T], host: Callable[[T], str], work: Callable[[T], R], *,
                  concurrency: int, per_host: int) -> Generator[R, None, None]:
    """The results of :func:`map_per_host` one by one, in input order, each as soon as it and those
    before it are done; the remaining work goes on meanwhile, under the same caps. Closing the iterator
    early starts nothing more and waits for what is running. A ``work`` that raises raises here."""
    if not items:
        return
    runner = _Runner(items, host, work, concurrency, per_host)
    thread = threading.Thread(target=runner.run, name="hostpool", daemon=True)
    thread.start()
    try:
        for index in range(len(items)):
            yield runner.take(index)
    finally:
        runner.stop()
        thread.join()


class _Runner(Generic[T, R]):
    """Submits the work host by host under the caps (in its own thread) and keeps the results until taken."""

    def __init__(self, items: Sequence[T], host: Callable[[T], str], work: Callable[[T], R], concurrency: int,
                 per_host: int) -> None:
        self.items, self.work, self.concurrency, self.per_host = items, work, concurrency, per_host
        self.pending: dict[str, deque[int]] = {}
        for index, item in enumerate(items):
            self.pending.setdefault(host(item), deque()).append(index)
        self.results: list[Any] = [_PENDING] * len(items)
        self.failure: BaseException | None = None
        self.changed = threading.Condition()
        self.stopped = False

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # the runner itself failed: handed to the caller's thread, which raises it
            with self.changed:
                self.failure = exc
                self.changed.notify_all()

    def _run(self) -> None:
        ready = deque(self.pending)  # hosts with work waiting and a free slot, in turn
        queued = set(ready)
        active: Counter[str] = Counter()
        running: dict[Future, tuple[int, str]] = {}
        with ThreadPoolExecutor(max_workers=max(1, min(self.concurrency, len(self.items)))) as pool:
            while ready or running:
                while ready and len(running) < self.concurrency and not self.stopped:
                    name = ready.popleft()
                    queued.discard(name)
                    index = self.pending[name].popleft()
                    running[pool.submit(self.work, self.items[index])] = (index, name)
                    active[name] += 1
                    if self.pending[name] and active[name] < self.per_host:
                        ready.append(name)
                        queued.add(name)
                if not running:
                    return  # stopped
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    index, name = running.pop(future)
                    active[name] -= 1
                    self._keep(index, future)
                    if self.pending[name] and name not in queued:
                        ready.append(name)
                        queued.add(name)

    def _keep(self, index: int, future: Future) -> None:
        error = future.exception()
        with self.changed:
            self.results[index] = _Raised(error) if error is not None else future.result()
            self.changed.notify_all()

    def take(self, index: int) -> R:
        """The result of ``items[index]``, once it is in (the runner then forgets it)."""
        with self.changed:
            self.changed.wait_for(lambda: self.results[index] is not _PENDING or self.failure is not None)
            result, self.results[index] = self.results[index], None
        if result is _PENDING and self.failure is not None:
            raise self.failure
        if isinstance(result, _Raised):
            raise result.error
        return result

    def stop(self) -> None:
        with self.changed:
            self.stopped = True
