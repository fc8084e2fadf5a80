"""Story clustering: MinHash over word shingles, LSH bands, and the earliest member's id as ``story_id``.

Every item gets a MinHash signature of the 2-word shingles of its title and summary (lower-cased,
punctuation dropped; 64 hash functions from a fixed seed, CRC32 of each shingle, so every process
and every restart computes the same signature). The signature is cut into 16 bands of 4 rows; two
items that share any band are candidates, which puts items with a Jaccard similarity near 0.5 or
more in one story with high probability.

The ``story_id`` is the id of the earliest-seen item of the story: a store keeps, per band, the first
story that claimed it and when (the item's ``fetched_at``). For a new item the store returns the
stories that own any of its bands within the sliding window; the earliest (then the smallest id)
wins, and the item's bands not yet owned are claimed for that story. Doing the look-up and the
claims in one transaction (see :mod:`pipeline.nlp.story_store`) makes parallel classifier processes
agree, and replaying an item finds its own earlier claims, so a restart gives the same answer.
:class:`MemoryStoryStore` does the same in one process (``newsmon classify``, tests).
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy

__all__ = ["StoryCandidate", "StoryStore", "MemoryStoryStore", "MinHasher", "assign_story", "BANDS", "ROWS"]

BANDS, ROWS = 16, 4
_PRIME = 4294967311  # > 2**32
_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class StoryCandidate:
    story_id: str
    seen_at: float


class MinHasher:
    """MinHash signatures and LSH band keys; deterministic across processes and versions of Python."""

    def __init__(self, bands: int = BANDS, rows: int = ROWS, seed: int = 20260105) -> None:
        self.bands, self.rows = bands, rows
        rng = numpy.random.default_rng(seed)
        n = bands * rows
        self._a = rng.integers(1, _PRIME - 1, size=n, dtype=numpy.uint64)
        self._b = rng.integers(0, _PRIME - 1, size=n, dtype=numpy.uint64)

    @staticmethod
    def shingles(text: str, size: int = 2) -> set[str]:
        words = _WORD.findall(text.lower())
        if len(words) < size:
            return {" ".join(words)} if words else set()
        return {" ".join(words[i:i + size]) for i in range(len(words) - size + 1)}

    def signature(self, text: str) -> numpy.ndarray | None:
        shingles = self.shingles(text)
        if not shingles:
            return None
        hashes = numpy.fromiter((zlib.crc32(s.encode("utf-8")) for s in shingles), dtype=numpy.uint64,
                                count=len(shingles))
        products = (numpy.outer(self._a, hashes) % _PRIME + self._b[:, None]) % _PRIME
        return products.min(axis=1)

    def band_keys(self, text: str) -> list[str]:
        """One key per band (``"band:hash"``); empty for a text without words."""
        signature = self.signature(text)
        if signature is None:
            return []
        keys = []
        for band in range(self.bands):
            chunk = signature[band * self.rows:(band + 1) * self.rows].tobytes()
            keys.append(f"{band}:{hashlib.blake2b(chunk, digest_size=8).hexdigest()}")
        return keys


class StoryStore(Protocol):
    """Band ownership; implementations make :meth:`assign_many` atomic."""

    def assign_many(self, entries: Sequence[tuple[str, Sequence[str], float]], window: float) -> list[str]:
        """Story ids for (item id, band keys, seen_at) entries, claiming bands as it goes."""


def assign_story(item_id: str, candidates: Iterable[StoryCandidate]) -> str:
    """The earliest candidate's story (ties: smallest id), else the item's own id."""
    best = min(candidates, key=lambda c: (c.seen_at, c.story_id), default=None)
    return best.story_id if best is not None else item_id


class MemoryStoryStore:
    """:class:`StoryStore` in memory, for one process."""

    def __init__(self) -> None:
        self._bands: dict[str, StoryCandidate] = {}

    def assign_many(self, entries: Sequence[tuple[str, Sequence[str], float]], window: float) -> list[str]:
        out = []
        for item_id, bands, seen_at in entries:
            candidates = [c for c in (self._bands.get(b) for b in bands)
                          if c is not None and c.seen_at >= seen_at - window]
            story = assign_story(item_id, candidates)
            for band in bands:
                current = self._bands.get(band)
                if current is None or current.seen_at < seen_at - window:
                    self._bands[band] = StoryCandidate(story, seen_at)
            out.append(story)
        return out
