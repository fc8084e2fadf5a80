"""Alerting end to end on the embedded default, through the real CLI: feeds from a local HTTP server,
alerts to a local webhook receiver and a local SMTP server, several alerter processes on one SQLite log."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from pipeline.transport.base import ALL_TOPICS, TOPIC_CLASSIFIED
from pipeline.transport.sqlite_log import SqliteLog
from tests.factories import make_classified
from tests.feedserver import FeedServer
from tests.receiver import WebhookReceiver, verify_signature
from tests.smtpserver import SmtpServer

FIXTURES = Path(__file__).parent / "fixtures" / "alerts"
SECRET = "e2e-secret"


def newsmon(*args: str, cwd: Path, wait: bool = True):
    command = [sys.executable, "-m", "newsmon.cli", *args]
    env = dict(os.environ, CT_SECRET=SECRET)
    if not wait:
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def run_ok(*args: str, cwd: Path) -> str:
    done = newsmon(*args, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_story_from_three_feeds_alerts_once_per_matching_rule(tmp_path):
    files = {f"/{p.stem}.xml": p for p in sorted(FIXTURES.glob("*.xml"))}
    with FeedServer(files=files) as feeds, WebhookReceiver() as hooks, SmtpServer() as smtp:
        config = tmp_path / "newsmon.yaml"
        feed_list = "\n".join(f"  - {{id: {p[1:-4]}, source: {p[1:-4]}, url: '{feeds.base}{p}'}}" for p in files)
        mail = f"host: 127.0.0.1, port: {smtp.port}, starttls: false, from: newsmon@desk.test, to: [duty@desk.test]"
        config.write_text(f"""
log: sqlite:///{tmp_path}/log.db
index: sqlite:///{tmp_path}/index.db
feeds:
{feed_list}
rules:
  - name: quetta-police
    query: 'Quetta AND police'
    actions:
      - {{type: webhook, url: '{hooks.base}/hook/ct', secret_env: CT_SECRET}}
      - {{type: email, {mail}}}
  - name: ttp
    query: 'TTP OR "Tehreek-e-Taliban Pakistan"'
    severity: critical
    actions: [{{type: slack, url: '{hooks.base}/slack'}}, {{type: teams, url: '{hooks.base}/teams'}}]
  - name: cricket
    query: cricket
    actions: [{{type: webhook, url: '{hooks.base}/hook/cricket'}}]
""")
        run_ok("run", "--once", "-c", str(config), cwd=tmp_path)
        run_ok("run", "--once", "-c", str(config), cwd=tmp_path)  # nothing new: nothing sent again
        by_path = sorted(d.path for d in hooks.requests)
        ct = hooks.accepted("/hook/ct")
        mails = list(smtp.messages)

    assert by_path == ["/hook/ct", "/slack", "/teams"]
    assert verify_signature(SECRET.encode(), ct[0].headers["X-Newsmon-Signature"], ct[0].body)
    assert ct[0].json()["rule"] == "quetta-police" and "Quetta" in ct[0].json()["item"]["title"]
    assert len(mails) == 1 and "quetta-police" in mails[0].message()["Subject"]

    listed = json.loads(run_ok("alerts", "list", "--json", "-c", str(config), cwd=tmp_path))
    assert sorted((r["rule"], r["target"].split(":")[0], r["status"]) for r in listed) == [
        ("quetta-police", "email", "sent"), ("quetta-police", "webhook", "sent"),
        ("ttp", "slack", "sent"), ("ttp", "teams", "sent")]
    backtest = json.loads(run_ok("rules", "test", "quetta-police", "--indexed-since", "1d", "--json", "-c", str(config),
                                 cwd=tmp_path))
    assert backtest["alerts"] == 1 and len(backtest["stories"]) == 1
    assert backtest["items"] == 3 and backtest["suppressed"] == 2  # the other outlets' items of the story
    text = run_ok("rules", "test", "quetta-police", "--indexed-since", "1d", "-c", str(config), cwd=tmp_path)
    assert "-> 1 alert(s)" in text and "story " in text


def publish(log_url: str, items) -> None:
    log = SqliteLog(log_url)
    log.ensure_topics(ALL_TOPICS)
    producer = log.producer()
    for item in items:
        producer.publish(TOPIC_CLASSIFIED, item.id, item.to_json())
    producer.flush()
    log.close()


def ct_items(count: int, per_story: int = 3, prefix: str = "i"):
    return [make_classified(id=f"{prefix}{n}", url=f"https://x.test/{prefix}{n}",
                            title=f"Blast in Quetta {n // per_story}", topics=("counterterrorism",),
                            scores={"counterterrorism": 0.9}, story_id=f"{prefix}-story-{n // per_story}")
            for n in range(count)]


def alerter_config(tmp_path: Path, hooks: WebhookReceiver, batch_size: int = 100) -> Path:
    config = tmp_path / "newsmon.yaml"
    config.write_text(f"""
