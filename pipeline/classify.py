"""Rule-based, explainable multi-label topic classification (pure: text in, judgement out).

Each topic is data (:class:`~pipeline.topics.TopicDefinition`). A phrase found in the text adds its
weight, damped for repeats (``weight * (1 + ln(count))``); a phrase in the title counts double; a
negative phrase subtracts its weight, or zeroes the score when it is a veto. The total becomes a
score in 0..1 as ``1 - exp(-total / 3)`` and the topic is assigned at or above its threshold. The
evidence for a topic is the list of phrases that contributed, strongest first.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from dataclasses import dataclass
from typing import Mapping

from pipeline.enrich import Enrichment, Gazetteer
from pipeline.phrases import PhraseMatcher
from pipeline.query.analysis import tokens
from pipeline.topics import Phrase, TopicDefinition

__all__ = ["MODEL_VERSION", "TopicScore", "Judgement", "RuleClassifier", "story_key"]

MODEL_VERSION = "rules-1"
_SCALE = 3.0
_TITLE_FACTOR = 1.0  # text includes the title, so a title phrase counts twice in all
_STOPWORDS = frozenset(
    "a an and are as at be by for from has have in is it its of on or over says said the to was were will with".split()
)


@dataclass(frozen=True)
class TopicScore:
    score: float
    evidence: tuple[str, ...]


@dataclass(frozen=True)
class Judgement:
    topics: tuple[str, ...]
    scores: dict[str, float]
    evidence: dict[str, list[str]]
    enrichment: Enrichment


def _matcher(phrases: tuple[Phrase, ...]) -> PhraseMatcher[Phrase]:
    return PhraseMatcher((tuple(tokens(p.text)), p) for p in phrases)


class _TopicRules:
    def __init__(self, definition: TopicDefinition) -> None:
        self.definition = definition
        self.positive = _matcher(definition.phrases)
        self.negative = _matcher(definition.negative)

    def score(self, title_tokens: list[str], body_tokens: list[str]) -> TopicScore:
        weights: Counter[str] = Counter()
        for matcher, sign in ((self.positive, 1.0), (self.negative, -1.0)):
            counts = Counter(m.payload for m in matcher.find(body_tokens))
            for match in matcher.find(title_tokens):
                counts[match.payload] += _TITLE_FACTOR
            for phrase, count in counts.items():
                if sign < 0 and phrase.veto:
                    return TopicScore(0.0, (f"-{phrase.text} (veto)",))
                weights[phrase.text if sign > 0 else f"-{phrase.text}"] += sign * phrase.weight * (1 + math.log(count))
        total = sum(weights.values())
        score = 0.0 if total <= 0 else 1.0 - math.exp(-total / _SCALE)
        evidence = tuple(name for name, _ in sorted(weights.items(), key=lambda kv: -abs(kv[1])))
        return TopicScore(round(score, 4), evidence)


class RuleClassifier:
    """Scores every configured topic and enriches with the gazetteer; build once, reuse."""

    version = MODEL_VERSION

    def __init__(self, topics: Mapping[str, TopicDefinition], gazetteer: Gazetteer) -> None:
        self._rules = {name: _TopicRules(d) for name, d in topics.items()}
        self._gazetteer = gazetteer

    def classify(self, title: str, text: str) -> Judgement:
        """``text`` is the item's full text (title, summary and body); the title is scored again on its own."""
        title_tokens, text_tokens = tokens(title), tokens(text)
        scores, evidence, topics = {}, {}, []
        for name, rules in self._rules.items():
            result = rules.score(title_tokens, text_tokens)
            scores[name] = result.score
            evidence[name] = list(result.evidence[:10])
            if result.score >= rules.definition.threshold:
                topics.append(name)
        return Judgement(tuple(topics), scores, evidence, self._gazetteer.enrich(title, text))


def story_key(title: str) -> str:
    """A story id from the title's significant words, order-free, so re-ordered headlines group together."""
    words = sorted({t for t in tokens(title) if t not in _STOPWORDS and len(t) > 1})
    return hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()[:16]
