"""Entities and places: gazetteer ruler, NER people, normalised groups, countries the item is about."""

import pytest

from pipeline.app import build_classifier
from pipeline.settings import load_settings


@pytest.fixture(scope="module")
def classifier():
    return build_classifier(load_settings(None, {}))


def enrich(classifier, title, body):
    return classifier.classify(title, f"{title}\n{body}").enrichment


def test_places_have_coordinates_and_countries(classifier):
    found = enrich(classifier, "Blast in Quetta", "Police in Mastung and Lahore were alerted; Kabul denied a role.")
    places = {loc.name: loc for loc in found.locations}
    assert {"Quetta", "Mastung", "Lahore", "Kabul"} <= set(places)
    assert places["Kabul"].country == "AF" and places["Lahore"].country == "PK"


def test_projects_agencies_and_officials(classifier):
    found = enrich(classifier, "Reko Diq talks", "OGDCL and the SIFC met Mohsin Naqvi; ISPR said the CTD arrested two.")
    assert "Reko Diq" in found.entities["places"]
    assert {"OGDCL", "SIFC", "ISPR", "Counter Terrorism Department"} <= set(found.entities["organizations"])
    assert "Mohsin Naqvi" in found.entities["persons"]


def test_a_person_found_by_ner_and_a_short_mention_merged(classifier):
    found = enrich(classifier, "Envoy visits Islamabad", "Ambassador Jane Marlowe met officials. Marlowe said talks went well.")
    assert "Jane Marlowe" in found.entities["persons"] and "Marlowe" not in found.entities["persons"]


def test_countries_are_what_the_item_is_about_not_every_mention(classifier):
    found = enrich(classifier, "Pakistan and China sign mining accord",
                   "Pakistan and China signed the accord in Islamabad. Pakistani officials said Chinese firms would"
                   " invest. A delegate had earlier visited Brazil.")
    assert found.countries == ("CN", "PK")


def test_ner_is_skipped_where_it_adds_nothing(classifier):
    found = enrich(classifier, "Cake recipe of the week", "Ms Julia Hartley bakes a lemon cake in Paris.")
    assert found.entities["persons"] == []  # no topic, no PK/US/AF: gazetteer only, no NER
