"""Record sizes against a real broker: a legitimate long article is never a poison pill.

- A raw item with a 5 MB body (from a foreign producer whose limits let it into ``newsmon.raw``) is
  *classified with its body cut* to ``producer.max_body_chars``: the classifier reads only the
  first ``classifier.max_chars`` anyway, so the item loses nothing it is judged or alerted on, and
  dead-lettering a real article would lose it from search and alerts.
- A classified record the *broker* refuses as too large (the topic's ``max.message.bytes`` set
  below 1 MB here) cannot be dead-lettered alone with kafka-python's idempotent client (see the
  test); the client's own ``max_request_size`` check, which is what a default topic meets, makes
  it that record's failure, covered by the unit tests (the classifier cuts a body to 200,000
  characters, so a classified record does not reach the client's 1 MB limit on this broker).
- A raw record of 900 KB that is not an item is dead-lettered with its bytes gzipped (their base64
  would not fit in one Kafka record) and ``newsmon dlq replay`` sends back exactly those bytes.
"""

from __future__ import annotations

import argparse
import json
import random
import time
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import ConfigResource, ConfigResourceType

from newsmon.app import build_loop
from newsmon.commands.logtools import cmd_dlq_replay
from pipeline.dead_letter import original_value
from pipeline.errors import NewsmonError
from pipeline.loop import ConsumeLoop, StopSignal
from pipeline.transport.base import ALL_TOPICS, TOPIC_CLASSIFIED, TOPIC_DLQ, TOPIC_RAW
from tests.factories import make_raw
from tests.integration.conftest import KafkaEnv, raw_records

pytestmark = pytest.mark.integration

MARKER = " […]"
MAX_BODY_CHARS = 200_000  # the default of producer.max_body_chars


def five_megabyte_body() -> str:
    """About 5 MB of article text that gzip shrinks well below the broker's 1 MB message limit."""
    return "".join(f"Paragraph {i}: floods displaced thousands across Sindh province overnight. "
                   for i in range(70_000))


def noisy_text(chars: int, seed: int = 7) -> str:
    """Words of random letters: text gzip cannot shrink much."""
    rng = random.Random(seed)
    words = ("".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 9))) for _ in range(chars))
    text = " ".join(words)
    return text[:chars]


def big_raw(item_id: str, **fields: str) -> tuple[str, str, bytes]:
    item = make_raw(id=item_id, url=f"https://example.test/long/{item_id}", guid=item_id,
                    title="Floods displace thousands in Sindh", summary="A long report.", **fields)
    return TOPIC_RAW, item.id, item.to_json()


def publish_foreign(bootstrap: str, records: list[tuple[str, str, bytes]]) -> None:
    """Publish as a foreign producer would: a larger request limit, gzip, straight through kafka-python."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, max_request_size=16 * 1024 * 1024,
                             compression_type="gzip", acks="all")
    try:
        for topic, key, value in records:
            producer.send(topic, key=key.encode(), value=value)
        producer.flush(30)
    finally:
        producer.close(10)


def set_topic_limit(bootstrap: str, topic: str, max_message_bytes: int) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic,
                                            configs={"max.message.bytes": str(max_message_bytes)})])
    finally:
        admin.close()
    time.sleep(1.0)  # the partition leaders pick the topic's new config up asynchronously


def create_topics(kafka: KafkaEnv, config: Path) -> None:
    log = kafka.log(config)
    try:
        log.ensure_topics(ALL_TOPICS)
    finally:
        log.close()


def run_classifier(kafka: KafkaEnv, config: Path) -> ConsumeLoop:
    """The real classifier stage in the real consume loop on the Kafka log, until the topic is drained."""
    log = kafka.log(config)
    try:
        loop = build_loop("classifier", kafka.settings(config), log, StopSignal(), poll_timeout=3.0)
        loop.run(until_idle=True)  # raises if the stage would exit
        return loop
    finally:
        log.close()


def assert_committed_past_everything(kafka: KafkaEnv, config: Path, count: int) -> None:
    lags = kafka.lag(config, "classifier", TOPIC_RAW)
    assert sum(p.lag for p in lags) == 0, lags
    assert sum(p.committed or 0 for p in lags) == count


def test_a_five_megabyte_body_is_classified_with_its_body_cut_and_the_rest_flows(kafka):
    config = kafka.write_config()
    create_topics(kafka, config)
    good_before, good_after = raw_records(5, "before"), raw_records(5, "after")
    huge = big_raw("huge-body", body=five_megabyte_body())
    assert len(huge[2]) > 5_000_000
    publish_foreign(kafka.bootstrap, [*good_before, huge, *good_after])

    loop = run_classifier(kafka, config)

    classified = {r.key: json.loads(r.value) for r in kafka.read(config, TOPIC_CLASSIFIED)}
    good = {key for _, key, _ in good_before + good_after}
    assert set(classified) == good | {"huge-body"}
    body = classified["huge-body"]["body"]
    assert len(body) <= MAX_BODY_CHARS and body.endswith(MARKER)
    assert five_megabyte_body().startswith(body.removesuffix(MARKER))
    assert classified["huge-body"]["model_version"] and classified["huge-body"]["story_id"]
    assert kafka.read(config, TOPIC_DLQ) == [] and loop.stats.dead_lettered == 0
    assert_committed_past_everything(kafka, config, 11)


def test_a_broker_size_refusal_stops_the_stage_with_the_cause_and_dead_letters_nothing(kafka):
    """kafka-python 3's idempotent producer takes a broker's MESSAGE_TOO_LARGE as fatal to the client:
    every later batch fails with the same error, so the failed record cannot be told from the good
    ones. Dead-lettering them all would lose good items; the stage stops instead, naming the limit,
    with nothing committed (a topic whose max.message.bytes is below 1 MB is a configuration error)."""
    config = kafka.write_config()
    create_topics(kafka, config)
    set_topic_limit(kafka.bootstrap, TOPIC_CLASSIFIED, 20_000)
    good = raw_records(5, "good")
    noisy = big_raw("noisy-body", body=noisy_text(100_000))  # ~60 kB even gzipped; fits newsmon.raw
    kafka.publish(config, [*good, noisy])

    with pytest.raises(NewsmonError, match=r"max\.message\.bytes"):
        run_classifier(kafka, config)

    assert kafka.read(config, TOPIC_DLQ) == []
    assert sum(p.committed or 0 for p in kafka.lag(config, "classifier", TOPIC_RAW)) == 0


def test_a_900_kb_record_that_is_no_item_is_dead_lettered_compressed_and_replays_exactly(kafka):
    config = kafka.write_config()
    create_topics(kafka, config)
    junk = ("not json: " + five_megabyte_body())[:900_000].encode("utf-8")
    good = raw_records(3, "good")
    publish_foreign(kafka.bootstrap, [good[0], (TOPIC_RAW, "junk", junk), *good[1:]])

    loop = run_classifier(kafka, config)

    assert {r.key for r in kafka.read(config, TOPIC_CLASSIFIED)} == {key for _, key, _ in good}
    [letter] = [json.loads(r.value) for r in kafka.read(config, TOPIC_DLQ)]
    assert (letter["key"], letter["stage"], loop.stats.dead_lettered) == ("junk", "classifier", 1)
    assert "value_b64" not in letter and original_value(letter) == junk
    assert_committed_past_everything(kafka, config, 4)

    settings = kafka.settings(config)
    cmd_dlq_replay(settings, argparse.Namespace(stage=None), None)
    replayed = [r.value for r in kafka.read(config, TOPIC_RAW) if r.key == "junk"]
    assert replayed == [junk, junk]  # the original, and the copy sent back
