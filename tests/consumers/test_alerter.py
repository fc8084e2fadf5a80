"""The alerter stage with a fake clock: one alert per story, realert, digest, silences, retries and
parking, restarts, and a real local HTTP receiver for faults (500, a stall past the timeout)."""

import pytest

from consumers.alert_store import AlertStore
from consumers.alerter import MATCH_RETENTION, AlerterStage
from pipeline.alerting.actions import ActionSpec
from pipeline.alerting.rules import RuleSpec
from pipeline.errors import PermanentError, RetryLater
from pipeline.transport.base import Record
from tests.factories import make_classified
from tests.receiver import Stall, WebhookReceiver, verify_signature

HOOK = ActionSpec(type="webhook", url="https://hooks.test/ct")
RULE = RuleSpec(name="ct", query="Quetta", topics=("counterterrorism",), actions=(HOOK,))


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
        self.sent.append((action.target, payload))


def record(item, offset=1):
    return Record("newsmon.classified", 0, offset, item.id, item.to_json(), 0.0)


def ct_item(item_id, story="story-1", title="Blast in Quetta", source="Dawn"):
    return make_classified(id=item_id, url=f"https://x.test/{item_id}", title=title, source=source,
                           topics=("counterterrorism",), scores={"counterterrorism": 0.9}, story_id=story)


@pytest.fixture
def store(tmp_path):
    store = AlertStore(f"sqlite:///{tmp_path}/state.db")
    yield store
    store.close()


def feed(stage, *items):
    for offset, item in enumerate(items, start=1):
        stage.handle(record(item, offset))
    stage.flush()


def test_one_alert_per_story_and_rule(store):
    sender = Sender()
    other = RuleSpec(name="pk", query="*", actions=(ActionSpec(type="webhook", url="https://hooks.test/pk"),))
    stage = AlerterStage([RULE, other], store, sender, Clock())
    feed(stage, ct_item("a"), ct_item("b", source="Geo"), ct_item("c", source="Tribune"),  # one story, three outlets
         ct_item("d", story="story-2"), ct_item("e", story="story-3", title="Cricket in Lahore"))
    sent = sorted((target, p["story_id"]) for target, p in sender.sent)
    ct, pk = HOOK.target, other.actions[0].target
    assert sorted(sent) == sorted([(ct, "story-1"), (ct, "story-2"), (pk, "story-1"), (pk, "story-2"), (pk, "story-3")])
    feed(stage, ct_item("a"))  # a replay
    assert len(sender.sent) == 5
    assert store.verdict_counts("ct") == {"alert": 2, "duplicate": 2}


def test_payload_is_the_documented_story_alert(store):
    sender = Sender()
    feed(AlerterStage([RULE], store, sender, Clock()), ct_item("a"))
    payload = sender.sent[0][1]
    assert payload["schema"] == "newsmon.alert/1" and payload["kind"] == "story"
    assert payload["id"] == "ct/story/story-1/0" and payload["rule"] == "ct" and payload["severity"] == "warning"
    assert payload["item"]["title"] == "Blast in Quetta" and payload["matched_at"] == "2023-11-14T22:13:20Z"


def test_realert_lets_a_later_item_of_the_story_alert_again_after_the_window(store):
    clock, sender = Clock(), Sender()
    rule = RuleSpec(name="ct", query="Quetta", realert=6 * 3600, actions=(HOOK,))
    stage = AlerterStage([rule], store, sender, clock)
    feed(stage, ct_item("a"))
    clock.now += 5 * 3600
    feed(stage, ct_item("b"))  # within the window: suppressed
    clock.now += 2 * 3600
    feed(stage, ct_item("a"), ct_item("c"))  # a replay of a never realerts; c is a follow-up
    assert [(p["id"], p["item"]["id"]) for _, p in sender.sent] == [("ct/story/story-1/0", "a"),
                                                                    ("ct/story/story-1/1", "c")]


def test_without_realert_a_story_alerts_once_ever(store):
    clock, sender = Clock(), Sender()
    stage = AlerterStage([RULE], store, sender, clock)
    feed(stage, ct_item("a"))
    clock.now += 30 * 86400
    feed(stage, ct_item("b"))
    assert len(sender.sent) == 1


