import pytest

from pipeline.classify import RuleClassifier, story_key
from pipeline.enrich import load_gazetteer
from pipeline.settings import load_settings
from pipeline.topics import builtin_topics, topics_from_mapping


@pytest.fixture(scope="module")
def classifier():
    return RuleClassifier(builtin_topics(), load_gazetteer())


def test_seed_article_carries_both_topics_with_evidence(classifier, shared):
    text = (shared / "seed" / "pk-us-ct-minerals-article.txt").read_text(encoding="utf-8")
    title = text.strip().splitlines()[0]
    result = classifier.classify(title, text)
    assert set(result.topics) == {"counterterrorism", "minerals_cooperation"}
    assert "counterterrorism" in result.evidence["counterterrorism"]
    assert "critical minerals" in result.evidence["minerals_cooperation"]
    assert set(result.enrichment.countries) >= {"PK", "US"}
    assert {"Islamabad", "Quetta", "Balochistan"} <= set(result.enrichment.entities["places"])


@pytest.mark.parametrize("title, text, expected", [
    ("TTP militants storm police station in Bannu", "Security forces killed the terrorists.", {"counterterrorism"}),
    ("Pakistan's pace attack routs hosts", "The bowling attack took eight wickets in Multan.", set()),
    ("Crypto mining farm raided in Karachi", "Bitcoin mining rigs used stolen power; mining firms fined.", set()),
    ("OGDCL wins exploration licence", "Oil and gas exploration blocks awarded with new investment in Sindh.",
     {"minerals_cooperation"}),
    ("Petrol prices raised by Rs5", "Fuel prices rise again amid circular debt.", set()),
])
def test_topic_decisions(classifier, title, text, expected):
    assert set(classifier.classify(title, f"{title}\n{text}").topics) == expected


def test_scores_are_between_zero_and_one_and_veto_zeroes(classifier):
    result = classifier.classify("Data mining of critical minerals records", "data mining critical minerals copper")
    assert result.scores["minerals_cooperation"] == 0.0
    assert result.evidence["minerals_cooperation"] == ["-data mining (veto)"]
    assert all(0.0 <= s <= 1.0 for s in result.scores.values())


def test_a_team_can_add_a_topic_in_configuration():
    topics = {**builtin_topics(), **topics_from_mapping(
        {"cpec_security": {"threshold": 0.5, "phrases": [{"text": "cpec", "weight": 2}, "chinese engineers"]}})}
    classifier = RuleClassifier(topics, load_gazetteer())
    result = classifier.classify("Convoy of Chinese engineers attacked on CPEC route", "CPEC security tightened.")
    assert "cpec_security" in result.topics and result.evidence["cpec_security"][0] == "cpec"


def test_us_abbreviation_is_a_country_but_the_pronoun_is_not(classifier):
    assert classifier.classify("US envoy meets Pakistani minister", "US and Pakistan").enrichment.countries == ("PK", "US")
    assert "US" not in classifier.classify("Join us", "let us talk, tell us more").enrichment.countries


def test_story_key_ignores_word_order_case_and_stopwords():
    assert story_key("Blast in Quetta kills five") == story_key("Quetta: five kills, blast")
    assert story_key("Blast in Quetta kills five") != story_key("Blast in Peshawar kills five")


def test_default_configuration_topics_are_the_builtin_two():
    assert set(load_settings(None, {}).topics) == {"counterterrorism", "minerals_cooperation"}
