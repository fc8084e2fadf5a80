"""The trained half of the topic judgement: a linear bag-of-lemma-n-grams ``textcat_multilabel``.

The architecture (``newsmon.LemmaBOW.v1``) is spaCy's sparse linear BOW classifier over hashed
lemma n-grams instead of exact spellings, so "attacks" and "attacked" share a weight and a few
hundred labelled items go further, with length-normalised log counts (:func:`lemma_features`). It
needs no tok2vec, so it costs about as much as the tokenizer. A saved model is a folder with
``meta.json`` (``model_version``, labels, architecture, training summary) and ``textcat.bin``
(weights only: no vocabulary, no text): a few MB at most. The shipped one lives in
``pipeline/models/topics/``; ``classifier.topic_model`` points elsewhere.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from spacy.attrs import LEMMA
from spacy.language import Language
from spacy.pipeline.textcat_multilabel import MultiLabel_TextCategorizer
from spacy.util import registry
from thinc.api import Logistic, Model, SparseLinear_v2, chain, resizable, with_cpu
from thinc.layers.resizable import resize_linear_weighted, resize_model

__all__ = ["ARCHITECTURE", "TopicModelMeta", "lemma_bow", "add_textcat", "save_topic_model", "load_topic_model",
           "shipped_model_path"]

logger = logging.getLogger(__name__)

ARCHITECTURE = "newsmon.LemmaBOW.v1"
_NEG_VALUE = -5000.0
_PIPE = "textcat_multilabel"


def lemma_features(ngram_size: int) -> Model:
    """Hashed lemma n-grams of each doc with L2-normalised log counts: ``(1 + ln n) / norm``.

    spaCy's own extractor uses raw counts, so a long article's logit grows with its length and the
    model answers 0.00 or 1.00; normalised, a 40 KB briefing and a headline are on one scale.
    """
    def forward(model: Model, docs: list, is_train: bool) -> tuple:
        xp = model.ops.xp
        keys_all, vals_all, lengths = [], [], []
        for doc in docs:
            unigrams = model.ops.asarray(doc.to_array(LEMMA), dtype="uint64")
            # thinc hashes the uint64 lemma ids; its annotation says Ints1d
            grams = [unigrams] + [model.ops.ngrams(n, unigrams) for n in range(2, ngram_size + 1)]  # type: ignore[arg-type]
            keys, counts = xp.unique(xp.concatenate(grams), return_counts=True)
            weights = 1.0 + xp.log(counts.astype("f"))
            norm = float(xp.sqrt((weights * weights).sum())) or 1.0
            keys_all.append(keys)
            vals_all.append(weights / norm)
            lengths.append(keys.shape[0])
        output = (xp.concatenate(keys_all) if keys_all else xp.zeros((0,), dtype="uint64"),
                  model.ops.asarray(xp.concatenate(vals_all) if vals_all else xp.zeros((0,)), dtype="f"),
                  model.ops.asarray(lengths, dtype="int32"))
        return output, lambda dY: []

    return Model("newsmon_lemma_features", forward, attrs={"ngram_size": ngram_size})


@registry.architectures(ARCHITECTURE)
def lemma_bow(ngram_size: int = 2, length: int = 2 ** 18, nO: int | None = None) -> Model:
    """Logistic regression over hashed lemma n-grams (multi-label: one sigmoid per topic)."""
    sparse = SparseLinear_v2(nO=nO, length=2 ** (length - 1).bit_length())
    layer: Model = resizable(
        sparse, resize_layer=lambda m, n: resize_linear_weighted(m, n, fill_defaults={"b": _NEG_VALUE, "W": 0}))
    model: Model = chain(with_cpu(chain(lemma_features(ngram_size), layer), layer.ops), Logistic())
    if nO is not None:
        model.set_dim("nO", nO)
    model.set_ref("output_layer", sparse)
    model.attrs["multi_label"] = True

    def resize(model: Model, new_nO: int) -> Model:
        resize_model(layer, new_nO)
        model.set_ref("output_layer", layer.layers[0])
        model.set_dim("nO", new_nO, force=True)
        return model

    model.attrs["resize_output"] = resize
    return model


@dataclass(frozen=True)
class TopicModelMeta:
    """What a saved topic model says about itself."""

    model_version: str
    labels: tuple[str, ...]
    ngram_size: int = 2
    length: int = 2 ** 18
    max_chars: int = 4000
    training: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"model_version": self.model_version, "labels": list(self.labels), "architecture": ARCHITECTURE,
                "ngram_size": self.ngram_size, "length": self.length, "max_chars": self.max_chars,
                "training": self.training}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TopicModelMeta:
        if data.get("architecture", ARCHITECTURE) != ARCHITECTURE:
            raise ValueError(f"unknown architecture {data.get('architecture')!r} (expected {ARCHITECTURE})")
        return cls(str(data["model_version"]), tuple(data["labels"]), int(data.get("ngram_size", 2)),
                   int(data.get("length", 2 ** 18)), int(data.get("max_chars", 4000)), dict(data.get("training", {})))


def add_textcat(nlp: Language, meta: TopicModelMeta) -> Any:
    """Add an untrained ``textcat_multilabel`` with this architecture and the meta's labels."""
    config = {"model": {"@architectures": ARCHITECTURE, "ngram_size": meta.ngram_size, "length": meta.length},
              "threshold": 0.5}
    textcat = nlp.add_pipe(_PIPE, config=config)
    assert isinstance(textcat, MultiLabel_TextCategorizer)
    for label in meta.labels:
        textcat.add_label(label)
    return textcat


def save_topic_model(nlp: Language, meta: TopicModelMeta, folder: Path) -> None:
    """Write ``meta.json`` and ``textcat.bin`` (weights without the vocabulary) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    textcat = nlp.get_pipe(_PIPE)
    assert isinstance(textcat, MultiLabel_TextCategorizer)
    (folder / "textcat.bin").write_bytes(textcat.to_bytes(exclude=["vocab"]))
    (folder / "meta.json").write_text(json.dumps(meta.as_json(), indent=2, sort_keys=True) + "\n", encoding="utf-8")


def shipped_model_path() -> Path:
    """The topic model that ships with the package."""
    return Path(str(resources.files("pipeline").joinpath("models/topics")))


def load_topic_model(nlp: Language, folder: Path | None = None) -> TopicModelMeta:
    """Add the saved model in ``folder`` (default: the shipped one) to ``nlp``; returns its meta.

    Raises ``OSError`` when the folder or its files are missing, ``ValueError`` when they are invalid.
    """
    folder = folder or shipped_model_path()
    try:
        meta = TopicModelMeta.from_json(json.loads((folder / "meta.json").read_text(encoding="utf-8")))
        weights = (folder / "textcat.bin").read_bytes()
    except (KeyError, TypeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{folder}/meta.json: invalid topic model metadata: {exc}") from None
    textcat = add_textcat(nlp, meta)
    textcat.from_bytes(weights, exclude=["vocab"])
    logger.debug("event=topic_model_loaded path=%s model_version=%s labels=%s", folder, meta.model_version,
                ",".join(meta.labels))
    return meta
