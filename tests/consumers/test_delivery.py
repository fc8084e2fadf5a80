"""Delivery recovery: a receiver that did not answer is probed, and its alerts flow once it answers."""

import logging
import socket
import time

import pytest

from consumers.alert_store import AlertStore
from consumers.alerter import AlerterStage
from consumers.delivery import PROBE_SECONDS, address_of
from pipeline.alerting.actions import ActionSpec
from pipeline.alerting.channels.email import EmailSpec
from pipeline.alerting.rules import RuleSpec
from pipeline.errors import RetryLater, Unreachable
from tests.consumers.test_alerter import Clock, Sender, ct_item, feed
from tests.receiver import WebhookReceiver

HOOK = ActionSpec(type="webhook", url="https://hooks.test/ct")
RULE = RuleSpec(name="ct", query="Quetta", topics=("counterterrorism",), actions=(HOOK,))


@pytest.fixture
def store(tmp_path):
    store = AlertStore(f"sqlite:///{tmp_path}/state.db")
    yield store
    store.close()


class Probe:
    """Answers ``up`` for every address and records what it was asked."""

    def __init__(self, up=False):
        self.up, self.asked = up, []

    def __call__(self, host, port):
        self.asked.append((host, port))
        return self.up


@pytest.fixture(autouse=True)
def long_backoff(monkeypatch):
    """A first retry 150-300 s away, so an alert sent within seconds was sent because of the probe."""
    monkeypatch.setattr("consumers.delivery.RETRY_BASE", 300.0)


def stage_with(store, sender, probe):
    clock = Clock()
    stage = AlerterStage([RULE], store, sender, clock)
    stage.deliverer.probe = probe
    return stage, clock


def test_a_receiver_that_did_not_answer_gets_its_alert_as_soon_as_it_accepts_connections(store):
    sender, probe = Sender([Unreachable("webhook unreachable: [Errno 111] Connection refused")]), Probe(up=False)
    stage, clock = stage_with(store, sender, probe)
    feed(stage, ct_item("a"))  # the first attempt fails; the retry waits a backoff of a few seconds
    assert sender.sent == [] and probe.asked == [("hooks.test", 443)]
    clock.now += PROBE_SECONDS
    stage.idle()
    assert sender.sent == [] and len(probe.asked) == 2  # still down: probed again, nothing sent
    clock.now += 0.5
    stage.idle()
    assert len(probe.asked) == 2  # not probed more often than every PROBE_SECONDS
    probe.up = True
    clock.now += PROBE_SECONDS
    stage.idle()
    assert len(sender.sent) == 1 and store.counts() == {"sent": 1}
    assert store.records()[0].attempts == 2
    clock.now += 60
    stage.idle()
    assert len(probe.asked) == 3  # a receiver that answered is no longer probed


def test_a_receiver_that_answers_with_an_error_is_not_probed_but_backed_off(store):
    sender, probe = Sender([RetryLater("webhook HTTP 500")]), Probe(up=True)
    stage, clock = stage_with(store, sender, probe)
    feed(stage, ct_item("a"))
    for _ in range(3):
        clock.now += PROBE_SECONDS
        stage.idle()
    assert probe.asked == [] and sender.sent == [] and store.counts() == {"pending": 1}


def test_an_unreachable_error_at_an_address_that_accepts_connections_is_left_to_the_backoff(store):
    sender, probe = Sender([Unreachable("webhook unreachable: certificate verify failed")]), Probe(up=True)
    stage, clock = stage_with(store, sender, probe)
    feed(stage, ct_item("a"))
    assert probe.asked == [("hooks.test", 443)]  # asked once, at the failure: it accepts connections
    for _ in range(3):
        clock.now += PROBE_SECONDS
        stage.idle()
    assert len(probe.asked) == 1 and sender.sent == [] and store.counts() == {"pending": 1}


def test_the_address_of_each_kind_of_action():
    assert address_of(ActionSpec(type="webhook", url="https://hooks.test/x?token=1")) == ("hooks.test", 443)
    assert address_of(ActionSpec(type="slack", url="http://127.0.0.1:8080/services/T/B/X")) == ("127.0.0.1", 8080)
    assert address_of(ActionSpec(type="teams", url="https://[::1]:8443/hook")) == ("::1", 8443)
    email = EmailSpec(host="smtp.test", port=587, sender="a@b.test", recipients=("c@d.test",))
    assert address_of(ActionSpec(type="email", options=email)) == ("smtp.test", 587)
    assert address_of(ActionSpec(type="log")) is None
    assert address_of(ActionSpec(type="webhook", url="https://hooks.test:99999/x")) is None


def free_port():
    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        return probe_socket.getsockname()[1]


def test_a_real_receiver_that_comes_back_gets_the_alert_within_seconds(store, caplog):
    """Real sends and probes: a webhook whose port refuses connections, then a receiver on that port.
    The time from the receiver listening to the delivery is logged (measured, not asserted)."""
    port = free_port()
    hook = ActionSpec(type="webhook", url=f"http://127.0.0.1:{port}/hook", timeout=2.0)
    stage = AlerterStage([RuleSpec(name="ct", query="Quetta", actions=(hook,))], store)
    feed(stage, ct_item("a"))
    assert store.counts() == {"pending": 1} and "Connection refused" in (store.records()[0].last_error or "")
    with WebhookReceiver(port=port) as receiver, caplog.at_level(logging.INFO, logger="consumers.delivery"):
        listening = time.monotonic()
        deadline = listening + 30
        while not receiver.accepted() and time.monotonic() < deadline:
            stage.idle()  # what the run loop does every 50 ms when idle
            time.sleep(0.05)
        waited = time.monotonic() - listening
    assert len(receiver.accepted("/hook")) == 1 and store.counts() == {"sent": 1}
    assert any("event=receiver_reachable" in message for message in caplog.messages)
    logging.getLogger(__name__).warning("measured: webhook delivered %.2f s after its receiver listened", waited)
