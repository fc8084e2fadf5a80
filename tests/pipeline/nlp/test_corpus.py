"""pipeline.nlp.corpus: a corpus's fixed split is kept, and several corpora are joined in order with
each one's held-out rows also written alone."""

import json
from pathlib import Path

from pipeline.nlp.corpus import main


def corpus(folder: Path, prefix: str, splits: list[str]) -> Path:
    folder.mkdir()
    items = [{"id": f"{prefix}{n}", "title": f"Item {n}", "summary": "", "body": None} for n in range(len(splits))]
    labels = [{"id": f"{prefix}{n}", "ct": n % 2, "min": 0, "countries": ["PK"], "split": split}
              for n, split in enumerate(splits)]
    (folder / "items.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    (folder / "labels.jsonl").write_text("".join(json.dumps(label) + "\n" for label in labels))
    return folder


def ids(path: Path) -> list[str]:
    return [json.loads(line)["id"] for line in path.read_text().splitlines()]


def test_several_corpora_are_joined_in_order_and_judged_apart(tmp_path, capsys):
    first = corpus(tmp_path / "part-one", "a", ["train", "heldout", "train"])
    second = corpus(tmp_path / "part-two", "b", ["heldout", "train"])
    assert main([str(first), str(second), "--out", str(tmp_path / "out")]) == 0
    out = tmp_path / "out"
    assert ids(out / "train.jsonl") == ["a0", "a2", "b1"]
    assert ids(out / "heldout.jsonl") == ["a1", "b0"]
    assert ids(out / "heldout-part-one.jsonl") == ["a1"] and ids(out / "heldout-part-two.jsonl") == ["b0"]
    assert ids(out / "all.jsonl") == ["a0", "a1", "a2", "b0", "b1"]
    assert json.loads((out / "train.jsonl").read_text().splitlines()[1])["labels"] == []  # a2: ct 0


def test_one_corpus_writes_no_per_corpus_file(tmp_path, capsys):
    main([str(corpus(tmp_path / "only", "a", ["train", "heldout"])), "--out", str(tmp_path / "out")])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["all.jsonl", "heldout.jsonl", "train.jsonl"]
