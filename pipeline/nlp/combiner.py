"""The learned combination of the two halves of a topic judgement: rules and text model.

Per topic, a logistic regression over three features of one item,

* the text model's log-odds (its probability, clipped to 0.0001..0.9999),
* ``ln(1 + positive)``: the summed weight of the matched phrases (title double, repeats damped),
* ``ln(1 + negative)``: the summed weight of the matched negative phrases,

gives the topic's score, and the topic is assigned at or above the topic's fitted threshold (a
veto still zeroes it). :func:`fit_combiners` fits the weights on out-of-fold text-model
probabilities (the model never saw the item it scores, as in production) and picks each threshold
by a second, inner cross-validation, so neither is tuned on the items it is judged by. The result
is stored with the model as ``combiner.json``; a topic without one falls back to the hand-set
``model_weight`` / ``threshold`` / ``rules_alone`` of its definition.

Pure: numbers in, numbers out; only :func:`save_combiners` and :func:`load_combiners` touch files.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy

__all__ = ["Combiner", "features", "fit_logistic", "choose_threshold", "fit_combiner", "save_combiners",
           "load_combiners", "COMBINER_FILE"]

COMBINER_FILE = "combiner.json"
FEATURES = ("model_logit", "ln1p_positive", "ln1p_negative")
_CLIP = 1e-4


@dataclass(frozen=True)
class Combiner:
    """One topic's fitted combination: weights per :data:`FEATURES`, a bias and the decision threshold."""

    weights: tuple[float, ...]
    bias: float
    threshold: float

    def score(self, model: float, positive: float, negative: float) -> float:
        return self.score_features(features(model, positive, negative))

    def score_features(self, row: Sequence[float]) -> float:
        z = self.bias + sum(w * x for w, x in zip(self.weights, row))
        return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))

    def as_json(self) -> dict:
        return {"features": list(FEATURES), "weights": [round(w, 6) for w in self.weights],
                "bias": round(self.bias, 6), "threshold": round(self.threshold, 4)}

    @classmethod
    def from_json(cls, data: Mapping) -> Combiner:
        if list(data.get("features", FEATURES)) != list(FEATURES):
            raise ValueError(f"unknown combiner features {data.get('features')!r}")
        weights = tuple(float(w) for w in data["weights"])
        if len(weights) != len(FEATURES):
            raise ValueError(f"expected {len(FEATURES)} combiner weights, got {len(weights)}")
        return cls(weights, float(data["bias"]), float(data["threshold"]))


def features(model: float, positive: float, negative: float) -> tuple[float, float, float]:
    p = min(max(model, _CLIP), 1.0 - _CLIP)
    return math.log(p / (1.0 - p)), math.log1p(max(positive, 0.0)), math.log1p(max(negative, 0.0))


def fit_logistic(x: numpy.ndarray, y: numpy.ndarray, l2: float = 1.0) -> tuple[numpy.ndarray, float]:
    """L2-regularised logistic regression (bias not penalised) by Newton's method: (weights, bias)."""
    xb = numpy.hstack([numpy.asarray(x, dtype=float), numpy.ones((len(x), 1))])
    target = numpy.asarray(y, dtype=float)
    penalty = numpy.full(xb.shape[1], l2)
    penalty[-1] = 0.0
    w = numpy.zeros(xb.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + numpy.exp(-numpy.clip(xb @ w, -50, 50)))
        gradient = xb.T @ (p - target) + penalty * w
        hessian = (xb * (p * (1 - p))[:, None]).T @ xb + numpy.diag(penalty) + 1e-9 * numpy.eye(len(w))
        step = numpy.linalg.solve(hessian, gradient)
        w -= step
        if numpy.abs(step).max() < 1e-8:
            break
    return w[:-1], float(w[-1])


def _predict(x: numpy.ndarray, weights: numpy.ndarray, bias: float) -> numpy.ndarray:
    return 1.0 / (1.0 + numpy.exp(-numpy.clip(numpy.asarray(x, dtype=float) @ weights + bias, -50, 50)))


def choose_threshold(scores: numpy.ndarray, y: numpy.ndarray, min_precision: float = 0.0) -> float:
    """The cut on ``scores`` with the best F1 against ``y`` among those whose precision reaches
    ``min_precision``; the best F1 of all when none does."""
    truth = numpy.asarray(y, dtype=bool)
    best, cut = (False, -1.0), 0.5
    for t in numpy.unique(numpy.round(scores, 4)):
        chosen = scores >= t
        tp = int((chosen & truth).sum())
        if not tp:
            continue
        precision, recall = tp / int(chosen.sum()), tp / int(truth.sum())
        key = (precision >= min_precision, 2 * precision * recall / (precision + recall))
        if key > best:
            best, cut = key, float(t)
    return cut


def fit_combiner(x: numpy.ndarray, y: numpy.ndarray, folds: numpy.ndarray, min_precision: float = 0.0) -> Combiner:
    """Weights from all rows; the threshold from out-of-fold scores of weights fitted on the other folds."""
    x, y = numpy.asarray(x, dtype=float), numpy.asarray(y, dtype=bool)
    if y.all() or not y.any():
        raise ValueError("a combiner needs positive and negative examples")
    inner = numpy.zeros(len(y))
    for fold in numpy.unique(folds):
        held = folds == fold
        if y[~held].any() and not y[~held].all():
            weights, bias = fit_logistic(x[~held], y[~held])
            inner[held] = _predict(x[held], weights, bias)
    weights, bias = fit_logistic(x, y)
    return Combiner(tuple(float(w) for w in weights), bias, choose_threshold(inner, y, min_precision))


def save_combiners(folder: Path, combiners: Mapping[str, Combiner], summary: Mapping | None = None) -> None:
    data = {"topics": {name: c.as_json() for name, c in combiners.items()}, "cross_validation": dict(summary or {})}
    (folder / COMBINER_FILE).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_combiners(folder: Path, labels: Sequence[str]) -> dict[str, Combiner]:
    """The combiners saved with a model (none when the folder has no ``combiner.json``)."""
    path = folder / COMBINER_FILE
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {name: Combiner.from_json(raw) for name, raw in data["topics"].items() if name in labels}
    except (KeyError, TypeError, ValueError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: invalid combiner: {exc}") from None
