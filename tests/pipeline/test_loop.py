import json

from pipeline.errors import PermanentError, RetryLater
from pipeline.loop import ConsumeLoop, StageBase, StopSignal
from pipeline.settings import ConsumerSettings
from pipeline.transport.base import TOPIC_DLQ
from pipeline.transport.memory import MemoryLog

FAST = ConsumerSettings(batch_size=10, poll_timeout=0, backoff_initial=0.001, backoff_max=0.01)


class RecordingStage(StageBase):
    name = "recorder"

    def __init__(self, fail_on=(), retry_times=0, flush_retries=0):
        self.seen, self.flushed = [], []
        self.created = 0
        self.fail_on, self.retry_times, self.flush_retries = set(fail_on), retry_times, flush_retries
        self._buffer = []

    def handle(self, record):
        if record.key in self.fail_on:
            raise PermanentError(f"bad record {record.key}")
        if record.key == "boom":
            raise ValueError("a bug on one item")
        if record.key == "flaky" and self.retry_times:
            self.retry_times -= 1
            raise RetryLater("not yet")
        self.seen.append(record.key)
        self._buffer.append(record.key)

    def flush(self):
        if self.flush_retries:
            self.flush_retries -= 1
            raise RetryLater("sink down")
        self.flushed.extend(self._buffer)
        self.created += len(self._buffer)
        self._buffer = []


def fill(log, keys):
    for key in keys:
        log.append("in", key, key.encode())


def loop_for(log, stage, stop=None):
    return ConsumeLoop(stage, log.consumer("g", ["in"]), log.producer(), FAST, stop or StopSignal())


def test_batch_is_processed_flushed_then_committed():
    log = MemoryLog()
    fill(log, ["a", "b", "c"])
    stage = RecordingStage()
    loop_for(log, stage).run(until_idle=True)
    assert stage.flushed == ["a", "b", "c"]
    assert log.committed[("g", "in")] == 4


def test_permanent_failures_and_bugs_go_to_the_dlq_and_the_stage_moves_on():
    log = MemoryLog()
    fill(log, ["a", "bad", "boom", "b"])
    stage = RecordingStage(fail_on={"bad"})
    stats = loop_for(log, stage).run(until_idle=True)
    assert stage.flushed == ["a", "b"]
    letters = [json.loads(v) for v in log.values(TOPIC_DLQ)]
    assert [(d["key"], d["offset"], d["stage"]) for d in letters] == [("bad", 2, "recorder"), ("boom", 3, "recorder")]
    assert "bad record bad" in letters[0]["error"] and letters[0]["value"] == "bad"
    assert stats.dead_lettered == 2 and log.committed[("g", "in")] == 5


def test_retryable_failures_are_retried_without_committing_then_succeed():
    log = MemoryLog()
    fill(log, ["a", "flaky", "b"])
    stage = RecordingStage(retry_times=3, flush_retries=2)
    loop = loop_for(log, stage)
    loop.run(until_idle=True)
    assert stage.seen == ["a", "flaky", "b"]  # resumed where it failed: 'a' handled once
    assert stage.flushed == ["a", "flaky", "b"]
    assert loop.stats.retries == 5


def test_stop_during_retry_commits_nothing_and_the_batch_replays():
    log = MemoryLog()
    fill(log, ["a", "b"])
    stop = StopSignal()

    class DownStage(RecordingStage):
        def flush(self):
            stop.set()
            raise RetryLater("index down")

    loop_for(log, DownStage(), stop).run()
    assert ("g", "in") not in log.committed
    replay = RecordingStage()
    loop_for(log, replay).run(until_idle=True)
    assert replay.flushed == ["a", "b"]


def test_producer_outage_is_retried_before_commit():
    log = MemoryLog()
    fill(log, ["bad"])
    loop = loop_for(log, RecordingStage(fail_on={"bad"}))
    loop.producer.fail_next_flushes = 2
    loop.run(until_idle=True)
    assert len(log.values(TOPIC_DLQ)) == 1
    assert log.committed[("g", "in")] == 2


def test_an_unavailable_log_is_polled_again_with_backoff():
    log = MemoryLog()
    fill(log, ["a"])
    stage = RecordingStage()
    loop = loop_for(log, stage)
    real_poll, failures = loop.consumer.poll, [RetryLater("broker down"), RetryLater("still down")]

    def flaky_poll(max_records, timeout):
        if failures:
            raise failures.pop(0)
        return real_poll(max_records, timeout)

    loop.consumer.poll = flaky_poll
    loop.run(until_idle=True)
    assert stage.flushed == ["a"] and loop.stats.retries == 2


def test_idle_is_called_only_when_a_poll_returns_nothing():
    log = MemoryLog()
    fill(log, ["a"])

    class IdleCounting(RecordingStage):
        idled = 0

        def idle(self):
            self.idled += 1

    stage = IdleCounting()
    loop = loop_for(log, stage)
    assert loop.run_once() == 1 and stage.idled == 0
    assert loop.run_once() == 0 and stage.idled == 1
    assert stage.created == 1


def test_the_default_idle_does_nothing():
    log = MemoryLog()
    stage = RecordingStage()
    assert loop_for(log, stage).run_once() == 0
    assert stage.seen == [] and stage.flushed == [] and not log.committed
