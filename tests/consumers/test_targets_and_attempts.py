"""A token in a webhook URL's path is never logged, stored or listed (targets show scheme, host and a
hash of the path); rows an older version stored under the old target text are still delivered, after
a migration of the database; and the attempts of a delivery are kept across ``alerts retry``."""

import json
import logging
import sqlite3

from consumers.alert_store import AlertStore
from consumers.delivery import Deliverer
from consumers.targets import is_current, legacy_targets, shown_target
from newsmon import cli
from pipeline.alerting.actions import ActionSpec, masked_url
from pipeline.alerting.rules import RuleSpec
from pipeline.errors import RetryLater
from tests.consumers.test_alerter import Clock, Sender

TOKEN = "XXXXsecretTOKEN42"
SLACK = ActionSpec(type="slack", url=f"https://hooks.slack.com/services/T000/B000/{TOKEN}")
SLACK_OTHER = ActionSpec(type="slack", url="https://hooks.slack.com/services/T000/B111/other")
TEAMS = ActionSpec(type="teams", url=f"https://prod-1.westus.logic.azure.com:443/workflows/{TOKEN}/run?sig=s")
HOOK = ActionSpec(type="webhook", url=f"https://user:pw@hooks.test/in/{TOKEN}?key=k")
RULE = RuleSpec(name="ct", actions=(SLACK, SLACK_OTHER, TEAMS, HOOK))

# the outbox as the version before masked targets and attempt totals created it
OLD_OUTBOX = """
CREATE TABLE alert_outbox (id INTEGER PRIMARY KEY, alert_id TEXT NOT NULL, action INTEGER NOT NULL,
  rule TEXT NOT NULL, kind TEXT NOT NULL, story_id TEXT NOT NULL, title TEXT NOT NULL, target TEXT NOT NULL,
  payload TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt REAL NOT NULL, lease_until REAL NOT NULL DEFAULT 0, last_error TEXT, created_at REAL NOT NULL,
  sent_at REAL, UNIQUE (alert_id, action));
"""


def payload(n=0):
    return {"id": f"ct/story/s{n}/0", "rule": "ct", "kind": "story", "story_id": f"s{n}", "seq": 0,
            "item": {"title": f"Blast {n}"}}


def test_targets_show_scheme_host_and_a_hash_of_the_path_only():
    assert SLACK.target == "slack:" + masked_url(SLACK.url) and SLACK.target.startswith("slack:https://hooks.slack.com/~")
    assert TEAMS.target.startswith("teams:https://prod-1.westus.logic.azure.com:443/~")
    assert HOOK.target.startswith("webhook:https://hooks.test/~") and len(HOOK.target) == len("webhook:https://hooks.test/") + 9
    for action in (SLACK, TEAMS, HOOK):
        assert TOKEN not in action.target and "pw" not in action.target and "sig" not in action.target
        assert is_current(action.target)
    assert SLACK.target != SLACK_OTHER.target  # two webhooks on one host stay apart
    assert ActionSpec(type="webhook", url="https://hooks.test").target == "webhook:https://hooks.test/"
    assert shown_target(f"webhook:https://hooks.test/in/{TOKEN}") == "webhook:" + masked_url(f"https://hooks.test/in/{TOKEN}")
    assert shown_target("slack:hooks.slack.com") == "slack:hooks.slack.com" and shown_target("log") == "log"
    assert legacy_targets(SLACK) == {"slack:hooks.slack.com"}
    assert legacy_targets(HOOK) == {f"webhook:https://user:pw@hooks.test/in/{TOKEN}"}


def test_log_lines_and_the_listing_never_show_the_token(tmp_path, caplog, capsys):
    url = f"sqlite:///{tmp_path}/state.db"
    store = AlertStore(url)
    with store.transaction() as tx:
        tx.add_outbox(payload(), [(i, a.target) for i, a in enumerate(RULE.actions)], 1000.0)
    clock = Clock()
    clock.now = 1000.0
    deliverer = Deliverer({"ct": RULE}, store, Sender([RetryLater("HTTP 503")] * 4), clock, probe=lambda h, p: True)
    with caplog.at_level(logging.INFO):
        deliverer.deliver_due()
        clock.now += 3600
        deliverer.deliver_due()
    assert sum("event=alert_retry" in m for m in caplog.messages) == 4
    assert sum("event=alert_sent" in m for m in caplog.messages) == 4
    assert all(TOKEN not in m for m in caplog.messages)
    store.close()
    config = tmp_path / "c.yaml"
    config.write_text(f"log: {url}\nindex: sqlite:///{tmp_path}/index.db\n")
    assert cli.main(["alerts", "list", "--json", "-c", str(config)]) == 0
    listed = capsys.readouterr().out
    assert TOKEN not in listed and {r["target"] for r in json.loads(listed)} == {a.target for a in RULE.actions}
    assert cli.main(["alerts", "list", "-c", str(config)]) == 0
    assert TOKEN not in capsys.readouterr().out


