"""Kafka plumbing for the log adapter: URL and settings → client configuration, a bounded and quiet
first connection, error translation, topic creation and the offset look-ups behind ``lag()``.

Only this module and :mod:`pipeline.transport.kafka_log` import kafka-python.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import kafka.errors as Errors
from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import OffsetSpec
from kafka.structs import OffsetAndMetadata

from pipeline.errors import ConfigError, NewsmonError, RetryLater
from pipeline.settings import KafkaSettings
from pipeline.transport.base import TOPIC_DLQ

__all__ = [
    "DEFAULT_PORT", "CONNECT_WAIT_MAX", "parse_kafka_url", "client_config", "topic_spec", "commit_metadata",
    "committed_at", "is_transient", "describe", "kafka_error", "translated", "quiet_kafka_logging",
    "connect_admin", "KafkaAdmin",
]

logger = logging.getLogger(__name__)

DEFAULT_PORT = 9092
CONNECT_WAIT_MAX = 10.0  # seconds: the first connection gives up after min(this, request_timeout)
_RECONNECT_BACKOFF_MAX_MS = 2000
_THROTTLE_KEYS = 1000
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\]")
_AUTH_ERRORS = (Errors.SaslAuthenticationFailedError, Errors.UnsupportedSaslMechanismError,
                Errors.IllegalSaslStateError)
_SETTING_AT_FAULT = {Errors.InvalidReplicationFactorError: "replication_factor",
                     Errors.InvalidPartitionsError: "partitions"}
_STAMP = re.compile(r"committed_at=([0-9]+(?:\.[0-9]+)?)")


def parse_kafka_url(url: str) -> list[str]:
    """``kafka://host:port[,host:port...]`` → ``["host:port", ...]`` (port 9092 when left out)."""
    scheme, sep, rest = url.partition("://")
    if scheme.lower() != "kafka" or not sep:
        raise ConfigError(f"log: {url}: expected kafka://host:port[,host:port...]")
    rest = rest.rstrip("/")
    if "@" in rest:
        raise ConfigError(f"log: {url}: credentials do not belong in the URL; set NEWSMON_KAFKA_USERNAME"
                          " and NEWSMON_KAFKA_PASSWORD")
    if not rest or any(c in rest for c in "/?#"):
        raise ConfigError(f"log: {url}: expected kafka://host:port[,host:port...] (no path or query)")
    return [_server(part.strip(), url) for part in rest.split(",")]


def _server(text: str, url: str) -> str:
    host, port = text, str(DEFAULT_PORT)
    if text.startswith("["):  # [IPv6]:port
        host, _, tail = text.partition("]")
        host += "]"
        if tail:
            if not tail.startswith(":"):
                raise ConfigError(f"log: {url}: invalid broker address {text!r}")
            port = tail[1:]
    elif ":" in text:
        host, port = text.rsplit(":", 1)
    if not _HOST.fullmatch(host):
        raise ConfigError(f"log: {url}: invalid broker host {host!r}")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"log: {url}: invalid port {port!r} for {host}")
    return f"{host}:{int(port)}"


def _ms(seconds: float) -> int:
    return round(seconds * 1000)


