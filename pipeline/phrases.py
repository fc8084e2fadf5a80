"""Phrase matching over token lists: the one matcher behind topic rules and the gazetteer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

__all__ = ["PhraseMatch", "PhraseMatcher"]

Payload = TypeVar("Payload")


@dataclass(frozen=True)
class PhraseMatch(Generic[Payload]):
    payload: Payload
    start: int
    end: int  # exclusive token index


class PhraseMatcher(Generic[Payload]):
    """Finds every occurrence of known token sequences in a token list (longest match first)."""

    def __init__(self, phrases: Iterable[tuple[tuple[str, ...], Payload]]) -> None:
        self._by_first: dict[str, list[tuple[tuple[str, ...], Payload]]] = {}
        for tokens, payload in phrases:
            if tokens:
                self._by_first.setdefault(tokens[0], []).append((tokens, payload))
        for candidates in self._by_first.values():
            candidates.sort(key=lambda entry: len(entry[0]), reverse=True)

    def find(self, tokens: list[str]) -> list[PhraseMatch[Payload]]:
        """Non-overlapping matches, left to right, the longest phrase winning at each position.

        So "counter terrorism" counts once, not also as "terrorism".
        """
        found: list[PhraseMatch[Payload]] = []
        start = 0
        while start < len(tokens):
            match = self._longest_at(tokens, start)
            if match is None:
                start += 1
            else:
                found.append(match)
                start = match.end
        return found

    def _longest_at(self, tokens: list[str], start: int) -> PhraseMatch[Payload] | None:
        for phrase, payload in self._by_first.get(tokens[start], ()):
            end = start + len(phrase)
            if tuple(tokens[start:end]) == phrase:
                return PhraseMatch(payload, start, end)
        return None
