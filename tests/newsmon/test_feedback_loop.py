"""The analysts' loop on the embedded default, ``newsmon run`` as its own process (SQLite log, index and
state): a story alerts, the search page refuses a verdict without its token and takes it with the
token, the verdict is searchable at once, and a later outlet's copy of the story does not alert the
rule again, while a rule that keeps marked stories (``skip_marked_no: false``) does realert on it.
The Kafka + Elasticsearch twin is tests/integration/test_feedback_loop_kafka_elasticsearch.py."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from newsmon.app import start_web
from pipeline.settings import load_settings
from pipeline.transport.base import ALL_TOPICS
from pipeline.transport.registry import open_log
from tests.feedback_loop import COPY, CT, FIRST, TOKEN, VERDICT, call, raw, rules, stories, story_of
from tests.receiver import WebhookReceiver
from tests.waiting import wait_until


def publish(settings, record: tuple[str, str, bytes]) -> None:
    log = open_log(settings)
    try:
        log.ensure_topics(ALL_TOPICS)
        producer = log.producer()
        producer.publish(*record)
        producer.flush()
    finally:
        log.close()


def test_a_story_marked_no_on_the_page_is_searchable_and_does_not_alert_again(tmp_path):
    with WebhookReceiver() as hooks:
        config = tmp_path / "newsmon.yaml"
        config.write_text(f"log: sqlite:///{tmp_path}/log.db\nindex: sqlite:///{tmp_path}/index.db\n"
                          f"state: sqlite:///{tmp_path}/state.db\nconsumer: {{poll_timeout: 0.2s}}\n"
                          f"web: {{enabled: false}}\n{rules(hooks.base)}")
        settings = load_settings(config, {"NEWSMON_WEB_TOKEN": TOKEN})
        publish(settings, raw(*FIRST))
        stderr = (tmp_path / "run.stderr").open("w")
        run = subprocess.Popen([sys.executable, "-m", "newsmon.cli", "run", "-c", str(config)], cwd=tmp_path,
                               stdout=subprocess.DEVNULL, stderr=stderr)
        web = start_web(settings, "127.0.0.1", 0)
        try:
            wait_until(lambda: len(hooks.accepted("/ct")) == len(hooks.accepted("/keep")) == 1, 120,
                       "the first item's alerts")
            wait_until(lambda: story_of(web.port, "dawn-1") == ["dawn-1"], 30, "the first item in the index")
            status, answer = call(web.port, "POST", "/api/label", VERDICT, token=None)
            assert status == 401, answer
            assert stories(web.port, f"feedback.{CT}:*") == []
            status, answer = call(web.port, "POST", "/api/label", VERDICT)
            assert status == 200 and [i["feedback"] for i in answer["items"]] == [{CT: "no"}], answer
            assert stories(web.port, f"feedback.{CT}:no") == ["dawn-1"]  # the embedded index: at once

            time.sleep(1.5)  # past both rules' realert
            publish(settings, raw(*COPY))
            wait_until(lambda: len(hooks.accepted("/keep")) == 2, 60, "the rule keeping marked stories to realert")
            wait_until(lambda: story_of(web.port, "geo-1") == ["dawn-1"], 30, "the copy in the index, in the story")
        finally:
            web.close()
            run.send_signal(signal.SIGTERM)
            assert run.wait(60) == 0, (tmp_path / "run.stderr").read_text()[-2000:]
        assert [d.json()["story_id"] for d in hooks.accepted("/keep")] == ["dawn-1", "dawn-1"]
        assert [d.json()["story_id"] for d in hooks.accepted("/ct")] == ["dawn-1"]  # the copy did not alert
        assert "reason=marked_not_on_topic" in (tmp_path / "run.stderr").read_text()
