"""Builds ``pipeline/data/person_words.yaml``: the word statistics the person filter reads.

Four word lists, lower-cased, derived from news text (only the words are kept, never a sentence):

* ``common``: words written in lower case far more often than capitalised in running text
  (capitals at a sentence start, after a line break and on Title Case lines, and the parts of
  hyphenated words, do not count): at least :data:`MIN_LOWER` lower-case uses and
  :data:`LOWER_RATIO` times as many as capitalised ones, so "today", "statement" and "roadmap"
  are in and "khan", "ned" and "dam" are not;
* ``lowercase``: the other words with at least :data:`MIN_LOWER` lower-case uses and
  :data:`LOWERCASE_SHARE` times as many as capitalised ones ("dam", "station"): as the last word
  of a span they mark a thing ("Tarbela Dam"), not a surname;
* ``org``: words that sit inside non-person entities (the gazetteer ruler's and spaCy's ORG, GPE,
  FAC...) at least :data:`MIN_ORG` times and :data:`ORG_RATIO` times as often as inside PERSON
  entities ("department", "ministry");
* ``names``: the words of multi-word PERSON entities that hold no common, lowercase, org or title
  word ("Narendra Modi" gives "narendra" and "modi"; "Tarbela Dam Anwar Shah" gives nothing), so
  a lone "Modi" is known to be a name. NER mistakes that hold no such word ("Suki Kinari") do
  come through; the measurement (``bench/person_precision.py``) counts what that costs.

Regenerate from the shared corpora (read, never copied; about four minutes, NER runs on every item)::

    python -m pipeline.nlp.person_words ../shared/corpora/real-news ../shared/corpora/real-news-2
"""

from __future__ import annotations

import argparse
import json
import textwrap
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from itertools import pairwise
from pathlib import Path

from spacy.language import Language
from spacy.tokens import Doc, Span

from pipeline.nlp.person_names import DEFAULT_PATH, NON_NAME_FIXED, PersonWords, is_particle

__all__ = ["MIN_LOWER", "LOWER_RATIO", "LOWERCASE_SHARE", "MIN_ORG", "ORG_RATIO", "case_counts", "lowercase_words",
           "entity_counts", "name_words", "build", "render", "main"]

MIN_LOWER = 3
LOWER_RATIO = 2.0
LOWERCASE_SHARE = 0.25
MIN_ORG = 5
ORG_RATIO = 5.0
_OTHER_LABELS = {"ORG", "GPE", "LOC", "FAC", "NORP", "EVENT", "PRODUCT", "LAW", "WORK_OF_ART", "LANGUAGE"}
_WRAP = 110


