"""Benchmark of the classifier: items per second for the topic stage alone and for full enrichment,
on title+summary items and on full-body items, against spaCy's own ``nlp.pipe`` of the full
en_core_web_sm pipeline on the same texts in the same run.

Inputs: the labelled real-news corpus when ../shared is present (read, never copied), else generated
items (full-body: the first ``NEWSMON_BENCH_FULL_ITEMS``, default 200, so the run stays short).
One process, so the figures are per core. Each measurement is preceded by one warm-up pass
over the same texts (spaCy's tokenizer caches words), and the best of ``NEWSMON_BENCH_ROUNDS``
(default 2) timed passes is reported.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from newsmon.app import build_classifier
from pipeline.nlp.lemmas import load_spacy
from pipeline.settings import load_settings

CORPUS = Path(os.environ.get("NEWSMON_SHARED", REPO.parent / "shared")) / "corpora/real-news/items.jsonl"
ROUNDS = int(os.environ.get("NEWSMON_BENCH_ROUNDS", "2"))
# spaCy's full pipeline does about 4 of them a second
FULL_BODY_ITEMS = int(os.environ.get("NEWSMON_BENCH_FULL_ITEMS", "200"))

__all__ = ["run"]


def _texts() -> tuple[list[tuple[str, str]], list[tuple[str, str]], str]:
    """(title+summary items, full-body items, what they are), each as (title, text) pairs."""
    if not CORPUS.is_file():
        short = [(f"Security forces in Balochistan item {i}",
                  f"Security forces in Balochistan item {i}\n"
                  + "Counterterrorism cooperation and critical minerals. " * 6)
                 for i in range(1000)]
        long_items = [(t, x + "\n" + "The talks went on in Islamabad and Quetta. " * 80) for t, x in short]
        return short, long_items, "generated"
    short, full = [], []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        head = "\n".join(p for p in (row["title"], row.get("summary") or "") if p)
        short.append((row["title"], head))
        if row.get("body"):
            full.append((row["title"], head + "\n" + row["body"]))
    return short, full[:FULL_BODY_ITEMS], "real-news corpus"


def _rate(count: int, action: Callable[[], object]) -> float:
    action()  # warm-up
    best = min(_timed(action) for _ in range(ROUNDS))
    return count / best


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _measure(classifier, raw_nlp, items: Sequence[tuple[str, str]]) -> dict[str, float]:
    texts = [text for _, text in items]
    return {
        "topic stage": _rate(len(items), lambda: classifier.topic_stage(items)),
        "full enrichment": _rate(len(items), lambda: classifier.classify_many(items)),
        "spaCy nlp.pipe (en_core_web_sm, all components)": _rate(len(items), lambda: list(raw_nlp.pipe(texts))),
    }


def run() -> list[str]:
    settings = load_settings(None, {})
    classifier = build_classifier(settings)
    raw_nlp = load_spacy(settings.classifier.spacy_model)
    short, full, source = _texts()
    words_short = sum(len(t.split()) for _, t in short) / len(short)
    words_full = sum(len(t.split()) for _, t in full) / len(full)
    results = {"title+summary": _measure(classifier, raw_nlp, short), "full body": _measure(classifier, raw_nlp, full)}
    lines = ["## Classifier", "",
             f"Items from the {source}: {len(short)} title+summary items (mean {words_short:.0f} words) and {len(full)}"
             f" full-body items (mean {words_full:.0f} words; the classifier reads the first"
             f" {settings.classifier.max_chars} characters, NER the first {settings.classifier.ner_max_chars}, on items"
             f" with a topic or about PK/US/AF by the gazetteer). One process (per core), best of {ROUNDS}"
             " after a warm-up.",
             f"Classifier {classifier.version}.", "",
             "| items | stage | items/s |", "|---|---|---|"]
    for kind, rates in results.items():
        for stage, rate in rates.items():
            lines.append(f"| {kind} | {stage} | {rate:,.0f} |")
    return lines


if __name__ == "__main__":
    print("\n".join(run()))
