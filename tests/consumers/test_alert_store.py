"""The alert store: claims under contention from several processes, leases, requeue, and the migration
of the first outbox table."""

import json
import multiprocessing
import sqlite3

from consumers.alert_store import AlertStore
from consumers.rules import decide
from pipeline.alerting.actions import masked_url
from pipeline.alerting.rules import RuleSpec

RULE = RuleSpec(name="ct", realert=None)


def claim_all(url, worker, stories, results):
    """Every worker decides on every (story, item): only one may win each story."""
    store = AlertStore(url)
    won = 0
    for story in range(stories):
        with store.transaction() as tx:
            item = f"{story}-{worker}"
            if tx.add_match("ct", item, f"s{story}", 1000.0):
                decision = decide(RULE, tx.history("ct", f"s{story}", 1000.0), 1000.0)
                tx.set_verdict("ct", item, decision.verdict.value)
                if decision.alerts:
                    payload = {"id": f"ct/story/s{story}/0", "rule": "ct", "kind": "story", "story_id": f"s{story}",
                               "seq": 0, "item": {"title": "t"}}
                    tx.add_claim(payload, item, 1000.0)
                    won += tx.add_outbox(payload, [(0, "log")], 1000.0)
    results.put(won)
    store.close()


def test_processes_racing_on_the_same_stories_claim_each_once(tmp_path):
    url = f"sqlite:///{tmp_path}/state.db"
    AlertStore(url).close()
    results = multiprocessing.get_context("spawn").Queue()
    workers = [multiprocessing.get_context("spawn").Process(target=claim_all, args=(url, w, 200, results))
               for w in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
    assert sum(results.get(timeout=5) for _ in workers) == 200
    store = AlertStore(url)
    assert store.counts() == {"pending": 200}
    assert store.verdict_counts() == {"alert": 200, "duplicate": 400}


def test_a_lease_is_exclusive_until_it_expires(tmp_path):
    url = f"sqlite:///{tmp_path}/state.db"
    a, b = AlertStore(url), AlertStore(url)
    with a.transaction() as tx:
        tx.add_outbox({"id": "x", "rule": "ct", "kind": "story", "story_id": "s", "item": {}}, [(0, "log")], 0.0)
    row = a.due(1.0)[0]
    assert a.lease(row.id, 1.0, 60) and not b.lease(row.id, 2.0, 60)
    assert b.due(2.0) == [] and b.lease(row.id, 61.0, 60)


def test_requeue_by_id_or_all_failed(tmp_path):
    store = AlertStore(f"sqlite:///{tmp_path}/state.db")
    with store.transaction() as tx:
        for n in range(3):
            tx.add_outbox({"id": f"a{n}", "rule": "r" if n else "q", "kind": "story", "story_id": "s", "item": {}},
                          [(0, "log")], 0.0)
    for record in store.records():
        store.mark_failed(record.id, "HTTP 500")
    first = store.records()[-1].id
    assert store.requeue(10.0, ids=[first]) == 1
    assert store.requeue(10.0, rule="r") == 2
    assert store.counts() == {"pending": 3} and {r.attempts for r in store.records()} == {0}


def test_first_version_outbox_is_migrated_once(tmp_path):
    path = tmp_path / "state.db"
    db = sqlite3.connect(path)
    db.executescript("""
CREATE TABLE alerts (id INTEGER PRIMARY KEY, rule TEXT NOT NULL, story_id TEXT NOT NULL,
  action INTEGER NOT NULL, item_id TEXT NOT NULL, target TEXT NOT NULL, payload TEXT NOT NULL,
  status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, next_attempt REAL NOT NULL,
  lease_until REAL NOT NULL DEFAULT 0, last_error TEXT, created_at REAL NOT NULL, sent_at REAL,
  UNIQUE (rule, story_id, action));""")
    old = {"rule": "ct", "story_id": "s1", "matched_at": "2026-01-01T00:00:00Z", "item": {"title": "Old one"}}
    db.execute("INSERT INTO alerts (rule, story_id, action, item_id, target, payload, next_attempt, created_at)"
               " VALUES ('ct', 's1', 0, 'i1', 'https://h.test/x', ?, 0, 0)", (json.dumps(old),))
    db.commit()
    db.close()
    store = AlertStore(f"sqlite:///{path}")
    record = store.records()[0]
    assert (record.alert_id, record.target, record.status, record.title) == (
        "ct/story/s1/0", "webhook:" + masked_url("https://h.test/x"), "pending", "Old one")
    with store.transaction() as tx:
        assert tx.history("ct", "s1", 1.0).last_seq == 0  # the story does not alert again
    store.close()
    assert AlertStore(f"sqlite:///{path}").counts() == {"pending": 1}