def test_matches_are_forgotten_after_the_retention_but_the_story_still_alerts_once(store):
    clock, sender = Clock(), Sender()
    stage = AlerterStage([RULE], store, sender, clock)
    feed(stage, ct_item("a"))
    clock.now += MATCH_RETENTION + 3600
    feed(stage, ct_item("b", story="story-2"))  # flush prunes matches older than the retention
    assert store.verdict_counts(RULE.name) == {"alert": 1}  # only b's match is left
    feed(stage, ct_item("a"))  # a replay of the forgotten item is decided again, and its story does not re-alert
    assert len(sender.sent) == 2
    assert sum(store.verdict_counts(RULE.name).values()) == 2


def test_digest_sends_one_message_per_rule_per_window(store):
    clock, sender = Clock(), Sender()
    clock.now = 1_700_000_000.0 - 1_700_000_000.0 % 3600 + 60  # one minute into an hour
    rule = RuleSpec(name="ct", query="Quetta", digest=3600, actions=(HOOK,))
    stage = AlerterStage([rule], store, sender, clock)
    feed(stage, ct_item("a", story="s1"), ct_item("b", story="s2"), ct_item("c", story="s1"))
    assert sender.sent == []  # the window is still open
    clock.now += 3600
    feed(stage, ct_item("d", story="s3"))  # next window
    assert len(sender.sent) == 1
    digest = sender.sent[0][1]
    assert digest["kind"] == "digest" and [s["story_id"] for s in digest["stories"]] == ["s1", "s2"]
    assert digest["window"] == {"start": "2023-11-14T22:00:00Z", "end": "2023-11-14T23:00:00Z"}
    clock.now += 3600
    stage.idle()
    assert [s["story_id"] for s in sender.sent[1][1]["stories"]] == ["s3"] and len(sender.sent) == 2


def test_a_story_claimed_after_its_window_was_closed_joins_the_next_window(store):
    clock = Clock()
    clock.now = 1_700_006_400.0  # a window boundary (multiple of 3600)
    rule = RuleSpec(name="ct", query="Quetta", digest=3600, actions=(HOOK,))
    with store.transaction() as tx:
        assert tx.close_digest("ct", clock.now, clock.now) == []  # another process closed this window
    sender = Sender()
    stage = AlerterStage([rule], store, sender, clock)
    feed(stage, ct_item("a"))
    clock.now += 3600
    stage.idle()
    assert sender.sent == []
    clock.now += 3600
    stage.idle()
    assert len(sender.sent) == 1


def test_silenced_rule_and_story_do_not_alert_until_lifted(store):
    clock, sender = Clock(), Sender()
    stage = AlerterStage([RULE], store, sender, clock)
    store.silence("ct", "story-1", clock.now + 3600, "known", clock.now)
    feed(stage, ct_item("a"), ct_item("b", story="story-2"))
    assert [p["story_id"] for _, p in sender.sent] == ["story-2"]
    store.silence("ct", "", clock.now + 86400, "", clock.now)
    feed(stage, ct_item("c", story="story-3"))
    assert len(sender.sent) == 1
    assert store.unsilence("ct", "") and store.silences(clock.now)[0].story_id == "story-1"
    clock.now += 7200  # the story silence has expired
    feed(stage, ct_item("d", story="story-1"), ct_item("e", story="story-4"))
    assert sorted(p["story_id"] for _, p in sender.sent) == ["story-1", "story-2", "story-4"]


def test_silencing_sets_pending_deliveries_aside(store):
    clock = Clock()
    stage = AlerterStage([RULE], store, Sender([RetryLater("down")]), clock)
    feed(stage, ct_item("a"))
    assert store.silence("ct", "", clock.now + 60, "", clock.now) == 1
    assert store.counts() == {"silenced": 1}


def test_disabled_rules_do_not_match(store):
    sender = Sender()
    feed(AlerterStage([RuleSpec(name="off", enabled=False, actions=(HOOK,))], store, sender, Clock()), ct_item("a"))
    assert sender.sent == [] and store.counts() == {}


