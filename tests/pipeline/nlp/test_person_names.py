"""The filter on NER people: common words, titles, dates, organisations and places are no people; names stay."""

import pytest
import spacy
from spacy.tokens import Span

from pipeline.classify import open_classifier
from pipeline.nlp.entities import EntityExtractor, load_gazetteer_data
from pipeline.nlp.geo import geography
from pipeline.nlp.lemmas import LemmaTables, load_spacy
from pipeline.nlp.person_names import PersonFilter, PersonWords
from pipeline.nlp.person_words import case_counts, lowercase_words, name_words, render
from pipeline.settings import load_settings


@pytest.fixture(scope="module")
def extractor() -> EntityExtractor:
    """The extractor with the shipped filter (shipped word lists, the gazetteer's names), no NER."""
    english = LemmaTables.from_nlp(load_spacy("")).all_lemmas()
    return EntityExtractor(spacy.blank("en"), load_gazetteer_data(), geography(), english)


@pytest.fixture(scope="module")
def persons(extractor) -> PersonFilter:
    return extractor.person_filter


@pytest.fixture(scope="module")
def classifier():
    settings = load_settings(None, {})
    return open_classifier(settings.topics, settings.classifier)


def people(classifier, title, body):
    return classifier.classify(title, f"{title}\n{body}").enrichment.entities["persons"]


@pytest.mark.parametrize("text", [
    "Spokesperson Today", "Department Spokesperson", "Moderna", "Roadmap",  # the reported three, and kin
    "Joint Statement", "Terrorist Attack", "Secretariat Press Wing", "Task Force",  # common words
    "Tarbela Dam", "Rawal Dam", "Suki Kinari Hydropower Station",  # a thing's name: its last word is common
    "Lt Gen", "Retd", "Prime Minister", "Minister Today",  # titles and dates only
    "Tigray", "Bitcoin", "Hormuz", "Pfizer Inc",  # one word never seen in a person's name; a company
    "al-Qa’ida", "Lashkar-e", "Taliban", "Quetta",  # the gazetteer's groups and places, a cut-off compound
    "Jun 12", "Covid-19", "Acrobat®", "Group B.",  # digits, symbols, a list label
])
def test_not_people_are_dropped(persons, text):
    assert persons.name(text) == ""


@pytest.mark.parametrize("text", [
    "Mohsin Naqvi", "Shehbaz Sharif", "Antony Blinken", "Ned Price",  # the gazetteer's people
    "Narendra Modi", "Mark Carney", "Bilal Bin Saqib", "Abdul Ghani Baloch",  # names the corpus has
    "Wouter Jurgens", "Karin Holm", "Andris Ozols",  # names never seen: no evidence against them
    "Bill Hagerty", "Mike Pence", "Gina M. Raimondo", "Stanley L. Brown", "Usama bin Laden",
])
def test_real_names_are_kept(persons, text):
    assert persons.name(text) == text


@pytest.mark.parametrize("text", ["Blinken", "Naqvi", "Sharif", "Zardari", "Modi", "Jaishankar", "Putin"])
def test_single_surnames_of_known_people_are_kept(persons, text):
    assert persons.name(text) == text


def test_a_lone_unknown_word_is_a_person_only_after_a_title(persons):
    assert persons.name("Merkel") == "" and persons.name("Merkel", before="Chancellor") == "Merkel"
    assert persons.name("Albright", before="Secretary") == "Albright"
    assert persons.name("Roadmap", before="Minister") == ""  # still a dictionary word


@pytest.mark.parametrize(("text", "name"), [
    ("Blinken Monday", "Blinken"), ("Antony Blinken Today", "Antony Blinken"),
    ("Spokesperson Mumtaz Zahra Baloch", "Mumtaz Zahra Baloch"), ("Department Spokesperson Ned Price", "Ned Price"),
    ("WAPDA Engr Lt Gen Sajjad Ghani", "Sajjad Ghani"), ("Lt-Gen Sajjad Ghani", "Sajjad Ghani"),
    ("Faisal Chaudhry Advocate", "Faisal Chaudhry"), ("Gen Musharraf", "Musharraf"),
    ("Don\xadald Trump", "Donald Trump"), ("• Ghalibaf", "Ghalibaf"),
])
def test_titles_dates_and_stray_characters_are_trimmed(persons, text, name):
    assert persons.name(text) == name


