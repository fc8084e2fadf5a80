"""A spike rule on real Kafka with two ``newsmon consume alerter`` processes in one consumer group,
sharing one state database. The state database holds a day of history (two stories an hour about
each of two provinces, recorded by an in-process alerter as it would have been live); then a burst
of twelve stories about each province, each story from two outlets, is published in the current
hour. Items are keyed by item id, so the stories of one province reach both processes, which race
on the same (rule, key, window): each province's spike is delivered exactly once."""

from __future__ import annotations

import re
import signal
import time
from datetime import UTC, datetime

import pytest

from consumers.alert_store import AlertStore
from consumers.alerter import AlerterStage
from pipeline.item import Location, format_time
from pipeline.transport.base import TOPIC_CLASSIFIED, Record
from tests.factories import make_classified
from tests.integration.conftest import stopped_line, wait_until
from tests.receiver import WebhookReceiver

pytestmark = pytest.mark.integration

H = 3600.0
PROVINCES = {"Balochistan": (28.5, 65.1), "Khyber Pakhtunkhwa": (34.0, 71.5)}
_ASSIGNED = re.compile(r"event=partitions_assigned group=alerter partitions=(\S+)")


def assigned(stderr: str) -> set[str]:
    found = _ASSIGNED.findall(stderr)
    return set() if not found or found[-1] == "-" else set(found[-1].split(","))


def item(item_id: str, story: str, place: str, at: float, source: str = "Dawn"):
    lat, lon = PROVINCES[place]
    stamp = format_time(datetime.fromtimestamp(at, UTC))
    return make_classified(id=item_id, url=f"https://x.test/{item_id}", title=f"Militants attack post in {place}",
                           source=source, published=stamp, fetched_at=stamp, topics=("counterterrorism",),
                           scores={"counterterrorism": 0.9}, story_id=story, countries=("PK",),
                           locations=(Location(place, lat, lon, "PK"),))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def seed_history(state_url: str, rule, hour: float) -> None:
    """Two stories an hour about each province for the 24 hours before ``hour``, each hour closed."""
    clock = Clock(hour - 24 * H)
    stage = AlerterStage([rule], AlertStore(state_url), lambda action, alert: None, clock)
    n = 0
    for w in range(24, 0, -1):
        for place in PROVINCES:
            for _ in range(2):
                clock.now = hour - w * H + 300 + n
                record = item(f"h{n}", f"hs{n}", place, clock.now)
                stage.handle(Record(TOPIC_CLASSIFIED, 0, n, record.id, record.to_json(), 0.0))
                n += 1
        clock.now = hour - w * H + H + 601
        stage.idle()
    assert stage.alerts == 0
    stage.store.close()


def burst(hour: float) -> list[tuple[str, str, bytes]]:
    out = []
    for place in PROVINCES:
        for k in range(12):
            story = f"{place[:4].lower()}-{k}"
            for source in ("Dawn", "Geo"):
                one = item(f"b-{story}-{source}", story, place, hour + 30 + k, source)
                out.append((TOPIC_CLASSIFIED, one.id, one.to_json()))
    return out


def test_two_alerters_fire_each_spike_once(kafka):
    hour = time.time() // H * H
    with WebhookReceiver(delay=0.005) as hooks:
        config = kafka.write_config(extra=f"""
rules:
  - name: ct-spike
    kind: spike
    topics: [counterterrorism]
    window: 1h
    baseline_windows: 24
    min_stories: 5
    ratio: 3
    group_by: locations.name
    actions: [{{type: webhook, url: '{hooks.base}/spike'}}]
""")
        settings = kafka.settings(config)
        seed_history(settings.state_url, settings.rules[0], hour)
        kafka.publish(config, [])  # the topics, empty: the group settles before any record arrives
        first = kafka.start("first", "consume", "alerter", "-c", str(config))
        second = kafka.start("second", "consume", "alerter", "-c", str(config))
        wait_until(lambda: len(assigned(first.stderr())) == len(assigned(second.stderr())) == 3, 90,
                   "both alerters to hold 3 of the 6 partitions")
        kafka.publish(config, burst(hour))
        wait_until(lambda: len(hooks.accepted()) >= 2, 120, "the spike alerts")
        wait_until(lambda: sum(p.lag for p in kafka.lag(config, "alerter", TOPIC_CLASSIFIED)) == 0, 60,
                   "the alerter group to catch up")
        time.sleep(3)  # both idle a few rounds: closing windows must not send anything more
        assert first.stop(signal.SIGTERM) == 0 and second.stop(signal.SIGTERM) == 0
        deliveries = hooks.accepted()
    processed = [int(stopped_line(p.stderr()).get("processed", 0)) for p in (first, second)]
    assert min(processed) > 0 and sum(processed) == 48, processed
    ids = sorted(d.headers["X-Newsmon-Alert-Id"] for d in deliveries)
    assert ids == [f"ct-spike/spike/balochistan/{int(hour)}", f"ct-spike/spike/khyber pakhtunkhwa/{int(hour)}"]
    for delivery in deliveries:
        alert = delivery.json()
        assert (alert["kind"], alert["count"], alert["baseline"]) == ("spike", 6, 2.0), alert
        assert alert["key"] in PROVINCES and len(alert["stories"]) == 6
    store = AlertStore(settings.state_url)
    try:
        assert store.counts() == {"sent": 2}
        assert store.verdict_counts("ct-spike")["fired"] == 2
    finally:
        store.close()
