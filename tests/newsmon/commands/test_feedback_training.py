"""The verdict loop through training: items of the real-news corpus's training split in the index,
analysts' verdicts on three of them (`newsmon label`), `labels export`, `train --feedback` and `eval`
on the export. A model trained on the corpus labels alone misses the corrected topic on all three;
the model trained with the verdicts classifies them as the analysts said. Only `split: train` items
are read (never held-out ones); skips when ../shared is absent."""

from __future__ import annotations

import json
from pathlib import Path

from newsmon import cli
from pipeline.item import format_time, utc_now
from pipeline.nlp.corpus import join_corpus, write_rows
from pipeline.transport.sqlite_index import SqliteIndex

CT = "counterterrorism"
TRAIN_ITEMS, CORRECTED = 200, 3


def training_rows(shared: Path) -> list[dict]:
    rows = join_corpus(shared / "corpora" / "real-news")
    return [dict(row, body=None) for row in rows if row.get("split") == "train"][:TRAIN_ITEMS]


def index_rows(folder: Path, rows: list[dict]) -> None:
    now = format_time(utc_now())
    index = SqliteIndex(f"sqlite:///{folder / 'index.db'}")
    index.index([{"id": r["id"], "url": f"https://corpus.test/{r['id']}", "source": r["source"], "title": r["title"],
                  "summary": r["summary"], "body": None, "@timestamp": now, "published": now, "fetched_at": now,
                  "indexed_at": now, "story_id": r["id"], "topics": r["labels"], "scores": {}, "evidence": {},
                  "countries": r["countries"], "entities": {"persons": [], "organizations": [], "places": [],
                                                            "groups": []}} for r in rows])
    assert index.flush() == []
    index.close()


def run(capsys, *argv: str) -> str:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def counterterrorism_on(capsys, export: Path, config: Path) -> dict:
    return json.loads(run(capsys, "eval", str(export), "--json", "-c", str(config)))["topics"][CT]


def test_verdicts_exported_and_trained_on_decide_the_corrected_items(shared, tmp_path, capsys):
    rows = training_rows(shared)
    corrected = [row for row in rows if not row["labels"]][:CORRECTED]  # the corpus says: not on either topic
    index_rows(tmp_path, corrected)
    config = tmp_path / "newsmon.yaml"
    config.write_text(f"index: sqlite:///{tmp_path}/index.db\nlog: sqlite:///{tmp_path}/log.db\n")
    for row in corrected:
        run(capsys, "label", row["id"], "--topic", f"{CT}=yes", "--by", "ana", "-c", str(config))
    export = tmp_path / "export.jsonl"
    export.write_text(run(capsys, "labels", "export", "-c", str(config)))
    exported = [json.loads(line) for line in export.read_text().splitlines()]
    assert sorted(r["id"] for r in exported) == sorted(r["id"] for r in corrected)
    assert all(r["labels"] == [CT] for r in exported)

    corpus = tmp_path / "train.jsonl"
    write_rows(corpus, rows)
    for name, extra in (("corpus-only", ()), ("with-verdicts", ("--feedback", str(export)))):
        run(capsys, "train", str(corpus), "--out", str(tmp_path / name), *extra, "-c", str(config))
        (tmp_path / f"{name}.yaml").write_text(config.read_text() + f"classifier: {{topic_model: {tmp_path / name}}}\n")
    before = counterterrorism_on(capsys, export, tmp_path / "corpus-only.yaml")
    after = counterterrorism_on(capsys, export, tmp_path / "with-verdicts.yaml")
    assert (before["tp"], before["fn"]) == (0, CORRECTED)  # as the corpus labelled them
    assert (after["tp"], after["fn"]) == (CORRECTED, 0)  # as the analyst said
