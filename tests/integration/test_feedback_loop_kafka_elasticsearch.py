"""The analysts' loop on Kafka + Elasticsearch, every stage its own process: a story alerts, an analyst
marks it not about counterterrorism on the search page (``POST /api/label`` with the page's token), the
verdict is searchable in Elasticsearch, and a later outlet's copy of the story does not alert the rule
again, while a rule that keeps marked stories (``skip_marked_no: false``) does realert on it; then
``labels export`` reads the verdict's item from Elasticsearch and ``eval`` judges the current model on
it (training on an export: tests/newsmon/commands/test_feedback_training.py). The embedded twin is tests/newsmon/test_feedback_loop.py."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

import pytest

from newsmon.app import start_web
from pipeline.settings import load_settings
from pipeline.transport.base import TOPIC_CLASSIFIED
from tests.feedback_loop import COPY, CT, FIRST, TOKEN, VERDICT, call, raw, rules, stories, story_of
from tests.integration.conftest import wait_until
from tests.integration.es_fixtures import es, es_url
from tests.receiver import WebhookReceiver

pytestmark = pytest.mark.integration


def write_config(kafka, es, hooks: WebhookReceiver) -> Path:
    config = kafka.tmp / "newsmon.yaml"
    config.write_text(f"""log: {kafka.url}
state: sqlite:///{kafka.tmp}/state.db
kafka: {{partitions: 3, session_timeout: 6s, request_timeout: 10s}}
consumer: {{poll_timeout: 1s, backoff_initial: 0.2s, backoff_max: 2s}}
{es.yaml()}{rules(hooks.base)}""")
    return config


def test_a_story_marked_no_on_the_page_is_searchable_and_does_not_alert_again(kafka, es):
    with WebhookReceiver() as hooks:
        config = write_config(kafka, es, hooks)
        assert kafka.newsmon("setup", "-c", str(config)).returncode == 0
        kafka.publish(config, [])
        for stage in ("classifier", "indexer", "alerter"):
            kafka.start(stage, "consume", stage, "-c", str(config))
        web = start_web(load_settings(config, {"NEWSMON_WEB_TOKEN": TOKEN}), "127.0.0.1", 0)
        try:
            kafka.publish(config, [raw(*FIRST)])
            wait_until(lambda: len(hooks.accepted("/ct")) == len(hooks.accepted("/keep")) == 1, 180,
                       "the first item's alerts")
            wait_until(lambda: story_of(web.port, "dawn-1") == ["dawn-1"], 60, "the first item in the index")

            status, answer = call(web.port, "POST", "/api/label", VERDICT, token=None)
            assert status == 401, answer  # the page has a token: no write without it
            assert stories(web.port, f"feedback.{CT}:*") == []
            status, answer = call(web.port, "POST", "/api/label", VERDICT)
            assert status == 200 and [i["feedback"] for i in answer["items"]] == [{CT: "no"}], answer
            marked = time.monotonic()
            wait_until(lambda: stories(web.port, f"feedback.{CT}:no") == ["dawn-1"], 10,
                       "the verdict in Elasticsearch", interval=0.05)
            print(f"feedback.{CT}:no searchable {time.monotonic() - marked:.2f}s after the page's write returned")

            time.sleep(1.5)  # past both rules' realert
            kafka.publish(config, [raw(*COPY)])
            wait_until(lambda: len(hooks.accepted("/keep")) == 2, 120, "the rule keeping marked stories to realert")
            wait_until(lambda: sum(p.lag for p in kafka.lag(config, "alerter", TOPIC_CLASSIFIED)) == 0, 60,
                       "the alerter to pass the second item")
            wait_until(lambda: story_of(web.port, "geo-1") == ["dawn-1"], 60, "the copy in the index, in the story")
        finally:
            web.close()
        for proc in kafka.procs:
            assert proc.stop(signal.SIGTERM) == 0, proc.stderr()[-2000:]
        exported = kafka.newsmon("labels", "export", "-c", str(config))  # texts from Elasticsearch
        assert exported.returncode == 0, exported.stderr
        (row,) = [json.loads(line) for line in exported.stdout.splitlines()]
        assert (row["id"], row["labels"], row["verdicts"], row["title"]) == ("dawn-1", [], {CT: "no"}, FIRST[2])
        (kafka.tmp / "export.jsonl").write_text(exported.stdout)
        judged = kafka.newsmon("eval", str(kafka.tmp / "export.jsonl"), "--json", "-c", str(config))
        assert judged.returncode == 0, judged.stderr
        assert json.loads(judged.stdout)["topics"][CT]["fp"] == 1  # the current model still says counterterrorism
        assert [d.json()["story_id"] for d in hooks.accepted("/keep")] == ["dawn-1", "dawn-1"]
        assert [d.json()["story_id"] for d in hooks.accepted("/ct")] == ["dawn-1"]  # the copy did not alert
