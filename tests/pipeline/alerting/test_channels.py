"""The actions: generic webhook (schema, signature), Slack Block Kit and Teams Adaptive Card structure,
e-mail through a local SMTP server, and how HTTP and SMTP failures map to RetryLater/PermanentError."""

import json
from pathlib import Path

import pytest

from pipeline.alerting.actions import ActionSpec
from pipeline.alerting.channels import email as email_action
from pipeline.alerting.channels import send, slack, teams
from pipeline.alerting.channels.email import EmailSpec
from pipeline.alerting.envelope import digest_alert, story_alert
from pipeline.alerting.rules import RuleSpec
from pipeline.errors import PermanentError, RetryLater
from tests.factories import make_classified
from tests.receiver import WebhookReceiver, verify_signature
from tests.smtpserver import SmtpServer

SCHEMA = json.loads((Path(__file__).parents[3] / "docs" / "alert-payload.schema.json").read_text())
RULE = RuleSpec(name="ct-quetta", query="Quetta", severity="critical")
HOSTILE = 'Blast <script>alert(1)</script> & "raid" in Quetta'


def item(i=0, title="TTP claims attack on police post in Quetta", **extra):
    values = dict(id=f"item-{i}", url=f"https://news.test/{i}?a=1&b=2", title=title, source="Dawn",
                  summary="Militants attacked a police post; CTD launched an operation.",
                  topics=("counterterrorism", "minerals_cooperation"),
                  scores={"counterterrorism": 0.93, "minerals_cooperation": 0.51},
                  evidence={"counterterrorism": ["ttp", "police post attack", "ctd operation"]},
                  entities={"persons": [], "organizations": ["CTD"], "places": ["Quetta"],
                            "groups": ["Tehreek-e-Taliban Pakistan"]},
                  countries=("PK",), story_id=f"story-{i}")
    values.update(extra)
    return make_classified(**values).to_dict()


def story():
    return story_alert(RULE, item(), 0, 1_700_000_000.0)


def digest(count=3):
    stories = [story_alert(RULE, item(i), 0, 1_700_000_000.0 + i) for i in range(count)]
    return digest_alert(RULE, (1_699_999_200.0, 1_700_002_800.0), stories, 1_700_002_800.0)


def test_payloads_follow_the_published_json_schema():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    for payload in (story(), digest()):
        validator.validate(payload)
    broken = dict(story())
    del broken["item"]
    assert list(validator.iter_errors(broken))


def test_webhook_posts_the_document_signed_and_with_its_id():
    with WebhookReceiver() as receiver:
        send(ActionSpec(type="webhook", url=f"{receiver.base}/hook", secret="s3cret"), story())
        delivery = receiver.accepted("/hook")[0]
    assert verify_signature(b"s3cret", delivery.headers["X-Newsmon-Signature"], delivery.body)
    assert not verify_signature(b"wrong", delivery.headers["X-Newsmon-Signature"], delivery.body)
    assert delivery.headers["X-Newsmon-Alert-Id"] == "ct-quetta/story/story-0/0"
    assert delivery.json() == story() | {"created_at": delivery.json()["created_at"]}


@pytest.mark.parametrize("kind", ["slack", "teams"])
def test_slack_and_teams_requests_are_signed_too(kind):
    with WebhookReceiver() as receiver:
        send(ActionSpec(type=kind, url=f"{receiver.base}/{kind}", secret="k"), story())
        delivery = receiver.accepted()[0]
    assert delivery.path == f"/{kind}"
    assert verify_signature(b"k", delivery.headers["X-Newsmon-Signature"], delivery.body)


def test_http_statuses_map_to_retry_or_permanent():
    with WebhookReceiver(script=[503, 429, 404]) as receiver:
        action = ActionSpec(type="webhook", url=f"{receiver.base}/hook")
        for expected in (RetryLater, RetryLater, PermanentError):
            with pytest.raises(expected):
                send(action, story())
    with pytest.raises(RetryLater, match="unreachable"):
        send(ActionSpec(type="webhook", url="http://127.0.0.1:9/hook", timeout=2), story())


# -- Slack Block Kit ------------------------------------------------------------------------------

def check_text(obj, limit):
    assert obj["type"] in ("plain_text", "mrkdwn") and isinstance(obj["text"], str) and 0 < len(obj["text"]) <= limit


def check_blocks(message):
    assert isinstance(message["text"], str) and message["text"]
    blocks = message["blocks"]
    assert 0 < len(blocks) <= 50
    for block in blocks:
        assert block["type"] in ("header", "section", "context", "divider"), block
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            check_text(block["text"], 150)
        elif block["type"] == "section":
            assert "text" in block or "fields" in block
            if "text" in block:
                check_text(block["text"], 3000)
            for field in block.get("fields", []):
                check_text(field, 2000)
            assert len(block.get("fields", [])) <= 10
        elif block["type"] == "context":
            assert 0 < len(block["elements"]) <= 10
            for element in block["elements"]:
                check_text(element, 2000)
    return blocks


def test_slack_story_message_has_link_source_time_topics_evidence_entities():
    blocks = check_blocks(slack.message(story()))
    text = json.dumps(blocks)
    assert blocks[0]["type"] == "header" and "CRITICAL" in blocks[0]["text"]["text"]
    assert "<https://news.test/0?a=1&amp;b=2|TTP claims attack on police post in Quetta>" in blocks[1]["text"]["text"]
    assert "*Source:* Dawn" in text and "2026-01-02 01:00 UTC" in text
    assert any(f["text"] == "*counterterrorism*\n0.93" for b in blocks for f in b.get("fields", []))
    assert "police post attack" in text and "Tehreek-e-Taliban Pakistan" in text


