"""End to end on the embedded default: the real CLI, feeds from a local HTTP server, SQLite log and index."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.feedserver import FeedServer
from tests.pipeline_feeds import alert_rules, expected_ids, feed_entries, serve_feeds


def newsmon(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "newsmon.cli", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture
def server():
    yield from serve_feeds()


def write_config(tmp_path: Path, server: FeedServer) -> Path:
    config = tmp_path / "newsmon.yaml"
    config.write_text(f"""
log: sqlite:///{tmp_path}/log.db
index: sqlite:///{tmp_path}/index.db
feeds:
{feed_entries(server)}
  - {{id: unreachable, source: Nowhere, url: 'http://127.0.0.1:9/feed.xml'}}
{alert_rules(server)}""")
    return config


def index_ids(tmp_path: Path) -> list[str]:
    with sqlite3.connect(tmp_path / "index.db") as db:
        return [row[0] for row in db.execute("SELECT id FROM docs")]


def raw_count(tmp_path: Path) -> int:
    with sqlite3.connect(tmp_path / "log.db") as db:
        return db.execute("SELECT COUNT(*) FROM log_newsmon_raw").fetchone()[0]


def test_run_once_ingests_classifies_indexes_and_alerts_without_duplicates(tmp_path, server):
    config = write_config(tmp_path, server)
    first = newsmon("run", "--once", "-c", str(config), cwd=tmp_path)
    assert first.returncode == 0, first.stderr

    wanted = expected_ids(server.files, server.base)
    assert sorted(index_ids(tmp_path)) == sorted(wanted)
    assert "unreachable" in first.stderr and "feed_error" in first.stderr

    found = json.loads(newsmon("search", '"Reko Diq" AND topics:minerals_cooperation', "--json",
                               "-c", str(config), cwd=tmp_path).stdout)
    assert [h["url"] for h in found["hits"]] == ["https://frontier.example/business/reko-diq-critical-minerals"]
    everything = json.loads(newsmon("search", "*", "--json", "--limit", "1000", "-c", str(config), cwd=tmp_path).stdout)
    assert everything["total"] == len(wanted)
    ct = json.loads(newsmon("search", "Quetta", "--topic", "counterterrorism", "--country", "PK", "--json",
                            "-c", str(config), cwd=tmp_path).stdout)
    assert ct["total"] == 1 and "TTP" in ct["hits"][0]["title"]
    assert ct["hits"][0]["entities"]["groups"] == ["Tehreek-e-Taliban Pakistan"]

    hooks = sorted((path, body["item"]["title"]) for path, _, body in server.posts)
    assert [path for path, _ in hooks] == ["/hook/ct", "/hook/min", "/hook/min"]

    raw_before = raw_count(tmp_path)
    second = newsmon("run", "--once", "-c", str(config), cwd=tmp_path)
    assert second.returncode == 0, second.stderr
    assert sorted(index_ids(tmp_path)) == sorted(wanted)
    assert raw_count(tmp_path) == raw_before
    assert server.statuses("/frontier.xml") == [200, 304]
    assert len(server.posts) == 3


def test_hostile_markup_is_stored_as_plain_text(tmp_path, server):
    config = write_config(tmp_path, server)
    assert newsmon("run", "--once", "-c", str(config), cwd=tmp_path).returncode == 0
    hit = json.loads(newsmon("search", "hostile", "--json", "-c", str(config), cwd=tmp_path).stdout)["hits"][0]
    assert "<" not in hit["title"] and "<" not in hit["summary"]
    assert "alert(2)" not in hit["summary"]


@pytest.mark.parametrize("command", ["run", "produce"])
def test_once_exits_1_when_not_one_feed_answered(tmp_path, command):
    config = tmp_path / "newsmon.yaml"
    config.write_text(f"log: sqlite:///{tmp_path}/log.db\nindex: sqlite:///{tmp_path}/index.db\nfeeds:\n"
                      "  - {id: down-a, source: Nowhere, url: 'http://127.0.0.1:9/a.xml'}\n"
                      "  - {id: down-b, source: Nowhere, url: 'http://127.0.0.1:9/b.xml'}\n")
    done = newsmon(command, "--once", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "newsmon: every feed failed (2 of 2 polls); `newsmon feeds check` shows why" in done.stderr


def test_the_summary_line_counts_feeds_polls_alerts_and_messages(tmp_path, server):
    config = write_config(tmp_path, server)
    done = newsmon("run", "--once", "-c", str(config), cwd=tmp_path)
    assert done.returncode == 0, done.stderr  # one feed of several is down: not a failed run
    summary = done.stderr.strip().splitlines()[-1]
    feeds = len(server.files) + 1
    assert summary.startswith(f"feeds {feeds} | polls {feeds} (1 failed) | items polled ")
    assert "| alerts 3 |" in summary  # three alerts, one webhook action each: no separate message count
