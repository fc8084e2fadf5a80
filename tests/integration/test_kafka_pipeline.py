"""newsmon in Kafka mode through its real command line: every stage as its own process, poison
records to the dead-letter topic, and bad settings reported in one line."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from pipeline.transport.base import TOPIC_CLASSIFIED, TOPIC_DLQ, TOPIC_RAW
from tests.feedserver import FeedServer
from tests.integration.conftest import raw_records
from tests.pipeline_feeds import alert_rules, expected_ids, feed_entries, serve_feeds
from tests.test_end_to_end import newsmon

pytestmark = pytest.mark.integration

STAGE_INPUTS = {"classifier": TOPIC_RAW, "indexer": TOPIC_CLASSIFIED, "alerter": TOPIC_CLASSIFIED}


def index_ids(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "index.db") as db:
        return [row[0] for row in db.execute("SELECT id FROM docs")]


@pytest.fixture
def feeds():
    yield from serve_feeds()


def feed_config(server: FeedServer) -> str:
    return f"feeds:\n{feed_entries(server)}\n{alert_rules(server)}"


def test_every_stage_as_its_own_process_indexes_every_item_and_commits(kafka, feeds):
    config = kafka.write_config(extra=feed_config(feeds))
    setup = kafka.newsmon("setup", "-c", str(config))
    assert setup.returncode == 0, setup.stderr
    assert "log ready: kafka://" in setup.stdout
    for step in (["produce", "--once"], ["consume", "classifier", "--until-idle"],
                 ["consume", "indexer", "--until-idle"], ["consume", "alerter", "--until-idle"]):
        result = kafka.newsmon(*step, "-c", str(config))
        assert result.returncode == 0, f"{step}: {result.stderr}"

    wanted = expected_ids(feeds.files, feeds.base)
    assert sorted(index_ids(kafka.tmp)) == sorted(wanted)
    for group, topic in STAGE_INPUTS.items():
        lags = kafka.lag(config, group, topic)
        assert len(lags) == 6 and sum(p.lag for p in lags) == 0, (group, lags)
        assert sum(p.committed or 0 for p in lags) == len(wanted)
    assert sorted(path for path, _, _ in feeds.posts) == ["/hook/ct", "/hook/min", "/hook/min"]
    search = kafka.newsmon("search", '"Reko Diq"', "--json", "-c", str(config))
    assert json.loads(search.stdout)["total"] == 1


def test_poison_records_go_to_the_dead_letter_topic_and_the_classifier_moves_on(kafka):
    config = kafka.write_config()
    valid = raw_records(6)
    # keyed like valid items, so each poison record sits before a valid one on the same partition
    wrong_type = dict(json.loads(valid[4][2]), title=42)  # a whole item, but its title is a number
    poison = [(TOPIC_RAW, "item-00002", b"{not json"), (TOPIC_RAW, "item-00004", json.dumps(wrong_type).encode())]
    kafka.publish(config, poison + valid)
    result = kafka.newsmon("consume", "classifier", "--until-idle", "-c", str(config))
    assert result.returncode == 0, result.stderr

    sources = {r.key: r for r in kafka.read(config, TOPIC_RAW) if r.value in (poison[0][2], poison[1][2])}
    letters = {r.key: json.loads(r.value) for r in kafka.read(config, TOPIC_DLQ)}
    assert set(letters) == {"item-00002", "item-00004"}
    for key, letter in letters.items():
        assert letter["stage"] == "classifier" and letter["topic"] == TOPIC_RAW
        assert (letter["partition"], letter["offset"]) == (sources[key].partition, sources[key].offset)
        assert letter["error"].startswith("SchemaError: ") and letter["value"] == sources[key].value.decode()
    assert "field 'title'" in letters["item-00004"]["error"]
    assert sorted(r.key for r in kafka.read(config, TOPIC_CLASSIFIED)) == sorted(key for _, key, _ in valid)
    assert sum(p.lag for p in kafka.lag(config, "classifier", TOPIC_RAW)) == 0


@pytest.mark.parametrize("log_url, reason", [
    ("kafka://nohost.invalid:9092", "no broker reachable after 2s (KafkaConnectionError: DNS Resolution failure)"),
    ("kafka://127.0.0.1:1", "no broker reachable after 2s (KafkaConnectionError: "),  # errno text varies
], ids=["unknown-host", "nothing-listening"])
def test_an_unreachable_broker_is_one_line_and_exit_2_within_the_connect_bound(tmp_path, log_url, reason):
    config = tmp_path / "bad.yaml"
    config.write_text(f"log: {log_url}\nindex: sqlite:///{tmp_path}/index.db\nkafka: {{request_timeout: 2s}}\n")
    started = time.monotonic()
    result = newsmon("setup", "-c", str(config), cwd=tmp_path)
    assert time.monotonic() - started < 15
    assert result.returncode == 2
    assert result.stderr.startswith(f"newsmon: log: {log_url}: {reason}")
    assert result.stderr.count("\n") == 1 and result.stderr.endswith(")\n")


def test_tls_against_a_plaintext_listener_is_reported_as_such(kafka):
    config = kafka.write_config(security_protocol="SSL", request_timeout="2s")
    result = kafka.newsmon("consume", "classifier", "-c", str(config))
    assert result.returncode == 2
    assert result.stderr.startswith(f"newsmon: log: {kafka.url}: TLS handshake failed after 2s (")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_a_replication_factor_larger_than_the_cluster_names_the_setting(kafka):
    config = kafka.write_config(replication_factor=3)
    result = kafka.newsmon("setup", "-c", str(config))
    assert result.returncode == 2
    expected = f"newsmon: {config}: kafka.replication_factor: cannot create newsmon.raw on {kafka.url}: "
    assert result.stderr.startswith(expected), result.stderr
    assert result.stderr.count("\n") == 1
