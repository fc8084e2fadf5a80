"""Two ``newsmon consume classifier`` processes in one consumer group share the six partitions; one
is SIGKILLed mid-stream (right after its first commit), the other takes its partitions over once
the dead member's session expires, and the index ends up with every item exactly once."""

from __future__ import annotations

import re
import signal
import sqlite3

import pytest

from pipeline.transport.base import TOPIC_CLASSIFIED, TOPIC_RAW
from tests.integration.conftest import dump, raw_records, stopped_line, wait_until

pytestmark = pytest.mark.integration

ITEMS = 1200  # about 2 s of classifying for two consumers
_ASSIGNED = re.compile(r"event=partitions_assigned group=classifier partitions=(\S+)")


def assigned(stderr: str) -> set[int]:
    """The partitions of the process's latest assignment."""
    found = _ASSIGNED.findall(stderr)
    if not found or found[-1] == "-":
        return set()
    return {int(name.rsplit(":", 1)[1]) for name in found[-1].split(",")}


def test_two_consumers_share_partitions_and_survive_one_being_killed(kafka):
    config = kafka.write_config(extra="consumer: {batch_size: 10, poll_timeout: 1s, backoff_max: 2s}")
    kafka.publish(config, [])  # the topics, empty: the group settles before any record arrives
    victim = kafka.start("victim", "consume", "classifier", "-c", str(config))
    survivor = kafka.start("survivor", "consume", "classifier", "-c", str(config))

    def split() -> bool:
        return len(assigned(victim.stderr())) == 3 and len(assigned(survivor.stderr())) == 3

    wait_until(split, 60, "both consumers to hold 3 of the 6 partitions")
    mine = assigned(victim.stderr())
    kafka.publish(config, raw_records(ITEMS))

    def victim_committed() -> bool:
        return any(p.committed for p in kafka.lag(config, "classifier", TOPIC_RAW) if p.partition in mine)

    wait_until(victim_committed, 60, "the victim to commit a batch on its partitions", interval=0.05)
    victim.stop(signal.SIGKILL)
    at_kill = [p for p in kafka.lag(config, "classifier", TOPIC_RAW) if p.partition in mine]
    assert sum(p.lag for p in at_kill) > 0, f"the victim finished before it could be killed mid-stream: {at_kill}"

    wait_until(lambda: assigned(survivor.stderr()) == set(range(6)), 60, "the survivor to take all 6 partitions")
    wait_until(lambda: sum(p.lag for p in kafka.lag(config, "classifier", TOPIC_RAW)) == 0, 60,
               "the classifier group to catch up")
    assert survivor.stop(signal.SIGTERM) == 0
    survivor_done = stopped_line(survivor.stderr())
    assert int(survivor_done["processed"]) > 0, survivor.stderr()

    indexer = kafka.newsmon("consume", "indexer", "--until-idle", "-c", str(config))
    assert indexer.returncode == 0, indexer.stderr
    with sqlite3.connect(kafka.tmp / "index.db") as db:
        ids = [row[0] for row in db.execute("SELECT id FROM docs")]
    assert sorted(ids) == sorted(key for _, key, _ in raw_records(ITEMS))  # nothing lost, nothing twice
    classified = sum(p.end for p in kafka.lag(config, "indexer", TOPIC_CLASSIFIED))
    print(f"victim partitions {sorted(mine)}, lag on them when killed {sum(p.lag for p in at_kill)};"
          f" survivor processed {survivor_done['processed']}; newsmon.classified holds {classified}"
          f" records for {ITEMS} items (any excess is the killed batch, replayed)\n{dump(at_kill)}")