def ner_people(extractor, text, *spans):
    """The persons the extractor emits when the NER marks these (start, end) token spans PERSON."""
    doc = extractor.ruler(extractor.nlp.make_doc(text))
    doc.ents = [*doc.ents, *(Span(doc, start, end, label="PERSON") for start, end in spans)]
    return extractor.enrich(0, [doc]).entities["persons"]


def test_the_filter_sits_between_the_ner_and_the_persons(extractor):
    text = "A note from the office of the Spokesperson Today said that aid for farmers in Pakistan would grow."
    assert ner_people(extractor, text, (7, 9)) == []  # "Spokesperson Today"
    text = "Talks went well, Chancellor Merkel said, and Moderna will ship doses; Merkel left."
    assert ner_people(extractor, text, (5, 6), (9, 10), (14, 15)) == ["Merkel"]  # after a title: a person
    text = "Officials in the city said that Secretary Blinken Monday met with the team of Mohsin Naqvi."
    assert ner_people(extractor, text, (7, 9)) == ["Blinken", "Mohsin Naqvi"]  # "Monday" trimmed


def test_the_reported_cases_end_to_end(classifier):
    assert people(classifier, "Vaccine doses for Pakistan", "The United States donated 2.5 million Moderna"
                  " doses to Pakistan, and Moderna said more would follow.") == []
    assert people(classifier, "Pakistan minerals plan", "Islamabad and Washington agreed on a Roadmap for"
                  " critical minerals. The Roadmap sets out three steps.") == []
    assert people(classifier, "Joint Statement on Pakistan Floods", "Joint Statement on Pakistan Floods\nThe"
                  " United States and Pakistan issued a Joint Statement on flood relief.") == []
    assert people(classifier, "Terrorist Attack in Quetta", "Antony J. Blinken, Secretary of State\nThe United"
                  " States condemns the Terrorist Attack in Quetta, Pakistan.") == ["Antony Blinken"]
    assert people(classifier, "Pakistan flood", "Officials in Chilas and Shangla said the Tigray crisis was"
                  " distant, and Eid holidays began in Pakistan.") == []


def test_titles_go_and_people_stay_end_to_end(classifier):
    assert people(classifier, "Pakistan briefing", "Spokesperson Mumtaz Zahra Baloch told reporters in"
                  " Islamabad that Pakistan wanted peace.") == ["Mumtaz Zahra Baloch"]
    assert people(classifier, "Security meeting", "Lt Gen Sajjad Ghani (Retd) chaired the meeting in"
                  " Islamabad on security for Pakistan.") == ["Sajjad Ghani"]
    assert people(classifier, "Talks in Islamabad", "Interior Minister Mohsin Naqvi met Prime Minister"
                  " Shehbaz Sharif in Islamabad on Monday.") == ["Mohsin Naqvi", "Shehbaz Sharif"]
    assert people(classifier, "Pakistan talks", "Pakistan's foreign minister met Blinken on Monday in"
                  " Washington.") == ["Blinken"]
    assert people(classifier, "Pakistan envoy", "Ambassador Zoellick praised Pakistan. Chancellor Merkel also"
                  " spoke in Washington.") == ["Zoellick", "Merkel"]


def test_word_lists_come_from_case_and_names():
    nlp = spacy.blank("en")
    texts = ["The roadmap was agreed today, and officials said the roadmap would help farmers.",
             "Officials met Khan at the dam near the border; today the roadmap was out.",
             "Talks with Khan went on, and the roadmap was signed at the Roadmap summit today."]
    lower, upper = case_counts(nlp, texts)
    assert lower["roadmap"] == 4 and upper["roadmap"] == 1 and upper["khan"] == 2
    assert {"roadmap", "today"} <= lowercase_words(lower, upper, 2.0) and "khan" not in lowercase_words(lower, upper, 2.0)
    assert name_words([("narendra", "modi"), ("tarbela", "dam")], {"dam"}) == {"narendra", "modi"}


def test_the_word_file_round_trips_and_holds_words_only():
    words = PersonWords(frozenset({"today", "roadmap"}), frozenset({"dam"}), frozenset({"ministry"}),
                        frozenset({"modi", "naqvi"}))
    assert PersonWords.from_yaml(render(words, [])) == words
    shipped = PersonWords.shipped()
    assert "today" in shipped.common and "modi" in shipped.names and "ministry" in shipped.org
    for key in PersonWords.KEYS:
        assert all(w == w.lower() and " " not in w for w in getattr(shipped, key))
