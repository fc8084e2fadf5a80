"""Dead letters keep the exact bytes of the record that failed, next to a readable copy."""

import base64
import gzip
import json
import random

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.dead_letter import MAX_LETTER_BYTES, original_value
from pipeline.errors import LimitExceeded, SchemaError
from pipeline.loop import ConsumeLoop, StageBase, StopSignal, dead_letter
from pipeline.settings import ConsumerSettings
from pipeline.transport.base import TOPIC_DLQ, Record, RecordTooLarge
from pipeline.transport.memory import MemoryLog

FAST = ConsumerSettings(batch_size=10, poll_timeout=0, backoff_initial=0.001, backoff_max=0.01)
NOT_UTF8 = b'{"title": "caf\xe9 \xff\xfe"}'  # Latin-1 bytes: invalid UTF-8


class RefusingStage(StageBase):
    """Refuses every record as a schema violation."""

    name = "refuser"
    created = 0

    def handle(self, record):
        raise SchemaError(f"refused {record.key}")

    def flush(self):
        return None


def letters(log):
    return [json.loads(value) for value in log.values(TOPIC_DLQ)]


def test_a_record_that_is_not_utf8_keeps_its_exact_bytes_and_a_readable_value():
    log = MemoryLog()
    log.append("in", "k1", NOT_UTF8)
    ConsumeLoop(RefusingStage(), log.consumer("g", ["in"]), log.producer(), FAST, StopSignal()).run(until_idle=True)
    [letter] = letters(log)
    assert base64.b64decode(letter["value_b64"]) == NOT_UTF8
    assert letter["value"] == NOT_UTF8.decode("utf-8", errors="replace")
    assert (letter["stage"], letter["topic"], letter["offset"], letter["key"]) == ("refuser", "in", 1, "k1")
    assert letter["error"] == "SchemaError: refused k1"


def test_the_letter_is_utf8_json_even_with_lone_surrogates_in_the_key_and_error():
    log = MemoryLog()
    producer = log.producer()
    dead_letter(producer, "s", Record("in", 0, 3, "k\ud800", b"v", 0.0), ValueError("bad \udcff"))
    producer.flush()
    [raw] = log.values(TOPIC_DLQ)
    letter = json.loads(raw.decode("utf-8"))
    assert (letter["key"], letter["error"]) == ("k\ud800", "ValueError: bad \udcff")


@settings(max_examples=100, deadline=None)
@given(key=st.text(), value=st.binary(), message=st.text())
def test_any_record_gives_a_letter_whose_value_b64_is_the_exact_value(key, value, message):
    log = MemoryLog()
    producer = log.producer()
    dead_letter(producer, "s", Record("in", 0, 1, key, value, 0.0), RuntimeError(message))
    producer.flush()
    [raw] = log.values(TOPIC_DLQ)
    letter = json.loads(raw.decode("utf-8"))
    assert base64.b64decode(letter["value_b64"], validate=True) == value
    assert (letter["key"], letter["value"]) == (key, value.decode("utf-8", errors="replace"))


def test_a_large_value_keeps_every_byte_and_a_bounded_readable_copy():
    from pipeline.dead_letter import TEXT_CHARS as DEAD_LETTER_TEXT_CHARS

    value = ("word " * 100_000).encode("utf-8")  # 500 KB
    log = MemoryLog()
    producer = log.producer()
    dead_letter(producer, "classifier", Record("newsmon.raw", 0, 3, "k", value, 0.0), ValueError("x"))
    producer.flush()
    [letter] = [json.loads(raw) for raw in log.values(TOPIC_DLQ)]
    assert base64.b64decode(letter["value_b64"]) == value
    assert len(letter["value"]) <= DEAD_LETTER_TEXT_CHARS and letter["value"].endswith(" […]")


