"""The Kafka client computes record-batch checksums (CRC32C) in C: without the ``crc32c`` package
kafka-python falls back to a pure-Python loop that holds the interpreter lock while every produced
and every fetched batch is checked (about 5 ms per 40 KB), time taken from the classifier."""

import pytest

util = pytest.importorskip("kafka.record.util")


def test_kafka_client_uses_the_c_crc32c() -> None:
    assert util.crc32c_c is not None, "pip install crc32c (in newsmon[kafka]): kafka-python is on pure-Python CRC32C"


def test_the_c_crc32c_agrees_with_the_pure_python_one() -> None:
    data = bytes(range(256)) * 40
    assert util.calc_crc32c(data) == util.crc32c_py(data)
