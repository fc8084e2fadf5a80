"""The classifier as the registry builds it (pipeline.classify.open_classifier): topics, evidence,
enrichment; and the registry itself."""

from dataclasses import replace

import pytest

from pipeline.classify import CLASSIFIERS, classifier_factory, open_classifier
from pipeline.errors import ConfigError
from pipeline.settings import load_settings, settings_from_mapping
from pipeline.topics import topics_from_mapping


def build_classifier(settings):
    return open_classifier(settings.topics, settings.classifier, settings.source)


@pytest.fixture(scope="module")
def classifier():
    return build_classifier(load_settings(None, {}))


def test_the_default_kind_is_the_hybrid_classifier(classifier):
    from pipeline.nlp.hybrid import HybridClassifier

    assert load_settings(None, {}).classifier.kind == "hybrid" and isinstance(classifier, HybridClassifier)
    assert classifier_factory("hybrid") is HybridClassifier and set(CLASSIFIERS) == {"hybrid"}


def test_an_unknown_kind_is_a_config_error_naming_the_field_and_the_known_kinds():
    settings = settings_from_mapping({"classifier": {"kind": "bert"}}, "newsmon.yaml", {})
    with pytest.raises(ConfigError, match=r"classifier\.kind: unknown classifier 'bert' \(known: hybrid\)"):
        build_classifier(settings)


def test_a_model_that_cannot_be_loaded_names_the_configuration_file():
    settings = load_settings(None, {})
    settings = replace(settings, source="desk.yaml",
                       classifier=replace(settings.classifier, spacy_model="/nonexistent/spacy-model"))
    with pytest.raises(ConfigError, match=r"^desk\.yaml: classifier: "):
        build_classifier(settings)


def judge(classifier, title, body=""):
    return classifier.classify(title, f"{title}\n{body}" if body else title)


def test_seed_article_carries_both_topics_with_people_places_and_countries(classifier, shared):
    text = (shared / "seed" / "pk-us-ct-minerals-article.txt").read_text(encoding="utf-8")
    title = text.strip().splitlines()[0]
    result = classifier.classify(title, text)
    assert set(result.topics) == {"counterterrorism", "minerals_cooperation"}
    assert "counterterrorism" in result.evidence["counterterrorism"]
    assert "critical mineral" in result.evidence["minerals_cooperation"]
    assert any(e.startswith("model:") for e in result.evidence["counterterrorism"])
    found = result.enrichment
    assert {"Mohsin Naqvi", "Talal Chaudhry", "John Mark Pomeroy", "Natalie Baker"} <= set(found.entities["persons"])
    assert {"Islamabad", "Quetta", "Balochistan"} <= set(found.entities["places"])
    assert "Quetta" not in found.entities["organizations"]
    assert {"PK", "US"} <= set(found.countries)
    quetta = next(loc for loc in found.locations if loc.name == "Quetta")
    assert quetta.country == "PK" and 29 < quetta.lat < 31 and 66 < quetta.lon < 68


@pytest.mark.parametrize("title, text, expected", [
    ("TTP militants storm police station in Bannu", "Security forces killed the terrorists.", {"counterterrorism"}),
    ("Pakistan's pace attack routs hosts", "The bowling attack took eight wickets in Multan.", set()),
    ("Crypto mining farm raided in Karachi", "Bitcoin mining rigs used stolen power; mining firms fined.", set()),
    ("OGDCL wins exploration licence", "Oil and gas exploration blocks awarded with new investment in Sindh.",
     {"minerals_cooperation"}),
    ("Petrol prices raised by Rs5", "Fuel prices rise again amid circular debt.", set()),
], ids=["ct-attack", "cricket-attack", "crypto-mining", "exploration-licence", "fuel-prices"])
def test_topic_decisions(classifier, title, text, expected):
    assert set(judge(classifier, title, text).topics) == expected


def test_lemmas_match_inflections_and_evidence_names_phrases(classifier):
    result = judge(classifier, "Gunmen attacked a checkpoint", "Militants attacked the police; two bombers were killed.")
    assert "militant" in result.evidence["counterterrorism"]
    assert "attack" in result.evidence["counterterrorism"]  # "attacked" near "police" (proximity)


def test_veto_zeroes_the_score(classifier):
    result = judge(classifier, "Data mining of critical minerals records", "data mining critical minerals copper")
    assert result.scores["minerals_cooperation"] == 0.0
    assert result.evidence["minerals_cooperation"][0] == "-data mining (veto)"
    assert all(0.0 <= s <= 1.0 for s in result.scores.values())


def test_a_team_can_add_a_topic_in_configuration():
    settings = load_settings(None, {})
    topics = {**settings.topics, **topics_from_mapping(
        {"cpec_security": {"threshold": 0.5, "phrases": [{"text": "cpec", "weight": 2}, "chinese engineer"]}})}
    classifier = build_classifier(replace(settings, topics=topics))
    result = judge(classifier, "Convoy of Chinese engineers attacked on CPEC route", "CPEC security tightened.")
    assert "cpec_security" in result.topics and result.evidence["cpec_security"][0] == "cpec"
    assert not any(e.startswith("model:") for e in result.evidence["cpec_security"])  # the model does not know it


def test_us_abbreviation_is_a_country_but_the_pronoun_is_not(classifier):
    assert judge(classifier, "US envoy meets Pakistani minister", "US and Pakistan").enrichment.countries == ("PK", "US")
    assert "US" not in judge(classifier, "Join us", "let us talk, tell us more").enrichment.countries


def test_group_aliases_are_normalised(classifier):
    found = judge(classifier, "Fitna al-Khawarij attack repulsed", "The TTP and Majeed Brigade were named.").enrichment
    assert set(found.entities["groups"]) == {"Tehreek-e-Taliban Pakistan", "Balochistan Liberation Army"}


def test_batch_gives_the_same_answers_as_one_by_one(classifier):
    items = [("Reko Diq copper deal signed", "Reko Diq copper deal signed\nBarrick and Balochistan agree."),
             ("Weather", "Weather\nRain in Lahore."), ("Blast in Quetta", "Blast in Quetta\nA suicide bomber struck.")]
    assert classifier.classify_many(items) == [classifier.classify(t, x) for t, x in items]


def test_default_configuration_topics_are_the_builtin_two():
    assert set(load_settings(None, {}).topics) == {"counterterrorism", "minerals_cooperation"}
