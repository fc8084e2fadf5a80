"""Content fingerprints for near-duplicate items (pure).

An outlet that re-publishes a story under a new URL with an edited title produces an item with a
new id but nearly the same words. A :class:`Fingerprint` keeps two small sets of 32-bit hashes:
the word 3-shingles of title and summary together, and the title's content words. Two items are
the same story when their *distinctive* shingles are similar (Jaccard ≥ :data:`TEXT_SIMILARITY`)
*and* their titles still share enough words (≥ :data:`TITLE_SIMILARITY`). Distinctive means not
found in :data:`COMMON_IN` or more of the source's recent items: sources whose summaries are
mostly boilerplate ("The text of the following statement was released by…") would otherwise
merge different stories. Nor are two items the same story unless they carry the same numbers:
templated bulletins ("KSE-100 gains 340 points", then "loses 120") and updates ("kills 5", then
"kills 12") differ in little else, and an update with new figures is news.
A SimHash could not tell such stories apart on texts this short
(tests/producers/test_fingerprint.py measures the rule on real items).
Texts with fewer than :data:`MIN_WORDS` words get no fingerprint and are never suppressed: when
in doubt, newsmon publishes twice rather than lose a story.

:func:`find_same_story` compares with every known item in turn; :class:`KnownStories` gives the
same answers comparing a new item only with the known items carrying the same numbers (the poller
checks each new item against a source's whole window).
"""

from __future__ import annotations

import array
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

__all__ = ["SCHEME", "MIN_WORDS", "TEXT_SIMILARITY", "TITLE_SIMILARITY", "COMMON_IN", "MIN_DISTINCT", "Fingerprint",
           "content_fingerprint", "jaccard", "common_shingles", "same_story", "find_same_story", "KnownStories"]

#: How the hashes are made, stored beside each fingerprint: 2 is CRC-32 of the UTF-8 text (half the
#: cost of the BLAKE2b digests of scheme 1, which older states hold; only equal hashes are compared,
#: so the hash needs to be stable, not strong). Fingerprints of another scheme are never compared.
SCHEME = 2
#: Title and summary together need this many words to be fingerprinted.
MIN_WORDS = 12
#: Jaccard similarity of the word 3-shingles of title + summary at or above which items may match.
TEXT_SIMILARITY = 0.6
#: ... and of the titles' content words (so an edited title still matches, a different one does not).
TITLE_SIMILARITY = 0.4
#: A shingle found in this many of a source's recent items is boilerplate and does not count.
COMMON_IN = 3
#: Fewer distinctive shingles than this: never a duplicate.
MIN_DISTINCT = 8

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = frozenset(["a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is", "it",
                   "its", "of", "on", "or", "the", "to", "was", "were", "with"])


@dataclass(frozen=True)
class Fingerprint:
    shingles: frozenset[int]
    title_words: frozenset[int]
    numbers: frozenset[int] = frozenset()  # words with a digit in them: amounts, counts, dates

    def to_blobs(self) -> tuple[bytes, bytes, bytes]:
        return _blob(self.shingles), _blob(self.title_words), _blob(self.numbers)

    @classmethod
    def from_blobs(cls, shingles: bytes, title_words: bytes, numbers: bytes = b"") -> Fingerprint:
        return cls(*(frozenset(array.array("I", blob)) for blob in (shingles, title_words, numbers)))


def _blob(hashes: frozenset[int]) -> bytes:
    """The hashes, sorted, as unsigned machine ints (what :meth:`Fingerprint.from_blobs` reads back)."""
    return array.array("I", sorted(hashes)).tobytes()


