"""Topic definitions as data: description, weighted phrases, negative phrases and a threshold.

The two built-in topics ship in ``pipeline/data/topics.yaml``; a configuration's ``topics:`` key adds
topics or overrides built-in ones by name, so a team can add a topic without touching code.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any, Mapping

import yaml

from pipeline.errors import ConfigError

__all__ = ["Phrase", "TopicDefinition", "builtin_topics", "topics_from_mapping"]


@dataclass(frozen=True)
class Phrase:
    """A phrase and its weight. A negative phrase with ``veto`` zeroes the topic's score."""

    text: str
    weight: float = 1.0
    veto: bool = False


@dataclass(frozen=True)
class TopicDefinition:
    name: str
    description: str
    threshold: float
    phrases: tuple[Phrase, ...]
    negative: tuple[Phrase, ...] = ()


def _phrase(raw: Any, where: str) -> Phrase:
    if isinstance(raw, str):
        return Phrase(raw)
    if isinstance(raw, Mapping) and isinstance(raw.get("text"), str):
        try:
            return Phrase(raw["text"], float(raw.get("weight", 1.0)), bool(raw.get("veto", False)))
        except (TypeError, ValueError):
            raise ConfigError(f"{where}.weight: expected a number") from None
    raise ConfigError(f"{where}: expected a phrase string or {{text, weight, veto}}")


def _topic(name: str, raw: Any, where: str) -> TopicDefinition:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping with description, threshold, phrases")
    phrases = raw.get("phrases")
    if not isinstance(phrases, list) or not phrases:
        raise ConfigError(f"{where}.phrases: expected a non-empty list")
    negative = raw.get("negative") or []
    if not isinstance(negative, list):
        raise ConfigError(f"{where}.negative: expected a list")
    try:
        threshold = float(raw.get("threshold", 0.5))
    except (TypeError, ValueError):
        raise ConfigError(f"{where}.threshold: expected a number between 0 and 1") from None
    if not 0.0 < threshold <= 1.0:
        raise ConfigError(f"{where}.threshold: expected a number between 0 and 1, got {threshold}")
    return TopicDefinition(
        name=name,
        description=str(raw.get("description", "")),
        threshold=threshold,
        phrases=tuple(_phrase(p, f"{where}.phrases[{i}]") for i, p in enumerate(phrases)),
        negative=tuple(_phrase(p, f"{where}.negative[{i}]") for i, p in enumerate(negative)),
    )


def topics_from_mapping(raw: Any, where: str = "topics") -> dict[str, TopicDefinition]:
    """Topic definitions from a ``name -> definition`` mapping; errors name the key path."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping of topic name to definition")
    out = {}
    for name, definition in raw.items():
        if not isinstance(name, str) or not name.replace("_", "").isalnum():
            raise ConfigError(f"{where}: topic name {name!r} must be letters, digits and underscores")
        out[name] = _topic(name, definition, f"{where}.{name}")
    return out


def builtin_topics() -> dict[str, TopicDefinition]:
    """The shipped definitions of ``counterterrorism`` and ``minerals_cooperation``."""
    text = resources.files("pipeline").joinpath("data/topics.yaml").read_text(encoding="utf-8")
    return topics_from_mapping(yaml.safe_load(text), "built-in topics")
