"""Lemma rules: inflections, longest match, title weight, proximity, negatives and vetoes."""

import pytest

from pipeline.nlp.lemma_rules import LemmaRules
from pipeline.nlp.lemmas import LemmaTables, load_spacy, topic_pipeline
from pipeline.topics import topics_from_mapping


@pytest.fixture(scope="module")
def nlp():
    return topic_pipeline(LemmaTables.from_nlp(load_spacy("", exclude=["parser", "tagger", "ner", "tok2vec"])))


def rules(nlp, **topic):
    return LemmaRules(nlp, topics_from_mapping({"t": {"threshold": 0.5, **topic}}))


def score(nlp, rules, title, body=""):
    doc = nlp(f"{title}\n{body}")
    return rules.score(doc, len(nlp(title)))["t"]


def test_lemmatizer_needs_no_tagger(nlp):
    assert [t.lemma_ for t in nlp("Militants attacked mines")] == ["militant", "attack", "mine"]


def test_a_phrase_matches_every_inflection_and_repeats_are_damped(nlp):
    r = rules(nlp, phrases=[{"text": "attack", "weight": 1}])
    one, three = score(nlp, r, "x", "an attack"), score(nlp, r, "x", "attacks, attacked, attacking")
    assert one.evidence == ("attack",) and 0 < one.total < three.total < 3


def test_title_counts_twice(nlp):
    r = rules(nlp, phrases=["blast"])
    assert score(nlp, r, "Blast", "nothing").total > score(nlp, r, "Nothing", "blast").total


def test_longest_match_hides_the_words_inside(nlp):
    r = rules(nlp, phrases=["attack"], negative=[{"text": "heart attack", "weight": 2}])
    assert score(nlp, r, "x", "a heart attack").evidence == ("-heart attack",)


def test_proximity_phrase_counts_only_near_its_words(nlp):
    r = rules(nlp, phrases=[{"text": "attack", "near": ["police"], "window": 3}])
    assert score(nlp, r, "x", "gunmen attack police station").evidence == ("attack",)
    assert score(nlp, r, "x", "an attack on the market; much later in the text the police").total == 0


def test_an_exception_phrase_stops_a_match_near_its_words(nlp):
    r = rules(nlp, negative=[{"text": "strike", "weight": 1, "not_near": ["deal", "agreement"], "window": 3}],
              phrases=["gas"])
    assert score(nlp, r, "x", "a strike on a gas plant").evidence == ("-strike", "gas")
    assert score(nlp, r, "x", "India strikes a gas deal").evidence == ("gas",)
    assert score(nlp, r, "x", "they struck an agreement on gas").evidence == ("gas",)
    assert score(nlp, r, "x", "a strike hit the plant; gas flowed; weeks later a deal").evidence == ("-strike", "gas")


def test_near_and_not_near_together(nlp):
    r = rules(nlp, phrases=[{"text": "attack", "near": ["police"], "not_near": ["heart"], "window": 4}])
    assert score(nlp, r, "x", "gunmen attack police").evidence == ("attack",)
    assert score(nlp, r, "x", "police say his heart gave out after the attack").total == 0
    assert score(nlp, r, "x", "an attack downtown").total == 0


def test_veto_zeroes_and_says_so(nlp):
    r = rules(nlp, phrases=["mining"], negative=[{"text": "crypto mining", "veto": True}])
    result = score(nlp, r, "Crypto mining", "mining mining")
    assert result.veto and result.score == 0.0 and result.evidence == ("-crypto mining (veto)",)


def test_positive_and_negative_weights_are_reported_apart(nlp):
    r = rules(nlp, phrases=[{"text": "mining", "weight": 2}], negative=[{"text": "price", "weight": 0.5}])
    result = score(nlp, r, "x", "mining deal; gold price")
    assert result.positive == 2 and result.negative == 0.5 and result.total == pytest.approx(1.5)