def _hash32(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def content_fingerprint(title: str, summary: str) -> Fingerprint | None:
    """The fingerprint of an item's plain-text title and summary, or None when they are too short."""
    words = _WORD.findall(f"{title} {summary}".casefold())
    if len(words) < MIN_WORDS:
        return None
    shingles = frozenset(map(_hash32, map(" ".join, zip(words, words[1:], words[2:]))))
    title_words = frozenset(_hash32(w) for w in _WORD.findall(title.casefold()) if w not in _STOP)
    # a letters-only word has no digit in it: only the others need the look at each character
    numbers = frozenset(_hash32(w) for w in words if not w.isalpha() and any(map(str.isdigit, w)))
    return Fingerprint(shingles, title_words, numbers)


def jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    if not a and not b:
        return 0.0
    return len(a & b) / len(a | b)


def common_shingles(known: Iterable[tuple[str, Fingerprint]], min_items: int = COMMON_IN) -> frozenset[int]:
    """Shingles found in at least ``min_items`` of a source's recent items: its boilerplate."""
    counts = Counter(chain.from_iterable(fp.shingles for _, fp in known))
    return frozenset(shingle for shingle, n in counts.items() if n >= min_items)


def same_story(a: Fingerprint, b: Fingerprint, common: frozenset[int] = frozenset()) -> bool:
    """Titles close enough, distinctive text (boilerplate left out) nearly the same, and the same
    numbers (a death toll of 5 then 12 is news, not an edit)."""
    if a.numbers != b.numbers:
        return False
    return _similar(a, a.shingles - common, b, b.shingles - common)


def _similar(a: Fingerprint, text_a: frozenset[int], b: Fingerprint, text_b: frozenset[int]) -> bool:
    """:func:`same_story` once the numbers agree, given each item's shingles less the boilerplate."""
    if min(len(text_a), len(text_b)) < MIN_DISTINCT:
        return False  # too little text of its own to be sure
    return jaccard(a.title_words, b.title_words) >= TITLE_SIMILARITY and jaccard(text_a, text_b) >= TEXT_SIMILARITY


def find_same_story(fingerprint: Fingerprint, known: Sequence[tuple[str, Fingerprint]],
                    common: frozenset[int] | None = None) -> str | None:
    """The id of the first known item that is the same story, else None; shingles common to many
    known items (the source's boilerplate, computed here unless given) do not count."""
    common = common_shingles(known) if common is None else common
    return next((item_id for item_id, other in known if same_story(fingerprint, other, common)), None)


class KnownStories:
    """A source's recent fingerprints, newest first, as :func:`find_same_story` takes them: :meth:`find`
    gives the answer :func:`find_same_story` would (the first item in order that is the same story),
    comparing only with the items that carry the same numbers and with each item's distinctive shingles
    worked out once. The boilerplate (:func:`common_shingles`) is that of the items given here; items
    added later are checked first, the last added first, as if inserted at the front."""

    def __init__(self, known: Sequence[tuple[str, Fingerprint]], min_items: int = COMMON_IN) -> None:
        self.common = common_shingles(known, min_items)
        self._given: dict[frozenset[int], list[tuple[str, Fingerprint]]] = {}  # by numbers, in order
        self._added: dict[frozenset[int], list[tuple[str, Fingerprint]]] = {}  # by numbers, oldest first
        self._distinct: dict[Fingerprint, frozenset[int]] = {}  # its shingles less the boilerplate
        for item_id, fingerprint in known:
            self._given.setdefault(fingerprint.numbers, []).append((item_id, fingerprint))

    def find(self, fingerprint: Fingerprint) -> str | None:
        text = fingerprint.shingles - self.common
        if len(text) < MIN_DISTINCT:
            return None  # same_story is False with every item
        added = self._added.get(fingerprint.numbers, ())
        for item_id, other in (*reversed(added), *self._given.get(fingerprint.numbers, ())):
            if _similar(fingerprint, text, other, self._distinct_text(other)):
                return item_id
        return None

    def add(self, item_id: str, fingerprint: Fingerprint) -> None:
        """Add an item, to be checked before every item already here; the boilerplate stays as it was."""
        self._added.setdefault(fingerprint.numbers, []).append((item_id, fingerprint))

    def _distinct_text(self, fingerprint: Fingerprint) -> frozenset[int]:
        text = self._distinct.get(fingerprint)
        if text is None:
            text = self._distinct[fingerprint] = fingerprint.shingles - self.common
        return text
