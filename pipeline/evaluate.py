"""Evaluation of topic predictions against labels (pure): per-topic precision, recall, F1, support."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["TopicMetrics", "Evaluation", "evaluate"]


@dataclass(frozen=True)
class TopicMetrics:
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int

    @property
    def support(self) -> int:
        return self.true_positives + self.false_negatives

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.support if self.support else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_json(self) -> dict:
        return {"precision": round(self.precision, 4), "recall": round(self.recall, 4), "f1": round(self.f1, 4),
                "support": self.support, "tp": self.true_positives, "fp": self.false_positives,
                "fn": self.false_negatives, "tn": self.true_negatives}


@dataclass(frozen=True)
class Evaluation:
    topics: dict[str, TopicMetrics]
    items: int

    @property
    def macro_f1(self) -> float:
        return sum(m.f1 for m in self.topics.values()) / len(self.topics) if self.topics else 0.0

    def as_json(self) -> dict:
        return {
            "topics": {name: m.as_json() for name, m in self.topics.items()},
            "macro_f1": round(self.macro_f1, 4),
        }


def evaluate(topics: Sequence[str], pairs: Iterable[tuple[set[str], set[str]]]) -> Evaluation:
    """``pairs`` are (predicted topics, true labels) per item."""
    counts = {t: [0, 0, 0, 0] for t in topics}
    items = 0
    for predicted, labels in pairs:
        items += 1
        for topic, c in counts.items():
            index = {(True, True): 0, (True, False): 1, (False, True): 2, (False, False): 3}[
                (topic in predicted, topic in labels)]
            c[index] += 1
    return Evaluation({t: TopicMetrics(*c) for t, c in counts.items()}, items)
