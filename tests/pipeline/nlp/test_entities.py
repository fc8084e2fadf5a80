"""Entities and places: gazetteer ruler, NER people, normalised groups, countries the item is about."""

import pytest
import spacy
from spacy.tokens import Span

from pipeline.classify import open_classifier
from pipeline.nlp.entities import _clean_name, _headline_context, _person_name, _plausible_ner_span
from pipeline.settings import load_settings


@pytest.fixture(scope="module")
def classifier():
    settings = load_settings(None, {})
    return open_classifier(settings.topics, settings.classifier)


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


def test_ner_spans_across_the_title_break_or_inside_title_case_headlines_are_dropped(classifier):
    found = enrich(classifier, "Under Secretary Holm’s Meeting with Latvian Minister of Energy Ozols",
                   "Office of the Spokesperson Under Secretary of State Karin Holm met today with Latvian Minister"
                   " of Energy Andris Ozols in Washington to discuss grid links.")
    assert {"Karin Holm", "Andris Ozols"} <= set(found.entities["persons"])
    assert not any("Office" in name for name in found.entities["organizations"])  # not "Energy Ozols\nOffice"
    headline = enrich(classifier, "FACT SHEET: Administration Unveils New Federal Offshore Wind Compact to Expand Clean Power",
                      "White House Gathers Governors, Union Chiefs and Developers to Cut Power Bills, Back Factory"
                      " Jobs\nThe compact sets a goal for new offshore capacity by 2030.")
    assert headline.entities["organizations"] == []


def test_ner_names_are_tidied():
    assert [_clean_name(n) for n in ("the Prospectors Guild of", "Governments of the", "Forum on Mining (IGF",
                                     "Johnson & Johnson", "Ministry of Interior", "Dalton’s")] == [
        "Prospectors Guild", "Governments", "Forum on Mining", "Johnson & Johnson", "Ministry of Interior", "Dalton"]
    assert [_person_name(n) for n in ("Holm’s Meeting", "DALTON", "Karin Holm", "O'Neill")] == [
        "Holm", "Dalton", "Karin Holm", "O'Neill"]


def test_headline_context_needs_capitalised_neighbours_on_the_same_line():
    nlp = spacy.blank("en")
    doc = nlp("Minister Unveils Offshore Wind Compact Plan Today\nthe minister said the plan would help Sindh farmers")
    doc.ents = [Span(doc, 2, 4, label="ORG"), Span(doc, 6, 9, label="ORG"), Span(doc, 15, 16, label="GPE")]
    headline, across, prose = doc.ents
    assert _headline_context(headline) and not _plausible_ner_span(headline)
    assert not _headline_context(prose) and _plausible_ner_span(prose)
    assert "\n" in across.text and not _plausible_ner_span(across)
