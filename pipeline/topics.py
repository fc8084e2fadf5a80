"""Topic definitions as data: description, weighted phrases, negative phrases, proximity and a threshold.

The two built-in topics ship in ``pipeline/data/topics.yaml``; a configuration's ``topics:`` key adds
topics or overrides built-in ones by name, so a team can add a topic without touching code. A phrase
with ``near`` counts only when one of those words is within ``window`` tokens of it, and one with
``not_near`` does not count when one of those is (an exception: "strike" but not "strike a deal"); ``model_weight``
is the share of the trained text model in the topic's score (0 = rules only; a topic the shipped
model does not know is scored by its rules alone); a rule score at or above ``rules_alone`` assigns
the topic on its own.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from pipeline.errors import ConfigError
from pipeline.setting_values import refuse_unknown_keys

__all__ = ["Phrase", "TopicDefinition", "TOPIC_KEYS", "PHRASE_KEYS", "builtin_topics", "topics_from_mapping"]

# Lower-case only: topic names are keyword values that Elasticsearch and SQLite compare case-folded,
# and facets would otherwise show them differently per backend.
_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Phrase:
    """A phrase and its weight. A negative phrase with ``veto`` zeroes the topic's score.

    With ``near``, the phrase counts only when one of those words or phrases occurs within
    ``window`` tokens before or after it; with ``not_near``, it does not count when one of those
    occurs within ``window`` tokens (both lists share the window).
    """

    text: str
    weight: float = 1.0
    veto: bool = False
    near: tuple[str, ...] = ()
    window: int = 0
    not_near: tuple[str, ...] = ()


@dataclass(frozen=True)
class TopicDefinition:
    name: str
    description: str
    threshold: float
    phrases: tuple[Phrase, ...]
    negative: tuple[Phrase, ...] = ()
    model_weight: float = 0.5
    rules_alone: float = 1.0  # a rule score at or above this assigns the topic whatever the model says


#: The keys of a topic definition and of a phrase written as a mapping.
TOPIC_KEYS = ("description", "threshold", "model_weight", "rules_alone", "phrases", "negative")
PHRASE_KEYS = ("text", "weight", "veto", "near", "not_near", "window")


def _phrase(raw: Any, where: str) -> Phrase:
    if isinstance(raw, str):
        return Phrase(raw)
    if isinstance(raw, Mapping) and isinstance(raw.get("text"), str):
        refuse_unknown_keys(raw, PHRASE_KEYS, where)
        try:
            weight = float(raw.get("weight", 1.0))
        except (TypeError, ValueError):
            raise ConfigError(f"{where}.weight: expected a number") from None
        near = _words(raw, "near", where)
        not_near = _words(raw, "not_near", where)
        window = raw.get("window", 10 if near or not_near else 0)
        if not isinstance(window, int) or isinstance(window, bool) or window < 0:
            raise ConfigError(f"{where}.window: expected a whole number of tokens, got {window!r}")
        return Phrase(raw["text"], weight, bool(raw.get("veto", False)), near, window, not_near)
    raise ConfigError(f"{where}: expected a phrase string or {{text, weight, veto, near, not_near, window}}")


def _words(raw: Mapping, key: str, where: str) -> tuple[str, ...]:
    """A phrase's ``near`` or ``not_near`` list (a single string is a list of one)."""
    words = raw.get(key) or []
    if isinstance(words, str):
        words = [words]
    if not isinstance(words, list) or not all(isinstance(w, str) and w.strip() for w in words):
        raise ConfigError(f"{where}.{key}: expected a list of words or phrases")
    return tuple(words)


def _topic(name: str, raw: Any, where: str) -> TopicDefinition:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping with description, threshold, phrases")
    refuse_unknown_keys(raw, TOPIC_KEYS, where)
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
    try:
        model_weight = float(raw.get("model_weight", 0.5))
    except (TypeError, ValueError):
        raise ConfigError(f"{where}.model_weight: expected a number between 0 and 1") from None
    if not 0.0 <= model_weight <= 1.0:
        raise ConfigError(f"{where}.model_weight: expected a number between 0 and 1, got {model_weight}")
    try:
        rules_alone = float(raw.get("rules_alone", 1.0))
    except (TypeError, ValueError):
        raise ConfigError(f"{where}.rules_alone: expected a number between 0 and 1") from None
    return TopicDefinition(
        name=name,
        description=str(raw.get("description", "")),
        threshold=threshold,
        model_weight=model_weight,
        rules_alone=rules_alone,
        phrases=tuple(_phrase(p, f"{where}.phrases[{i}]") for i, p in enumerate(phrases)),
        negative=tuple(_phrase(p, f"{where}.negative[{i}]") for i, p in enumerate(negative)),
    )


def topics_from_mapping(raw: Any, where: str = "topics") -> dict[str, TopicDefinition]:
    """Topic definitions from a ``name -> definition`` mapping; errors name the key path."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: expected a mapping of topic name to definition")
    out = {}
    for name, definition in raw.items():
        if not isinstance(name, str) or not _NAME.fullmatch(name):
            raise ConfigError(f"{where}: topic name {name!r} must be lower-case letters, digits and underscores,"
                              " starting with a letter (e.g. cpec_security)")
        out[name] = _topic(name, definition, f"{where}.{name}")
    return out


def builtin_topics() -> dict[str, TopicDefinition]:
    """The shipped definitions of ``counterterrorism`` and ``minerals_cooperation``."""
    text = resources.files("pipeline").joinpath("data/topics.yaml").read_text(encoding="utf-8")
    return topics_from_mapping(yaml.safe_load(text), "built-in topics")
