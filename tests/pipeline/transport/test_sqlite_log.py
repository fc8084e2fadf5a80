import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.transport.sqlite_log import SqliteLog

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def url(tmp_path):
    return f"sqlite:///{tmp_path}/log.db"


def publish(log, topic, n, start=0):
    producer = log.producer()
    for i in range(start, start + n):
        producer.publish(topic, f"k{i}", f"v{i}".encode())
    producer.flush()


def test_records_are_invisible_until_flushed(url):
    log = SqliteLog(url)
    producer = log.producer()
    producer.publish("t", "k", b"v")
    consumer = log.consumer("g", ["t"])
    assert consumer.poll(10, 0) == []
    producer.flush()
    assert [r.value for r in consumer.poll(10, 0)] == [b"v"]


def test_offsets_are_per_group_and_survive_reopening(url):
    log = SqliteLog(url)
    publish(log, "t", 5)
    first = log.consumer("a", ["t"])
    batch = first.poll(3, 0)
    assert [r.key for r in batch] == ["k0", "k1", "k2"]
    first.commit({("t", 0): batch[-1].offset + 1})
    log.close()

    reopened = SqliteLog(url)
    assert [r.key for r in reopened.consumer("a", ["t"]).poll(10, 0)] == ["k3", "k4"]
    assert [r.key for r in reopened.consumer("b", ["t"]).poll(10, 0)] == [f"k{i}" for i in range(5)]
    (lag,) = reopened.lag("a", "t")
    assert (lag.end, lag.committed, lag.lag) == (6, 4, 2) and lag.committed_at is not None
    assert reopened.lag("never", "t")[0].lag == 5


def test_uncommitted_records_replay_after_restart(url):
    log = SqliteLog(url)
    publish(log, "t", 3)
    assert len(log.consumer("g", ["t"]).poll(10, 0)) == 3  # polled, never committed: a crash
    assert [r.key for r in SqliteLog(url).consumer("g", ["t"]).poll(10, 0)] == ["k0", "k1", "k2"]


WRITER = """
import sys
from pipeline.transport.sqlite_log import SqliteLog
log = SqliteLog(sys.argv[1])
start = int(sys.argv[2])
for batch in range(20):
    producer = log.producer()
    for i in range(start + batch * 5, start + batch * 5 + 5):
        producer.publish("t", f"k{i}", b"v")
    producer.flush()
"""


def test_several_processes_can_append_to_one_file(url):
    SqliteLog(url).ensure_topics(["t"])
    workers = [subprocess.Popen([sys.executable, "-c", WRITER, url, str(i * 1000)], cwd=REPO) for i in range(3)]
    assert [w.wait(60) for w in workers] == [0, 0, 0]
    records = SqliteLog(url).consumer("g", ["t"]).poll(1000, 0)
    assert len(records) == 300
    assert len({r.key for r in records}) == 300
    assert [r.offset for r in records] == sorted(r.offset for r in records)


def test_journal_mode_is_wal(url):
    log = SqliteLog(url)
    assert log._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
