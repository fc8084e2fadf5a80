"""``newsmon train FILE --out DIR``: train the topic text model from labelled JSON lines (the eval format);
``--cross-validate K`` estimates instead how such a model judges items it has not seen."""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import replace
from pathlib import Path

from newsmon.commands.text import _labels, _text_field, print_evaluation, read_json_lines
from newsmon.console import ProgressLine
from pipeline.errors import ConfigError, UserInputError
from pipeline.feedback import merge_training_rows
from pipeline.settings import Settings

__all__ = ["cmd_train"]

logger = logging.getLogger(__name__)


def _rows(path: str, topics: set[str], feedback: str | None = None) -> list[tuple[str, dict]]:
    """The labelled rows of ``path``, with the verdicts of a ``labels export`` file applied (``--feedback``)."""
    rows = _read_labelled(path, topics)
    if feedback is None:
        return rows
    exported = _read_labelled(feedback, topics)
    where = {id(data): at for at, data in [*rows, *exported]}
    merged = merge_training_rows([data for _, data in rows], [data for _, data in exported])
    logger.info("event=feedback_merged file=%s verdict_rows=%d items=%d", feedback, len(exported), len(merged))
    return [(where.get(id(data), feedback), data) for data in merged]


def _read_labelled(path: str, topics: set[str]) -> list[tuple[str, dict]]:
    if path != "-" and not Path(path).is_file():
        raise UserInputError(f"{path}: no such file")
    rows = []
    for where, data in read_json_lines(path):
        _text_field(data, "title", where, required=True)
        _labels(data, where, topics)
        rows.append((where, data))
    if not rows:
        raise UserInputError(f"{path}: no labelled items")
    return rows


def _print_cross_validation(folder: Path) -> None:
    """The out-of-fold figures ``combiner.json`` records (the model's own estimate of how it will do)."""
    from pipeline.nlp.combiner import COMBINER_FILE

    path = folder / COMBINER_FILE
    if not path.is_file():
        return
    summary = json.loads(path.read_text(encoding="utf-8")).get("cross_validation", {})
    for name, m in summary.get("topics", {}).items():
        print(f"{name}: {summary.get('folds')}-fold cross-validated precision={m['precision']:.3f}"
              f" recall={m['recall']:.3f} f1={m['f1']:.3f} support={m['support']}")


def _training_setup(settings: Settings, path: str, epochs: int | None, seed: int | None,
                    combiner_folds: int | None, short_copies: bool, feedback: str | None = None):
    """The labelled items, the lemma tables and the training options, as every training command needs them."""
    from pipeline.nlp.lemmas import LemmaTables, load_spacy
    from pipeline.nlp.train import TrainingOptions, training_items

    labels = list(settings.topics)
    items = training_items(_rows(path, set(labels), feedback), labels)
    try:
        tables = LemmaTables.from_nlp(load_spacy(settings.classifier.spacy_model,
                                                 exclude=["parser", "tagger", "ner", "attribute_ruler", "tok2vec"]))
    except OSError as exc:
        raise ConfigError(f"{settings.source}: classifier.spacy_model: {exc}") from None
    options = TrainingOptions(max_chars=settings.classifier.max_chars, short_copies=short_copies)
    if epochs is not None:
        options = replace(options, epochs=epochs)
    if seed is not None:
        options = replace(options, seed=seed)
    if combiner_folds is not None:
        options = replace(options, folds=combiner_folds)
    return items, tables, options


def cmd_train(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    """``newsmon train``: save a model, or with ``--cross-validate K`` only measure how one generalises.

    Which flags go together is checked here, after the configuration loaded."""
    short_copies = not args.no_short_copies
    if args.cross_validate is not None:
        if args.combiner_folds is not None:
            raise UserInputError("--combiner-folds: not with --cross-validate (it measures the hand blend)")
        return _cross_validate(settings, args.file, args.cross_validate, args.epochs, args.seed,
                               short_copies=short_copies, as_json=args.json, feedback=args.feedback)
    if args.json:
        raise UserInputError("--json: only with --cross-validate (training prints what it saved)")
    return _train(settings, args.file, args.out, args.epochs, args.seed, args.combiner_folds, short_copies=short_copies,
                  feedback=args.feedback)


def _train(settings: Settings, path: str, out: str, epochs: int | None, seed: int | None,
           combiner_folds: int | None = None, short_copies: bool = True, feedback: str | None = None) -> int:
    """Train on every item of ``path`` (hold your evaluation items out yourself) and save to ``out``."""
    from pipeline.nlp.combiner import load_combiners
    from pipeline.nlp.train import train_topic_model

    items, tables, options = _training_setup(settings, path, epochs, seed, combiner_folds, short_copies, feedback)
    labels = list(settings.topics)
    meta = train_topic_model(items, labels, tables, Path(out), options, topics=settings.topics)
    positives = ", ".join(f"{k}={v}" for k, v in meta.training["positives"].items())
    print(f"{out}: model_version={meta.model_version} items={len(items)} positives: {positives}")
    for name, combiner in load_combiners(Path(out), labels).items():
        print(f"{name}: combiner threshold={combiner.threshold:.3f}")
    _print_cross_validation(Path(out))
    print(f"use it with classifier.topic_model: {out} (or NEWSMON_CLASSIFIER_TOPIC_MODEL={out})")
    return 0


def _cross_validate(settings: Settings, path: str, folds: int, epochs: int | None, seed: int | None,
                    short_copies: bool = True, as_json: bool = False, feedback: str | None = None) -> int:
    """Judge every item of ``path`` with a model trained on the other folds; print the pooled figures."""
    from pipeline.classify import classifier_factory
    from pipeline.nlp.crossval import MIN_FOLDS, cross_validate

    if folds < MIN_FOLDS:
        raise UserInputError(f"--cross-validate: expected at least {MIN_FOLDS} folds, got {folds}")
    items, tables, options = _training_setup(settings, path, epochs, seed, None, short_copies, feedback)
    if folds > len(items):
        raise UserInputError(f"--cross-validate: {folds} folds but only {len(items)} items in {path}")
    make_classifier = classifier_factory(settings.classifier.kind)
    result = cross_validate(items, settings.topics, tables, settings.classifier, options, folds, make_classifier)
    if as_json:
        print(json.dumps({"folds": folds, **result.as_json()}))
    else:
        print(f"{folds}-fold cross-validation over {len(items)} items (each judged by a model trained without it)")
        print_evaluation(result)
    return 0
