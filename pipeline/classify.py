"""The classifier's contract: what a judgement holds and what every classifier offers.

A classifier takes an item's title and text (title, summary and body, as ``RawItem.text`` joins
them) and returns a :class:`Judgement`: topics, a score and evidence per topic, and the enrichment
(entities, countries, locations). The implementation is :class:`pipeline.nlp.hybrid.HybridClassifier`;
``newsmon.app.build_classifier`` builds it from the settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pipeline.nlp.entities import Enrichment

__all__ = ["Judgement", "Classifier", "Enrichment"]


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

    def classify_many(self, items: Sequence[tuple[str, str]]) -> list[Judgement]:
        """Judge (title, text) pairs in one batch; same answers as :meth:`classify` one by one."""
