"""The Kafka adapter's pure parts, no broker needed: URL parsing, settings → client configuration,
topic configs, commit metadata and error classification."""

from __future__ import annotations

from dataclasses import replace

import kafka.errors as Errors
import pytest

from pipeline.errors import ConfigError, NewsmonError, RetryLater
from pipeline.settings import KafkaSettings
from pipeline.transport.kafka_admin import (
    client_config,
    commit_metadata,
    committed_at,
    describe,
    kafka_error,
    parse_kafka_url,
    topic_spec,
)
from pipeline.transport.kafka_log import consumer_config, producer_config, reader_config
from pipeline.transport.registry import LOG_BACKENDS


@pytest.mark.parametrize("url, servers", [
    ("kafka://broker:9092", ["broker:9092"]),
    ("kafka://b1:9092,b2:9093", ["b1:9092", "b2:9093"]),
    ("kafka://b1:9092, b2:9093/", ["b1:9092", "b2:9093"]),
    ("kafka://broker", ["broker:9092"]),
    ("KAFKA://10.0.0.7:19092", ["10.0.0.7:19092"]),
    ("kafka://[::1]:9092,[fe80::1]", ["[::1]:9092", "[fe80::1]:9092"]),
    ("kafka://kafka-0.kafka.svc.cluster.local:9092", ["kafka-0.kafka.svc.cluster.local:9092"]),
], ids=["one", "two", "spaces-and-slash", "default-port", "ip", "ipv6", "dns"])
def test_broker_lists_are_parsed(url, servers):
    assert parse_kafka_url(url) == servers


@pytest.mark.parametrize("url, reason", [
    ("kafka://", "expected kafka://host:port"),
    ("kafka:broker:9092", "expected kafka://host:port"),
    ("http://broker:9092", "expected kafka://host:port"),
    ("kafka://broker:port", "invalid port 'port'"),
    ("kafka://broker:70000", "invalid port '70000'"),
    ("kafka://b1:9092,,b2:9092", "invalid broker host ''"),
    ("kafka://bad_host!:9092", "invalid broker host"),
    ("kafka://broker:9092/topic", "no path or query"),
    ("kafka://user:secret@broker:9092", "credentials do not belong in the URL"),
], ids=["empty", "no-slashes", "scheme", "port-text", "port-range", "empty-host", "host-chars", "path", "credentials"])
def test_bad_urls_are_config_errors_naming_the_url(url, reason):
    with pytest.raises(ConfigError) as error:
        parse_kafka_url(url)
    message = str(error.value)
    assert message.startswith(f"log: {url}: ") and reason in message and "\n" not in message
    assert "secret" not in message.split(": ", 2)[2]


def test_plaintext_config_carries_brokers_identity_and_timeouts_only():
    config = client_config(["b:9092"], KafkaSettings(client_id="nm", request_timeout=12.0))
    assert config == {"bootstrap_servers": ["b:9092"], "client_id": "nm", "request_timeout_ms": 12000,
                      "reconnect_backoff_max_ms": 2000, "security_protocol": "PLAINTEXT"}


