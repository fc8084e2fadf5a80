"""The backend registry: a log or index URL's scheme names the adapter class, imported lazily.

Entries are ``"module:Class"`` strings so the embedded mode never imports a Kafka or
Elasticsearch client library. Every adapter is constructed as ``Class(url, settings)``.
"""

from __future__ import annotations

import importlib
from typing import Any

from pipeline.errors import ConfigError
from pipeline.settings import Settings
from pipeline.transport.base import Log, SearchIndex

__all__ = ["LOG_BACKENDS", "INDEX_BACKENDS", "open_log", "open_index"]

LOG_BACKENDS: dict[str, str] = {
    "sqlite": "pipeline.transport.sqlite_log:SqliteLog",
    "kafka": "pipeline.transport.kafka_log:KafkaLog",
}
INDEX_BACKENDS: dict[str, str] = {
    "sqlite": "pipeline.transport.sqlite_index:SqliteIndex",
    "http": "pipeline.transport.elasticsearch_index:ElasticsearchIndex",
    "https": "pipeline.transport.elasticsearch_index:ElasticsearchIndex",
}


def _scheme(url: str) -> str:
    return url.split(":", 1)[0].lower() if ":" in url else ""


def _open(kind: str, url: str, settings: Settings, backends: dict[str, str]) -> Any:
    scheme = _scheme(url)
    target = backends.get(scheme)
    if target is None:
        known = ", ".join(f"{s}://" for s in backends)
        raise ConfigError(f"{kind}: unsupported URL {url!r} (supported: {known})")
    module_name, class_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(url, settings)


def open_log(settings: Settings) -> Log:
    return _open("log", settings.log, settings, LOG_BACKENDS)


def open_index(settings: Settings) -> SearchIndex:
    return _open("index", settings.index, settings, INDEX_BACKENDS)
