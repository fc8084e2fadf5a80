"""A rule's title and body templates reach every channel, and feed text they pull in stays escaped:
the Slack payload still passes Slack's SDK and the safety checks, the Teams card the Adaptive Card
schema and the CommonMark reading, e-mail stays escaped; the alerter stores the rendered text on the
alert document (what the generic webhook receives) and the log channel's line, for a spike alert and for a feed-health alert."""

import json
from dataclasses import replace

from consumers.alert_store import AlertStore
from consumers.alerter import AlerterStage
from pipeline.alerting.actions import ActionSpec
from pipeline.alerting.channels import email as email_action
from pipeline.alerting.channels import log as log_action
from pipeline.alerting.channels import slack, teams, webhook
from pipeline.alerting.envelope import window_alert
from pipeline.alerting.rules import parse_rules
from pipeline.alerting.templates import MAX_BODY, with_text
from pipeline.settings import FeedSpec, ProducerSettings
from producers.health import HealthAlerts, assess
from producers.state import FeedState
from tests.consumers.test_rule_kinds import SPIKE, T0, Clock, Sender, baseline, burst, spikes
from tests.pipeline.alerting.test_channel_safety import HOSTILE, MENTIONS, MID_URL, SCRIPT, check_slack, check_teams

BODY = "Trailing average {{ baseline }}.\n{% for s in stories %}- {{ s.item.title }} ({{ s.item.source }})\n{% endfor %}"
RULE = parse_rules([{"name": "ct-spike-kp", "kind": "spike", "window": "1h", "group_by": "locations.name",
                     "title_template": "{{ count }} CT stories about {{ key }}",
                     "body_template": BODY}], "rules.d/kp.yaml", {}, {"counterterrorism"})[0]


def hostile_spike():
    briefs = [(f"s{i}", T0 + 60 * i, {"id": f"i{i}", "title": f"{HOSTILE} #{i}", "url": MID_URL,
                                      "source": f"Dawn {MENTIONS}", "published": "2026-01-02T10:00:00Z"})
              for i in range(12)]
    alert = window_alert(RULE, (T0, T0 + 3600), ("khyber", f"Khyber {MENTIONS} {SCRIPT}"), 12, 2.0, briefs, T0 + 900)
    return with_text(alert, RULE.title_template, RULE.body_template)


def test_the_rendered_title_and_body_are_on_the_alert_document_the_webhook_posts():
    alert = hostile_spike()
    assert alert["title"] == f"12 CT stories about Khyber {MENTIONS} {SCRIPT}"
    assert alert["body"].startswith("Trailing average 2.0.\n- ") and alert["body"].count("\n- ") == 9
    assert len(alert["body"]) == MAX_BODY  # 12 hostile titles and sources are longer: cut
    posted = json.loads(webhook.body(alert))
    assert posted["title"] == alert["title"] and posted["body"] == alert["body"]


def test_slack_shows_the_template_title_and_body_escaped():
    message = check_slack(slack.message(hostile_spike()))
    assert message["text"].startswith("12 CT stories about Khyber &lt;@U123ABC&gt; &lt;#C0123|general&gt;")
    header, intro = message["blocks"][0], message["blocks"][1]
    assert header["text"]["text"].startswith("12 CT stories about Khyber")
    assert intro["type"] == "section" and intro["text"]["text"].startswith("Trailing average 2.0.\n- ")
    assert "&lt;script&gt;" in intro["text"]["text"]


def test_the_log_line_carries_the_template_title_beside_the_first_storys(caplog):
    caplog.set_level("INFO", logger="consumers.alerter")
    log_action.send(ActionSpec(type="log"), hostile_spike())
    line = next(m for m in caplog.messages if m.startswith("event=alert "))
    assert f"headline={f'12 CT stories about Khyber {MENTIONS} {SCRIPT}'!r}" in line
    assert "stories=12" in line and f"title={f'{HOSTILE} #0'!r}" in line


def test_teams_and_email_show_the_template_title_and_body_escaped():
    alert = hostile_spike()
    card = check_teams(teams.message(alert), links={MID_URL})
    assert card["body"][0]["text"].startswith(r"12 CT stories about Khyber \<@U123ABC\>")
    assert card["body"][1]["text"].startswith("Trailing average 2.0.")
    html = email_action.html_body(alert)
    assert "<script>" not in html and '<p style="white-space: pre-line">Trailing average 2.0.' in html
    message = email_action.build_message(email_action.EmailSpec("smtp.test", 25, "a@b.test", ("c@d.test",), False),
                                         alert)
    assert str(message["Subject"]).startswith("12 CT stories about Khyber")
    assert "Trailing average 2.0." in message.get_body(("plain",)).get_content()


def test_without_templates_the_headline_is_the_default_one():
    alert = with_text(window_alert(replace(RULE, title_template=None, body_template=None), (T0, T0 + 3600),
                                   ("kp", "Khyber Pakhtunkhwa"), 5, 1.0, [], T0), None, None)
    assert "title" not in alert and "body" not in alert
    assert slack.message(alert)["text"].startswith("[WARNING] ct-spike-kp spike: 5 stories for locations.name")


def test_the_alerter_renders_the_rules_templates_into_the_queued_alert(tmp_path):
    rule = replace(SPIKE, title_template="Burst: {{ count }} stories about {{ key }}",
                   body_template="{{ stories | length }} listed")
    clock, sender = Clock(), Sender()
    stage = AlerterStage([rule], AlertStore(f"sqlite:///{tmp_path}/state.db"), sender, clock)
    baseline(stage, clock)
    burst(stage, clock, 24)
    [alert] = spikes(sender)
    assert alert["title"] == f"Burst: {alert['count']} stories about Balochistan"
    assert alert["body"] == f"{alert['count']} listed"


def test_feed_health_alerts_use_the_rules_templates(tmp_path):
    [rule] = parse_rules([{"name": "ops", "feed_health": True, "title_template": "Feed {{ feed.id }} is {{ feed.status }}",
                           "body_template": "{{ feed.reason }}"}], "c.yaml", {}, set())
    store = AlertStore(f"sqlite:///{tmp_path}/state.db")
    feed = FeedSpec(id="dawn", url="https://dawn.test/feed", source="Dawn")
    state = FeedState(feed_id="dawn", url=feed.url, error_count=5, last_error="HTTP 503", last_attempt=T0)
    health = assess(state, T0, ProducerSettings())
    assert health.status == "broken" and HealthAlerts([rule], store)(feed, health, T0) == 1
    [row] = store.due(T0 + 1)
    payload = row.payload
    assert payload["title"] == "Feed dawn is broken" and payload["body"].startswith("5 errors in a row: HTTP 503")