def test_retryable_failures_are_retried_later_then_delivered_once(store):
    clock, sender = Clock(), Sender([RetryLater("500"), RetryLater("timeout", retry_after=30)])
    stage = AlerterStage([RULE], store, sender, clock)
    feed(stage, ct_item("a"))
    assert sender.sent == [] and store.counts() == {"pending": 1}
    for _ in range(3):
        clock.now += 3600
        stage.idle()
    assert len(sender.sent) == 1 and store.counts() == {"sent": 1}
    assert store.records()[0].attempts == 3


def test_retry_after_is_honoured(store):
    clock = Clock()
    stage = AlerterStage([RULE], store, Sender([RetryLater("429", retry_after=900)]), clock)
    feed(stage, ct_item("a"))
    assert store.records()[0].next_attempt >= clock.now + 900


def test_a_restarted_alerter_delivers_what_was_claimed_before(tmp_path, store):
    stage = AlerterStage([RULE], store, Sender([RetryLater("down")]), Clock())
    feed(stage, ct_item("a"))
    store.close()
    clock, sender = Clock(), Sender()
    clock.now += 3600
    restarted = AlerterStage([RULE], AlertStore(f"sqlite:///{tmp_path}/state.db"), sender, clock)
    feed(restarted, ct_item("a"))  # the uncommitted batch replays after the restart
    assert len(sender.sent) == 1


def test_alerts_are_parked_as_failed_after_the_retry_budget_and_can_be_requeued(store):
    clock = Clock()
    action = ActionSpec(type="webhook", url="https://hooks.test/ct", max_attempts=3)
    stage = AlerterStage([RuleSpec(name="ct", actions=(action,))], store, Sender([RetryLater("500")] * 3), clock)
    stage.handle(record(ct_item("a")))
    for _ in range(5):
        stage.flush()
        clock.now += 7200
    assert store.counts() == {"failed": 1}
    assert store.records(status="failed")[0].last_error == "500"
    assert store.requeue(clock.now) == 1
    stage.idle()
    assert store.counts() == {"sent": 1}


def test_permanent_failures_and_bugs_are_parked_at_once(store):
    class Broken(Sender):
        def __call__(self, action, payload):
            raise KeyError("boom")

    stage = AlerterStage([RULE], store, Sender([PermanentError("HTTP 404")]), Clock())
    feed(stage, ct_item("a"))
    feed(AlerterStage([RULE], store, Broken(), Clock()), ct_item("b", story="story-2"))
    assert store.counts() == {"failed": 2}
    assert {r.last_error for r in store.records()} == {"HTTP 404", "KeyError: 'boom'"}


def test_an_action_no_longer_configured_is_parked(store):
    feed(AlerterStage([RULE], store, Sender([RetryLater("down")]), Clock()), ct_item("a"))
    moved = RuleSpec(name="ct", query="Quetta", actions=(ActionSpec(type="webhook", url="https://elsewhere.test/"),))
    clock = Clock()
    clock.now += 3600
    AlerterStage([moved], store, Sender(), clock).idle()
    assert store.records()[0].status == "failed"


def test_a_failing_target_does_not_hold_up_the_others(store):
    slow = ActionSpec(type="webhook", url="https://slow.test/")

    class Picky(Sender):
        def __call__(self, action, payload):
            if action.url.startswith("https://slow"):
                self.failures.append(action.url)
                raise RetryLater("timeout")
            self.sent.append((action.target, payload))

    sender = Picky()
    rule = RuleSpec(name="ct", query="Quetta", actions=(slow, HOOK))
    feed(AlerterStage([rule], store, sender, Clock()), *(ct_item(str(i), story=f"s{i}") for i in range(5)))
    assert len(sender.failures) == 1 and len(sender.sent) == 5