def corpus_texts(folders: Iterable[Path]) -> Iterator[str]:
    """Title and body (or summary) of every item in each folder's ``items.jsonl``."""
    for folder in folders:
        for line in (folder / "items.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                yield "\n".join(p for p in (item.get("title"), item.get("body") or item.get("summary")) if p)


def _title_case_line(words: list[str]) -> bool:
    long = [w for w in words if len(w) >= 4 and w.isalpha()]
    return len(long) >= 3 and sum(w[0].isupper() for w in long) >= 0.6 * len(long)


def case_counts(nlp: Language, texts: Iterable[str]) -> tuple[Counter[str], Counter[str]]:
    """(lower-case uses, mid-sentence capitalised uses) per lower-cased alphabetic word."""
    lower: Counter[str] = Counter()
    upper: Counter[str] = Counter()
    lines = (line for text in texts for line in text.splitlines() if line.strip())
    for doc in map(nlp.make_doc, lines):
        if _title_case_line([t.text for t in doc]):
            continue
        for prev, tok in pairwise(doc):
            word = tok.text
            if not tok.is_alpha or (prev.text in "-–" and not prev.whitespace_):  # "de-sanders"
                continue
            if word.islower():
                lower[word] += 1
            elif word[0].isupper() and not word.isupper() and (prev.is_alpha or prev.text == ","):
                upper[word.lower()] += 1
        if len(doc) and doc[0].text.islower() and doc[0].is_alpha:
            lower[doc[0].text] += 1
    return lower, upper


def lowercase_words(lower: Counter[str], upper: Counter[str], share: float) -> set[str]:
    """Words with at least MIN_LOWER lower-case uses and ``share`` times as many as capitalised ones."""
    return {w for w, n in lower.items() if n >= MIN_LOWER and n >= share * upper[w]}


def entity_counts(docs: Iterable[Doc]) -> tuple[Counter[str], Counter[str], list[tuple[str, ...]]]:
    """(uses inside PERSON entities, uses inside other entities) per word, and every multi-word PERSON."""
    person: Counter[str] = Counter()
    other: Counter[str] = Counter()
    people: list[tuple[str, ...]] = []
    for doc in docs:
        for ent in doc.ents:
            if ent.label_ != "PERSON" and ent.label_ not in _OTHER_LABELS:
                continue
            words = [t.text.lower() for t in ent if t.is_alpha]
            (person if ent.label_ == "PERSON" else other).update(words)
            if ent.label_ == "PERSON" and "\n" not in ent.text:
                people.append(_name_tokens(ent))
    return person, other, [p for p in people if len(p) >= 2]


def _name_tokens(ent: Span) -> tuple[str, ...]:
    """A PERSON entity's words, particles ("bin", "ul") left out; () if one is not a capitalised word."""
    words = []
    for tok in ent:
        if is_particle(tok.text):
            continue
        if not (tok.is_alpha or "-" in tok.text or "'" in tok.text) or not tok.text[0].isupper():
            return ()
        words.append(tok.text.lower())
    return tuple(words)


def name_words(people: Iterable[tuple[str, ...]], non_name: set[str]) -> set[str]:
    """The words of the multi-word names none of whose words is in ``non_name``."""
    return {w for words in people if not non_name.intersection(words) for w in words}


def build(nlp: Language, folders: Sequence[Path]) -> PersonWords:
    """The four word lists from the items in ``folders``; ``nlp`` must have the entity ruler and NER."""
    lower, upper = case_counts(nlp, corpus_texts(folders))
    common = lowercase_words(lower, upper, LOWER_RATIO)
    lowercase = lowercase_words(lower, upper, LOWERCASE_SHARE) - common
    person, other, people = entity_counts(nlp.pipe(corpus_texts(folders), batch_size=32))
    org = {w for w, n in other.items() if n >= MIN_ORG and n >= ORG_RATIO * person[w]} - common
    names = name_words(people, common | lowercase | org | NON_NAME_FIXED)
    return PersonWords(frozenset(common), frozenset(lowercase), frozenset(org), frozenset(names))


def render(words: PersonWords, folders: Sequence[Path]) -> str:
    """The YAML text: a header saying how it was made, then each list as one folded string."""
    sources = ", ".join(f.name for f in folders)
    head = (f"# Generated by `python -m pipeline.nlp.person_words` from: {sources}. Do not edit by hand.\n"
            f"# Word lists only (see that module): common (lower-case uses >= {MIN_LOWER} and >= {LOWER_RATIO:g}x\n"
            f"# capitalised), lowercase (>= {LOWERCASE_SHARE:g}x), org (inside non-person entities >= {MIN_ORG}"
            f" and >= {ORG_RATIO:g}x\n# inside PERSON), names (words of multi-word PERSON entities without a"
            " common, lowercase, org or\n# title word).\n")
    parts = [head]
    for key in PersonWords.KEYS:
        values = getattr(words, key)
        body = textwrap.fill(" ".join(sorted(values)), _WRAP, break_on_hyphens=False, break_long_words=False)
        parts.append(f"{key}: >-\n{textwrap.indent(body, '  ')}\n")
    return "".join(parts)


def _ner_pipeline() -> Language:
    """The production NER pipeline: the configured model's NER behind the gazetteer ruler."""
    from pipeline.nlp.entities import EntityExtractor, load_gazetteer_data
    from pipeline.nlp.geo import geography
    from pipeline.nlp.hybrid import _NER_EXCLUDE
    from pipeline.nlp.lemmas import LemmaTables, load_spacy

    nlp = load_spacy("", exclude=_NER_EXCLUDE)
    english = LemmaTables.from_nlp(nlp).all_lemmas()
    nlp.remove_pipe("lemmatizer")
    EntityExtractor(nlp, load_gazetteer_data(), geography(), english, persons=PersonWords.empty())
    return nlp


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.nlp.person_words", description=__doc__.split("\n")[0])
    parser.add_argument("folders", type=Path, nargs="+", help="corpus folders, each with an items.jsonl")
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH, help=f"where to write (default {DEFAULT_PATH})")
    args = parser.parse_args(argv)
    words = build(_ner_pipeline(), args.folders)
    args.out.write_text(render(words, args.folders), encoding="utf-8")
    print(f"{args.out}: " + ", ".join(f"{key} {len(getattr(words, key))}" for key in PersonWords.KEYS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
