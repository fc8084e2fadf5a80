"""One registry for channels and one for rule kinds: every module there declares what the loader,
delivery and the commands need, and a channel added as one module (tests/pipeline/alerting/
plain_text_channel.py) is configured, validated, shown and delivered through without touching
anything else."""

import time

import pytest

from consumers.alert_store import AlertStore
from consumers.alerter import AlerterStage
from consumers.delivery import address_of
from pipeline.alerting.channels import CHANNELS, channel, send
from pipeline.alerting.kinds import KINDS, WINDOW_KINDS
from pipeline.alerting.rules import missing_secrets
from pipeline.errors import ConfigError, PermanentError
from pipeline.settings import load_settings
from pipeline.transport.base import Record
from tests.factories import make_classified
from tests.receiver import WebhookReceiver


@pytest.mark.parametrize("name", sorted(CHANNELS))
def test_every_channel_declares_keys_configure_target_address_and_send(name):
    module = channel(name)
    assert isinstance(module.KEYS, frozenset) and not module.KEYS & {"type", "timeout", "max_attempts"}
    assert all(callable(getattr(module, f)) for f in ("configure", "target", "address", "send"))


@pytest.mark.parametrize("name", sorted(KINDS))
def test_every_rule_kind_declares_its_keys_and_reads_them(name):
    module = KINDS[name]
    assert isinstance(module.KEYS, frozenset) and set(module.REQUIRED) <= module.KEYS
    assert callable(module.options) and (name in WINDOW_KINDS) == module.WINDOWED
    assert WINDOW_KINDS == ("spike", "frequency", "flatline")


def test_an_unknown_channel_is_a_permanent_error_naming_the_known_ones():
    with pytest.raises(PermanentError, match="unknown action type 'pager' \\(known: log, webhook, slack"):
        channel("pager")


@pytest.fixture
def plain(monkeypatch):
    monkeypatch.setitem(CHANNELS, "plain", "tests.pipeline.alerting.plain_text_channel")


def config(tmp_path, action):
    path = tmp_path / "newsmon.yaml"
    path.write_text(f"rules:\n  - {{name: ct, query: Quetta, actions: [{action}]}}\n")
    return path


def test_a_new_channel_module_is_configured_and_validated_through_the_registry(tmp_path, plain):
    rule, = load_settings(config(tmp_path, "{type: plain, url: 'https://ntfy.test/ct/s3cr3t', token_env: TOK,"
                                           " priority: high, timeout: 3s}"), {"TOK": "t0k"}).rules
    action, = rule.actions
    assert (action.type, action.url, action.secret, action.options, action.timeout) == (
        "plain", "https://ntfy.test/ct/s3cr3t", "t0k", "high", 3.0)
    assert action.target.startswith("plain:https://ntfy.test/~") and "s3cr3t" not in action.target
    assert address_of(action) == ("ntfy.test", 443)
    unset, = load_settings(config(tmp_path, "{type: plain, url: 'https://ntfy.test/x', token_env: TOK}"), {}).rules
    assert missing_secrets([unset]) == [f"{tmp_path}/newsmon.yaml: rules[0] (ct).actions[0].token_env:"
                                        " environment variable TOK is not set"]
    for action, message in (("{type: plain, url: 'https://ntfy.test/x', colour: red}",
                             r"rules\[0\] \(ct\).actions\[0\].colour: unknown key for a plain action"),
                            ("{type: plain, url: 'https://ntfy.test/x', priority: max}",
                             r"rules\[0\] \(ct\).actions\[0\].priority: expected low, default or high"),
                            ("{type: pager}", r"rules\[0\] \(ct\).actions\[0\].type: expected one of log, webhook,"
                                              r" slack, teams, email, plain")):
        with pytest.raises(ConfigError, match=message):
            load_settings(config(tmp_path, action), {})


def test_the_alerter_delivers_through_the_new_channel(tmp_path, plain):
    with WebhookReceiver() as receiver:
        rule, = load_settings(config(tmp_path, f"{{type: plain, url: '{receiver.base}/ct', token_env: TOK}}"),
                              {"TOK": "t0k"}).rules
        stage = AlerterStage([rule], AlertStore(f"sqlite:///{tmp_path}/state.db"), send)
        item = make_classified(id="i1", title="Blast in Quetta", story_id="s1")
        stage.handle(Record("newsmon.classified", 0, 1, item.id, item.to_json(), time.time()))
        stage.flush()
        delivery, = receiver.accepted("/ct")
    assert delivery.body.decode() == "[WARNING] ct: Blast in Quetta"
    assert delivery.headers["Authorization"] == "Bearer t0k" and delivery.headers["X-Priority"] == "default"
