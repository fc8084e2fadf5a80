"""Cross-validation of the whole classifier on a team's own labels: how would a model trained on
these labels judge items it has not seen?

``newsmon train LABELS.jsonl --cross-validate K`` cuts the items into K folds (:func:`fold_of`:
within each label combination, ordered by a hash of the id), and for each fold trains the text model
on the other folds, exactly as ``newsmon train`` would, then judges the fold with the full hybrid
classifier (rules, that model, the configured thresholds). The decisions of all K folds are pooled
into one :class:`~pipeline.evaluate.Evaluation`, so every item is judged once, by a model that never
saw it. Nothing is saved: the K models live in a temporary folder.

The rules are not refitted per fold (they are configuration, not learned), so when they were tuned
by reading these same items the estimate is optimistic by that much.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from pipeline.classify import ClassifierFactory
from pipeline.evaluate import Evaluation, evaluate
from pipeline.nlp.lemmas import LemmaTables
from pipeline.nlp.train import TrainingItem, TrainingOptions, fold_of, train_topic_model
from pipeline.settings import ClassifierSettings
from pipeline.topics import TopicDefinition

__all__ = ["cross_validate", "MIN_FOLDS"]

logger = logging.getLogger(__name__)

MIN_FOLDS = 2

def cross_validate(items: Sequence[TrainingItem], topics: Mapping[str, TopicDefinition], tables: LemmaTables,
                   classifier_settings: ClassifierSettings, options: TrainingOptions, folds: int,
                   make_classifier: ClassifierFactory) -> Evaluation:
    """Pooled out-of-fold precision, recall and F1 per topic of the hybrid classifier."""
    if folds < MIN_FOLDS or folds > len(items):
        raise ValueError(f"folds: expected 2 to {len(items)} (the number of items), got {folds}")
    labels = list(topics)
    fold = fold_of(items, folds)
    pairs: list[tuple[set[str], set[str]]] = []  # (decided topics, labels), fold by fold
    with tempfile.TemporaryDirectory(prefix="newsmon-cv-") as scratch:
        for k in range(folds):
            held = [i for i in range(len(items)) if fold[i] == k]
            model = Path(scratch) / f"fold-{k + 1}"
            train_topic_model([items[i] for i in range(len(items)) if fold[i] != k], labels, tables, model,
                              replace(options, folds=0), version=f"cv-fold-{k + 1}")
            classifier = make_classifier(topics, replace(classifier_settings, topic_model=str(model)))
            judged = classifier.classify_many([(items[i].title, items[i].text) for i in held])
            pairs += [(set(judgement.topics), set(items[i].labels)) for i, judgement in zip(held, judged)]
            logger.info("event=cv_fold fold=%d of=%d held_out=%d", k + 1, folds, len(held))
    return evaluate(labels, pairs)
