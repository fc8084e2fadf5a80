"""The broker restarts (``deploy/local/services.sh restart kafka``, data kept) while a producer
publishes and a ``newsmon consume classifier`` process consumes: neither is restarted, both carry
on by themselves, and every item reaches the index."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from pipeline.errors import NewsmonError
from pipeline.transport.base import TOPIC_RAW
from tests.integration.conftest import REPO, SERVICES, raw_records, stopped_line, wait_until

pytestmark = pytest.mark.integration

ITEMS = 400

# Publishes ITEMS raw items in chunks of 10, four chunks a second, through the adapter. A flush
# that raises RetryLater is retried (the records stay queued in the producer), as the consume loop does.
PUBLISHER = """
import sys, time
from pipeline.errors import RetryLater
from pipeline.settings import load_settings
from pipeline.transport.kafka_log import KafkaLog
from tests.integration.conftest import raw_records

settings = load_settings(sys.argv[1])
log = KafkaLog(settings.log, settings)
producer, retries = log.producer(), 0
records = raw_records(int(sys.argv[2]))
for start in range(0, len(records), 10):
    for topic, key, value in records[start:start + 10]:
        producer.publish(topic, key, value)
    while True:
        try:
            producer.flush()
            break
        except RetryLater as exc:
            retries += 1
            print(f"retry {exc}", file=sys.stderr, flush=True)
            time.sleep(0.5)
    print(f"published={start + 10}", flush=True)
    time.sleep(0.25)
log.close()
print(f"done retries={retries}", flush=True)
"""


def committed_count(kafka, config) -> int:
    """How far the classifier has committed on newsmon.raw, over every partition (0 on a broker that
    does not answer yet)."""
    try:
        return sum(p.committed or 0 for p in kafka.lag(config, "classifier", TOPIC_RAW))
    except NewsmonError:
        return 0


def progress(path) -> int:
    lines = [line for line in path.read_text().splitlines() if line.startswith("published=")]
    return int(lines[-1].split("=")[1]) if lines else 0


@pytest.mark.skipif(bool(os.environ.get("NEWSMON_KAFKA_BOOTSTRAP")),
                    reason="restarts the local broker of deploy/local/services.sh; NEWSMON_KAFKA_BOOTSTRAP is set")
def test_producer_and_consumer_ride_out_a_broker_restart(kafka):
    config = kafka.write_config()
    kafka.publish(config, [])  # creates the topics
    # the publisher gives up waiting for acknowledgements after 2 s, so flushes fail during the restart
    impatient = kafka.write_config("publisher.yaml", request_timeout="2s")
    out = kafka.tmp / "publisher.out"
    publisher = subprocess.Popen([sys.executable, "-c", PUBLISHER, str(impatient), str(ITEMS)], cwd=REPO,
                                 stdout=out.open("w"), stderr=(kafka.tmp / "publisher.err").open("w"))
    consumer = kafka.start("classifier", "consume", "classifier", "-c", str(config))
    try:
        wait_until(lambda: progress(out) >= 100, 60, "the publisher to publish 100 items")
        wait_until(lambda: sum(p.committed or 0 for p in kafka.lag(config, "classifier", TOPIC_RAW)) > 0, 60,
                   "the classifier to commit")
        before = progress(out)
        restart = subprocess.run([str(SERVICES), "restart", "kafka"], capture_output=True, text=True, timeout=180)
        assert restart.returncode == 0, restart.stderr
        ready_at, committed = time.monotonic(), committed_count(kafka, config)
        during = progress(out)
        wait_until(lambda: committed_count(kafka, config) > committed, 90, "the classifier to commit again")
        recovered = time.monotonic() - ready_at
        assert publisher.wait(120) == 0, (kafka.tmp / "publisher.err").read_text()
        wait_until(lambda: sum(p.lag for p in kafka.lag(config, "classifier", TOPIC_RAW)) == 0, 90,
                   "the classifier to catch up after the restart")
        assert consumer.popen.poll() is None, "the consumer must still be running: " + consumer.stderr()
    finally:
        if publisher.poll() is None:
            publisher.kill()
    assert consumer.stop(signal.SIGTERM) == 0
    assert before < ITEMS
    retries = int(out.read_text().split("done retries=")[1])
    assert retries > 0, "the publisher's flushes should have failed (RetryLater) while the broker was down"
    indexer = kafka.newsmon("consume", "indexer", "--until-idle", "-c", str(config))
    assert indexer.returncode == 0, indexer.stderr
    with sqlite3.connect(kafka.tmp / "index.db") as db:
        ids = sorted(row[0] for row in db.execute("SELECT id FROM docs"))
    assert ids == sorted(key for _, key, _ in raw_records(ITEMS))
    print(f"measured: the classifier committed again {recovered:.1f} s after the broker was ready")
    print(f"published {before} before the restart, {during} when it completed; publisher:"
          f" {out.read_text().splitlines()[-1]}; classifier processed {stopped_line(consumer.stderr())['processed']}")
