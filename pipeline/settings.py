"""One typed, frozen settings object, loaded from a YAML file plus ``NEWSMON_*`` environment variables.

Every scalar key can be overridden from the environment: ``log`` by ``NEWSMON_LOG``, ``index`` by
``NEWSMON_INDEX``, ``producer.timeout`` by ``NEWSMON_PRODUCER_TIMEOUT`` and so on. Secrets are read
only from the environment: an action names the variable (``url_env``, ``secret_env``), and a
secret-looking key written into the file is refused. Every error names the file and the field.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from pipeline.durations import parse_duration
from pipeline.errors import ConfigError
from pipeline.topics import TopicDefinition, builtin_topics, topics_from_mapping

__all__ = [
    "FeedSpec", "ActionSpec", "RuleSpec", "ProducerSettings", "ConsumerSettings", "KafkaSettings", "Settings",
    "load_settings", "settings_from_mapping",
]

_SECRET_KEYS = {"secret", "password", "token", "api_key", "sasl_password"}


@dataclass(frozen=True)
class FeedSpec:
    id: str
    url: str
    source: str
    title: str = ""
    language: str = "en"
    interval: float | None = None  # seconds; None = producer.interval


@dataclass(frozen=True)
class ActionSpec:
    """Where an alert goes: ``webhook`` (POST JSON to ``url``) or ``log`` (a log line only)."""

    type: str
    url: str = ""
    secret: str = field(default="", repr=False)
    timeout: float = 10.0


@dataclass(frozen=True)
class RuleSpec:
    name: str
    query: str
    topics: tuple[str, ...] = ()
    min_score: float = 0.0
    actions: tuple[ActionSpec, ...] = ()


@dataclass(frozen=True)
class ProducerSettings:
    interval: float = 900.0
    min_interval: float = 60.0
    max_interval: float = 6 * 3600.0
    error_backoff_max: float = 3600.0
    timeout: float = 20.0
    max_bytes: int = 10 * 1024 * 1024
    concurrency: int = 4
    user_agent: str = "newsmon/0.1 (+https://github.com/newsmon/newsmon)"


@dataclass(frozen=True)
class ConsumerSettings:
    batch_size: int = 100
    poll_timeout: float = 1.0
    backoff_initial: float = 0.5
    backoff_max: float = 60.0


@dataclass(frozen=True)
class KafkaSettings:
    """Kafka options for ``log: kafka://host:port[,host:port...]``. Credentials come only from the
    environment: ``NEWSMON_KAFKA_USERNAME`` and ``NEWSMON_KAFKA_PASSWORD``."""

    partitions: int = 6
    replication_factor: int = 1
    retention: float = 14 * 86400.0  # seconds, newsmon.raw and newsmon.classified
    dlq_retention: float = 90 * 86400.0
    security_protocol: str = "PLAINTEXT"  # PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL
    sasl_mechanism: str = ""  # PLAIN, SCRAM-SHA-256, SCRAM-SHA-512
    ssl_cafile: str = ""
    client_id: str = "newsmon"
    request_timeout: float = 30.0
    session_timeout: float = 30.0
    max_poll_interval: float = 300.0
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class Settings:
    log: str = "sqlite:///data/newsmon.db"
    index: str = "sqlite:///data/newsmon-index.db"
    state: str = ""  # producer/alerter state; "" = the log's SQLite file, else its own SQLite URL
    feeds: tuple[FeedSpec, ...] = ()
    rules: tuple[RuleSpec, ...] = ()
    topics: Mapping[str, TopicDefinition] = field(default_factory=dict)
    producer: ProducerSettings = ProducerSettings()
    consumer: ConsumerSettings = ConsumerSettings()
    kafka: KafkaSettings = KafkaSettings()
    metrics_port: int = 0  # Prometheus metrics of long-running processes; 0 = off
    metrics_host: str = "127.0.0.1"
    source: str = "<defaults>"  # the file these came from, for messages

    @property
    def state_url(self) -> str:
        if self.state:
            return self.state
        return self.log if self.log.startswith("sqlite:") else "sqlite:///data/newsmon-state.db"


def _typed(convert: Callable[[Any], Any], value: Any, where: str) -> Any:
    try:
        return convert(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc}") from None


def _positive_int(value: Any) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError(f"expected a positive integer, got {value!r}")
    return number


def _port(value: Any) -> int:
    number = int(value)
    if not 0 <= number <= 65535:
        raise ValueError(f"expected a TCP port (0 = off), got {value!r}")
    return number


def _text(value: Any) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError(f"expected a string, got {value!r}")
    return str(value)


_PRODUCER_FIELDS: dict[str, Callable[[Any], Any]] = {
    "interval": parse_duration, "min_interval": parse_duration, "max_interval": parse_duration,
    "error_backoff_max": parse_duration, "timeout": parse_duration,
    "max_bytes": _positive_int, "concurrency": _positive_int, "user_agent": _text,
}
def _choice(*allowed: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        text = _text(value).upper()
        if text not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}, got {value!r}")
        return text
    return convert


_KAFKA_FIELDS: dict[str, Callable[[Any], Any]] = {
    "partitions": _positive_int, "replication_factor": _positive_int,
    "retention": parse_duration, "dlq_retention": parse_duration,
    "security_protocol": _choice("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"),
    "sasl_mechanism": _choice("", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"),
    "ssl_cafile": _text, "client_id": _text, "request_timeout": parse_duration,
    "session_timeout": parse_duration, "max_poll_interval": parse_duration,
}
_CONSUMER_FIELDS: dict[str, Callable[[Any], Any]] = {
    "batch_size": _positive_int, "poll_timeout": parse_duration,
    "backoff_initial": parse_duration, "backoff_max": parse_duration,
}


def _section(raw: Any, name: str, converters: Mapping[str, Callable], cls: type, src: str) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{src}: {name}: expected a mapping")
    unknown = set(raw) - set(converters)
    if unknown:
        raise ConfigError(f"{src}: {name}.{sorted(unknown)[0]}: unknown key (known: {', '.join(converters)})")
    values = {k: _typed(converters[k], v, f"{src}: {name}.{k}") for k, v in raw.items()}
    return cls(**values)


def _feed(raw: Any, where: str) -> FeedSpec:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping with id, url, source")
    for key in ("id", "url", "source"):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ConfigError(f"{where}.{key}: required string")
    if not raw["url"].startswith(("http://", "https://")):
        raise ConfigError(f"{where}.url: expected an http(s) URL, got {raw['url']!r}")
    interval = raw.get("interval")
    return FeedSpec(
        id=raw["id"], url=raw["url"], source=raw["source"],
        title=str(raw.get("title", "")), language=str(raw.get("language", "en")),
        interval=None if interval is None else _typed(parse_duration, interval, f"{where}.interval"),
    )


def _env_value(name: str, env: Mapping[str, str], where: str, required: bool) -> str:
    value = env.get(name, "")
    if required and not value:
        raise ConfigError(f"{where}: environment variable {name} is not set")
    return value


def _action(raw: Any, where: str, env: Mapping[str, str]) -> ActionSpec:
    if not isinstance(raw, Mapping) or raw.get("type") not in ("webhook", "log"):
        raise ConfigError(f"{where}.type: expected 'webhook' or 'log'")
    if raw["type"] == "log":
        return ActionSpec(type="log")
    url = raw.get("url") or ""
    if raw.get("url_env"):
        url = _env_value(str(raw["url_env"]), env, f"{where}.url_env", required=True)
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{where}.url: a webhook needs an http(s) url or url_env")
    secret = _env_value(str(raw["secret_env"]), env, f"{where}.secret_env", True) if raw.get("secret_env") else ""
    timeout = _typed(parse_duration, raw.get("timeout", 10), f"{where}.timeout")
    return ActionSpec(type="webhook", url=url, secret=secret, timeout=timeout)


def _rule(raw: Any, where: str, env: Mapping[str, str], topic_names: set[str]) -> RuleSpec:
    from pipeline.query import parse_query  # the query package is heavier; keep settings importable alone

    if not isinstance(raw, Mapping) or not isinstance(raw.get("name"), str):
        raise ConfigError(f"{where}.name: required string")
    where = f"{where} ({raw['name']})"
    query = raw.get("query", "*")
    if not isinstance(query, str):
        raise ConfigError(f"{where}.query: expected a string")
    try:
        parse_query(query)
    except ConfigError:
        raise
    except Exception as exc:  # QuerySyntaxError and friends carry a one-line reason
        raise ConfigError(f"{where}.query: {exc}") from None
    topics = tuple(raw.get("topics") or ())
    for topic in topics:
        if topic not in topic_names:
            raise ConfigError(f"{where}.topics: unknown topic {topic!r} (known: {', '.join(sorted(topic_names))})")
    actions = raw.get("actions") or [{"type": "log"}]
    if not isinstance(actions, list):
        raise ConfigError(f"{where}.actions: expected a list")
    return RuleSpec(
        name=raw["name"], query=query, topics=topics,
        min_score=_typed(float, raw.get("min_score", 0.0), f"{where}.min_score"),
        actions=tuple(_action(a, f"{where}.actions[{i}]", env) for i, a in enumerate(actions)),
    )


def _refuse_secrets(raw: Any, path: str, src: str) -> None:
    if isinstance(raw, Mapping):
        for key, value in raw.items():
            if str(key).lower() in _SECRET_KEYS:
                raise ConfigError(f"{src}: {path}{key}: secrets are read only from the environment (use {key}_env)")
            _refuse_secrets(value, f"{path}{key}.", src)
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            _refuse_secrets(value, f"{path.rstrip('.')}[{i}].", src)


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    out = dict(raw)
    for key in ("log", "index", "state", "metrics_port", "metrics_host"):
        if env.get(f"NEWSMON_{key.upper()}"):
            out[key] = env[f"NEWSMON_{key.upper()}"]
    for section, names in (("producer", _PRODUCER_FIELDS), ("consumer", _CONSUMER_FIELDS), ("kafka", _KAFKA_FIELDS)):
        current = dict(out.get(section) or {}) if isinstance(out.get(section) or {}, Mapping) else out[section]
        for name in names:
            value = env.get(f"NEWSMON_{section.upper()}_{name.upper()}")
            if value:
                current[name] = value
        out[section] = current
    return out


_TOP_KEYS = {"log", "index", "state", "feeds", "rules", "topics", "producer", "consumer", "kafka",
             "metrics_port", "metrics_host"}


def settings_from_mapping(raw: Any, src: str, env: Mapping[str, str]) -> Settings:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{src}: expected a YAML mapping at the top level")
    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise ConfigError(f"{src}: {sorted(unknown)[0]}: unknown key (known: {', '.join(sorted(_TOP_KEYS))})")
    _refuse_secrets(raw, "", src)
    raw = _apply_env(dict(raw), env)
    topics = {**builtin_topics(), **topics_from_mapping(raw.get("topics") or {}, f"{src}: topics")}
    feeds_raw = raw.get("feeds") or []
    if not isinstance(feeds_raw, list):
        raise ConfigError(f"{src}: feeds: expected a list")
    feeds = tuple(_feed(f, f"{src}: feeds[{i}]") for i, f in enumerate(feeds_raw))
    duplicate = _first_duplicate(f.id for f in feeds)
    if duplicate:
        raise ConfigError(f"{src}: feeds: duplicate feed id {duplicate!r}")
    rules_raw = raw.get("rules") or []
    if not isinstance(rules_raw, list):
        raise ConfigError(f"{src}: rules: expected a list")
    rules = tuple(_rule(r, f"{src}: rules[{i}]", env, set(topics)) for i, r in enumerate(rules_raw))
    return Settings(
        log=_typed(_text, raw.get("log", Settings.log), f"{src}: log"),
        index=_typed(_text, raw.get("index", Settings.index), f"{src}: index"),
        state=_typed(_text, raw.get("state", ""), f"{src}: state"),
        feeds=feeds, rules=rules, topics=topics,
        producer=_section(raw.get("producer"), "producer", _PRODUCER_FIELDS, ProducerSettings, src),
        consumer=_section(raw.get("consumer"), "consumer", _CONSUMER_FIELDS, ConsumerSettings, src),
        kafka=_kafka(raw.get("kafka"), src, env),
        metrics_port=_typed(_port, raw.get("metrics_port", 0), f"{src}: metrics_port"),
        metrics_host=_typed(_text, raw.get("metrics_host", "127.0.0.1"), f"{src}: metrics_host"),
        source=src,
    )


def _kafka(raw: Any, src: str, env: Mapping[str, str]) -> KafkaSettings:
    kafka = _section(raw, "kafka", _KAFKA_FIELDS, KafkaSettings, src)
    username, password = env.get("NEWSMON_KAFKA_USERNAME", ""), env.get("NEWSMON_KAFKA_PASSWORD", "")
    if kafka.security_protocol.startswith("SASL") and not (username and password):
        raise ConfigError(f"{src}: kafka.security_protocol: {kafka.security_protocol} needs NEWSMON_KAFKA_USERNAME"
                          " and NEWSMON_KAFKA_PASSWORD in the environment")
    if kafka.security_protocol.startswith("SASL") and not kafka.sasl_mechanism:
        raise ConfigError(f"{src}: kafka.sasl_mechanism: required with {kafka.security_protocol}")
    return replace(kafka, username=username, password=password)


def _first_duplicate(values: Any) -> str | None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            return value
        seen.add(value)
    return None


def load_settings(path: str | Path | None, env: Mapping[str, str] | None = None) -> Settings:
    """Load and validate settings; a missing or malformed file raises ConfigError naming it."""
    env = os.environ if env is None else env
    if path is None:
        return settings_from_mapping({}, "<defaults>", env)
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}:{line}: invalid YAML: {reason}") from None
    return settings_from_mapping(raw, str(path), env)
