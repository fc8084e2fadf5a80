"""The hand blend of rule score and text-model probability (HybridClassifier._hand_score), no spaCy needed."""

import math

from pipeline.nlp.hybrid import HybridClassifier
from pipeline.nlp.lemma_rules import RuleScore
from pipeline.topics import TopicDefinition

TOPIC = TopicDefinition(name="t", description="", phrases=(), negative=(), threshold=0.4, model_weight=0.6,
                        rules_alone=0.9)


def score(rule: RuleScore, model: float | None) -> float:
    return HybridClassifier._hand_score(TOPIC, rule, model)


def test_without_negatives_the_blend_is_the_weighted_sum():
    assert math.isclose(score(RuleScore(0.5, 2.0, ("a",), positive=2.0), 0.8), 0.6 * 0.8 + 0.4 * 0.5)
    assert math.isclose(score(RuleScore(0.5, 2.0, ("a",), positive=2.0), None), 0.5)  # model unknown: rules alone


def test_negative_phrases_damp_the_model_share_so_the_model_alone_cannot_assign():
    cricket = RuleScore(0.0, -8.0, ("-pace attack", "-bowling attack"), negative=8.0)
    assert score(cricket, 0.9) < 0.05 < 0.6 * 0.9
    mild = RuleScore(0.3, 1.0, ("a", "-b"), positive=2.0, negative=1.0)
    assert math.isclose(score(mild, 0.5), 0.6 * 0.5 * math.exp(-1 / 3) + 0.4 * 0.3)


def test_a_veto_zeroes_and_a_sure_rule_score_lifts_to_the_threshold():
    assert score(RuleScore(0.0, 0.0, ("-x (veto)",), veto=True), 0.99) == 0.0
    assert score(RuleScore(0.95, 9.0, ("a",), positive=9.0), 0.0) == TOPIC.threshold
