"""Training the topic text model from labelled items (the eval format), reproducibly.

``newsmon train LABELS.jsonl --out DIR`` reads JSON lines with ``title``, ``summary``, optional
``body`` and ``labels``, builds the same documents the classifier builds (title, summary and the
start of the body, tokenised and lemmatised by the topic pipeline), and trains the
``textcat_multilabel`` of :mod:`pipeline.nlp.textcat` for a fixed number of epochs with a fixed seed.
The output folder is a model ``classifier.topic_model`` can point at; to ship one, write it to
``pipeline/models/topics``. Nothing of the training text is saved: only hashed-feature weights.
"""

from __future__ import annotations

import hashlib
import logging
import random
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

from spacy.language import Language
from spacy.training import Example
from spacy.util import fix_random_seed, minibatch

from pipeline.nlp.lemmas import LemmaTables, clip_text, topic_pipeline
from pipeline.nlp.textcat import TopicModelMeta, add_textcat, save_topic_model

__all__ = ["TrainingItem", "TrainingOptions", "train_topic_model", "training_items", "item_text"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingItem:
    id: str
    text: str
    labels: frozenset[str]


@dataclass(frozen=True)
class TrainingOptions:
    epochs: int = 30
    dropout: float = 0.2
    batch_size: int = 16
    learn_rate: float = 0.05
    ngram_size: int = 1
    length: int = 2 ** 17
    max_chars: int = 4000
    seed: int = 1


def item_text(title: str, summary: str, body: str | None) -> str:
    """Title, summary and body as one text, as ``RawItem.text`` builds it."""
    return "\n".join(part for part in (title, summary, body or "") if part)


def _version(items: Sequence[TrainingItem], options: TrainingOptions) -> str:
    digest = hashlib.sha256()
    for item in items:
        digest.update(f"{item.id}\t{','.join(sorted(item.labels))}\n".encode("utf-8"))
    digest.update(repr(options).encode("utf-8"))
    return f"hybrid-{datetime.now(timezone.utc):%Y%m%d}-{digest.hexdigest()[:8]}"


def _examples(nlp: Language, items: Sequence[TrainingItem], labels: Sequence[str], max_chars: int) -> list[Example]:
    docs = nlp.pipe(clip_text(item.text, max_chars) for item in items)
    return [Example.from_dict(doc, {"cats": {label: float(label in item.labels) for label in labels}})
            for doc, item in zip(docs, items)]


def train_topic_model(items: Sequence[TrainingItem], labels: Sequence[str], tables: LemmaTables, out: Path,
                      options: TrainingOptions = TrainingOptions(), version: str = "") -> TopicModelMeta:
    """Train on ``items`` and save to ``out``; returns the saved model's meta."""
    if not items:
        raise ValueError("no training items")
    fix_random_seed(options.seed)
    nlp = topic_pipeline(tables)
    counts = {label: sum(label in item.labels for item in items) for label in labels}
    meta = TopicModelMeta(
        model_version=version or _version(items, options), labels=tuple(labels), ngram_size=options.ngram_size,
        length=options.length, max_chars=options.max_chars,
        training={"items": len(items), "positives": counts, "epochs": options.epochs, "dropout": options.dropout,
                  "batch_size": options.batch_size, "learn_rate": options.learn_rate, "seed": options.seed},
    )
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
        logger.info("event=train_epoch epoch=%d loss=%.4f", epoch + 1, losses.get("textcat_multilabel", 0.0))
    save_topic_model(nlp, meta, out)
    return meta


def training_items(rows: Iterable[tuple[str, dict[str, Any]]], labels: Sequence[str]) -> list[TrainingItem]:
    """Training items from (where, row) pairs of the eval format; rows were validated by the caller."""
    items = []
    for where, row in rows:
        text = item_text(row.get("title") or "", row.get("summary") or "", row.get("body"))
        items.append(TrainingItem(str(row.get("id") or where), text, frozenset(row["labels"]) & set(labels)))
    return items
