"""``newsmon search`` through a real subprocess on an embedded index: the --entity filter."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timezone
from pathlib import Path

from pipeline.document import index_document
from pipeline.transport.sqlite_index import SqliteIndex
from tests.factories import make_classified

REPO = Path(__file__).resolve().parents[3]


def test_search_entity_filter_is_repeatable_and_case_insensitive(tmp_path):
    index = SqliteIndex(f"sqlite:///{tmp_path}/index.db")
    for item_id, entities in (("e1", {"places": ["Quetta"]}), ("e2", {"groups": ["TTP"]}), ("e3", {})):
        item = make_classified(id=item_id, url=f"https://news.test/{item_id}", title=f"Report {item_id}",
                               entities=entities)
        index.index([index_document(item, datetime(2026, 1, 3, tzinfo=UTC))])
    index.flush()
    index.close()
    config = tmp_path / "newsmon.yaml"
    config.write_text(f"index: sqlite:///{tmp_path}/index.db\n")

    def search(*args: str) -> list[str]:
        command = [sys.executable, "-m", "newsmon.cli", "search", "*", "--json", "-c", str(config), *args]
        result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=120)
        assert result.returncode == 0, result.stderr
        return sorted(hit["id"] for hit in json.loads(result.stdout)["hits"])

    assert search("--entity", "quetta") == ["e1"]
    assert search("--entity", "QUETTA", "--entity", "ttp") == ["e1", "e2"]
    assert search() == ["e1", "e2", "e3"]


def test_search_text_output_shows_whole_source_names(tmp_path):
    index = SqliteIndex(f"sqlite:///{tmp_path}/index.db")
    for item_id, source in (("s1", "Dawn"), ("s2", "U.S. Department of the Treasury")):
        item = make_classified(id=item_id, url=f"https://news.test/{item_id}", title=f"Report {item_id}", source=source)
        index.index([index_document(item, datetime(2026, 1, 3, tzinfo=UTC))])
    index.flush()
    index.close()
    config = tmp_path / "newsmon.yaml"
    config.write_text(f"index: sqlite:///{tmp_path}/index.db\n")
    command = [sys.executable, "-m", "newsmon.cli", "search", "*", "--sort", "newest", "-c", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    rows = [line for line in result.stdout.splitlines() if "Report" in line]
    assert any("U.S. Department of the Treasury  [" in row for row in rows)
    assert len({row.index("[") for row in rows}) == 1  # the topics column lines up
