"""status and dlq commands on the embedded log, through the real CLI."""

import json
import subprocess
import sys
from pathlib import Path

from pipeline.settings import load_settings
from pipeline.transport.registry import open_log
from tests.factories import make_raw

REPO = Path(__file__).resolve().parents[3]


def newsmon(*args, cwd):
    return subprocess.run([sys.executable, "-m", "newsmon.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_poison_records_are_listed_replayed_once_and_counted(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(f"log: sqlite:///{tmp_path}/log.db\nindex: sqlite:///{tmp_path}/index.db\n")
    log = open_log(load_settings(config, {}))
    producer = log.producer()
    producer.publish("newsmon.raw", "poison", b"{not json")
    good = make_raw()
    producer.publish("newsmon.raw", good.id, good.to_json())
    producer.flush()
    log.close()

    assert newsmon("consume", "classifier", "--until-idle", "-c", str(config), cwd=tmp_path).returncode == 0
    status = json.loads(newsmon("status", "--json", "-c", str(config), cwd=tmp_path).stdout)
    classifier = [row for row in status["stages"] if row["stage"] == "classifier"]
    assert [(r["lag"], r["committed"]) for r in classifier] == [(0, 3)]
    assert status["dlq"]["not_replayed"] == 1
    indexer = [row for row in status["stages"] if row["stage"] == "indexer"]
    assert indexer[0]["lag"] == 1  # the good item waits for the indexer

    letters = [json.loads(line) for line in newsmon("dlq", "list", "--json", "-c", str(config), cwd=tmp_path).stdout.splitlines()]
    assert [(d["stage"], d["topic"], d["offset"], d["key"], d["value"]) for d in letters] == [
        ("classifier", "newsmon.raw", 1, "poison", "{not json")]
    assert "invalid JSON" in letters[0]["error"]

    assert "replayed 1" in newsmon("dlq", "replay", "-c", str(config), cwd=tmp_path).stdout
    assert "replayed 0" in newsmon("dlq", "replay", "-c", str(config), cwd=tmp_path).stdout
    status = json.loads(newsmon("status", "--json", "-c", str(config), cwd=tmp_path).stdout)
    assert status["dlq"]["not_replayed"] == 0
    assert [r["lag"] for r in status["stages"] if r["stage"] == "classifier"] == [1]  # the replayed record