def old_database(path):
    """A state database of the previous version: old outbox table, old target texts, no migrations table."""
    db = sqlite3.connect(path)
    db.executescript(OLD_OUTBOX)
    old_targets = ["slack:hooks.slack.com", "slack:hooks.slack.com", "teams:prod-1.westus.logic.azure.com:443",
                   f"webhook:https://user:pw@hooks.test/in/{TOKEN}"]
    for index, target in enumerate(old_targets):
        db.execute("INSERT INTO alert_outbox (alert_id, action, rule, kind, story_id, title, target, payload, status,"
                   " attempts, next_attempt, created_at) VALUES (?, ?, 'ct', 'story', 's0', 'Blast 0', ?, ?,"
                   " 'pending', 2, 0, 0)", ("ct/story/s0/0", index, target, json.dumps(payload())))
    db.execute("INSERT INTO alert_outbox (alert_id, action, rule, kind, story_id, title, target, payload, status,"
               " attempts, next_attempt, created_at, sent_at) VALUES ('ct/story/s1/0', 3, 'ct', 'story', 's1',"
               " 'Blast 1', ?, ?, 'sent', 1, 0, 0, 5)", (f"webhook:https://hooks.test/in/{TOKEN}", json.dumps(payload(1))))
    db.commit()
    db.close()


def test_rows_stored_under_the_old_target_text_are_migrated_and_still_delivered(tmp_path, caplog):
    path = tmp_path / "state.db"
    old_database(path)
    store = AlertStore(f"sqlite:///{path}")
    stored = {r.alert_id + "#" + str(r.id): r for r in store.records()}
    raw = [t for (t,) in sqlite3.connect(path).execute("SELECT target FROM alert_outbox ORDER BY id")]
    assert all(TOKEN not in t for t in raw)  # the webhook rows were rewritten in the database itself
    assert raw[3] == HOOK.target and raw[4] == "webhook:" + masked_url(f"https://hooks.test/in/{TOKEN}")
    assert {r.total_attempts for r in stored.values()} == {2, 1} and {r.requeued for r in stored.values()} == {0}
    sender, clock = Sender(), Clock()
    with caplog.at_level(logging.INFO):
        assert Deliverer({"ct": RULE}, store, sender, clock, probe=lambda h, p: True).deliver_due() == 4
    assert [target for target, _ in sender.sent] == [a.target for a in RULE.actions]  # each to its own action
    assert store.counts() == {"sent": 5}
    assert [t for (t,) in sqlite3.connect(path).execute("SELECT target FROM alert_outbox ORDER BY id")][:4] == [
        a.target for a in RULE.actions]  # the old slack and teams texts were rewritten on delivery
    assert all(TOKEN not in m for m in caplog.messages)
    store.close()
    reopened = AlertStore(f"sqlite:///{path}")  # the migrations ran once and are recorded
    names = [n for (n,) in sqlite3.connect(path).execute("SELECT name FROM alert_migrations ORDER BY name")]
    assert names == ["attempt-totals", "first-outbox", "masked-targets"] and reopened.counts() == {"sent": 5}
    reopened.close()


def test_attempts_are_kept_across_alerts_retry_and_listed(tmp_path, capsys):
    url = f"sqlite:///{tmp_path}/state.db"
    hook = ActionSpec(type="webhook", url="https://hooks.test/ct", max_attempts=3)
    rules = {"ct": RuleSpec(name="ct", actions=(hook,))}
    store, clock = AlertStore(url), Clock()
    with store.transaction() as tx:
        tx.add_outbox(payload(), [(0, hook.target)], clock.now)
    deliverer = Deliverer(rules, store, Sender([RetryLater("HTTP 503")] * 5), clock, probe=lambda h, p: True)
    for _ in range(4):
        deliverer.deliver_due()
        clock.now += 3600
    record = store.records()[0]
    assert (record.status, record.attempts, record.total_attempts, record.requeued) == ("failed", 3, 3, 0)
    store.requeue(clock.now)
    record = store.records()[0]
    assert (record.status, record.attempts, record.total_attempts, record.requeued) == ("pending", 0, 3, 1)
    for _ in range(3):
        deliverer.deliver_due()
        clock.now += 3600
    record = store.records()[0]
    assert (record.status, record.attempts, record.total_attempts, record.requeued) == ("sent", 3, 6, 1)
    store.close()
    config = tmp_path / "c.yaml"
    config.write_text(f"log: {url}\nindex: sqlite:///{tmp_path}/index.db\n")
    assert cli.main(["alerts", "list", "--json", "-c", str(config)]) == 0
    listed = json.loads(capsys.readouterr().out)[0]
    assert (listed["attempts"], listed["total_attempts"], listed["requeued"]) == (3, 6, 1)
    assert cli.main(["alerts", "list", "-c", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split()[8] == "6"  # the tries column counts every attempt
    assert lines[2].strip() == "re-queued 1 time(s) by alerts retry; 3 of the 6 tries since the last"
