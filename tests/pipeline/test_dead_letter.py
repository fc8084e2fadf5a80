"""Dead letters keep the exact bytes of the record that failed, next to a readable copy."""

import base64
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.errors import SchemaError
from pipeline.loop import ConsumeLoop, StageBase, StopSignal, dead_letter
from pipeline.settings import ConsumerSettings
from pipeline.transport.base import TOPIC_DLQ, Record
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
    from pipeline.loop import DEAD_LETTER_TEXT_CHARS

    value = ("word " * 100_000).encode("utf-8")  # 500 KB
    log = MemoryLog()
    producer = log.producer()
    dead_letter(producer, "classifier", Record("newsmon.raw", 0, 3, "k", value, 0.0), ValueError("x"))
    producer.flush()
    [letter] = [json.loads(raw) for raw in log.values(TOPIC_DLQ)]
    assert base64.b64decode(letter["value_b64"]) == value
    assert len(letter["value"]) <= DEAD_LETTER_TEXT_CHARS and letter["value"].endswith(" […]")
