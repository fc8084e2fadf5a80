"""status and dlq commands on the embedded log, through the real CLI."""

import argparse
import base64
import json
import subprocess
import sys
from pathlib import Path

from newsmon.commands.logtools import cmd_dlq_list, cmd_dlq_replay
from pipeline.errors import SchemaError
from pipeline.loop import dead_letter
from pipeline.settings import load_settings
from pipeline.transport.base import Record
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
    assert (indexer[0]["start"], indexer[0]["end"], indexer[0]["committed"]) == (1, 2, None)  # end - start = lag
    table = newsmon("status", "-c", str(config), cwd=tmp_path).stdout
    assert [line.split()[:7] for line in table.splitlines() if line.startswith("indexer ")] == [
        ["indexer", "newsmon.classified", "0", "1", "2", "-", "1"]]

    letters = [json.loads(line) for line in newsmon("dlq", "list", "--json", "-c", str(config), cwd=tmp_path).stdout.splitlines()]
    assert [(d["stage"], d["topic"], d["offset"], d["key"], d["value"]) for d in letters] == [
        ("classifier", "newsmon.raw", 1, "poison", "{not json")]
    assert "invalid JSON" in letters[0]["error"]

    assert "replayed 1" in newsmon("dlq", "replay", "-c", str(config), cwd=tmp_path).stdout
    assert "replayed 0" in newsmon("dlq", "replay", "-c", str(config), cwd=tmp_path).stdout
    status = json.loads(newsmon("status", "--json", "-c", str(config), cwd=tmp_path).stdout)
    assert status["dlq"]["not_replayed"] == 0
    assert [r["lag"] for r in status["stages"] if r["stage"] == "classifier"] == [1]  # the replayed record


NOT_UTF8 = b'{"title": "caf\xe9", "bad": "\xff\xfe"}'  # Latin-1 bytes: invalid UTF-8


def sqlite_settings(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text(f"log: sqlite:///{tmp_path}/log.db\nindex: sqlite:///{tmp_path}/index.db\n")
    return load_settings(config, {})


def publish(settings, *records):
    """Append (topic, key, value) records to the configured log."""
    log = open_log(settings)
    producer = log.producer()
    for topic, key, value in records:
        producer.publish(topic, key, value)
    producer.flush()
    log.close()


def dead_letter_from(settings, stage, record):
    """Dead-letter ``record`` as the consume loop does."""
    log = open_log(settings)
    producer = log.producer()
    dead_letter(producer, stage, record, SchemaError("refused"))
    producer.flush()
    log.close()


def values_of(settings, topic):
    log = open_log(settings)
    try:
        return [(r.key, r.value) for r in log.read_from_start(topic, 100)]
    finally:
        log.close()


def replay(settings, capsys, stage=None):
    assert cmd_dlq_replay(settings, argparse.Namespace(stage=stage), None) == 0
    return capsys.readouterr().out


def test_a_record_that_is_not_utf8_is_replayed_byte_identical(tmp_path, capsys):
    settings = sqlite_settings(tmp_path)
    dead_letter_from(settings, "classifier", Record("newsmon.raw", 0, 7, "k1", NOT_UTF8, 0.0))

    assert cmd_dlq_list(settings, argparse.Namespace(limit=100, json=True), None) == 0
    [letter] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert base64.b64decode(letter["value_b64"]) == NOT_UTF8
    assert "\ufffd" in letter["value"]

    assert "replayed 1" in replay(settings, capsys)
    assert values_of(settings, "newsmon.raw") == [("k1", NOT_UTF8)]
    assert "replayed 0" in replay(settings, capsys)


def test_a_letter_without_value_b64_is_replayed_from_its_value_in_utf8(tmp_path, capsys):
    settings = sqlite_settings(tmp_path)
    old = {"stage": "classifier", "error": "SchemaError: x", "topic": "newsmon.raw", "partition": 0,
           "offset": 3, "key": "k", "value": "caf\ufffd", "failed_at": "2026-01-01T00:00:00Z"}
    publish(settings, ("newsmon.dlq", "k", json.dumps(old).encode()))
    assert "replayed 1" in replay(settings, capsys)
    assert values_of(settings, "newsmon.raw") == [("k", "caf\ufffd".encode())]


def test_replay_with_stage_sends_back_only_that_stages_letters_and_skips_unusable_ones(tmp_path, capsys):
    settings = sqlite_settings(tmp_path)
    dead_letter_from(settings, "indexer", Record("newsmon.classified", 0, 1, "other", b"\x80", 0.0))
    dead_letter_from(settings, "classifier", Record("newsmon.raw", 0, 2, "mine", b"\x81", 0.0))
    publish(settings, ("newsmon.dlq", "garbage", b"\xff not a letter"),
            ("newsmon.dlq", "corrupt", json.dumps({"stage": "classifier", "topic": "newsmon.raw",
                                                   "value": "x", "value_b64": "%%%"}).encode()))
    assert "replayed 1 dead letters to their source topics; skipped 3" in replay(settings, capsys, "classifier")
    assert values_of(settings, "newsmon.raw") == [("mine", b"\x81")]
    assert values_of(settings, "newsmon.classified") == []
