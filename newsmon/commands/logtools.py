"""Log commands: ``status`` (consumer lag per stage and partition, dead letters) and ``dlq list|replay``."""

from __future__ import annotations

import argparse
import json
import logging
from datetime import UTC, datetime

from newsmon.app import INPUT_TOPIC, STAGES
from newsmon.console import ProgressLine
from pipeline.dead_letter import original_value
from pipeline.errors import UserInputError
from pipeline.settings import Settings
from pipeline.transport.base import ALL_TOPICS, TOPIC_DLQ, Record
from pipeline.transport.registry import open_log

__all__ = ["REPLAY_GROUP", "cmd_status", "cmd_dlq_list", "cmd_dlq_replay"]

logger = logging.getLogger(__name__)

REPLAY_GROUP = "newsmon-dlq-replay"  # remembers which dead letters were already sent back


def _when(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S") if epoch else "never"


def cmd_status(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    as_json: bool = args.json
    log = open_log(settings)
    try:
        log.ensure_topics(ALL_TOPICS)
        rows = [(stage, lag) for stage in STAGES for lag in log.lag(stage, INPUT_TOPIC[stage])]
        dead = log.lag(REPLAY_GROUP, TOPIC_DLQ)
    finally:
        log.close()
    dlq_pending = sum(p.lag for p in dead)
    if as_json:
        print(json.dumps({
            "stages": [{"stage": s, "topic": p.topic, "partition": p.partition, "start": p.start, "end": p.end,
                        "committed": p.committed, "lag": p.lag, "committed_at": p.committed_at} for s, p in rows],
            "dlq": {"not_replayed": dlq_pending},
        }))
        return 0
    print(f"{'stage':<11} {'topic':<20} {'part':>4} {'start':>9} {'end':>9} {'committed':>9} {'lag':>7}  last commit")
    for stage, p in rows:
        committed = "-" if p.committed is None else str(p.committed)  # never committed: it reads from start
        print(f"{stage:<11} {p.topic:<20} {p.partition:>4} {p.start:>9} {p.end:>9} {committed:>9} {p.lag:>7}"
              f"  {_when(p.committed_at)}")
    print("(start: the first offset held, where a stage that never committed begins; lag = end - next offset)")
    for stage in STAGES:
        print(f"{stage}: lag {sum(p.lag for s, p in rows if s == stage)}")
    print(f"dead letters not replayed: {dlq_pending} (newsmon dlq list shows them)")
    return 0


def _letter(record: Record) -> dict:
    """The dead letter in ``record``; ``{}`` when it is not a JSON object (a foreign or damaged record)."""
    try:
        letter = json.loads(record.value)
    except (ValueError, RecursionError):  # invalid JSON or UTF-8, a number too long, nesting too deep
        letter = {}
    return letter if isinstance(letter, dict) else {}


def _replay_target(letter: dict, stage: str | None) -> tuple[str, bytes] | None:
    """Where and what to send a letter back to: (source topic, original value), or None to skip it
    (another stage's letter with ``--stage``, an unknown topic, no usable value)."""
    topic, value = letter.get("topic"), original_value(letter)
    if topic not in ALL_TOPICS or value is None or stage not in (None, letter.get("stage")):
        return None
    return str(topic), value


def cmd_dlq_list(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    limit: int = args.limit
    as_json: bool = args.json
    log = open_log(settings)
    try:
        records = log.read_from_start(TOPIC_DLQ, limit)
    finally:
        log.close()
    for record in records:
        letter = _letter(record)
        if as_json:
            print(json.dumps(dict(letter, dlq_partition=record.partition, dlq_offset=record.offset),
                             ensure_ascii=False))
        else:
            print(f"{letter.get('failed_at', '?')}  stage={letter.get('stage', '?')} source={letter.get('topic', '?')}"
                  f"[{letter.get('partition', '?')}]@{letter.get('offset', '?')} key={record.key}")
            print(f"    {letter.get('error', '(unreadable dead letter)')}")
    if not as_json:
        print(f"{len(records)} dead letters shown (limit {limit})")
    return 0


def cmd_dlq_replay(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    """Send dead letters not replayed before back to their source topic (optionally only one stage's)."""
    stage: str | None = args.stage
    if stage is not None and stage not in STAGES:
        raise UserInputError(f"--stage: unknown stage {stage!r} (known: {', '.join(STAGES)})")
    log = open_log(settings)
    replayed = skipped = 0
    try:
        consumer, producer = log.consumer(REPLAY_GROUP, [TOPIC_DLQ]), log.producer()
        while batch := consumer.poll(500, settings.consumer.poll_timeout):
            for record in batch:
                target = _replay_target(_letter(record), stage)
                if target is not None:
                    producer.publish(target[0], record.key, target[1])
                    replayed += 1
                else:
                    skipped += 1
            producer.flush()
            consumer.commit({(r.topic, r.partition): r.offset + 1 for r in batch})
        consumer.close()
    finally:
        log.close()
    print(f"replayed {replayed} dead letters to their source topics; skipped {skipped}")
    return 0
