"""``newsmon feeds parse|check|list|import-opml|export-opml|discover`` through the real CLI."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import yaml

from pipeline.settings import FeedSpec, ProducerSettings
from pipeline.transport.memory import MemoryLog
from producers.opml import parse_opml
from producers.poller import FeedPoller
from producers.state import FeedState, FeedStateStore
from tests.faultserver import FaultServer, content, status
from tests.producers.feeds import STORIES, rss

REPO = Path(__file__).resolve().parents[3]
SUMMARY = re.compile(r"feeds parse: (\d+) files, (\d+) items, (\d+) malformed, (\d+) with parser warnings")
HOSTILE = re.compile(r"<\s*/?\s*script|<[^>]*\son[a-z]+\s*=|javascript:", re.IGNORECASE)

# Runs the CLI with an audit hook that fails the process on any attempt to use the network.
OFFLINE = """
import sys
import time
def guard(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request"):
        sys.stderr.write(f"NETWORK ACCESS: {event} {args!r}\\n"); sys.stderr.flush()
        import os; os._exit(99)
sys.addaudithook(guard)
from newsmon.cli import main
sys.exit(main(sys.argv[1:]))
"""


def newsmon(*args: str, cwd: Path, offline: bool = False, timeout: float = 120) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", OFFLINE] if offline else [sys.executable, "-m", "newsmon.cli"]
    return subprocess.run([*command, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"})


def strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def test_feeds_parse_runs_the_whole_feedparser_suite_offline(shared, tmp_path):
    suite = shared / "corpora" / "feedparser-suite"
    result = newsmon("feeds", "parse", str(suite), cwd=tmp_path, offline=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = SUMMARY.search(result.stderr)
    assert summary and result.stderr.strip().splitlines()[-1] == summary.group(0)
    files, items, malformed, _ = map(int, summary.groups())
    assert files == sum(1 for p in suite.rglob("*") if p.is_file())
    assert files > 2100 and malformed < files // 50
    lines = result.stdout.splitlines()
    assert len(lines) == items > 200
    for line in lines:
        item = json.loads(line)
        assert item["id"] and item["fetched_at"]
        for text in strings(item):
            assert not HOSTILE.search(text), (item["feed"]["id"], text[:200])


def test_feeds_parse_real_feeds_have_ten_items_each(shared, tmp_path):
    result = newsmon("feeds", "parse", "--source", "Real", str(shared / "corpora" / "real-feeds"), cwd=tmp_path,
                     offline=True)
    assert result.returncode == 0, result.stderr
    items = [json.loads(line) for line in result.stdout.splitlines()]
    per_feed = Counter(item["feed"]["id"] for item in items)
    expected = {p.stem for p in (shared / "corpora" / "real-feeds").glob("*.xml")}
    assert set(per_feed) == expected and set(per_feed.values()) == {10}
    assert {item["source"] for item in items} == {"Real"}


def test_feeds_parse_malformed_files_still_exit_0_and_a_missing_path_exits_2(tmp_path):
    (tmp_path / "good.xml").write_bytes(rss(STORIES))
    (tmp_path / "junk.xml").write_bytes(b"\x89PNG not a feed")
    result = newsmon("feeds", "parse", "-v", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 0 and len(result.stdout.splitlines()) == 3
    assert "junk.xml" in result.stderr and "2 files, 3 items, 1 malformed" in result.stderr
    missing = newsmon("feeds", "parse", str(tmp_path / "nope"), cwd=tmp_path)
    assert missing.returncode == 2 and missing.stderr.strip() == f"newsmon: {tmp_path / 'nope'}: no such file or directory"


OPML = """<?xml version="1.0"?>
<opml version="2.0"><head><title>subs</title></head><body>
  <outline text="Frontier Desk">
    <outline type="rss" text="Security" xmlUrl="https://frontier.example/security/feed"/>
    <outline type="rss" text="Business" xmlUrl="https://frontier.example/business/feed"/>
  </outline>
</body></opml>
"""


EXISTING = "feeds:\n  - {id: existing, source: X, country: PK, url: 'https://x.example/feed'}\n"


def write_config(tmp_path: Path, feeds: str = EXISTING, extra: str = "") -> Path:
    config = tmp_path / "newsmon.yaml"
    config.write_text(f"# my config\nlog: sqlite:///{tmp_path}/log.db\n{feeds}{extra}")
    return config


def test_import_opml_prints_entries_or_adds_them_to_the_config(tmp_path):
    config = write_config(tmp_path)
    opml = tmp_path / "subs.opml"
    opml.write_text(OPML)
    printed = newsmon("feeds", "import-opml", str(opml), "-c", str(config), cwd=tmp_path)
    assert printed.returncode == 0, printed.stderr
    assert [f["url"] for f in yaml.safe_load(printed.stdout)["feeds"]] == [
        "https://frontier.example/security/feed", "https://frontier.example/business/feed"]
    written = newsmon("feeds", "import-opml", str(opml), "--write", str(config), cwd=tmp_path)
    assert written.returncode == 0 and "2 added to" in written.stderr
    assert config.read_text().startswith("# my config\n")
    listed = json.loads(newsmon("feeds", "list", "--json", "-c", str(config), cwd=tmp_path).stdout)
    assert [row["id"] for row in listed] == ["existing", "frontier-desk-security", "frontier-desk-business"]
    assert [row["country"] for row in listed] == ["PK", None, None]
    again = newsmon("feeds", "import-opml", str(opml), "--write", str(config), cwd=tmp_path)
    assert again.returncode == 0 and "0 added to" in again.stderr and "2 already configured" in again.stderr


def test_bad_opml_is_a_one_line_error_naming_file_and_line(tmp_path):
    opml = tmp_path / "broken.opml"
    opml.write_text(OPML.replace("</outline>\n</body>", "</body>"))
    result = newsmon("feeds", "import-opml", str(opml), cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    assert re.fullmatch(rf"newsmon: {re.escape(str(opml))}:6: not well-formed XML \(mismatched tag, column \d+\)\n",
                        result.stderr)


def test_export_opml(tmp_path):
    config = write_config(tmp_path, "feeds:\n  - {id: a, source: 'A & B', url: 'https://a.example/feed?x=1&y=2'}\n")
    result = newsmon("feeds", "export-opml", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0
    (found,) = parse_opml(result.stdout.encode(), "out")
    assert (found.url, found.category) == ("https://a.example/feed?x=1&y=2", "A & B")


def test_discover(tmp_path):
    page = (b'<html><head><link rel="alternate" type="application/rss+xml" title="News" href="/rss.xml">'
            b'</head><body>hi</body></html>')
    with FaultServer() as server:
        server.routes.update({"/": content(page, "text/html"), "/rss.xml": content(rss(STORIES)),
                              "/plain": content(b"<html><body>no feeds</body></html>", "text/html")})
        found = newsmon("feeds", "discover", server.url("/"), cwd=tmp_path)
        itself = newsmon("feeds", "discover", server.url("/rss.xml"), cwd=tmp_path)
        none = newsmon("feeds", "discover", server.url("/plain"), cwd=tmp_path)
    assert found.returncode == 0 and found.stdout == f"{server.url('/rss.xml')}\trss\tNews\n"
    assert itself.returncode == 0 and itself.stdout == f"{server.url('/rss.xml')}\tfeed\tFrontier Desk\n"
    assert none.returncode == 1 and "advertises no feeds" in none.stderr
    bad = newsmon("feeds", "discover", "ftp://x", cwd=tmp_path)
    assert bad.returncode == 2 and "expected an http(s) URL" in bad.stderr


def test_feeds_check_shows_health_and_strict_fails_on_broken_feeds(tmp_path):
    with FaultServer() as server:
        server.routes.update({"/ok": content(rss(STORIES)), "/down": status(500)})
        feeds = (f"feeds:\n  - {{id: good, source: G, url: '{server.url('/ok')}'}}\n"
                 f"  - {{id: bad, source: B, url: '{server.url('/down')}'}}\n"
                 "  - {id: later, source: L, url: 'https://later.example/feed'}\n")
        config = write_config(tmp_path, feeds, "producer: {broken_after: 1}\n")
        specs = [FeedSpec("good", server.url("/ok"), "G"), FeedSpec("bad", server.url("/down"), "B")]
        poller = FeedPoller(specs, FeedStateStore(f"sqlite:///{tmp_path}/log.db"), MemoryLog().producer(),
                            ProducerSettings(broken_after=1))
        poller.poll(specs)
        poller.store.close()
    result = newsmon("feeds", "check", "-c", str(config), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split()[1] for line in result.stdout.splitlines()[1:] if not line.startswith(" ")}
    assert rows == {"good": "stale", "bad": "broken", "later": "new"}  # the invented stories are from 2026
    assert "broken: 1 error in a row" in result.stdout and "HTTP 500" in result.stdout
    strict = newsmon("feeds", "check", "--strict", "--json", "-c", str(config), cwd=tmp_path)
    assert strict.returncode == 1
    by_id = {row["id"]: row for row in json.loads(strict.stdout)}
    assert by_id["good"]["items_per_day"] == 24.0 and by_id["bad"]["error_streak"] == 1


def test_feeds_list_shows_the_status_feeds_check_shows(tmp_path):
    """A feed whose polls succeed but whose newest item is weeks old is stale in both commands."""
    config = write_config(tmp_path)
    now = time.time()
    store = FeedStateStore(f"sqlite:///{tmp_path}/log.db")
    store.save(FeedState("existing", "https://x.example/feed", last_status="ok", last_success=now - 60,
                         last_attempt=now - 60, first_attempt=now - 40 * 86400, items_published=12,
                         latest_item=now - 30 * 86400, usual_gap=3600.0))
    store.close()
    listed = json.loads(newsmon("feeds", "list", "--json", "-c", str(config), cwd=tmp_path).stdout)
    checked = json.loads(newsmon("feeds", "check", "--json", "-c", str(config), cwd=tmp_path).stdout)
    assert listed[0]["status"] == checked[0]["status"] == "stale"
    assert listed[0]["last_poll"] == "ok" and listed[0]["reason"] == checked[0]["reason"]
    table = newsmon("feeds", "list", "-c", str(config), cwd=tmp_path).stdout
    assert " stale " in table and "stale: no new item for" in table
