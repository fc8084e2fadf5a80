"""``newsmon rules test`` on the new kinds: the alerter's recorder replayed over the indexed items in
ingest order shows what would have fired, with windows, counts, trailing averages and keys."""

import json
from datetime import UTC, datetime

import pytest

from consumers.rule_kinds.backtest import backtest_kind
from consumers.rules import compile_rules
from newsmon import cli
from pipeline.alerting.rules import RuleSpec
from pipeline.item import format_time
from pipeline.transport.sqlite_index import SqliteIndex

H = 3600.0


def iso(epoch):
    return format_time(datetime.fromtimestamp(epoch, UTC))


def doc(n, published, place="Quetta", groups=()):
    return {"id": f"i{n}", "url": f"https://x.test/{n}", "source": "Dawn", "title": f"Blast {n} in {place}",
            "summary": "", "@timestamp": iso(published), "published": iso(published),
            "fetched_at": iso(published + 60), "indexed_at": iso(published + 120), "story_id": f"s{n}",
            "topics": ["counterterrorism"], "scores": {"counterterrorism": 0.9}, "evidence": {}, "countries": ["PK"],
            "locations": [{"name": place, "lat": 30.2, "lon": 67.0, "country": "PK"}],
            "entities": {"persons": [], "organizations": [], "places": [place], "groups": list(groups)}}


def history(base):
    """Two stories an hour about Quetta for 24 hours from ``base``, then twelve in the 25th hour; one
    group named from the start, a second one first named in hour 10."""
    docs = [doc(w * 2 + k, base + w * H + 300 + 600 * k, groups=["TTP"] + (["LeJ"] if w >= 10 else []))
            for w in range(24) for k in range(2)]
    return docs + [doc(100 + k, base + 24 * H + 60 + 250 * k) for k in range(12)]


@pytest.fixture
def now():
    return datetime.now(UTC)


@pytest.fixture
def base(now):
    """Hours aligned so that, now, the 26th hour from ``base`` is the latest whose grace is over."""
    return (now.timestamp() - 600) // H * H - 26 * H


def test_the_backtest_finds_the_spike_and_the_new_names(base, now):
    spike = RuleSpec(name="ct-spike", kind="spike", window=H, min_stories=5, ratio=3.0, group_by="locations.name")
    result = backtest_kind(compile_rules([spike])[0], history(base), now)
    [alert] = result.fired
    assert (alert["key"], alert["count"], alert["baseline"], alert["window"]["start"]) == ("Quetta", 6, 2.0,
                                                                                           iso(base + 24 * H))
    assert result.items == 60 and result.verdicts == {"counted": 59, "fired": 1}
    assert [(w.label, w.count) for w in result.windows][-2:] == [("Quetta", 2), ("Quetta", 12)]
    terms = RuleSpec(name="new-groups", kind="new_term", term_field="entities.groups")
    found = backtest_kind(compile_rules([terms])[0], history(base), now)
    assert [(a["term"], a["item"]["id"]) for a in found.fired] == [("TTP", "i0"), ("LeJ", "i20")]
    assert found.terms == 2


def test_a_flatline_backtest_judges_the_windows_it_saw_whole(base, now):
    quiet = RuleSpec(name="quiet", kind="flatline", window=H, min_stories=3)
    result = backtest_kind(compile_rules([quiet])[0], history(base), now)
    judged = [(a["window"]["start"], a["count"]) for a in result.fired]
    assert judged == [(iso(base + w * H), 2) for w in range(1, 24)] + [(iso(base + 25 * H), 0)]


@pytest.fixture
def config(tmp_path, base):
    index = SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}")
    index.index(history(base))
    index.flush()
    index.close()
    path = tmp_path / "c.yaml"
    path.write_text(f"index: sqlite:///{tmp_path}/index.db\nlog: sqlite:///{tmp_path}/log.db\n"
                    f"state: sqlite:///{tmp_path}/state.db\nrules:\n"
                    "  - {name: ct-spike, kind: spike, query: Blast, topics: [counterterrorism], window: 1h,"
                    " baseline_windows: 24, min_stories: 5, ratio: 3, group_by: locations.name}\n"
                    "  - {name: new-groups, kind: new_term, field: entities.groups}\n")
    return str(path)


def test_rules_test_prints_windows_counts_and_keys(config, capsys, base):
    assert cli.main(["rules", "test", "ct-spike", "--json", "-c", config]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["kind"], out["items"], out["alerts"]) == ("spike", 60, 1)
    [fired] = out["fired"]
    assert (fired["key"], fired["count"], fired["baseline"], fired["window"]["start"]) == ("Quetta", 6, 2.0,
                                                                                           iso(base + 24 * H))
    assert [s["title"] for s in fired["stories"]] == [f"Blast {100 + k} in Quetta" for k in range(6)]
    assert out["windows"][-1] == {"key": "quetta", "label": "Quetta", "count": 12, "start": iso(base + 24 * H),
                                  "end": iso(base + 25 * H)}
    assert cli.main(["rules", "test", "ct-spike", "-c", config]) == 0
    text = capsys.readouterr().out
    assert "would have fired 1 alert(s):" in text
    assert f"{iso(base + 24 * H)[:16].replace('T', ' ')}-{iso(base + 25 * H)[11:16]}  spike  locations.name=Quetta:" \
           " 6 stories (trailing average 2.00)" in text
    assert "Dawn  Blast 100 in Quetta  https://x.test/100" in text
    assert "indexed since 7d: 60 matching items (59 counted, 1 fired) in 25 window(s) over 1 key(s) -> 1 spike" in text
    assert cli.main(["rules", "test", "new-groups", "-c", config]) == 0
    text = capsys.readouterr().out
    assert "new_term  entities.groups=LeJ  Dawn  Blast 20 in Quetta" in text
    assert "naming 2 distinct value(s) of entities.groups -> 2 new_term alert(s)" in text