log: sqlite:///{tmp_path}/log.db
index: sqlite:///{tmp_path}/index.db
consumer: {{batch_size: {batch_size}, poll_timeout: 0.2s}}
rules:
  - {{name: quetta, query: Quetta, actions: [{{type: webhook, url: '{hooks.base}/a', secret_env: CT_SECRET}}]}}
  - {{name: everything, actions: [{{type: webhook, url: '{hooks.base}/b'}}]}}
""")
    return config


def test_two_alerter_processes_on_one_log_never_send_an_alert_twice(tmp_path):
    publish(f"sqlite:///{tmp_path}/log.db", ct_items(900))  # 300 stories
    with WebhookReceiver(delay=0.01) as hooks:  # slow enough that both processes overlap
        config = alerter_config(tmp_path, hooks, batch_size=25)
        workers = [newsmon("consume", "alerter", "--until-idle", "-c", str(config), cwd=tmp_path, wait=False)
                   for _ in range(2)]
        outputs = [w.communicate(timeout=300) for w in workers]
        assert [w.returncode for w in workers] == [0, 0], [err[err.find("Traceback"):] for _, err in outputs]
        ids = [d.headers["X-Newsmon-Alert-Id"] for d in hooks.accepted()]
    processed = [int(m) for _, err in outputs for m in re.findall(r"stage=alerter processed=(\d+)", err)]
    assert len(ids) == len(set(ids)) == 600, f"processed per process: {processed}"
    assert sum(processed) > 900, f"the two processes did not overlap: {processed}"
    listed = json.loads(run_ok("alerts", "list", "--limit", "1000", "--json", "-c", str(config), cwd=tmp_path))
    assert len(listed) == 600 and {r["status"] for r in listed} == {"sent"}


def test_parked_alerts_are_listed_and_retried_from_the_cli(tmp_path):
    publish(f"sqlite:///{tmp_path}/log.db", ct_items(3, per_story=1))
    with WebhookReceiver(script=[404] * 6) as hooks:
        config = alerter_config(tmp_path, hooks)
        run_ok("consume", "alerter", "--until-idle", "-c", str(config), cwd=tmp_path)
        failed = json.loads(run_ok("alerts", "list", "--status", "failed", "--json", "-c", str(config), cwd=tmp_path))
        assert len(failed) == 6 and {r["attempts"] for r in failed} == {1}
        assert all(r["last_error"].startswith("webhook HTTP 404") for r in failed)
        assert "error: webhook HTTP 404" in run_ok("alerts", "list", "-c", str(config), cwd=tmp_path)
        both = newsmon("alerts", "retry", str(failed[0]["id"]), "--failed", "-c", str(config), cwd=tmp_path)
        assert both.returncode == 2
        assert "re-queued 1" in run_ok("alerts", "retry", str(failed[0]["id"]), "-c", str(config), cwd=tmp_path)
        assert "re-queued 5" in run_ok("alerts", "retry", "--failed", "-c", str(config), cwd=tmp_path)
        run_ok("consume", "alerter", "--until-idle", "-c", str(config), cwd=tmp_path)
        assert len(hooks.accepted()) == 6
    again = newsmon("alerts", "retry", str(failed[0]["id"]), "-c", str(config), cwd=tmp_path)
    assert again.returncode == 2 and "is sent, not failed" in again.stderr


def test_silence_and_unsilence_from_the_cli(tmp_path):
    with WebhookReceiver() as hooks:
        config = alerter_config(tmp_path, hooks)
        assert newsmon("alerts", "silence", "nope", "--for", "1h", "-c", str(config), cwd=tmp_path).returncode == 2
        run_ok("alerts", "silence", "everything", "--for", "1h", "--reason", "drill", "-c", str(config), cwd=tmp_path)
        run_ok("alerts", "silence", "quetta", "--story", "a-story-0", "--for", "1h", "-c", str(config), cwd=tmp_path)
        listing = run_ok("alerts", "list", "-c", str(config), cwd=tmp_path)
        assert "silenced: rule everything until" in listing and "drill" in listing
        assert "[silenced until" in run_ok("rules", "list", "-c", str(config), cwd=tmp_path)
        publish(f"sqlite:///{tmp_path}/log.db", ct_items(2, per_story=1, prefix="a"))
        run_ok("consume", "alerter", "--until-idle", "-c", str(config), cwd=tmp_path)
        assert [d.json()["story_id"] for d in hooks.accepted()] == ["a-story-1"]
        assert "silence lifted" in run_ok("alerts", "unsilence", "everything", "-c", str(config), cwd=tmp_path)
        publish(f"sqlite:///{tmp_path}/log.db", ct_items(1, per_story=1, prefix="b"))
        run_ok("consume", "alerter", "--until-idle", "-c", str(config), cwd=tmp_path)
        assert sorted(d.path for d in hooks.accepted()) == ["/a", "/a", "/b"]
