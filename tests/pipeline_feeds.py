"""The feeds every whole-pipeline test serves (two fixtures of ours plus a few real feed files from
../shared when present), the item ids they must yield, and the alert rules those tests configure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timezone
from pathlib import Path

from pipeline.item import FeedRef
from producers.normalise import normalise_feed
from producers.parse import parse_feed
from tests.conftest import SHARED
from tests.feedserver import FeedServer

__all__ = ["FIXTURES", "REAL_FEEDS", "serve_feeds", "expected_ids", "feed_entries", "alert_rules"]

FIXTURES = Path(__file__).parent / "fixtures" / "e2e"
REAL_FEEDS = sorted((SHARED / "corpora" / "real-feeds").glob("*.xml"))[:6] if SHARED.is_dir() else []


def serve_feeds() -> Iterator[FeedServer]:
    """A local server with the feeds (for a fixture: ``yield from serve_feeds()``)."""
    files = {"/frontier.xml": FIXTURES / "frontier-desk.xml", "/energy.json": FIXTURES / "energy-wire.json"}
    files.update({f"/real/{p.name}": p for p in REAL_FEEDS})
    with FeedServer(files=files) as server:
        yield server


def expected_ids(files: dict[str, Path], base: str) -> set[str]:
    """The item ids the producer should publish, computed with the pure parse/normalise functions."""
    ids = set()
    for url_path, path in files.items():
        parsed = parse_feed(path.read_bytes(), url=base + url_path)
        entries, _ = normalise_feed(parsed, feed=FeedRef("x", base + url_path), source="x",
                                    fetched_at=datetime.now(UTC))
        ids.update(e.item.id for e in entries)
    return ids


def feed_entries(server: FeedServer, source=lambda path: "Test") -> str:
    """The ``feeds:`` list entries (YAML lines) for every served feed."""
    return "\n".join(f"  - {{id: f{i}, source: '{source(path)}', url: '{server.base}{path}'}}"
                     for i, path in enumerate(server.files))


def alert_rules(server: FeedServer) -> str:
    """The ``rules:`` block: two webhook rules posting to the feed server."""
    return f"""rules:
  - name: ct-balochistan
    query: 'Balochistan OR Quetta'
    topics: [counterterrorism]
    actions: [{{type: webhook, url: '{server.base}/hook/ct'}}]
  - name: minerals
    query: '"Reko Diq" OR "Thar coal"'
    topics: [minerals_cooperation]
    actions: [{{type: webhook, url: '{server.base}/hook/min'}}]
"""
