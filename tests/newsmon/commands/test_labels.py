"""`newsmon label` and `labels list|export` on the embedded default: verdicts stored, on the index
document as feedback.<topic> (searchable), latest wins, withdrawable, exported in the eval format;
bad input is one line naming the field, exit 2, nothing written."""

import json
from datetime import UTC, datetime

import pytest

from newsmon import cli
from pipeline.item import format_time
from pipeline.transport.sqlite_feedback import FeedbackStore
from pipeline.transport.sqlite_index import SqliteIndex

NOW = format_time(datetime.now(UTC))


def doc(n: int, story: str, topics: list[str]) -> dict:
    return {"id": f"i{n}", "url": f"https://x.test/{n}", "source": "Dawn", "title": f"Copper mine attack {n}",
            "summary": "Gunmen attacked the mine's convoy.", "body": None, "@timestamp": NOW, "published": NOW,
            "fetched_at": NOW, "indexed_at": NOW, "story_id": story, "topics": topics,
            "scores": {t: 0.8 for t in topics}, "evidence": {}, "countries": ["PK"],
            "entities": {"persons": [], "organizations": [], "places": [], "groups": []}}


@pytest.fixture
def config(tmp_path) -> str:
    index = SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}")
    index.index([doc(1, "s1", ["minerals_cooperation"]), doc(2, "s1", ["minerals_cooperation"]),
                 doc(3, "s2", ["counterterrorism"])])
    index.flush()
    index.close()
    path = tmp_path / "c.yaml"
    path.write_text(f"index: sqlite:///{tmp_path}/index.db\nlog: sqlite:///{tmp_path}/log.db\n")
    return str(path)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def search_ids(capsys, config: str, query: str) -> list[str]:
    code, out, _ = run(capsys, "search", query, "--json", "-c", config)
    assert code == 0
    return sorted(hit["id"] for hit in json.loads(out)["hits"])


def test_a_verdict_reaches_the_index_and_is_searchable(config, capsys):
    code, out, _ = run(capsys, "label", "i1", "--topic", "minerals_cooperation=no", "--topic",
                       "counterterrorism=yes", "--by", "ana", "-c", config)
    assert code == 0 and "2 verdict(s) by ana on 1 item(s)" in out
    assert search_ids(capsys, config, "feedback.minerals_cooperation:no") == ["i1"]
    assert search_ids(capsys, config, "feedback.counterterrorism:yes AND topics:minerals_cooperation") == ["i1"]
    code, out, _ = run(capsys, "labels", "list", "--json", "-c", config)
    assert sorted((v["item_id"], v["topic"], v["verdict"], v["who"]) for v in json.loads(out)) == [
        ("i1", "counterterrorism", "yes", "ana"), ("i1", "minerals_cooperation", "no", "ana")]


def test_a_story_verdict_applies_to_every_item_of_the_story(config, capsys):
    assert run(capsys, "label", "--story", "s1", "--topic", "minerals_cooperation=no", "-c", config)[0] == 0
    assert search_ids(capsys, config, "feedback.minerals_cooperation:no") == ["i1", "i2"]


def test_the_latest_verdict_wins_and_a_withdrawal_clears_it(config, capsys):
    run(capsys, "label", "i3", "--topic", "counterterrorism=no", "--by", "ana", "-c", config)
    run(capsys, "label", "i3", "--topic", "counterterrorism=yes", "--by", "bo", "-c", config)
    assert search_ids(capsys, config, "feedback.counterterrorism:yes") == ["i3"]
    assert search_ids(capsys, config, "feedback.counterterrorism:no") == []
    run(capsys, "label", "i3", "--withdraw", "counterterrorism", "--by", "bo", "-c", config)
    assert search_ids(capsys, config, "_exists_:feedback.counterterrorism") == []
    code, out, _ = run(capsys, "labels", "list", "--history", "--json", "-c", config)
    assert code == 0
    assert [(v["verdict"], v["who"]) for v in json.loads(out)] == [(None, "bo"), ("yes", "bo"), ("no", "ana")]
    assert run(capsys, "labels", "list", "-c", config)[1].strip() == "no verdicts"


