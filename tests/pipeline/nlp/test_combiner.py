"""The learned rule/model combiner: fitting, threshold choice, scoring, saving and loading."""

import json

import numpy
import pytest

from pipeline.nlp.combiner import (
    COMBINER_FILE,
    Combiner,
    choose_threshold,
    features,
    fit_combiner,
    fit_logistic,
    load_combiners,
    save_combiners,
)


def synthetic(n=400, seed=3):
    """Items whose label depends on the rule weights more than on the model, with negatives pulling down."""
    rng = numpy.random.default_rng(seed)
    model = rng.uniform(0.01, 0.99, n)
    positive = rng.exponential(2.0, n)
    negative = rng.exponential(0.5, n)
    z = 0.5 * numpy.log(model / (1 - model)) + 2.0 * numpy.log1p(positive) - 1.5 * numpy.log1p(negative) - 2.0
    y = rng.uniform(size=n) < 1 / (1 + numpy.exp(-z))
    x = numpy.array([features(m, p, q) for m, p, q in zip(model, positive, negative)])
    return x, y


def test_logistic_regression_recovers_the_signs_and_order_of_the_weights():
    x, y = synthetic()
    weights, bias = fit_logistic(x, y)
    assert weights[1] > weights[0] > 0 > weights[2] and bias < 0


def test_threshold_prefers_the_wanted_precision_then_f1():
    scores = numpy.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4])
    truth = numpy.array([True, True, False, True, False, False])
    assert choose_threshold(scores, truth) == pytest.approx(0.6)  # best F1: 3 of 4 chosen right
    assert choose_threshold(scores, truth, min_precision=0.95) == pytest.approx(0.8)  # only the sure ones


def test_fit_combiner_scores_strong_rules_above_its_threshold_and_negatives_below():
    x, y = synthetic()
    combiner = fit_combiner(x, y, numpy.arange(len(y)) % 5, min_precision=0.8)
    assert 0.0 < combiner.threshold < 1.0
    assert combiner.score(0.5, 20.0, 0.0) >= combiner.threshold > combiner.score(0.5, 20.0, 30.0)
    assert combiner.score(0.5, 0.0, 0.0) < combiner.threshold


def test_fit_combiner_refuses_a_single_class():
    x, _ = synthetic(50)
    with pytest.raises(ValueError):
        fit_combiner(x, numpy.zeros(50, dtype=bool), numpy.arange(50) % 5)


def test_save_and_load_round_trip_and_bad_files(tmp_path):
    combiner = Combiner((0.8, 2.4, -0.6), -2.3, 0.49)
    save_combiners(tmp_path, {"ct": combiner, "other": combiner}, {"folds": 5})
    loaded = load_combiners(tmp_path, ["ct"])
    assert list(loaded) == ["ct"] and loaded["ct"].score(0.3, 4.0, 1.0) == pytest.approx(combiner.score(0.3, 4.0, 1.0))
    assert load_combiners(tmp_path / "missing", ["ct"]) == {}
    data = json.loads((tmp_path / COMBINER_FILE).read_text())
    data["topics"]["ct"]["weights"] = [1.0]
    (tmp_path / COMBINER_FILE).write_text(json.dumps(data))
    with pytest.raises(ValueError, match="combiner"):
        load_combiners(tmp_path, ["ct"])
