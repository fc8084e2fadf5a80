"""Training the topic text model and its rule/model combiners from labelled items (the eval format).

``newsmon train LABELS.jsonl --out DIR`` reads JSON lines with ``title``, ``summary``, optional
``body`` and ``labels``, builds the same documents the classifier builds (title, summary and the
start of the body, tokenised and lemmatised by the topic pipeline), and trains the
``textcat_multilabel`` of :mod:`pipeline.nlp.textcat` for a fixed number of epochs with a fixed seed.
Each item with a body is given to the text model twice: whole, and as its title and summary alone
(``short_copies``), as most feeds deliver items.

With the topic definitions at hand it also fits, per topic, the combiner of :mod:`pipeline.nlp.combiner`:
the items are cut into ``folds`` folds (by a hash of the id, within each label combination); the
text model is trained on all folds but one and scores the one left out, so every item gets a
model probability from a model that never saw it; the combiner is fitted on those probabilities
and the items' rule scores, its threshold the best F1 whose inner cross-validated precision
reaches ``min_precision`` (else the best F1). Then the text model is trained once more on every
item. The out-of-fold figures are saved in ``combiner.json`` as the model's own estimate.

The output folder is a model ``classifier.topic_model`` can point at; to ship one, write it to
``pipeline/models/topics``. Nothing of the training text is saved: only hashed-feature weights.
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy
from spacy.language import Language
from spacy.training import Example
from spacy.util import fix_random_seed, minibatch

from pipeline.evaluate import TopicMetrics
from pipeline.nlp.combiner import Combiner, features, fit_combiner, save_combiners
from pipeline.nlp.lemma_rules import LemmaRules, RuleScore
from pipeline.nlp.lemmas import LemmaTables, clip_text, topic_pipeline
from pipeline.nlp.textcat import TopicModelMeta, add_textcat, save_topic_model
from pipeline.topics import TopicDefinition

__all__ = ["TrainingItem", "TrainingOptions", "train_topic_model", "training_items", "item_text", "fit_combiners",
           "fold_of", "rule_scores", "with_short_copies"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingItem:
    id: str
    text: str  # title, summary and body, as item_text builds it
    labels: frozenset[str]
    title: str = ""  # the start of ``text`` that is the title (rules count a title phrase twice)
    short: str = ""  # title and summary alone, when ``text`` also has a body ("" otherwise)


@dataclass(frozen=True)
class TrainingOptions:
    epochs: int = 60
    dropout: float = 0.0
    batch_size: int = 16
    learn_rate: float = 0.05
    ngram_size: int = 1
    length: int = 2 ** 17
    max_chars: int = 4000
    seed: int = 1
    folds: int = 0  # cross-validation folds for the learned combiners (below 2: none; the hand blend decides)
    min_precision: float = 0.9  # wanted out-of-fold precision when choosing each topic's threshold
    short_copies: bool = True  # also learn from each full-text item's title and summary alone, as most feeds send them


def item_text(title: str, summary: str, body: str | None) -> str:
    """Title, summary and body as one text, as ``RawItem.text`` builds it."""
    return "\n".join(part for part in (title, summary, body or "") if part)


def _version(items: Sequence[TrainingItem], options: TrainingOptions,
             topics: Mapping[str, TopicDefinition] | None) -> str:
    digest = hashlib.sha256()
    for item in items:
        digest.update(f"{item.id}\t{','.join(sorted(item.labels))}\n".encode())
    digest.update(repr(options).encode("utf-8"))
    digest.update(repr(sorted((topics or {}).items())).encode("utf-8"))  # the combiners depend on the rules
    return f"hybrid-{datetime.now(UTC):%Y%m%d}-{digest.hexdigest()[:8]}"


def _examples(nlp: Language, items: Sequence[TrainingItem], labels: Sequence[str], max_chars: int) -> list[Example]:
    docs = nlp.pipe(clip_text(item.text, max_chars) for item in items)
    return [Example.from_dict(doc, {"cats": {label: float(label in item.labels) for label in labels}})
            for doc, item in zip(docs, items)]


def with_short_copies(items: Sequence[TrainingItem]) -> list[TrainingItem]:
    """``items`` plus, for each that has a body, a copy holding only its title and summary (same labels)."""
    return list(items) + [replace(item, text=item.short, short="") for item in items if item.short]


def _fit_textcat(items: Sequence[TrainingItem], labels: Sequence[str], tables: LemmaTables, meta: TopicModelMeta,
                 options: TrainingOptions) -> Language:
    """A topic pipeline whose ``textcat_multilabel`` is trained on ``items`` (with their short copies, if asked)."""
    fix_random_seed(options.seed)
    if options.short_copies:
        items = with_short_copies(items)
    nlp = topic_pipeline(tables)
    add_textcat(nlp, meta)
    examples = _examples(nlp, items, labels, options.max_chars)
    optimizer = nlp.initialize(lambda: examples)
    optimizer.learn_rate = options.learn_rate
    rng = random.Random(options.seed)
    for epoch in range(options.epochs):
        rng.shuffle(examples)
        losses: dict[str, float] = {}
        for batch in minibatch(examples, size=options.batch_size):
            nlp.update(batch, drop=options.dropout, sgd=optimizer, losses=losses)
        logger.debug("event=train_epoch epoch=%d loss=%.4f", epoch + 1, losses.get("textcat_multilabel", 0.0))
    return nlp


def fold_of(items: Sequence[TrainingItem], folds: int) -> numpy.ndarray:
    """A fold number per item: within each label combination, items ordered by a hash of the id, dealt round."""
    strata: dict[frozenset[str], list[int]] = {}
    for i, item in enumerate(items):
        strata.setdefault(item.labels, []).append(i)
    out = numpy.zeros(len(items), dtype=int)
    for members in strata.values():
        ranked = sorted(members, key=lambda i: hashlib.sha256(f"newsmon-cv:{items[i].id}".encode()).hexdigest())
        for rank, i in enumerate(ranked):
            out[i] = rank % folds
    return out


def rule_scores(items: Sequence[TrainingItem], topics: Mapping[str, TopicDefinition], tables: LemmaTables,
                max_chars: int) -> list[dict[str, RuleScore]]:
    """Every item's rule scores, from the same documents the classifier builds."""
    nlp = topic_pipeline(tables)
    rules = LemmaRules(nlp, topics)
    scores = []
    for item, doc in zip(items, nlp.pipe(clip_text(item.text, max_chars) for item in items)):
        title_tokens = next((t.i for t in doc if t.idx >= len(item.title)), len(doc))
        scores.append(rules.score(doc, title_tokens))
    return scores