def test_export_writes_corrected_eval_rows(config, capsys, tmp_path):
    run(capsys, "label", "i1", "--topic", "minerals_cooperation=no", "--topic", "counterterrorism=yes", "-c", config)
    code, out, _ = run(capsys, "labels", "export", "-c", config)
    assert code == 0
    (row,) = [json.loads(line) for line in out.splitlines()]
    assert row["id"] == "i1" and row["labels"] == ["counterterrorism"] and row["title"] == "Copper mine attack 1"
    assert row["verdicts"] == {"counterterrorism": "yes", "minerals_cooperation": "no"}
    exported = tmp_path / "export.jsonl"
    exported.write_text(out)
    code, report, _ = run(capsys, "eval", str(exported), "--json", "-c", config)  # eval reads the export
    assert code == 0 and json.loads(report)["topics"]["counterterrorism"]["support"] == 1


@pytest.mark.parametrize("argv, fragment", [
    (["label", "nope", "--topic", "counterterrorism=no"], "item 'nope': no such item in the index"),
    (["label", "--story", "s9", "--topic", "counterterrorism=no"], "--story 's9': no such story"),
    (["label", "i1", "--topic", "sports=no"], "--topic sports=no: unknown topic 'sports'"),
    (["label", "i1", "--topic", "counterterrorism=maybe"], "--topic counterterrorism=maybe: expected yes or no"),
    (["label", "i1", "--topic", "counterterrorism"], "expected TOPIC=yes or TOPIC=no"),
    (["label", "i1", "--withdraw", "sports"], "--withdraw sports: unknown topic"),
    (["label", "i1"], "give --topic TOPIC=yes|no or --withdraw TOPIC"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_is_written(config, capsys, tmp_path, argv, fragment):
    code, _, err = run(capsys, *argv, "-c", config)
    assert code == 2 and fragment in err and err.strip().count("\n") == 0
    store = FeedbackStore(f"sqlite:///{tmp_path}/log.db")
    assert store.history() == []
    store.close()
    assert search_ids(capsys, config, "_exists_:feedback.counterterrorism") == []


def test_a_story_marked_no_does_not_alert_when_its_next_item_comes(tmp_path, capsys):
    """The pipeline's own wiring: `newsmon label --story` then `consume alerter` skips the story's
    later item for the rule's topic, and another story still alerts."""
    from pipeline.transport.base import TOPIC_CLASSIFIED
    from pipeline.transport.sqlite_log import SqliteLog
    from tests.factories import make_classified

    path = tmp_path / "c.yaml"
    path.write_text(f"index: sqlite:///{tmp_path}/index.db\nlog: sqlite:///{tmp_path}/log.db\n"
                    "rules:\n  - {name: quetta, query: Quetta, topics: [counterterrorism], actions: [{type: log}]}\n")
    config = str(path)

    def publish(*items):
        log = SqliteLog(f"sqlite:///{tmp_path}/log.db")
        producer = log.producer()
        for item in items:
            producer.publish(TOPIC_CLASSIFIED, item.id, item.to_json())
        producer.flush()
        log.close()

    def ct(item_id, story, title):
        return make_classified(id=item_id, url=f"https://x.test/{item_id}", title=title, story_id=story,
                               topics=("counterterrorism",), scores={"counterterrorism": 0.9})

    publish(ct("i1", "s1", "Blast reported near a market"))  # indexed; no alert (the query wants Quetta)
    assert run(capsys, "consume", "indexer", "--until-idle", "-c", config)[0] == 0
    assert run(capsys, "label", "--story", "s1", "--topic", "counterterrorism=no", "-c", config)[0] == 0
    publish(ct("i2", "s1", "Blast in Quetta market"), ct("i3", "s2", "Police post attacked in Quetta"))
    assert run(capsys, "consume", "alerter", "--until-idle", "-c", config)[0] == 0
    code, out, _ = run(capsys, "alerts", "list", "--json", "-c", config)
    assert code == 0 and [row["story_id"] for row in json.loads(out)] == ["s2"]