def test_sasl_ssl_config_uses_the_environment_credentials_and_the_ca_file(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    kafka = KafkaSettings(security_protocol="SASL_SSL", sasl_mechanism="SCRAM-SHA-512", ssl_cafile=str(ca),
                          username="svc", password="pw")
    config = client_config(["b:9093"], kafka)
    assert config["security_protocol"] == "SASL_SSL" and config["ssl_cafile"] == str(ca)
    assert (config["sasl_mechanism"], config["sasl_plain_username"], config["sasl_plain_password"]) == \
        ("SCRAM-SHA-512", "svc", "pw")


def test_a_missing_ca_file_and_a_tiny_request_timeout_are_config_errors_naming_the_field():
    with pytest.raises(ConfigError, match=r"^cfg.yaml: kafka.ssl_cafile: file not found: /nowhere/ca.pem$"):
        client_config(["b:9093"], KafkaSettings(security_protocol="SSL", ssl_cafile="/nowhere/ca.pem"), "cfg.yaml")
    with pytest.raises(ConfigError, match=r"^cfg.yaml: kafka.request_timeout: must be at least 1s"):
        client_config(["b:9093"], KafkaSettings(request_timeout=0.2), "cfg.yaml")


def test_producer_is_idempotent_acks_all_lz4_and_never_auto_creates_topics():
    common = client_config(["b:9092"], KafkaSettings())
    config = producer_config(common, KafkaSettings())
    assert config["acks"] == "all" and config["enable_idempotence"] is True
    assert config["compression_type"] == "lz4" and config["linger_ms"] <= 10
    assert config["allow_auto_create_topics"] is False
    assert config["delivery_timeout_ms"] >= config["request_timeout_ms"] + config["linger_ms"]
    assert "retries" not in config  # the client's default: unlimited, bounded by delivery_timeout_ms


def test_consumer_commits_by_hand_from_the_earliest_offset_with_the_settings_timeouts():
    kafka = KafkaSettings(session_timeout=12.0, max_poll_interval=120.0)
    config = consumer_config(client_config(["b:9092"], kafka), kafka, "indexer")
    assert config["group_id"] == "indexer" and config["client_id"] == "newsmon-indexer"
    assert config["enable_auto_commit"] is False and config["auto_offset_reset"] == "earliest"
    assert (config["session_timeout_ms"], config["heartbeat_interval_ms"], config["max_poll_interval_ms"]) == \
        (12000, 3000, 120000)
    reader = reader_config(client_config(["b:9092"], kafka), kafka)
    assert reader["group_id"] is None and reader["enable_auto_commit"] is False


def test_topic_specs_use_partitions_replication_and_the_longer_dlq_retention():
    kafka = KafkaSettings(partitions=12, replication_factor=3, retention=7 * 86400.0, dlq_retention=30 * 86400.0)
    raw, dlq = topic_spec("newsmon.raw", kafka), topic_spec("newsmon.dlq", kafka)
    assert (raw["num_partitions"], raw["replication_factor"]) == (12, 3)
    assert raw["configs"]["retention.ms"] == str(7 * 86400 * 1000)
    assert dlq["configs"]["retention.ms"] == str(30 * 86400 * 1000)
    assert raw["configs"]["min.insync.replicas"] == "2"
    assert topic_spec("newsmon.raw", replace(kafka, replication_factor=1))["configs"]["min.insync.replicas"] == "1"


def test_commit_metadata_round_trips_the_time():
    assert committed_at(commit_metadata(1700000000.25)) == 1700000000.25
    assert committed_at("") is None and committed_at(None) is None and committed_at("written by another tool") is None


@pytest.mark.parametrize("error, kind", [
    (Errors.KafkaTimeoutError("no ack"), RetryLater),
    (Errors.KafkaConnectionError("111 ECONNREFUSED"), RetryLater),
    (Errors.NotLeaderForPartitionError(), RetryLater),
    (Errors.CoordinatorNotAvailableError(), RetryLater),
    (Errors.TopicAuthorizationFailedError(), NewsmonError),
    (Errors.InvalidTopicError(), NewsmonError),
], ids=lambda v: type(v).__name__ if isinstance(v, Exception) else v.__name__)
def test_transient_client_errors_are_retried_the_rest_is_fatal(error, kind):
    translated = kafka_error("kafka://b:9092", "commit", error)
    assert type(translated) is kind
    assert str(translated).startswith("log: kafka://b:9092: commit failed: " + type(error).__name__)


def test_descriptions_name_the_type_once():
    error = Errors.KafkaConnectionError("DNS Resolution failure")
    assert describe(error) == "KafkaConnectionError: DNS Resolution failure"
    assert describe(OSError("boom")) == "OSError: boom"


def test_the_registry_knows_the_kafka_scheme():
    assert LOG_BACKENDS["kafka"] == "pipeline.transport.kafka_log:KafkaLog"


class _Future:
    """Stands in for kafka-python's FutureRecordMetadata. ``settles``: it completes (with ``error``
    or successfully) only when waited on, as a send does that fails while flush() waits for it."""

    def __init__(self, error: Exception | None = None, *, done: bool = True, settles: bool = False) -> None:
        self.is_done, self.exception, self._settles = done and not settles, None if settles else error, settles
        self._error = error

    def succeeded(self) -> bool:
        return self.is_done and self.exception is None

    def failed(self) -> bool:
        return self.is_done and self.exception is not None

    def get(self, timeout: float) -> None:
        if self._settles:
            self.is_done, self.exception = True, self._error
        if not self.is_done:
            raise Errors.KafkaTimeoutError("not yet")
        if self.exception:
            raise self.exception


class _Client:
    """A producer client whose sends turn out as scripted, one outcome per send (then: acknowledged)."""

    def __init__(self, outcomes: list[_Future]) -> None:
        self.outcomes, self.sent = outcomes, []

    def send(self, topic: str, key: bytes, value: bytes) -> _Future:
        self.sent.append(key.decode())
        return self.outcomes.pop(0) if self.outcomes else _Future()


def test_a_send_that_fails_during_flush_is_reported_then_sent_again_until_acknowledged():
    from pipeline.transport.kafka_log import KafkaLogProducer

    in_flight = _Future(done=False)
    client = _Client([_Future(), _Future(Errors.NotLeaderForPartitionError(), settles=True), in_flight])
    producer = KafkaLogProducer("kafka://b:9092", client, timeout=0.01)
    for key in ("a", "b", "c"):
        producer.publish("t", key, key.encode())
    with pytest.raises(RetryLater, match=r": 2 records not acknowledged \(NotLeaderForPartitionError"):
        producer.flush()
    with pytest.raises(RetryLater, match=r": 1 records not acknowledged \(no acknowledgement within 0.01s\)"):
        producer.flush()  # b is sent again and acknowledged; c is still in flight
    assert client.sent == ["a", "b", "c", "b"]
    in_flight.is_done = True  # the broker acknowledges c
    producer.flush()
    producer.flush()
    assert client.sent == ["a", "b", "c", "b"]


def test_a_refused_write_is_fatal_not_retried_forever():
    from pipeline.transport.kafka_log import KafkaLogProducer

    client = _Client([_Future(Errors.TopicAuthorizationFailedError(), settles=True)])
    producer = KafkaLogProducer("kafka://b:9092", client, 0.01)
    producer.publish("t", "a", b"a")
    for _ in range(2):
        with pytest.raises(NewsmonError, match="write refused: TopicAuthorizationFailedError") as error:
            producer.flush()
        assert not isinstance(error.value, RetryLater)
    assert client.sent == ["a"]


def test_kafka_python_repeats_are_throttled():
    import logging

    from pipeline.transport.kafka_admin import _Throttle

    throttle = _Throttle(30.0)
    record = logging.LogRecord("kafka.net.manager", logging.ERROR, __file__, 1, "Connection failed: %s", ("x",), None)
    assert [throttle.filter(record) for _ in range(3)] == [True, False, False]
    other = logging.LogRecord("kafka.cluster", logging.ERROR, __file__, 1, "Metadata refresh: failed %s", ("x",), None)
    assert throttle.filter(other)