def client_config(servers: Sequence[str], kafka: KafkaSettings, source: str = "<settings>") -> dict[str, Any]:
    """The settings every client shares: brokers, identity, timeouts and security."""
    if kafka.request_timeout < 1.0:
        raise ConfigError(f"{source}: kafka.request_timeout: must be at least 1s, got {kafka.request_timeout:g}s")
    config: dict[str, Any] = {
        "bootstrap_servers": list(servers),
        "client_id": kafka.client_id,
        "request_timeout_ms": _ms(kafka.request_timeout),
        # kafka-python backs reconnects off up to 30 s (the Java client: 1 s); after a broker restart
        # that is how long a client could sit idle before it notices the broker is back
        "reconnect_backoff_max_ms": _RECONNECT_BACKOFF_MAX_MS,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.security_protocol in ("SSL", "SASL_SSL") and kafka.ssl_cafile:
        if not Path(kafka.ssl_cafile).is_file():
            raise ConfigError(f"{source}: kafka.ssl_cafile: file not found: {kafka.ssl_cafile}")
        config["ssl_cafile"] = kafka.ssl_cafile
    if kafka.security_protocol.startswith("SASL"):
        config.update(sasl_mechanism=kafka.sasl_mechanism, sasl_plain_username=kafka.username,
                      sasl_plain_password=kafka.password)
    return config


def topic_spec(topic: str, kafka: KafkaSettings) -> dict[str, Any]:
    """Partitions, replication and configs for a newsmon topic (the dead-letter topic keeps longer)."""
    retention = kafka.dlq_retention if topic == TOPIC_DLQ else kafka.retention
    replicas = kafka.replication_factor
    return {
        "num_partitions": kafka.partitions,
        "replication_factor": replicas,
        "configs": {
            "retention.ms": str(_ms(retention)),
            "cleanup.policy": "delete",
            # with acks=all, a write must reach 2 replicas when there are 3 or more
            "min.insync.replicas": str(max(1, min(2, replicas - 1))),
        },
    }


def commit_metadata(now: float | None = None) -> str:
    """The metadata string stored with every commit, so ``lag()`` can tell when it happened."""
    return f"committed_at={time.time() if now is None else now:.3f}"


def committed_at(metadata: str | None) -> float | None:
    match = _STAMP.search(metadata or "")
    return float(match.group(1)) if match else None


def is_transient(exc: BaseException) -> bool:
    """Broker down, timeouts, leader moves, coordinator changes: errors that may go away."""
    return bool(getattr(exc, "retriable", False)) or isinstance(exc, (Errors.KafkaConnectionError, OSError))


def describe(exc: BaseException) -> str:
    """``Type: message`` (kafka-python's errors already print their type)."""
    text = str(exc)
    return text if text.startswith(type(exc).__name__) else f"{type(exc).__name__}: {text}".rstrip(": ")


def kafka_error(url: str, action: str, exc: BaseException) -> NewsmonError:
    """Transient client errors → RetryLater; the rest (authorization, invalid requests) is fatal."""
    message = f"log: {url}: {action} failed: {describe(exc)}"
    return RetryLater(message) if is_transient(exc) else NewsmonError(message)


@contextmanager
def translated(url: str, action: str) -> Iterator[None]:
    try:
        yield
    except Errors.KafkaError as exc:
        raise kafka_error(url, action, exc) from exc


class _LastFailure(logging.Handler):
    """Remembers the last connection error kafka-python logs (it only logs them while bootstrapping)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.error: BaseException | None = None

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        for arg in args:
            if isinstance(arg, BaseException) and not isinstance(arg, Errors.KafkaTimeoutError):
                self.error = arg


class _Throttle(logging.Filter):
    """Lets each kafka-python message through at most once per ``interval`` seconds: while a broker
    restarts, every client otherwise logs each failed reconnect, a hundred lines in a few seconds."""

    def __init__(self, interval: float) -> None:
        super().__init__()
        self.interval = interval
        self._last: dict[tuple[str, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key, now = (record.name, str(record.msg)), time.monotonic()
        if now - self._last.get(key, -self.interval) < self.interval:
            return False
        if len(self._last) >= _THROTTLE_KEYS:  # messages that embed changing values: start over
            self._last.clear()
        self._last[key] = now
        return True


def quiet_kafka_logging(interval: float = 30.0) -> None:
    """kafka-python's INFO chatter off (unless configured otherwise), its repeated warnings throttled."""
    library = logging.getLogger("kafka")
    if library.level == logging.NOTSET:
        library.setLevel(logging.WARNING)
    throttle = _Throttle(interval)
    for name, existing in list(logging.Logger.manager.loggerDict.items()):
        if ((name == "kafka" or name.startswith("kafka.")) and isinstance(existing, logging.Logger)
                and not any(isinstance(f, _Throttle) for f in existing.filters)):
            existing.addFilter(throttle)


@contextmanager
def _captured_kafka_logs() -> Iterator[_LastFailure]:
    """Keep kafka-python's retry chatter off the console while connecting; keep its last error."""
    library = logging.getLogger("kafka")
    capture, propagate = _LastFailure(), library.propagate
    library.addHandler(capture)
    library.propagate = False
    try:
        yield capture
    finally:
        library.removeHandler(capture)
        library.propagate = propagate


def connect_admin(url: str, config: dict[str, Any], wait: float) -> KafkaAdminClient:
    """An admin client, or ConfigError naming the URL and the reason after at most ``wait`` seconds."""
    with _captured_kafka_logs() as capture:
        try:
            return KafkaAdminClient(**config, bootstrap_timeout_ms=_ms(wait))
        except Errors.KafkaConfigurationError as exc:
            raise ConfigError(f"log: {url}: invalid Kafka client settings: {exc}") from None
        except Errors.KafkaError as exc:
            cause = capture.error or exc
            raise ConfigError(f"log: {url}: {_failure(cause)} after {wait:g}s ({describe(cause)})") from None


def _failure(cause: BaseException) -> str:
    if isinstance(cause, _AUTH_ERRORS):
        return "authentication failed"
    if "Handshake failed" in str(cause):
        return "TLS handshake failed"
    return "no broker reachable"


class KafkaAdmin:
    """Topic creation and offset look-ups over one admin client; kafka errors become newsmon errors."""

    def __init__(self, url: str, client: KafkaAdminClient, kafka: KafkaSettings, source: str = "<settings>") -> None:
        self.url, self._client, self._kafka, self._source = url, client, kafka, source
        self._timeout_ms = _ms(kafka.request_timeout)

    def ensure_topics(self, topics: Sequence[str]) -> list[str]:
        """Create the missing topics, wait until they have leaders; returns the ones created."""
        with translated(self.url, "create topics"):
            existing = {t["name"]: t for t in self._client.describe_topics(list(topics)) if t["error_code"] == 0}
            self._warn_partition_counts(existing.values())
            missing = {t: topic_spec(t, self._kafka) for t in topics if t not in existing}
            if not missing:
                return []
            response = self._client.create_topics(missing, timeout_ms=self._timeout_ms, raise_errors=False)
            for result in response["topics"]:
                self._check_created(result)
            self._client.wait_for_topics(list(missing), timeout_ms=self._timeout_ms)
        return list(missing)

    def _check_created(self, result: dict[str, Any]) -> None:
        error = Errors.for_code(result["error_code"])
        if error is Errors.TopicAlreadyExistsError:  # created meanwhile by another process: fine
            return
        field = _SETTING_AT_FAULT.get(error)
        if field:  # e.g. a replication factor larger than the cluster
            raise ConfigError(f"{self._source}: kafka.{field}: cannot create {result['name']} on {self.url}:"
                              f" {result.get('error_message') or error.__name__}")
        if error is not Errors.NoError:
            raise error(result.get("error_message") or result["name"])
        spec = topic_spec(result["name"], self._kafka)
        logger.info("event=topic_created topic=%s partitions=%d replication_factor=%d retention_ms=%s",
                    result["name"], spec["num_partitions"], spec["replication_factor"], spec["configs"]["retention.ms"])

    def _warn_partition_counts(self, described: Any) -> None:
        for topic in described:
            count = len(topic["partitions"])
            if count != self._kafka.partitions:
                logger.warning("event=topic_partitions_differ topic=%s partitions=%d configured=%d",
                               topic["name"], count, self._kafka.partitions)

    def partitions(self, topic: str) -> list[int]:
        """The topic's partition numbers, [] when the topic does not exist."""
        with translated(self.url, f"describe {topic}"):
            (described,) = self._client.describe_topics([topic])
        if described["error_code"] != 0:
            return []
        return sorted(p["partition_index"] for p in described["partitions"])

    def bounds(self, topic: str) -> dict[int, tuple[int, int]]:
        """Per partition: (first offset still retained, next offset to be written)."""
        tps = [TopicPartition(topic, p) for p in self.partitions(topic)]
        if not tps:
            return {}
        with translated(self.url, f"list offsets of {topic}"):
            first = self._client.list_partition_offsets({tp: OffsetSpec.EARLIEST for tp in tps})
            end = self._client.list_partition_offsets({tp: OffsetSpec.LATEST for tp in tps})
        return {tp.partition: (first[tp].offset, end[tp].offset) for tp in tps}

    def committed(self, group: str, topic: str, partitions: Sequence[int]) -> dict[int, OffsetAndMetadata]:
        """The group's committed offsets on the topic (partitions it never committed are left out)."""
        tps = [TopicPartition(topic, p) for p in partitions]
        deadline = time.monotonic() + self._kafka.request_timeout
        while True:  # on a fresh cluster the first look-up creates __consumer_offsets: coordinator not yet there
            try:
                with translated(self.url, f"list offsets of group {group}"):
                    found = self._client.list_group_offsets({group: tps}).get(group, {})
                break
            except RetryLater:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)
        return {tp.partition: meta for tp, meta in found.items() if meta is not None and meta.offset >= 0}

    def close(self) -> None:
        self._client.close()
