"""`newsmon alerts list`: a filter that finds nothing says so, and the totals are labelled as all alerts."""

from consumers.alert_store import AlertStore
from newsmon import cli


def config(tmp_path) -> str:
    path = tmp_path / "c.yaml"
    path.write_text(f"log: sqlite:///{tmp_path}/log.db\nindex: sqlite:///{tmp_path}/index.db\n")
    store = AlertStore(f"sqlite:///{tmp_path}/log.db")
    with store.transaction() as tx:
        for n in range(2):
            tx.add_outbox({"id": f"a{n}", "rule": "ct", "kind": "story", "story_id": f"s{n}",
                           "item": {"title": f"Blast {n}"}}, [(0, "log")], 1000.0)
    for row in store.due(2000.0):
        store.mark_sent(row.id, 2000.0)
    store.close()
    return str(path)


def test_a_filter_that_finds_nothing_says_so(tmp_path, capsys):
    assert cli.main(["alerts", "list", "--status", "failed", "-c", config(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == ["no failed alerts", "all alerts: sent: 2"]


def test_the_listing_and_its_totals(tmp_path, capsys):
    path = config(tmp_path)
    assert cli.main(["alerts", "list", "-c", path]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:3] == ["id", "created", "status"] and len(lines) == 4
    assert lines[-1] == "all alerts: sent: 2"
    assert cli.main(["alerts", "list", "--rule", "other", "-c", path]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "no alerts of rule other"