def letter_of(value: bytes, error: Exception | None = None) -> dict:
    log = MemoryLog()
    producer = log.producer()
    dead_letter(producer, "classifier", Record("newsmon.raw", 0, 3, "k", value, 0.0), error or ValueError("x"))
    producer.flush()
    [raw] = log.values(TOPIC_DLQ)
    assert len(raw) <= MAX_LETTER_BYTES
    return json.loads(raw)


def test_a_value_whose_base64_would_not_fit_the_log_keeps_its_bytes_compressed():
    value = ("Paragraph about floods in Sindh. " * 27_000).encode("utf-8")  # 891 KB: base64 is 1.19 MB
    letter = letter_of(value)
    assert "value_b64" not in letter and "value_gzip_b64" in letter
    assert original_value(letter) == value
    assert len(letter["value"]) <= 4_096 and letter["value"].startswith("Paragraph about floods")


def test_a_value_that_does_not_fit_even_compressed_keeps_a_readable_copy_and_says_why():
    value = random.Random(5).randbytes(900_000)  # random bytes: gzip cannot shrink them
    letter = letter_of(value)
    assert "value_b64" not in letter and "value_gzip_b64" not in letter
    assert letter["value_omitted"].startswith("900000 bytes, over the dead-letter limit of 1000000 bytes")
    assert original_value(letter) is None and letter["value"]


def test_a_letter_for_a_broken_limit_names_the_field_its_size_and_the_limit():
    error = LimitExceeded("field 'id': 600 bytes, longer than the 512 allowed", field="id", size=600, limit=512)
    letter = letter_of(b"{}", error)
    assert letter["limit"] == {"field": "id", "size": 600, "limit": 512, "unit": "bytes"}
    assert letter["error"] == "LimitExceeded: field 'id': 600 bytes, longer than the 512 allowed"
    assert "limit" not in letter_of(b"{}", SchemaError("field 'title': expected a string"))


def test_a_damaged_or_oversized_compressed_copy_is_not_replayed(monkeypatch):
    packed = gzip.compress(b"a" * 10_000)
    assert original_value({"value_gzip_b64": base64.b64encode(packed).decode()}) == b"a" * 10_000
    assert original_value({"value_gzip_b64": base64.b64encode(packed[:-9]).decode()}) is None  # cut short
    assert original_value({"value_gzip_b64": base64.b64encode(b"not gzip").decode()}) is None
    monkeypatch.setattr("pipeline.dead_letter.MAX_REPLAY_BYTES", 5_000)
    assert original_value({"value_gzip_b64": base64.b64encode(packed).decode()}) is None  # would inflate past it


class RefusingProducer:
    """A log producer that refuses records over ``limit`` bytes, as Kafka's client does."""

    def __init__(self, limit: int) -> None:
        self.limit, self.published = limit, []

    def publish(self, topic, key, value):
        if len(key.encode()) + len(value) > self.limit:
            raise RecordTooLarge(topic, key, f"{len(value)} bytes")
        self.published.append((topic, key, json.loads(value)))


def test_a_letter_the_log_refuses_is_sent_again_without_its_value():
    producer = RefusingProducer(limit=2_000)
    dead_letter(producer, "indexer", Record("newsmon.classified", 1, 9, "k", b"v" * 5_000, 0.0), ValueError("x"))
    [(topic, key, letter)] = producer.published
    assert (topic, key, letter["offset"], letter["error"]) == (TOPIC_DLQ, "k", 9, "ValueError: x")
    assert letter["value_omitted"].startswith("5000 bytes; the log refused the letter")
    assert original_value(letter) is None


def test_an_overlong_foreign_key_is_cut_in_the_letter_and_its_key():
    producer = RefusingProducer(limit=1_000_000)
    dead_letter(producer, "classifier", Record("newsmon.raw", 0, 1, "k" * 100_000, b"{}", 0.0), ValueError("x"))
    [(_, key, letter)] = producer.published
    assert key == letter["key"] and len(key) <= 1_024 and key.startswith("kkk")
