"""Gazetteer enrichment (pure): militant groups, organisations, places with coordinates, and countries.

Names come from ``pipeline/data/gazetteer.yaml`` and are normalised to one name each (so "TTP" and
"Fitna al-Khawarij" both become "Tehreek-e-Taliban Pakistan"). A country counts as what an item is
*about* when it is named in the title, or at least twice in the text (places count toward their
country), not on every passing mention.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from typing import Any

import yaml

from pipeline.item import Location
from pipeline.phrases import PhraseMatcher
from pipeline.query.analysis import tokens

__all__ = ["Enrichment", "Gazetteer", "load_gazetteer"]

_US_ABBREVIATION = re.compile(r"\bUS\b")


@dataclass(frozen=True)
class Enrichment:
    entities: dict[str, list[str]]
    countries: tuple[str, ...]
    locations: tuple[Location, ...]


@dataclass(frozen=True)
class _Entry:
    kind: str  # country, place, group, organization
    name: str
    country: str = ""
    lat: float = 0.0
    lon: float = 0.0


def _entries(data: dict[str, Any]) -> list[tuple[tuple[str, ...], _Entry]]:
    out = []
    for code, aliases in data.get("countries", {}).items():
        out += [(tuple(tokens(alias)), _Entry("country", code, code)) for alias in aliases]
    for name, place in data.get("places", {}).items():
        entry = _Entry("place", name, place["country"], float(place["lat"]), float(place["lon"]))
        out += [(tuple(tokens(alias)), entry) for alias in [name, *place.get("aliases", [])]]
    for kind, key in (("group", "groups"), ("organization", "organizations")):
        for name, aliases in data.get(key, {}).items():
            out += [(tuple(tokens(alias)), _Entry(kind, name)) for alias in aliases]
    return out


class Gazetteer:
    """Finds known names in a text; build once with :func:`load_gazetteer` and reuse."""

    def __init__(self, data: dict[str, Any]) -> None:
        self._matcher: PhraseMatcher[_Entry] = PhraseMatcher(_entries(data))

    def _find(self, text: str) -> list[_Entry]:
        return [m.payload for m in self._matcher.find(tokens(_US_ABBREVIATION.sub("U.S.", text)))]

    def enrich(self, title: str, text: str) -> Enrichment:
        found = self._find(text)
        in_title = {entry.country for entry in self._find(title) if entry.country}
        mentions = Counter(entry.country for entry in found if entry.country)
        countries = sorted(c for c, n in mentions.items() if n >= 2 or c in in_title)
        places = _unique(e for e in found if e.kind == "place")
        return Enrichment(
            entities={
                "persons": [],
                "organizations": [e.name for e in _unique(e for e in found if e.kind == "organization")],
                "places": [e.name for e in places],
                "groups": [e.name for e in _unique(e for e in found if e.kind == "group")],
            },
            countries=tuple(countries),
            locations=tuple(Location(e.name, e.lat, e.lon, e.country) for e in places),
        )


def _unique(entries: Any) -> list[_Entry]:
    seen: dict[str, _Entry] = {}
    for entry in entries:
        seen.setdefault(entry.name, entry)
    return list(seen.values())


def load_gazetteer() -> Gazetteer:
    text = resources.files("pipeline").joinpath("data/gazetteer.yaml").read_text(encoding="utf-8")
    return Gazetteer(yaml.safe_load(text))
