"""``newsmon train FILE --out DIR``: train the topic text model from labelled JSON lines (the eval format)."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

from pipeline.commands.text import _labels, _text_field, read_json_lines
from pipeline.errors import ConfigError, UserInputError
from pipeline.settings import Settings

__all__ = ["cmd_train"]

logger = logging.getLogger(__name__)


def _rows(path: str, topics: set[str]) -> list[tuple[str, dict]]:
    rows = []
    for where, data in read_json_lines(path):
        _text_field(data, "title", where, required=True)
        _labels(data, where, topics)
        rows.append((where, data))
    if not rows:
        raise UserInputError(f"{path}: no labelled items")
    return rows


def cmd_train(settings: Settings, path: str, out: str, epochs: int | None, seed: int | None) -> int:
    """Train on every item of ``path`` (hold your evaluation items out yourself) and save to ``out``."""
    from pipeline.nlp.lemmas import LemmaTables, load_spacy
    from pipeline.nlp.train import TrainingOptions, train_topic_model, training_items

    if path != "-" and not Path(path).is_file():
        raise UserInputError(f"{path}: no such file")
    labels = list(settings.topics)
    items = training_items(_rows(path, set(labels)), labels)
    try:
        tables = LemmaTables.from_nlp(load_spacy(settings.classifier.spacy_model,
                                                 exclude=["parser", "tagger", "ner", "attribute_ruler", "tok2vec"]))
    except OSError as exc:
        raise ConfigError(f"{settings.source}: classifier.spacy_model: {exc}") from None
    options = TrainingOptions(max_chars=settings.classifier.max_chars)
    if epochs is not None:
        options = replace(options, epochs=epochs)
    if seed is not None:
        options = replace(options, seed=seed)
    meta = train_topic_model(items, labels, tables, Path(out), options)
    positives = ", ".join(f"{k}={v}" for k, v in meta.training["positives"].items())
    print(f"{out}: model_version={meta.model_version} items={len(items)} positives: {positives}")
    print(f"use it with classifier.topic_model: {out} (or NEWSMON_CLASSIFIER_TOPIC_MODEL={out})")
    return 0
