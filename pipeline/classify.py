"""The classifier's contract and registry: what a judgement holds, what every classifier offers,
and how ``classifier.kind`` names the implementation.

A classifier takes an item's title and text (title, summary and body, as ``RawItem.text`` joins
them) and returns a :class:`Judgement`: topics, a score and evidence per topic, and the
:class:`Enrichment` (entities, countries, locations). This module imports nothing heavy: the
implementations are ``"module:Class"`` entries of :data:`CLASSIFIERS`, imported only by
:func:`open_classifier`, so commands that do not classify never load spaCy. The shipped one,
``hybrid``, is :class:`pipeline.nlp.hybrid.HybridClassifier`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast

from pipeline.errors import ConfigError
from pipeline.item import Location

if TYPE_CHECKING:
    from pipeline.settings import ClassifierSettings
    from pipeline.topics import TopicDefinition

__all__ = ["Enrichment", "Judgement", "Classifier", "ClassifierFactory", "CLASSIFIERS", "classifier_factory",
           "open_classifier"]

CLASSIFIERS: Mapping[str, str] = {
    "hybrid": "pipeline.nlp.hybrid:HybridClassifier",  # lemma rules + bag-of-lemmas text model on spaCy
}


@dataclass(frozen=True)
class Enrichment:
    """Who and where an item is about: entities by kind, the countries (ISO alpha-2), geocoded places."""

    entities: dict[str, list[str]]
    countries: tuple[str, ...]
    locations: tuple[Location, ...]


@dataclass(frozen=True)
class Judgement:
    topics: tuple[str, ...]
    scores: dict[str, float]
    evidence: dict[str, list[str]]
    enrichment: Enrichment


class Classifier(Protocol):
    version: str

    def classify(self, title: str, text: str) -> Judgement:
        """Judge one item."""
        ...

    def classify_many(self, items: Sequence[tuple[str, str]]) -> list[Judgement]:
        """Judge (title, text) pairs in one batch; same answers as :meth:`classify` one by one."""
        ...


ClassifierFactory = Callable[["Mapping[str, TopicDefinition]", "ClassifierSettings"], Classifier]


def classifier_factory(kind: str) -> ClassifierFactory:
    """The implementation registered as ``kind`` (imported now); ConfigError naming the known kinds."""
    entry = CLASSIFIERS.get(kind)
    if entry is None:
        raise ConfigError(f"classifier.kind: unknown classifier {kind!r} (known: {', '.join(CLASSIFIERS)})")
    module, name = entry.split(":")
    return cast(ClassifierFactory, getattr(importlib.import_module(module), name))


def open_classifier(topics: Mapping[str, TopicDefinition], settings: ClassifierSettings,
                    source: str = "<defaults>") -> Classifier:
    """Build the configured classifier once (models load here); a model that cannot be loaded is a
    ConfigError naming the configuration file."""
    factory = classifier_factory(settings.kind)
    try:
        return factory(topics, settings)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{source}: classifier: {exc}") from None
