import json
import threading

from pipeline import loop as loop_module
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


class ProbedStage(RecordingStage):
    """A stage whose flush fails ``flush_retries`` times; ``ready()`` answers ``answers`` and counts calls."""

    def __init__(self, answers=True, retry_after=None, **kwargs):
        super().__init__(**kwargs)
        self.answers, self.retry_after, self.probes = answers, retry_after, 0

    def flush(self):
        if self.flush_retries:
            self.flush_retries -= 1
            raise RetryLater("sink down", retry_after=self.retry_after)
        return super().flush()

    def ready(self):
        self.probes += 1
        return self.answers


def slow_loop(log, stage, monkeypatch, backoff=30.0):
    """A loop whose backoff is long (``backoff`` s) and whose probe interval is 10 ms."""
    monkeypatch.setattr(loop_module, "PROBE_SECONDS", 0.01)
    settings = ConsumerSettings(batch_size=10, poll_timeout=0, backoff_initial=backoff, backoff_max=backoff)
    return ConsumeLoop(stage, log.consumer("g", ["in"]), log.producer(), settings, StopSignal())


def test_a_ready_probe_ends_the_wait_before_a_long_backoff(monkeypatch):
    log = MemoryLog()
    fill(log, ["a", "b"])
    stage = ProbedStage(answers=True, flush_retries=3)
    loop = slow_loop(log, stage, monkeypatch)
    loop.run(until_idle=True)
    assert stage.flushed == ["a", "b"] and log.committed[("g", "in")] == 3
    assert loop.stats.retries == 3 and stage.probes == 3  # one probe per 15-30 s wait, each answered at once


def test_without_an_answer_the_probe_is_asked_every_interval_until_the_backoff_ends(monkeypatch):
    log = MemoryLog()
    fill(log, ["a"])
    stage = ProbedStage(answers=False, flush_retries=1)
    loop = slow_loop(log, stage, monkeypatch, backoff=0.2)
    loop.run(until_idle=True)
    assert stage.flushed == ["a"] and loop.stats.retries == 1
    assert 2 <= stage.probes <= 20  # a 0.1-0.2 s wait in 10 ms slices, the last one not probed


def test_a_retry_after_hint_is_waited_out_without_probing(monkeypatch):
    log = MemoryLog()
    fill(log, ["a"])
    stage = ProbedStage(answers=True, retry_after=0.05, flush_retries=2)
    loop = slow_loop(log, stage, monkeypatch, backoff=0.01)
    loop.run(until_idle=True)
    assert stage.flushed == ["a"] and stage.probes == 0


def test_the_producer_flush_is_probed_by_the_log_not_by_the_stage(monkeypatch):
    log = MemoryLog()
    fill(log, ["bad"])
    stage = ProbedStage(answers=True, fail_on={"bad"})
    loop = slow_loop(log, stage, monkeypatch)  # a 30 s backoff: only the producer's probe ends the waits
    loop.producer.fail_next_flushes = 2
    loop.run(until_idle=True)
    assert len(log.values(TOPIC_DLQ)) == 1 and loop.stats.retries == 2
    assert stage.probes == 0 and loop.producer.probes == 2


def test_a_log_that_does_not_answer_is_probed_until_the_backoff_ends(monkeypatch):
    log = MemoryLog()
    fill(log, ["a"])
    stage = ProbedStage(answers=True)
    loop = slow_loop(log, stage, monkeypatch, backoff=0.2)
    loop.producer.fail_next_flushes, loop.producer.answers_ready = 1, False
    loop.run(until_idle=True)
    assert stage.flushed == ["a"] and log.committed[("g", "in")] == 2 and loop.stats.retries == 1
    assert 2 <= loop.producer.probes <= 20


def test_a_stop_during_a_probed_wait_commits_nothing(monkeypatch):
    log = MemoryLog()
    fill(log, ["a"])
    stage = ProbedStage(answers=False, flush_retries=1)
    loop = slow_loop(log, stage, monkeypatch)
    threading.Timer(0.1, loop.stop.set).start()
    loop.run()
    assert ("g", "in") not in log.committed and stage.probes >= 1


def test_the_default_ready_answers_false():
    assert StageBase().ready() is False
