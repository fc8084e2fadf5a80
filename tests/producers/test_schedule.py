"""producers.schedule: the usual gap, the delay after a success, and the backoff after errors."""

from __future__ import annotations

import random

import pytest

from pipeline.settings import ProducerSettings
from producers.schedule import MAX_RETRY_AFTER, delay_after_error, delay_after_success, max_age, usual_gap

SETTINGS = ProducerSettings(interval=900, min_interval=60, max_interval=6 * 3600, error_backoff_max=3600)


@pytest.mark.parametrize("times, gap", [
    ([], None), ([100.0], None), ([100.0, 200.0], None), ([5.0, 5.0, 5.0, 5.0], None),
    ([0, 600, 1200, 1800], 600), ([0, 60, 3600, 3660, 7200], 1800), ([7200, 0, 3600], 3600),
    ([i * 60.0 for i in range(100)] + [-10**6], 60),  # only the newest 20 count
])
def test_usual_gap(times, gap):
    assert usual_gap(times) == gap


@pytest.mark.parametrize("interval, hints, gap, delay", [
    (None, (), None, 900),  # the default
    (None, (), 300, 300),  # a busy feed, polled as often as it publishes
    (None, (), 5, 60),  # never below min_interval
    (None, (), 7 * 86400, 6 * 3600),  # never above max_interval
    (600, (), 300, 600),  # a configured interval wins over the gap
    (None, (1800, None), 300, 1800),  # <ttl> or Cache-Control stretch it
    (None, (10**6,), None, 6 * 3600),
])
def test_delay_after_success(interval, hints, gap, delay):
    assert delay_after_success(SETTINGS, interval, hints, gap) == delay


def test_delay_after_error_doubles_with_jitter_up_to_the_cap_and_honours_retry_after():
    rng = random.Random(3)
    for streak in range(1, 12):
        ceiling = min(3600, 60 * 2 ** (streak - 1))
        delays = {delay_after_error(SETTINGS, streak, None, rng) for _ in range(20)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1
    assert delay_after_error(SETTINGS, 1, 5000, rng) == 5000
    assert delay_after_error(SETTINGS, 1, 10**9, rng) == MAX_RETRY_AFTER


@pytest.mark.parametrize("header, seconds", [
    ("public, max-age=600", 600), ("MAX-AGE = 30, must-revalidate", 30), ("no-cache", None), (None, None),
])
def test_max_age(header, seconds):
    assert max_age(header) == seconds
