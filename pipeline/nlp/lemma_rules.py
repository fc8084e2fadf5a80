"""Topic rules matched on lemmas with spaCy's PhraseMatcher: weighted, negative and proximity phrases.

Every configured phrase is run through the same tokenizer and lemmatizer as the text, so one entry
("attack") matches every inflection ("attacks", "attacked"). Per topic:

* matches are made non-overlapping, the longest winning ("heart attack" hides "attack", and
  "counter-terrorism" counts once, not also as "terrorism");
* a phrase in the title counts twice; repeats are damped: ``weight * (1 + ln n)``;
* a phrase with ``near`` counts only when one of its ``near`` words is within ``window`` tokens, and
  one with ``not_near`` only when none of those is;
* a negative phrase subtracts its weight; a ``veto`` phrase zeroes the topic;
* ``score = 1 - exp(-total / 3)``, and the evidence lists the contributing phrases, strongest first.

Pure: a ``Doc`` in, :class:`RuleScore` per topic out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc

from pipeline.topics import Phrase, TopicDefinition

__all__ = ["RuleScore", "LemmaRules"]

SCALE = 3.0  # rule weight that makes a score of 1 - 1/e
_TITLE_FACTOR = 2.0


@dataclass(frozen=True)
class RuleScore:
    score: float
    total: float
    evidence: tuple[str, ...]
    veto: bool = False
    positive: float = 0.0  # the weights of the matched phrases, before negatives
    negative: float = 0.0  # the weights of the matched negative phrases


@dataclass(frozen=True)
class _Entry:
    topic: str
    phrase: Phrase
    negative: bool


class LemmaRules:
    """Scores every topic's rules on a lemmatised ``Doc``; build once per set of topics and reuse."""

    def __init__(self, nlp: Language, topics: Mapping[str, TopicDefinition]) -> None:
        self._topics = list(topics)
        self._phrases = PhraseMatcher(nlp.vocab, attr="LEMMA")
        self._near = PhraseMatcher(nlp.vocab, attr="LEMMA")
        self._entries: dict[int, _Entry] = {}
        for name, definition in topics.items():
            for negative, phrases in ((False, definition.phrases), (True, definition.negative)):
                for i, phrase in enumerate(phrases):
                    label = f"{name}|{'-' if negative else '+'}|{i}"
                    self._entries[nlp.vocab.strings.add(label)] = _Entry(name, phrase, negative)
                    self._phrases.add(label, [nlp(phrase.text)])
                    for word in phrase.near + phrase.not_near:
                        self._near.add(_near_key(word), [nlp(word)])
        self._near_strings = nlp.vocab.strings

    def score(self, doc: Doc, title_tokens: int) -> dict[str, RuleScore]:
        """Scores per topic; the first ``title_tokens`` tokens of ``doc`` are the title."""
        by_topic: dict[str, list[tuple[int, int, _Entry]]] = {name: [] for name in self._topics}
        for key, start, end in self._phrases(doc):
            entry = self._entries[key]
            by_topic[entry.topic].append((start, end, entry))
        near = (self._near_positions(doc)
                if any(e.phrase.near or e.phrase.not_near for m in by_topic.values() for *_, e in m) else {})
        return {name: self._topic_score(_longest_first([m for m in matches if _counts(m, near)]), title_tokens)
                for name, matches in by_topic.items()}

    def _near_positions(self, doc: Doc) -> dict[str, list[int]]:
        found: dict[str, list[int]] = {}
        for key, start, _ in self._near(doc):
            found.setdefault(self._near_strings[key], []).append(start)
        return found

    @staticmethod
    def _topic_score(matches: list[tuple[int, int, _Entry]], title_tokens: int) -> RuleScore:
        counts: dict[_Entry, float] = defaultdict(float)
        for start, _end, entry in matches:
            if entry.negative and entry.phrase.veto:
                return RuleScore(0.0, 0.0, (f"-{entry.phrase.text} (veto)",), veto=True)
            counts[entry] += _TITLE_FACTOR if start < title_tokens else 1.0
        weights: dict[str, float] = defaultdict(float)
        for entry, count in counts.items():
            sign = -1.0 if entry.negative else 1.0
            label = f"-{entry.phrase.text}" if entry.negative else entry.phrase.text
            weights[label] += sign * entry.phrase.weight * (1.0 + math.log(count))
        total = sum(weights.values())
        positive = sum(w for w in weights.values() if w > 0)
        score = 0.0 if total <= 0 else 1.0 - math.exp(-total / SCALE)
        evidence = tuple(name for name, _ in sorted(weights.items(), key=lambda kv: (-abs(kv[1]), kv[0])))
        return RuleScore(round(score, 4), round(total, 4), evidence, positive=round(positive, 4),
                         negative=round(positive - total, 4))


def _near_key(word: str) -> str:
    return f"near|{word.lower()}"


def _counts(match: tuple[int, int, _Entry], near: dict[str, list[int]]) -> bool:
    """A plain phrase always counts; a proximity phrase only with one of its ``near`` words nearby and
    none of its ``not_near`` ones."""
    start, end, entry = match
    phrase = entry.phrase
    if phrase.near and not _is_near(phrase.near, phrase.window, start, end, near):
        return False
    return not (phrase.not_near and _is_near(phrase.not_near, phrase.window, start, end, near))


def _is_near(words: tuple[str, ...], window: int, start: int, end: int, near: dict[str, list[int]]) -> bool:
    for word in words:
        for position in near.get(_near_key(word), ()):
            if start - window <= position <= end - 1 + window and not start <= position < end:
                return True
    return False


def _longest_first(matches: list[tuple[int, int, _Entry]]) -> list[tuple[int, int, _Entry]]:
    """Non-overlapping matches of one topic, longer phrases taking precedence (then heavier), in text order."""
    taken: set[int] = set()
    kept = []
    for start, end, entry in sorted(matches, key=lambda m: (m[0] - m[1], -m[2].phrase.weight, m[0])):
        if not taken.intersection(range(start, end)):
            taken.update(range(start, end))
            kept.append((start, end, entry))
    return sorted(kept, key=lambda m: m[0])
