"""CPU time and memory of a process's descendants (Linux /proc), sampled from a thread.

The poller's parser workers are forked by a forkserver, so they are this process's grandchildren,
never waited for by it: neither ``time.process_time`` nor ``RUSAGE_CHILDREN`` counts them.
:class:`Descendants` reads ``/proc/<pid>/stat`` of every descendant every ``every`` seconds and keeps
the CPU each one used since the sampling began (a process already running then, such as an idle
forkserver, counts from its first sample) and the largest sum of their resident sets. A worker's CPU after its last
sample is missed (at most ``every`` per worker). The sampler's own CPU is measured too, so a caller
can take it out of its ``process_time``.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path

__all__ = ["Descendants"]

_TICKS = os.sysconf("SC_CLK_TCK")
_PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def _stat(pid: int) -> tuple[int, float, int] | None:
    """(parent pid, user + system CPU seconds, resident kB) of ``pid``, or None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # after "pid (comm) "; comm may hold spaces
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS, int(fields[21]) * _PAGE_KB


class Descendants:
    """A context manager sampling the descendants of this process, less ``exclude`` (and theirs)."""

    def __init__(self, exclude: Iterable[int] = (), every: float = 0.05) -> None:
        self.exclude, self.every = set(exclude), every
        self.cpu_by_pid: dict[int, float] = {}
        self._baseline: dict[int, float] = {}  # CPU of the processes already running at the start
        self.peak_rss_kb = 0
        self.sampler_cpu = 0.0  # seconds the sampling thread itself used
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="descendants", daemon=True)

    @property
    def cpu(self) -> float:
        return sum(self.cpu_by_pid.values())

    def __enter__(self) -> Descendants:
        self._baseline = {pid: cpu for pid, (cpu, _) in self._found().items()}
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        start = time.thread_time()
        while True:
            self._sample()
            if self._stop.wait(self.every):
                break
        self._sample()
        self.sampler_cpu = time.thread_time() - start

    def _sample(self) -> None:
        found = self._found()
        for pid, (cpu, _) in found.items():
            self.cpu_by_pid[pid] = max(self.cpu_by_pid.get(pid, 0.0), cpu - self._baseline.get(pid, 0.0))
        self.peak_rss_kb = max(self.peak_rss_kb, sum(rss for _, rss in found.values()))

    def _found(self) -> dict[int, tuple[float, int]]:
        """(CPU seconds, resident kB) of every descendant now, by pid."""
        stats = {pid: stat for pid in (int(n) for n in os.listdir("/proc") if n.isdigit())
                 if (stat := _stat(pid)) is not None}
        children: dict[int, list[int]] = {}
        for pid, (parent, _, _) in stats.items():
            children.setdefault(parent, []).append(pid)
        found, todo = [], [pid for pid in children.get(os.getpid(), ()) if pid not in self.exclude]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += [child for child in children.get(pid, ()) if child not in self.exclude]
        return {pid: stats[pid][1:] for pid in found}
