"""Precision of the people the entity extractor emits, before and after the NER person filter.

There are no gold person labels, so the measurement is a judged sample. ``collect`` runs the
configured classifier over the shared real-news corpora (read, never copied; the text is built as
newsmon builds it, title + summary + body) and writes every distinct name it emits as a person,
with the number of items it came from: once with :class:`pipeline.nlp.person_names.PersonFilter`
(``--filter on``, the default) and once with the rule it replaced (``--filter off``: a lone word
that is an English lemma is dropped, nothing else). ``sample`` prints ``--n`` distinct names drawn
with a fixed seed from each collected file, plus (given a before and an after file) every name the
filter drops, each with its judgement so far. The names are judged by hand in
``person_judgements.tsv`` (beside this script; its header gives the rules): ``P`` a person's name,
``G`` a person's name garbled by other words, ``N`` no person. ``report`` prints precision (the P
share, and the P+G share) of each sample, how many distinct names the filter drops or trims, and
the judged people it drops (the recall cost)::

    python bench/person_precision.py collect --filter off --out /tmp/persons-before.json
    python bench/person_precision.py collect --out /tmp/persons-after.json
    python bench/person_precision.py sample /tmp/persons-before.json /tmp/persons-after.json  # to judge
    python bench/person_precision.py report /tmp/persons-before.json /tmp/persons-after.json

``--words PATH`` (collect, sample, report) uses word lists other than the shipped ones: built from
real-news-2 only and collected with ``--corpus ../shared/corpora/real-news``, it measures the
filter out of the lists' sample. Figures of 2026-12-03 (seed 20261203, n=200, judged by the AI
assistant that wrote the filter):

* both corpora, shipped lists: precision 0.755 -> 0.890 (P+G 0.770 -> 0.915); 1,682 -> 1,351
  distinct names; 336 dropped, judged 290 N, 8 G, 38 P;
* real-news only, lists from real-news-2 only: 0.795 -> 0.920 (P+G 0.810 -> 0.945); 98 dropped,
  judged 75 N, 1 G, 22 P.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.classify import open_classifier
from pipeline.nlp.person_names import PersonWords
from pipeline.settings import load_settings

SHARED = Path(os.environ.get("NEWSMON_SHARED", REPO.parent / "shared")) / "corpora"
CORPORA = (SHARED / "real-news", SHARED / "real-news-2")
JUDGEMENTS = Path(__file__).resolve().parent / "person_judgements.tsv"
SEED = 20261203
SAMPLE = 200


class LegacyRule:
    """The rule before the filter: keep any name of two words or more, or one word no English lemma."""

    def __init__(self, english: set[str]) -> None:
        self._english = english

    def name(self, text: str, before: str = "") -> str:
        return text if " " in text or text.lower() not in self._english else ""


def _items(folders: list[Path]) -> list[tuple[str, str]]:
    items = []
    for folder in folders:
        for line in (folder / "items.jsonl").read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                text = "\n".join(p for p in (row["title"], row.get("summary"), row.get("body")) if p)
                items.append((row["title"], text))
    return items


def collect(folders: list[Path], filter_on: bool, words: Path | None) -> Counter[str]:
    """Distinct names emitted as persons -> number of items, with the configured classifier."""
    settings = load_settings(None, {})
    classifier: Any = open_classifier(settings.topics, settings.classifier)
    extractor = classifier._entities  # the HybridClassifier's EntityExtractor
    if not filter_on:
        extractor.person_filter = LegacyRule(extractor._english)
    elif words is not None:
        extractor.person_filter = extractor.person_filter_for(PersonWords.from_yaml(words.read_text(encoding="utf-8")))
    items = _items(folders)
    found: Counter[str] = Counter()
    for start in range(0, len(items), 64):
        for judgement in classifier.classify_many(items[start:start + 64]):
            found.update(judgement.enrichment.entities["persons"])
    return found


def draw(names: list[str], n: int = SAMPLE, seed: int = SEED) -> list[str]:
    """``n`` distinct names drawn with a fixed seed from the sorted list (all of them if fewer)."""
    pool = sorted(set(names))
    return random.Random(seed).sample(pool, min(n, len(pool)))


def load_judgements(path: Path = JUDGEMENTS) -> dict[str, str]:
    judged = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, label = line.rsplit("\t", 1)
            judged[name] = label.strip()
    return judged


def precision(sample: list[str], judged: dict[str, str]) -> str:
    counts = Counter(judged.get(name, "?") for name in sample)
    n = len(sample)
    return (f"n={n} P={counts['P']} G={counts['G']} N={counts['N']} unjudged={counts['?']}:"
            f" precision {counts['P'] / n:.3f} (P+G {(counts['P'] + counts['G']) / n:.3f})")


def shipped_filter(words: Path | None = None) -> Any:
    """The filter the extractor builds (shipped word lists, or ``words``), without loading a model."""
    import spacy

    from pipeline.nlp.entities import EntityExtractor, load_gazetteer_data
    from pipeline.nlp.geo import geography

    lists = PersonWords.from_yaml(words.read_text(encoding="utf-8")) if words else None
    return EntityExtractor(spacy.blank("en"), load_gazetteer_data(), geography(), set(), lists).person_filter


def fates(before: Counter[str], after: Counter[str], person_filter: Any) -> dict[str, list[str]]:
    """Each before-name not emitted after: ``trimmed`` when the filter keeps part of it (emitted, or merged
    into a longer name of its item), else ``dropped``."""
    out: dict[str, list[str]] = {"trimmed": [], "dropped": []}
    for name in sorted(set(before) - set(after)):
        out["trimmed" if person_filter.name(name) else "dropped"].append(name)
    return out


def report(before: Counter[str], after: Counter[str], judged: dict[str, str], n: int, seed: int,
           person_filter: Any) -> list[str]:
    lines = [f"distinct names: before {len(before)}, after {len(after)}; mentions (item x name):"
             f" before {sum(before.values())}, after {sum(after.values())}",
             f"before sample: {precision(draw(list(before), n, seed), judged)}",
             f"after sample:  {precision(draw(list(after), n, seed), judged)}"]
    fate = fates(before, after, person_filter)
    dropped = fate["dropped"]
    labels = Counter(judged.get(name, "?") for name in dropped)
    lines.append(f"before-names not emitted after: {len(fate['trimmed']) + len(dropped)}; trimmed to a name still"
                 f" emitted or merged: {len(fate['trimmed'])}; dropped: {len(dropped)} (judged P={labels['P']}"
                 f" G={labels['G']} N={labels['N']} unjudged={labels['?']})")
    lines.append(f"people dropped ({labels['P']}): {', '.join(x for x in dropped if judged.get(x) == 'P')}")
    kept_bad = sorted(x for x in after if judged.get(x) == "N")
    lines.append(f"judged non-people still emitted ({len(kept_bad)}): {', '.join(kept_bad)}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("collect", help="run the classifier over the corpora, write the persons")
    run.add_argument("--filter", choices=("on", "off"), default="on")
    run.add_argument("--words", type=Path, help="word lists to use instead of the shipped ones")
    run.add_argument("--corpus", type=Path, action="append", help="corpus folder (default: both real-news)")
    run.add_argument("--out", type=Path, required=True)
    for name in ("sample", "report"):
        cmd = sub.add_parser(name)
        cmd.add_argument("files", type=Path, nargs="+", help="collected files (report: before, after)")
        cmd.add_argument("--n", type=int, default=SAMPLE)
        cmd.add_argument("--seed", type=int, default=SEED)
        cmd.add_argument("--words", type=Path, help="the word lists the after-file was collected with")
    args = parser.parse_args(argv)
    if args.command == "collect":
        found = collect(args.corpus or list(CORPORA), args.filter == "on", args.words)
        args.out.write_text(json.dumps(dict(found.most_common()), ensure_ascii=False, indent=0), encoding="utf-8")
        print(f"{args.out}: {len(found)} distinct names")
        return 0
    loaded = [Counter(json.loads(path.read_text(encoding="utf-8"))) for path in args.files]
    person_filter = shipped_filter(args.words)
    if args.command == "sample":  # the drawn names, and (with two files) every name the second drops
        judged = load_judgements() if JUDGEMENTS.is_file() else {}
        names = {x for found in loaded for x in draw(list(found), args.n, args.seed)}
        if len(loaded) == 2:
            names |= set(fates(loaded[0], loaded[1], person_filter)["dropped"])
        for name in sorted(names):
            print(f"{name}\t{judged.get(name, '')}")
        return 0
    print("\n".join(report(loaded[0], loaded[1], load_judgements(), args.n, args.seed, person_filter)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