def _out_of_fold(items: Sequence[TrainingItem], labels: Sequence[str], tables: LemmaTables, meta: TopicModelMeta,
                 options: TrainingOptions, fold: numpy.ndarray) -> list[dict[str, float]]:
    """Every item's text-model probabilities from a model trained on the other folds."""
    cats: list[dict[str, float]] = [{} for _ in items]
    for k in range(options.folds):
        held = [i for i in range(len(items)) if fold[i] == k]
        nlp = _fit_textcat([items[i] for i in range(len(items)) if fold[i] != k], labels, tables, meta, options)
        for i, doc in zip(held, nlp.pipe(clip_text(items[i].text, options.max_chars) for i in held)):
            cats[i] = dict(doc.cats)
        logger.info("event=train_fold fold=%d held_out=%d", k + 1, len(held))
    return cats


def _prf(chosen: numpy.ndarray, truth: numpy.ndarray) -> dict[str, float]:
    return TopicMetrics(int((chosen & truth).sum()), int((chosen & ~truth).sum()), int((~chosen & truth).sum()),
                        int((~chosen & ~truth).sum())).as_json()


def fit_combiners(items: Sequence[TrainingItem], labels: Sequence[str], topics: Mapping[str, TopicDefinition],
                  tables: LemmaTables, meta: TopicModelMeta,
                  options: TrainingOptions) -> tuple[dict[str, Combiner], dict[str, Any]]:
    """Per topic with a definition and enough examples: its combiner, and the out-of-fold figures.

    The figures are nested: each fold's decisions come from a combiner fitted on the other folds.
    """
    fold = fold_of(items, options.folds)
    cats = _out_of_fold(items, labels, tables, meta, options, fold)
    rules = rule_scores(items, topics, tables, options.max_chars)
    combiners: dict[str, Combiner] = {}
    summary: dict[str, Any] = {"folds": options.folds, "min_precision": options.min_precision, "topics": {}}
    for name in labels:
        truth = numpy.array([name in item.labels for item in items])
        if name not in topics or min(int(truth.sum()), int((~truth).sum())) < options.folds:
            logger.warning("event=no_combiner topic=%s reason=too_few_examples_or_no_rules", name)
            continue
        x = numpy.array([features(c[name], r[name].positive, r[name].negative) for c, r in zip(cats, rules)])
        veto = numpy.array([r[name].veto for r in rules])
        chosen = numpy.zeros(len(items), dtype=bool)
        for k in range(options.folds):
            held = fold == k
            inner = fit_combiner(x[~held], truth[~held], fold[~held], options.min_precision)
            chosen[held] = [inner.score_features(row) >= inner.threshold for row in x[held]]
        combiners[name] = fit_combiner(x, truth, fold, options.min_precision)
        summary["topics"][name] = _prf(chosen & ~veto, truth)
    return combiners, summary


def train_topic_model(items: Sequence[TrainingItem], labels: Sequence[str], tables: LemmaTables, out: Path,
                      options: TrainingOptions = TrainingOptions(), version: str = "",
                      topics: Mapping[str, TopicDefinition] | None = None) -> TopicModelMeta:
    """Train on ``items`` and save to ``out`` (with combiners when ``topics`` is given); returns the meta."""
    if not items:
        raise ValueError("no training items")
    counts = {label: sum(label in item.labels for item in items) for label in labels}
    meta = TopicModelMeta(
        model_version=version or _version(items, options, topics if options.folds >= 2 else None),
        labels=tuple(labels), ngram_size=options.ngram_size,
        length=options.length, max_chars=options.max_chars,
        training={"items": len(items), "positives": counts, "epochs": options.epochs, "dropout": options.dropout,
                  "batch_size": options.batch_size, "learn_rate": options.learn_rate, "seed": options.seed,
                  "folds": options.folds, "min_precision": options.min_precision,
                  "short_copies": options.short_copies},
    )
    combiners: dict[str, Combiner] = {}
    if topics and options.folds >= 2:
        combiners, summary = fit_combiners(items, labels, topics, tables, meta, options)
    save_topic_model(_fit_textcat(items, labels, tables, meta, options), meta, out)
    if combiners:
        save_combiners(out, combiners, summary)
    return meta


def training_items(rows: Iterable[tuple[str, dict[str, Any]]], labels: Sequence[str]) -> list[TrainingItem]:
    """Training items from (where, row) pairs of the eval format; rows were validated by the caller."""
    items = []
    for where, row in rows:
        title, summary = row.get("title") or "", row.get("summary") or ""
        text = item_text(title, summary, row.get("body"))
        short = item_text(title, summary, None)
        items.append(TrainingItem(str(row.get("id") or where), text, frozenset(row["labels"]) & set(labels),
                                  title, short if short != text else ""))
    return items
