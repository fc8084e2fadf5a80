"""producers.hostpool: results in input order, overall and per-host caps respected."""

from __future__ import annotations

import threading
import time
from collections import Counter

from producers.hostpool import host_of, map_per_host


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
