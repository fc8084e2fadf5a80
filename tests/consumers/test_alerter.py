import hashlib
import hmac
import json

import pytest

from consumers.alert_store import AlertStore
from consumers.alerter import MAX_ATTEMPTS, AlerterStage
from consumers.webhook import post_json
from pipeline.errors import PermanentError, RetryLater
from pipeline.settings import ActionSpec, RuleSpec
from pipeline.transport.base import Record
from tests.factories import make_classified
from tests.feedserver import FeedServer


class Clock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        return self.now


class Sender:
    def __init__(self, failures=()):
        self.failures, self.sent = list(failures), []

    def __call__(self, action, payload):
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append((action.url, payload))


RULE = RuleSpec(name="ct", query="Quetta", topics=("counterterrorism",),
                actions=(ActionSpec(type="webhook", url="https://hooks.test/ct"),))


def record(item, offset=1):
    return Record("newsmon.classified", 0, offset, item.id, item.to_json(), 0.0)


def ct_item(item_id, story="story-1", title="Blast in Quetta"):
    return make_classified(id=item_id, url=f"https://x.test/{item_id}", title=title, topics=("counterterrorism",),
                           scores={"counterterrorism": 0.9}, story_id=story)


@pytest.fixture
def store(tmp_path):
    return AlertStore(f"sqlite:///{tmp_path}/state.db")


def test_one_alert_per_story_and_rule(store):
    sender = Sender()
    stage = AlerterStage([RULE], store, sender, Clock())
    for offset, item_id in enumerate(["a", "b", "c"], start=1):  # three outlets, one story
        stage.handle(record(ct_item(item_id), offset))
    stage.handle(record(ct_item("d", story="story-2"), 4))
    stage.handle(record(ct_item("e", story="story-3", title="Cricket in Lahore"), 5))  # query does not match
    stage.flush()
    assert [p["story_id"] for _, p in sender.sent] == ["story-1", "story-2"]
    stage.handle(record(ct_item("a"), 1))  # a replay
    stage.flush()
    assert len(sender.sent) == 2


def test_retryable_failures_are_retried_later_then_delivered_once(store):
    clock, sender = Clock(), Sender([RetryLater("500"), RetryLater("timeout", retry_after=30)])
    stage = AlerterStage([RULE], store, sender, clock)
    stage.handle(record(ct_item("a")))
    stage.flush()
    assert sender.sent == [] and store.counts() == {"pending": 1}
    for _ in range(3):
        clock.now += 3600
        stage.idle()
    assert len(sender.sent) == 1 and store.counts() == {"sent": 1}


def test_a_restarted_alerter_delivers_what_was_accepted_before(tmp_path, store):
    stage = AlerterStage([RULE], store, Sender([RetryLater("down")]), Clock())
    stage.handle(record(ct_item("a")))
    stage.flush()
    store.close()
    clock, sender = Clock(), Sender()
    clock.now += 3600
    restarted = AlerterStage([RULE], AlertStore(f"sqlite:///{tmp_path}/state.db"), sender, clock)
    restarted.idle()
    assert len(sender.sent) == 1


def test_alerts_are_parked_as_failed_after_the_retry_budget(store):
    clock = Clock()
    stage = AlerterStage([RULE], store, Sender([RetryLater("500")] * MAX_ATTEMPTS), clock)
    stage.handle(record(ct_item("a")))
    for _ in range(MAX_ATTEMPTS + 2):
        stage.flush()
        clock.now += 7200
    assert store.counts() == {"failed": 1}
    assert store.recent()[0]["last_error"] == "500"


def test_permanent_failures_are_parked_at_once(store):
    stage = AlerterStage([RULE], store, Sender([PermanentError("HTTP 404")]), Clock())
    stage.handle(record(ct_item("a")))
    stage.flush()
    assert store.counts() == {"failed": 1}


def test_webhook_post_is_signed_and_verifiable():
    with FeedServer() as server:
        action = ActionSpec(type="webhook", url=f"{server.base}/hook", secret="s3cret")
        post_json(action, {"rule": "ct", "n": 1})
        path, headers, body = server.posts[0]
    fields = dict(part.split("=", 1) for part in headers["X-Newsmon-Signature"].split(","))
    raw = json.dumps(body, ensure_ascii=False).encode()
    expected = hmac.new(b"s3cret", fields["t"].encode() + b"." + raw, hashlib.sha256).hexdigest()
    assert fields["v1"] == expected and body == {"rule": "ct", "n": 1}


def test_webhook_statuses_map_to_retry_or_permanent():
    with FeedServer(post_statuses=[503, 404]) as server:
        action = ActionSpec(type="webhook", url=f"{server.base}/hook")
        with pytest.raises(RetryLater):
            post_json(action, {})
        with pytest.raises(PermanentError):
            post_json(action, {})
    with pytest.raises(RetryLater):
        post_json(ActionSpec(type="webhook", url="http://127.0.0.1:9/hook", timeout=2), {})
