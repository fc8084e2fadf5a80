"""Labelled corpora in the eval format, and the fixed train / held-out split.

The shared real-news corpora keep items (``items.jsonl``) and labels (``labels.jsonl``) apart; this
module joins them into the format ``newsmon eval`` and ``newsmon train`` read (``id, title, summary,
body, labels, countries``, plus the corpus's ``split``) and splits them into training and held-out
items. A corpus whose labels carry a ``split`` (``train`` or ``heldout``) is split by it, so
relabelling an item never moves it. A corpus without one is split reproducibly: within each label
combination (ct only, minerals only, both, neither) the items are ordered by the SHA-256 of
``"newsmon-split:" + id`` and every item whose rank modulo 10 is below ``10 * fraction`` is held
out. The files are written outside the repository::

    python -m pipeline.nlp.corpus ../shared/corpora/real-news --out /tmp/real-news
    # -> all.jsonl, train.jsonl (the 762 items of split train), heldout.jsonl (the 334 of heldout)

Several folders are joined in the order given: ``all``, ``train`` and ``heldout`` hold every
corpus's rows, and ``heldout-<folder name>.jsonl`` each corpus's held-out rows alone, since each
corpus is judged on its own held-out split::

    python -m pipeline.nlp.corpus ../shared/corpora/real-news ../shared/corpora/real-news-2 --out /tmp/corpora
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

__all__ = ["LABEL_KEYS", "join_corpus", "split_rows", "write_rows", "main"]

logger = logging.getLogger(__name__)

LABEL_KEYS = {"ct": "counterterrorism", "min": "minerals_cooperation"}
SPLITS = ("train", "heldout")


def join_corpus(folder: Path) -> list[dict[str, Any]]:
    """Rows in the eval format from ``items.jsonl`` and ``labels.jsonl`` (in the labels' order)."""
    items = {}
    for line in (folder / "items.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            items[row["id"]] = row
    rows = []
    for line in (folder / "labels.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        label = json.loads(line)
        item = items[label["id"]]
        row = {
            "id": item["id"], "source": item.get("source", ""), "title": item["title"],
            "summary": item.get("summary") or "", "body": item.get("body"),
            "labels": [name for key, name in LABEL_KEYS.items() if label.get(key)],
            "countries": list(label.get("countries") or []),
        }
        if label.get("split"):
            row["split"] = _split_name(label["split"], label["id"])
        rows.append(row)
    return rows


def _split_name(value: Any, item_id: str) -> str:
    if value not in SPLITS:
        raise ValueError(f"labels.jsonl: item {item_id}: field 'split': expected train or heldout, got {value!r}")
    return value


def _rank_key(item_id: str) -> str:
    return hashlib.sha256(f"newsmon-split:{item_id}".encode()).hexdigest()


def split_rows(rows: Sequence[dict[str, Any]], fraction: float = 0.3) -> tuple[list[dict], list[dict]]:
    """(train, held out): by each row's fixed ``split`` when every row has one, else a stratified
    split by label combination, ordered by a hash of the id, holding out ``fraction``."""
    if rows and all(row.get("split") for row in rows):
        return ([r for r in rows if r["split"] == "train"], [r for r in rows if r["split"] == "heldout"])
    held_ids: set[str] = set()
    strata: dict[tuple[str, ...], list[str]] = {}
    for row in rows:
        strata.setdefault(tuple(sorted(row.get("labels") or [])), []).append(row["id"])
    cutoff = round(10 * fraction)
    for ids in strata.values():
        for rank, item_id in enumerate(sorted(ids, key=_rank_key)):
            if rank % 10 < cutoff:
                held_ids.add(item_id)
    train = [r for r in rows if r["id"] not in held_ids]
    held = [r for r in rows if r["id"] in held_ids]
    return train, held


def write_rows(path: Path, rows: Iterable[dict[str, Any]]) -> int:
    count = 0
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            count += 1
    return count


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.nlp.corpus", description=__doc__.split("\n")[0])
    parser.add_argument("folders", type=Path, nargs="+", metavar="folder",
                        help="a folder with items.jsonl and labels.jsonl (several: joined in this order)")
    parser.add_argument("--out", type=Path, required=True, help="where to write all/train/heldout.jsonl")
    parser.add_argument("--holdout", type=float, default=0.3,
                        help="fraction held out when the labels carry no split (default 0.3)")
    args = parser.parse_args(argv)
    parts: dict[str, list[dict[str, Any]]] = {"all": [], "train": [], "heldout": []}
    for folder in args.folders:
        rows = join_corpus(folder)
        train, held = split_rows(rows, args.holdout)
        parts["all"] += rows
        parts["train"] += train
        parts["heldout"] += held
        if len(args.folders) > 1:
            parts[f"heldout-{folder.resolve().name}"] = held
    args.out.mkdir(parents=True, exist_ok=True)
    for name, part in parts.items():
        print(f"{args.out / (name + '.jsonl')}: {write_rows(args.out / (name + '.jsonl'), part)} items")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
