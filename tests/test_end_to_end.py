"""End to end on the embedded default: the real CLI, feeds from a local HTTP server, SQLite log and index."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from pipeline.item import FeedRef
from producers.normalise import normalise_feed
from producers.parse import parse_feed
from tests.conftest import SHARED
from tests.feedserver import FeedServer

FIXTURES = Path(__file__).parent / "fixtures" / "e2e"
REAL_FEEDS = sorted((SHARED / "corpora" / "real-feeds").glob("*.xml"))[:6] if SHARED.is_dir() else []


def newsmon(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=300)


def expected_ids(files: dict[str, Path], base: str) -> set[str]:
    """The item ids the producer should publish, computed with the pure parse/normalise functions."""
    ids = set()
    for url_path, path in files.items():
        parsed = parse_feed(path.read_bytes(), url=base + url_path)
        entries, _ = normalise_feed(parsed, feed=FeedRef("x", base + url_path), source="x",
                                    fetched_at=datetime.now(timezone.utc))
        ids.update(e.item.id for e in entries)
    return ids


@pytest.fixture
def server():
    files = {"/frontier.xml": FIXTURES / "frontier-desk.xml", "/energy.json": FIXTURES / "energy-wire.json"}
    files.update({f"/real/{p.name}": p for p in REAL_FEEDS})
    with FeedServer(files=files) as srv:
        yield srv


def write_config(tmp_path: Path, server: FeedServer) -> Path:
    feeds = "\n".join(f"  - {{id: {p.strip('/').replace('/', '-').replace('.', '-')}, source: Test, url: '{server.base}{p}'}}"
                      for p in server.files)
    config = tmp_path / "newsmon.yaml"
    config.write_text(f"""
log: sqlite:///{tmp_path}/log.db
index: sqlite:///{tmp_path}/index.db
feeds:
{feeds}
  - {{id: unreachable, source: Nowhere, url: 'http://127.0.0.1:9/feed.xml'}}
rules:
  - name: ct-balochistan
    query: 'Balochistan OR Quetta'
    topics: [counterterrorism]
    actions: [{{type: webhook, url: '{server.base}/hook/ct'}}]
  - name: minerals
    query: '"Reko Diq" OR "Thar coal"'
    topics: [minerals_cooperation]
    actions: [{{type: webhook, url: '{server.base}/hook/min'}}]
""")
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