def test_receiver_500_then_stall_then_accept_gets_the_alert_once(store):
    clock = Clock()
    with WebhookReceiver(script=[500, Stall(1.5)]) as receiver:
        action = ActionSpec(type="webhook", url=f"{receiver.base}/hook", secret="s3cret", timeout=0.5)
        stage = AlerterStage([RuleSpec(name="ct", query="Quetta", actions=(action,))], store, clock=clock)
        feed(stage, ct_item("a"))
        for _ in range(3):
            clock.now += 3600
            stage.idle()
        assert [d.status for d in receiver.requests] in ([500, 504, 200], [500, 200])  # the stall may still be sleeping
        accepted = receiver.accepted("/hook")
    assert len(accepted) == 1 and store.counts() == {"sent": 1}
    assert verify_signature(b"s3cret", accepted[0].headers["X-Newsmon-Signature"], accepted[0].body)
    assert {d.headers["X-Newsmon-Alert-Id"] for d in receiver.requests} == {"ct/story/story-1/0"}
    assert store.records()[0].attempts == 3


def test_restart_between_claim_and_delivery_delivers_once(tmp_path):
    url = f"sqlite:///{tmp_path}/state.db"
    with WebhookReceiver() as receiver:
        rule = RuleSpec(name="ct", query="Quetta", actions=(ActionSpec(type="webhook", url=f"{receiver.base}/h"),))
        first = AlerterStage([rule], AlertStore(url))
        first.handle(record(ct_item("a")))  # claimed; the process dies before flush and commit
        first.store.close()
        second = AlerterStage([rule], AlertStore(url))
        feed(second, ct_item("a"))  # the uncommitted record replays
        feed(second, ct_item("a"))
        assert len(receiver.accepted()) == 1


def test_created_counts_the_queued_alerts_once_per_action(store):
    clock = Clock()
    two = RuleSpec(name="ct", query="Quetta", topics=("counterterrorism",),
                   actions=(HOOK, ActionSpec(type="webhook", url="https://hooks.test/other")))
    stage = AlerterStage([two], store, Sender(), clock)
    feed(stage, ct_item("a"), ct_item("b"), ct_item("c", story="story-2"))
    assert stage.created == 4  # two stories, two actions each
    feed(stage, ct_item("a"))  # a replay queues nothing
    assert stage.created == 4


def test_created_counts_a_closed_digest(store):
    clock = Clock()
    clock.now = 1_700_000_000.0 - 1_700_000_000.0 % 3600 + 60
    stage = AlerterStage([RuleSpec(name="ct", query="Quetta", digest=3600, actions=(HOOK,))], store, Sender(), clock)
    feed(stage, ct_item("a", story="s1"), ct_item("b", story="s2"))
    assert stage.created == 0  # the window is still open
    clock.now += 3600
    stage.idle()
    assert stage.created == 1


def test_a_story_marked_off_topic_does_not_alert_again(store, tmp_path):
    from pipeline.feedback import Verdict
    from pipeline.transport.sqlite_feedback import FeedbackStore

    verdicts = FeedbackStore(f"sqlite:///{tmp_path}/state.db")
    sender = Sender()
    quiet = RuleSpec(name="ct-all", query="Quetta", topics=("counterterrorism",), actions=(HOOK,), skip_marked_no=False)
    stage = AlerterStage([RULE, quiet], store, sender, Clock(), verdicts=verdicts)
    verdicts.record([Verdict("a1", "counterterrorism", "no", "ana", 1.0, "story-1")])
    feed(stage, ct_item("a2"), ct_item("b1", story="story-2"))
    assert sorted((p["rule"], p["story_id"]) for _, p in sender.sent) == [
        ("ct", "story-2"), ("ct-all", "story-1"), ("ct-all", "story-2")]
    verdicts.record([Verdict("a1", "counterterrorism", None, "ana", 2.0, "story-1")])  # withdrawn
    feed(stage, ct_item("a3"))
    assert ("ct", "story-1") in {(p["rule"], p["story_id"]) for _, p in sender.sent}
    verdicts.close()


def test_a_verdict_on_another_topic_does_not_skip(store, tmp_path):
    from pipeline.feedback import Verdict
    from pipeline.transport.sqlite_feedback import FeedbackStore

    verdicts = FeedbackStore(f"sqlite:///{tmp_path}/state.db")
    verdicts.record([Verdict("a1", "minerals_cooperation", "no", "ana", 1.0, "story-1")])
    sender = Sender()
    feed(AlerterStage([RULE], store, sender, Clock(), verdicts=verdicts), ct_item("a2"))
    assert [p["story_id"] for _, p in sender.sent] == ["story-1"]
    verdicts.close()
