"""The converters that check and type each configuration value, and their table per section.

A converter takes the raw YAML (or environment) value and returns the typed value, or raises
ValueError saying what it expected; :func:`typed` turns that into a ConfigError naming the field.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pipeline.durations import parse_duration
from pipeline.errors import ConfigError

__all__ = ["typed", "as_flag", "as_text", "country_code", "port_number", "PRODUCER_FIELDS", "CONSUMER_FIELDS", "KAFKA_FIELDS",
           "CLASSIFIER_FIELDS", "ES_FIELDS", "WEB_FIELDS"]


def typed(convert: Callable[[Any], Any], value: Any, where: str) -> Any:
    try:
        return convert(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def positive_int(value: Any) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return number


def port_number(value: Any) -> int:
    number = int(value)
    if not 0 <= number <= 65535:
        raise ValueError(f"expected a TCP port (0 = off), got {value!r}")
    return number


def as_text(value: Any) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError(f"expected a string, got {value!r}")
    return str(value)


def as_flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"expected true or false, got {value!r}")


def country_code(value: Any) -> str:
    """An ISO 3166 alpha-2 code, upper-cased: "pk" -> "PK"."""
    code = value.strip().upper() if isinstance(value, str) else ""
    if not re.fullmatch(r"[A-Z]{2}", code):
        raise ValueError(f"expected ISO 3166 alpha-2 codes such as PK or US, got {value!r}")
    return code


PRODUCER_FIELDS: dict[str, Callable[[Any], Any]] = {
    "interval": parse_duration, "min_interval": parse_duration, "max_interval": parse_duration,
    "error_backoff_max": parse_duration, "timeout": parse_duration, "total_timeout": parse_duration,
    "max_redirects": positive_int, "max_bytes": positive_int, "concurrency": positive_int,
    "per_host_concurrency": positive_int, "broken_after": positive_int, "stale_after": parse_duration,
    "dedup_window": parse_duration, "seen_retention": parse_duration, "user_agent": as_text,
}

def one_of(*allowed: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = as_text(value).upper()
        if text not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {value!r}")
        return text
    return convert


KAFKA_FIELDS: dict[str, Callable[[Any], Any]] = {
    "partitions": positive_int, "replication_factor": positive_int,
    "retention": parse_duration, "dlq_retention": parse_duration,
    "security_protocol": one_of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
    "sasl_mechanism": one_of("", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
    "ssl_cafile": as_text, "client_id": as_text, "request_timeout": parse_duration,
    "session_timeout": parse_duration, "max_poll_interval": parse_duration,
}

CONSUMER_FIELDS: dict[str, Callable[[Any], Any]] = {
    "batch_size": positive_int, "poll_timeout": parse_duration,
    "backoff_initial": parse_duration, "backoff_max": parse_duration,
}


def ner_mode(value: Any) -> str:
    text = as_text(value).lower()
    if text not in ("relevant", "all", "off"):
        raise ValueError(f"expected relevant, all or off, got {value!r}")
    return text


CLASSIFIER_FIELDS: dict[str, Callable[[Any], Any]] = {
    "spacy_model": as_text, "topic_model": as_text, "ner": ner_mode, "max_chars": positive_int,
    "ner_max_chars": positive_int, "batch_size": positive_int, "story_window": parse_duration,
}


def count(value: Any) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(f"expected 0 or more, got {value!r}")
    return number


def index_name(value: Any) -> str:
    text = as_text(value)
    if not text or text != text.lower() or text[0] in "-_+" or any(c in text for c in ' \\/*?"<>|,#:'):
        raise ValueError(f"expected a lower-case Elasticsearch index name, got {value!r}")
    return text


ES_FIELDS: dict[str, Callable[[Any], Any]] = {
    "alias": index_name, "ca_file": as_text, "request_timeout": parse_duration,
    "shards": positive_int, "replicas": count, "bulk_docs": positive_int, "bulk_bytes": positive_int,
    "bulk_retries": count, "bulk_backoff_initial": parse_duration, "bulk_backoff_max": parse_duration,
    "template_file": as_text,
}


def positive_seconds(value: Any) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError(f"expected a positive duration, got {value!r}")
    return seconds


WEB_FIELDS: dict[str, Callable[[Any], Any]] = {
    "enabled": as_flag, "host": as_text, "port": port_number,
    "refresh_seconds": positive_seconds,
}
