"""producers.hostpool: results in input order, each as soon as it is in, overall and per-host caps respected."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from producers.hostpool import host_of, iter_per_host, map_per_host


def test_results_keep_input_order_and_caps_hold():
    items = [f"https://h{i % 3}.example/feed/{i}" for i in range(24)]
    lock, running, peak, peak_host = threading.Lock(), Counter(), [0], Counter()

    def work(url: str) -> str:
        host = host_of(url)
        with lock:
            running[host] += 1
            peak[0] = max(peak[0], sum(running.values()))
            peak_host[host] = max(peak_host[host], running[host])
        time.sleep(0.01)
        with lock:
            running[host] -= 1
        return url.upper()

    assert map_per_host(items, host_of, work, concurrency=4, per_host=2) == [u.upper() for u in items]
    assert peak[0] <= 4 and max(peak_host.values()) <= 2


def test_one_slow_host_does_not_hold_up_the_others():
    items = ["http://slow.example/a", "http://slow.example/b", "http://slow.example/c"] + \
            [f"http://fast{i}.example/" for i in range(6)]
    finished: list[str] = []

    def work(url: str) -> None:
        time.sleep(0.2 if "slow" in url else 0.01)
        finished.append(url)

    map_per_host(items, host_of, work, concurrency=3, per_host=1)
    assert finished.index("http://fast5.example/") < finished.index("http://slow.example/b")


def test_host_of():
    assert host_of("https://WWW.Dawn.com:443/feeds/home") == "www.dawn.com"
    assert map_per_host([], host_of, str, concurrency=2, per_host=1) == []


def test_each_result_comes_in_its_turn_while_the_later_work_still_runs():
    first_taken = threading.Event()

    def work(url: str) -> str:
        if url.endswith("/b"):  # finishes only once the caller holds the result of /a
            return "b after a" if first_taken.wait(5) else "b before a"
        return "a"

    results = []
    for result in iter_per_host(["http://h.example/a", "http://h.example/b"], host_of, work, concurrency=2,
                                per_host=2):
        results.append(result)
        first_taken.set()
    assert results == ["a", "b after a"]


def test_closing_the_results_early_starts_no_more_work():
    started, released = [], threading.Event()

    def work(url: str) -> str:
        started.append(url)
        if not url.endswith("/0"):
            released.wait(5)
        return url

    results = iter_per_host([f"http://h.example/{i}" for i in range(20)], host_of, work, concurrency=1, per_host=1)
    assert next(results) == "http://h.example/0"
    threading.Timer(0.2, released.set).start()  # lets the running one finish while close() waits for it
    results.close()
    time.sleep(0.1)
    assert started in (["http://h.example/0"], ["http://h.example/0", "http://h.example/1"])  # /1 if it had begun


def test_a_work_that_raises_raises_in_its_turn():
    def work(url: str) -> str:
        if url.endswith("/bad"):
            raise ValueError("bad feed")
        return url

    results = iter_per_host(["http://a.example/ok", "http://b.example/bad", "http://c.example/ok"], host_of, work,
                            concurrency=3, per_host=1)
    assert next(results) == "http://a.example/ok"
    with pytest.raises(ValueError, match="bad feed"):
        next(results)
