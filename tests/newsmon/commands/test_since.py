"""`--since` is the published time in every command, `--indexed-since` the time newsmon indexed an
item: on an archive published years ago and indexed today, search and rules test agree."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from newsmon import cli
from pipeline.item import format_time
from pipeline.transport.sqlite_index import SqliteIndex


def doc(n: int, published: datetime, indexed: datetime) -> dict:
    return {"id": f"i{n}", "url": f"https://x.test/{n}", "source": "Dawn", "title": f"Pakistan attack {n}",
            "summary": "", "@timestamp": format_time(published), "published": format_time(published),
            "fetched_at": format_time(indexed), "indexed_at": format_time(indexed), "story_id": f"s{n}",
            "topics": ["counterterrorism"], "scores": {"counterterrorism": 0.9}, "evidence": {},
            "countries": ["PK"], "entities": {"persons": [], "organizations": [], "places": [], "groups": []}}


@pytest.fixture
def config(tmp_path) -> str:
    now = datetime.now(UTC)
    index = SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}")
    index.index([doc(1, datetime(2014, 3, 1, tzinfo=UTC), now - timedelta(hours=1)),  # an archive, indexed now
                 doc(2, now - timedelta(days=2), now - timedelta(hours=2)),  # this week's news
                 doc(3, now - timedelta(days=3), now - timedelta(days=20))])  # indexed long ago
    index.flush()
    index.close()
    path = tmp_path / "c.yaml"
    path.write_text(f"index: sqlite:///{tmp_path}/index.db\nlog: sqlite:///{tmp_path}/log.db\n"
                    f"state: sqlite:///{tmp_path}/state.db\n"
                    "rules:\n  - name: pk\n    query: Pakistan\n    actions: [{type: log}]\n")
    return str(path)


def ids(argv: list[str], capsys) -> list[str]:
    assert cli.main(argv) == 0
    out = json.loads(capsys.readouterr().out)
    if "hits" in out:
        return sorted(hit["id"] for hit in out["hits"])
    return sorted(item["id"] for story in out["stories"] for item in story["items"])


@pytest.mark.parametrize("window, expected", [
    (["--since", "7d"], ["i2", "i3"]),
    (["--indexed-since", "7d"], ["i1", "i2"]),
    (["--since", "7d", "--indexed-since", "7d"], ["i2"]),
    (["--since", "2014-01-01", "--indexed-since", "1d"], ["i1", "i2"]),
])
def test_search_and_rules_test_read_the_window_alike(config, capsys, window, expected):
    assert ids(["search", "Pakistan", "--json", *window, "-c", config], capsys) == expected
    assert ids(["rules", "test", "pk", "--json", *window, "-c", config], capsys) == expected


def test_rules_test_replays_the_last_week_of_arrivals_by_default_and_says_so(config, capsys):
    assert ids(["rules", "test", "pk", "--json", "-c", config], capsys) == ["i1", "i2"]
    assert cli.main(["rules", "test", "pk", "--since", "7d", "-c", config]) == 0
    assert "published since 7d: 2 matching items" in capsys.readouterr().out


def test_a_bad_indexed_since_names_its_option(config, capsys):
    assert cli.main(["search", "Pakistan", "--indexed-since", "lately", "-c", config]) == 2
    assert "--indexed-since: expected a duration" in capsys.readouterr().err
