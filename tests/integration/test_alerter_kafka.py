"""Two ``newsmon consume alerter`` processes in one Kafka consumer group, sharing one state database:
the three items of each story are keyed by item id, so they land on different partitions and reach
both processes, which race to claim the story. Every (rule, story) alert is delivered exactly once."""

from __future__ import annotations

import re
import signal

import pytest

from pipeline.transport.base import TOPIC_CLASSIFIED
from tests.factories import make_classified
from tests.integration.conftest import stopped_line, wait_until
from tests.receiver import WebhookReceiver

pytestmark = pytest.mark.integration

STORIES, PER_STORY = 200, 3
_ASSIGNED = re.compile(r"event=partitions_assigned group=alerter partitions=(\S+)")


def assigned(stderr: str) -> set[str]:
    """The partitions of the process's latest assignment."""
    found = _ASSIGNED.findall(stderr)
    return set() if not found or found[-1] == "-" else set(found[-1].split(","))


def records():
    out = []
    for n in range(STORIES * PER_STORY):
        item = make_classified(id=f"k{n:05d}", url=f"https://x.test/k{n}", title=f"Blast in Quetta {n // PER_STORY}",
                               topics=("counterterrorism",), scores={"counterterrorism": 0.9},
                               story_id=f"story-{n // PER_STORY}")
        out.append((TOPIC_CLASSIFIED, item.id, item.to_json()))
    return out


def test_two_alerters_in_one_group_never_send_an_alert_twice(kafka):
    with WebhookReceiver(delay=0.005) as hooks:
        config = kafka.write_config(extra=f"""
rules:
  - {{name: quetta, query: Quetta, actions: [{{type: webhook, url: '{hooks.base}/a'}}]}}
  - {{name: everything, actions: [{{type: webhook, url: '{hooks.base}/b'}}]}}
""")
        kafka.publish(config, [])  # the topics, empty: the group settles before any record arrives
        first = kafka.start("first", "consume", "alerter", "-c", str(config))
        second = kafka.start("second", "consume", "alerter", "-c", str(config))
        wait_until(lambda: len(assigned(first.stderr())) == len(assigned(second.stderr())) == 3, 90,
                   "both alerters to hold 3 of the 6 partitions")
        kafka.publish(config, records())
        wait_until(lambda: len(hooks.accepted()) >= 2 * STORIES, 120, "every alert")
        wait_until(lambda: sum(p.lag for p in kafka.lag(config, "alerter", TOPIC_CLASSIFIED)) == 0, 60,
                   "the alerter group to catch up")
        assert first.stop(signal.SIGTERM) == 0 and second.stop(signal.SIGTERM) == 0
        ids = [d.headers["X-Newsmon-Alert-Id"] for d in hooks.accepted()]
    processed = [int(stopped_line(p.stderr()).get("processed", 0)) for p in (first, second)]
    assert len(ids) == len(set(ids)) == 2 * STORIES, processed
    assert min(processed) > 0, processed
