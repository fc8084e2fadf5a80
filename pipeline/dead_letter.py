"""Dead letters: what ``newsmon.dlq`` holds for a record that can never be processed.

A letter is one UTF-8 JSON object:

- ``stage``, ``error`` (``Type: message``), ``failed_at``, and where the record came from:
  ``topic``, ``partition``, ``offset``, ``key`` (cut to :data:`MAX_KEY_CHARS`, as is the letter's
  own key in the log);
- ``limit`` when the record broke one of newsmon's size limits: ``{"field", "size", "limit",
  "unit"}`` (see :class:`pipeline.errors.LimitExceeded`);
- ``value``: the record's value readable, invalid UTF-8 replaced by U+FFFD and cut to
  :data:`TEXT_CHARS` characters;
- the exact bytes, for ``newsmon dlq replay``: ``value_b64`` (base64), or, when that would not fit
  in :data:`MAX_LETTER_BYTES`, ``value_gzip_b64`` (gzip, then base64). A value that does not fit
  even compressed keeps only its readable copy and says so in ``value_omitted``.

:data:`MAX_LETTER_BYTES` keeps a letter under the log's record limit (Kafka's 1 MiB default, which
the producer checks as ``max_request_size``): a letter too large for the log would stop the stage
that writes it, the very thing a dead letter is for avoiding. A Kafka record itself is at most
1 MiB, so base64 (4/3 of it) does not always fit while gzip of text almost always does.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import zlib
from collections.abc import Mapping
from typing import Any

from pipeline.errors import LimitExceeded
from pipeline.item import bound_text, format_time, utc_now
from pipeline.transport.base import Record

__all__ = ["TEXT_CHARS", "MAX_KEY_CHARS", "MAX_LETTER_BYTES", "letter_for", "encode_letter", "original_value"]

TEXT_CHARS = 65_536  # the readable copy of a letter's value
MAX_KEY_CHARS = 1_024  # a letter's key (an item id is at most 512 bytes; a foreign key may be anything)
SHORT_TEXT_CHARS = 4_096  # the readable copy when the full one would not fit
MAX_LETTER_BYTES = 1_000_000  # under Kafka's default 1,048,576-byte record limit, with room for the key
MAX_REPLAY_BYTES = 64 * 1024 * 1024  # a compressed copy is never inflated past this


def letter_for(stage: str, record: Record, error: Exception) -> dict[str, Any]:
    """The dead letter of ``record``, which ``stage`` could not process because of ``error``."""
    letter: dict[str, Any] = {
        "stage": stage,
        "error": f"{type(error).__name__}: {error}",
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "key": bound_text(record.key, MAX_KEY_CHARS),
        "value": bound_text(record.value.decode("utf-8", errors="replace"), TEXT_CHARS),
        "failed_at": format_time(utc_now()),
    }
    if isinstance(error, LimitExceeded):
        letter["limit"] = error.describe_limit()
    return _with_exact_copy(letter, record.value)


def _with_exact_copy(letter: dict[str, Any], value: bytes) -> dict[str, Any]:
    """Add the value's exact bytes in the first form that keeps the letter under the limit."""
    plain = base64.b64encode(value).decode("ascii")
    if _size(letter) + len(plain) <= MAX_LETTER_BYTES:
        return dict(letter, value_b64=plain)
    letter = dict(letter, value=bound_text(str(letter["value"]), SHORT_TEXT_CHARS))
    packed = base64.b64encode(gzip.compress(value, compresslevel=6, mtime=0)).decode("ascii")
    if _size(letter) + len(packed) <= MAX_LETTER_BYTES:
        return dict(letter, value_gzip_b64=packed)
    return dict(letter, value_omitted=f"{len(value)} bytes, over the dead-letter limit of {MAX_LETTER_BYTES}"
                                      f" bytes even compressed ({len(packed)} bytes in base64)")


def _size(letter: Mapping[str, Any]) -> int:
    return len(encode_letter(letter)) + 20  # + the quoted name of the copy's field


def encode_letter(letter: Mapping[str, Any]) -> bytes:
    """UTF-8 JSON. A lone surrogate (in a key or an error message) has no UTF-8 form: it is written
    as the JSON escape ``\\uXXXX`` (it can only occur inside a JSON string), which reads back as the
    same text."""
    return json.dumps(letter, ensure_ascii=False).encode("utf-8", errors="backslashreplace")


def original_value(letter: Mapping[str, Any]) -> bytes | None:
    """The exact bytes of the record that failed, or None when the letter holds no usable value.

    A letter written before the exact copy existed has only ``value`` (decoded with replacement
    characters), which is given back encoded in UTF-8; a letter whose value was omitted gives None.
    """
    if "value_b64" in letter:
        return _b64(letter["value_b64"])
    if "value_gzip_b64" in letter:
        packed = _b64(letter["value_gzip_b64"])
        return None if packed is None else _gunzip(packed)
    if "value_omitted" in letter:
        return None
    value = letter.get("value")
    return value.encode("utf-8", errors="backslashreplace") if isinstance(value, str) else None


def _b64(encoded: object) -> bytes | None:
    if not isinstance(encoded, str):
        return None
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None


def _gunzip(packed: bytes) -> bytes | None:
    """Inflate, refusing (None) damaged data and anything that grows past :data:`MAX_REPLAY_BYTES`."""
    inflater = zlib.decompressobj(wbits=31)  # gzip framing
    try:
        value = inflater.decompress(packed, MAX_REPLAY_BYTES)
    except zlib.error:
        return None
    if inflater.unconsumed_tail or not inflater.eof:
        return None
    return value