def test_slack_escapes_mrkdwn_and_clips_long_titles():
    payload = story_alert(RULE, item(title=HOSTILE + " x" * 2000), 0, 1_700_000_000.0)
    blocks = check_blocks(slack.message(payload))
    mrkdwn = [t for b in blocks for t in [b.get("text"), *b.get("fields", []), *b.get("elements", [])]
              if t and t["type"] == "mrkdwn"]
    assert all("<script>" not in t["text"] for t in mrkdwn) and "&lt;script&gt;" in blocks[1]["text"]["text"]
    assert blocks[0]["text"]["type"] == "plain_text"  # not parsed by Slack: shown as typed


def test_slack_digest_lists_stories_within_block_limits():
    blocks = check_blocks(slack.message(digest(60)))
    assert "60 stories" in blocks[0]["text"]["text"]
    assert sum(1 for b in blocks if b["type"] == "section") == slack.MAX_DIGEST_STORIES
    assert "40 more stories" in blocks[-1]["elements"][0]["text"]


# -- Teams Adaptive Card --------------------------------------------------------------------------

ELEMENTS = {"TextBlock", "FactSet", "Container", "ColumnSet", "Image"}


def check_element(element):
    assert element["type"] in ELEMENTS, element
    if element["type"] == "TextBlock":
        assert isinstance(element["text"], str) and element["text"] and element.get("wrap") is True
    if element["type"] == "FactSet":
        assert element["facts"] and all(set(f) == {"title", "value"} and f["value"] for f in element["facts"])
    for child in element.get("items", []):
        check_element(child)


def check_card(message):
    assert message["type"] == "message" and len(message["attachments"]) == 1
    attachment = message["attachments"][0]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    assert card["body"]
    for element in card["body"]:
        check_element(element)
    for action in card.get("actions", []):
        assert action["type"] == "Action.OpenUrl" and action["url"].startswith("https://")
    return card


def test_teams_story_card():
    card = check_card(teams.message(story()))
    assert card["body"][0]["color"] == "Attention"
    assert card["body"][1]["text"] == "[TTP claims attack on police post in Quetta](https://news.test/0?a=1&b=2)"
    facts = {f["title"]: f["value"] for f in card["body"][-1]["facts"]}
    assert facts["Source"] == "Dawn" and facts["Topics"] == "counterterrorism 0.93, minerals_cooperation 0.51"
    assert facts["Groups"] == "Tehreek-e-Taliban Pakistan" and "ctd operation" in facts["Evidence (counterterrorism)"]
    assert card["actions"][0]["url"] == "https://news.test/0?a=1&b=2"


def test_teams_digest_card_and_link_text_cannot_break_markdown():
    card = check_card(teams.message(digest(25)))
    containers = [e for e in card["body"] if e["type"] == "Container"]
    assert len(containers) == teams.MAX_DIGEST_STORIES and "5 more" in card["body"][-1]["text"]
    odd = check_card(teams.message(story_alert(RULE, item(title="[x](javascript:alert(1))"), 0, 1.0)))
    assert odd["body"][1]["text"].startswith(r"[\[x\]\(javascript:alert\(1\)\)](https://")


# -- e-mail ---------------------------------------------------------------------------------------

def email_spec(server, **extra):
    values = dict(host="127.0.0.1", port=server.port, sender="newsmon@desk.test",
                  recipients=("analyst@desk.test", "duty@desk.test"), starttls=False)
    values.update(extra)
    return ActionSpec(type="email", timeout=5, options=EmailSpec(**values))


def test_email_arrives_with_text_and_escaped_html_parts():
    payload = story_alert(RULE, item(title=HOSTILE), 0, 1_700_000_000.0)
    with SmtpServer() as server:
        send(email_spec(server), payload)
        received = server.messages
    assert len(received) == 1 and received[0].recipients == ("analyst@desk.test", "duty@desk.test")
    message = received[0].message()
    assert message["Subject"].strip().startswith("[CRITICAL] ct-quetta: Blast")
    assert message["X-Newsmon-Alert-Id"] == "ct-quetta/story/story-0/0"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert HOSTILE in text
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;raid&quot;" in html
    assert 'href="https://news.test/0?a=1&amp;b=2"' in html and "Tehreek-e-Taliban Pakistan" in html


def test_email_digest_and_stable_message_id():
    with SmtpServer() as server:
        send(email_spec(server), digest(2))
        send(email_spec(server), digest(2))
        first, second = (m.message() for m in server.messages)
    assert first["Message-ID"] == second["Message-ID"]
    assert first.get_body(("html",)).get_content().count("<h3>") == 2


def test_smtp_replies_map_to_retry_or_permanent():
    with SmtpServer(rcpt_replies=["451 try later", "451 try later", "550 no such user", "550 no such user"]) as server:
        with pytest.raises(RetryLater, match="451"):
            send(email_spec(server), story())
        with pytest.raises(PermanentError, match="550"):
            send(email_spec(server), story())
        assert server.messages == []
        with pytest.raises(PermanentError, match="STARTTLS"):
            send(email_spec(server, starttls=True), story())
    with pytest.raises(RetryLater):
        send(ActionSpec(type="email", timeout=2, options=EmailSpec("127.0.0.1", 9, "a@b.test", ("c@d.test",), False)),
             story())


def test_email_body_helpers_escape_everything():
    html = email_action.html_body(story_alert(RULE, item(title="<b>x</b>", source="<i>S</i>"), 0, 1.0))
    assert "<b>x</b>" not in html and "<i>S</i>" not in html
