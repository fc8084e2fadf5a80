"""With web.public_url, a story alert links to the story's page ("Wrong topic?"), in the webhook
document (story_url, schema-valid), in Slack (validated by slack_sdk), Teams (Adaptive Card schema)
and e-mail; so does each story a spike, digest or new-term alert shows; without it nothing changes."""

from dataclasses import replace

import jsonschema
import pytest

from consumers.alert_store import AlertStore
from consumers.alerter import AlerterStage
from pipeline.alerting.channels import email as email_action
from pipeline.alerting.channels import slack, teams
from pipeline.alerting.envelope import digest_alert, story_alert, story_page
from pipeline.errors import ConfigError
from pipeline.settings import load_settings
from tests.consumers.test_alerter import RULE as CT_RULE
from tests.consumers.test_alerter import Clock, Sender, ct_item, feed
from tests.consumers.test_rule_kinds import GROUPS, HOUR, SPIKE, T0, baseline, burst, spikes, story
from tests.consumers.test_rule_kinds import Clock as KindClock
from tests.consumers.test_rule_kinds import Sender as KindSender
from tests.pipeline.alerting.test_channel_safety import card_errors, validated_by_slack_sdk
from tests.pipeline.alerting.test_channels import RULE, SCHEMA, item

PAGE = "https://newsmon.example.org"


def linked_story():
    payload = story_alert(RULE, item(), 0, 1_700_000_000.0)
    return {**payload, "story_url": story_page(PAGE, payload["story_id"])}


def test_the_alerter_adds_the_story_page_when_configured(tmp_path):
    store = AlertStore(f"sqlite:///{tmp_path}/state.db")
    sender = Sender()
    feed(AlerterStage([CT_RULE], store, sender, Clock(), public_url=PAGE), ct_item("a1", story="s/1 x"))
    feed(AlerterStage([replace(CT_RULE, name="plain")], store, sender, Clock()), ct_item("b1", story="s2"))
    store.close()
    by_rule = {payload["rule"]: payload for _, payload in sender.sent}
    assert by_rule["ct"]["story_url"] == "https://newsmon.example.org/story/s%2F1%20x"
    assert "story_url" not in by_rule["plain"]


def test_the_documents_stay_schema_valid():
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    validator.validate(linked_story())
    stories = [linked_story()]
    validator.validate(digest_alert(RULE, (1_699_999_200.0, 1_700_002_800.0), stories, 1_700_002_800.0))


def test_slack_teams_and_email_say_wrong_topic_with_the_link():
    alert = linked_story()
    url = alert["story_url"]
    message = slack.message(alert)
    validated_by_slack_sdk(message)
    assert any(e["text"] == f"Wrong topic? <{url}|Mark it on the story page>" for b in message["blocks"]
               for e in b.get("elements", ()))
    card = teams.card(alert)
    assert card_errors(card) == []
    assert {"type": "Action.OpenUrl", "title": "Wrong topic?", "url": url} in card["actions"]
    assert f"Wrong topic? Mark it on the story page: {url}" in email_action.text_body(alert)
    assert f'<a href="{url}">Mark it on the story page</a>' in email_action.html_body(alert)


def test_each_story_of_a_digest_links_to_its_page():
    stories = [linked_story(), {**linked_story(), "story_id": "s2", "story_url": story_page(PAGE, "s2")}]
    digest = digest_alert(RULE, (1_699_999_200.0, 1_700_002_800.0), stories, 1_700_002_800.0)
    urls = [s["story_url"] for s in stories]
    message = slack.message(digest)
    validated_by_slack_sdk(message)
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert [sum(f"<{url}|Wrong topic? Mark it on the story page>" in text for text in sections) for url in urls] == [1, 1]
    card = teams.card(digest)
    assert card_errors(card) == []
    texts = [e["text"] for c in card["body"] if c.get("type") == "Container" for e in c["items"]]
    assert [texts.count(f"[Wrong topic? Mark it on the story page]({url})") for url in urls] == [1, 1]
    assert all(url in email_action.text_body(digest) and url in email_action.html_body(digest) for url in urls)


def test_each_story_of_a_spike_and_the_story_of_a_new_term_link_to_their_pages(tmp_path):
    clock, sender = KindClock(), KindSender()
    stage = AlerterStage([SPIKE, GROUPS], AlertStore(f"sqlite:///{tmp_path}/state.db"), sender, clock,
                         public_url=PAGE)
    baseline(stage, clock)
    burst(stage, clock, 24)
    [spike] = spikes(sender)
    assert [s["story_url"] for s in spike["stories"]] == [f"{PAGE}/story/s{10_000 + k}" for k in range(6)]
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(spike)
    message = slack.message(spike)
    validated_by_slack_sdk(message)
    sections = " ".join(b["text"]["text"] for b in message["blocks"] if b["type"] == "section")
    assert sections.count("|Wrong topic? Mark it on the story page>") == 6
    clock.now = T0 + 26 * HOUR
    feed(stage, story(90_000, clock.now - 60, groups=["Zainabiyoun Brigade"]))
    [new_term] = [p for p in sender.sent if p["kind"] == "new_term"]
    assert new_term["story_url"] == f"{PAGE}/story/s90000"
    assert f"Wrong topic? Mark it on the story page: {PAGE}/story/s90000" in email_action.text_body(new_term)


def test_without_a_public_url_no_message_says_it():
    alert = story_alert(RULE, item(), 0, 1_700_000_000.0)
    assert "Wrong topic" not in str(slack.message(alert)) + str(teams.card(alert)) + email_action.text_body(alert)


@pytest.mark.parametrize("value, expected", [("https://newsmon.example.org/", "https://newsmon.example.org"),
                                             ("http://10.0.0.5:8470/newsmon", "http://10.0.0.5:8470/newsmon")])
def test_public_url_setting(tmp_path, value, expected):
    path = tmp_path / "c.yaml"
    path.write_text(f"web: {{public_url: '{value}'}}\n")
    assert load_settings(path, {}).web.public_url == expected


def test_a_bad_public_url_names_the_key(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("web: {public_url: 'newsmon.example.org'}\n")
    with pytest.raises(ConfigError, match=r"web.public_url: expected an http\(s\) address"):
        load_settings(path, {})
