"""What analysts' corrections are worth: held-out macro F1 before and after 50 verdicts.

A desk starts from a model trained on the real-news corpus's training split alone. Its feeds then
bring the items of real-news-2's training split (never a held-out item of either corpus); analysts see
the model's mistakes on them and correct 50 (one verdict per wrong topic, the corpus label being what
the analyst says), in a deterministic order (SHA-256 of the item id and topic). ``newsmon train
--feedback`` adds those items, labelled as ``labels export`` would write them (the model's topics,
corrected by the verdicts), to the same training file. The control spends the same 50 verdicts on
(item, topic) pairs of those incoming items drawn without looking at the model, so the difference is
what choosing the mistakes buys over merely adding items. Each model is judged with ``newsmon eval``
on both corpora's held-out splits, from the repository root (its ``newsmon.yaml`` gives the home
countries).

    python bench/feedback_corrections.py          # prints a Markdown table; about six minutes here

Not part of ``make bench``: it measures judgement, not speed.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from pipeline.nlp.corpus import join_corpus, write_rows

SHARED = Path(os.environ.get("NEWSMON_SHARED", REPO.parent / "shared")) / "corpora"
TOPICS = ("counterterrorism", "minerals_cooperation")
CORRECTIONS = int(os.environ.get("NEWSMON_BENCH_CORRECTIONS", "50"))


def newsmon(*args: str, model: Path | None = None) -> str:
    env = {**os.environ, **({"NEWSMON_CLASSIFIER_TOPIC_MODEL": str(model)} if model else {})}
    done = subprocess.run([sys.executable, "-m", "newsmon.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"newsmon {' '.join(args)}: {done.stderr.strip()[-500:]}")
    return done.stdout


def _order(key: str) -> str:
    return hashlib.sha256(f"newsmon-corrections:{key}".encode()).hexdigest()


def export_rows(rows: list[dict], predicted: dict[str, set[str]], verdicts: list[tuple[str, str]]) -> list[dict]:
    """``labels export`` rows for (item id, topic) verdicts, each saying what the corpus label says."""
    by_id = {row["id"]: row for row in rows}
    out: dict[str, dict] = {}
    for item_id, topic in verdicts:
        row = by_id[item_id]
        entry = out.setdefault(item_id, {**row, "labels": sorted(predicted[item_id]), "verdicts": {}})
        on_topic = topic in row["labels"]
        entry["verdicts"][topic] = "yes" if on_topic else "no"
        entry["labels"] = sorted((set(entry["labels"]) | {topic}) if on_topic else (set(entry["labels"]) - {topic}))
    return list(out.values())


def macro_f1(model: Path, heldout: dict[str, Path]) -> dict[str, float]:
    return {name: json.loads(newsmon("eval", str(path), "--json", model=model))["macro_f1"]
            for name, path in heldout.items()}


def main() -> None:
    first, second = join_corpus(SHARED / "real-news"), join_corpus(SHARED / "real-news-2")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        heldout = {}
        for name, rows in (("real-news", first), ("real-news-2", second)):
            heldout[name] = tmp / f"heldout-{name}.jsonl"
            write_rows(heldout[name], [r for r in rows if r["split"] == "heldout"])
        base_rows = [r for r in first if r["split"] == "train"]
        incoming = [r for r in second if r["split"] == "train"]
        base_file, incoming_file = tmp / "train.jsonl", tmp / "incoming.jsonl"
        write_rows(base_file, base_rows)
        write_rows(incoming_file, incoming)
        newsmon("train", str(base_file), "--out", str(tmp / "base"))
        predicted = {json.loads(line)["id"]: set(json.loads(line)["topics"])
                     for line in newsmon("classify", str(incoming_file), model=tmp / "base").splitlines()}
        labels = {r["id"]: set(r["labels"]) for r in incoming}
        pairs = sorted(((r["id"], t) for r in incoming for t in TOPICS), key=lambda p: _order(f"{p[0]}:{p[1]}"))
        mistakes = [(i, t) for i, t in pairs if (t in predicted[i]) != (t in labels[i])]
        chosen = {"corrections of the model's mistakes": mistakes[:CORRECTIONS],
                  "verdicts drawn at random": pairs[:CORRECTIONS]}
        figures = {"trained on real-news train only": macro_f1(tmp / "base", heldout)}
        for label, verdicts in chosen.items():
            export = tmp / "export.jsonl"
            write_rows(export, export_rows(incoming, predicted, verdicts))
            model = tmp / label.split()[0]
            newsmon("train", str(base_file), "--feedback", str(export), "--out", str(model))
            agreeing = sum(1 for i, t in verdicts if (t in predicted[i]) == (t in labels[i]))
            figures[f"+ {len(verdicts)} {label} ({agreeing} agreed with the model)"] = macro_f1(model, heldout)
    print(f"Mistakes of the base model on real-news-2's {len(incoming)} training items: {len(mistakes)} (item, topic).")
    print("\n| model | held-out macro F1, real-news | real-news-2 |\n|---|---|---|")
    for label, f1 in figures.items():
        print(f"| {label} | {f1['real-news']:.3f} | {f1['real-news-2']:.3f} |")


if __name__ == "__main__":
    main()
