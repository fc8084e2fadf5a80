"""The Slack preview page (no browser): the header, mrkdwn as Slack shows it, hostile text kept inert,
every story of the real Slack message of a spike alert, and the README showing the rule drawn."""

from __future__ import annotations

import html
from pathlib import Path

import yaml

from pipeline.alerting.channels import slack
from pipeline.alerting.render import mrkdwn
from pipeline.alerting.rules import parse_rules
from pipeline.topics import builtin_topics
from tests.browser.slack_preview import RULE_YAML, render, spike_alert


def _message(*blocks: dict) -> dict:
    return {"text": "fallback", "blocks": list(blocks)}


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def test_the_header_is_shown_bold_under_the_app_name_with_its_badge():
    page = render(_message({"type": "header", "text": {"type": "plain_text", "text": "Spike in Bannu"}}),
                  time="10:48 AM")
    assert '<div class="block header">Spike in Bannu</div>' in page
    assert "<b>newsmon</b><span class=\"badge\">APP</span>" in page and "10:48 AM" in page
    assert "<title>fallback</title>" in page


def test_mrkdwn_links_bold_italic_entities_and_newlines():
    page = render(_message(_section("*<https://x.test/a?b=1&amp;c=2|Police &amp; FC posts>*\n_Dawn_ • 10:03")))
    assert '<b><a href="https://x.test/a?b=1&amp;c=2" target="_blank" rel="noopener">Police &amp; FC posts</a></b>' \
        in page
    assert "<br><i>Dawn</i> • 10:03" in page


def test_a_context_of_fields_and_a_section_of_fields():
    page = render(_message({"type": "context", "elements": [{"type": "mrkdwn", "text": "*Rule:* ct-spike-kp"}]},
                           {"type": "section", "fields": [{"type": "mrkdwn", "text": "*counterterrorism*\n0.93"}]},
                           {"type": "divider"}))
    assert '<div class="block context"><span><b>Rule:</b> ct-spike-kp</span></div>' in page
    assert '<div class="fields"><div><b>counterterrorism</b><br>0.93</div></div>' in page
    assert '<hr class="divider">' in page


def test_hostile_feed_text_comes_out_as_text():
    title = '<script>alert(1)</script> &lt;!channel&gt; <img src=x onerror="alert(2)">'
    escaped = str(mrkdwn.text(title))  # as slack.py sends feed text
    header = {"type": "header", "text": {"type": "plain_text", "text": escaped}}
    page = render(_message(header, _section(f"*<javascript:alert(3)|{escaped}>*"), _section("<!channel> ok")))
    assert "<script>" not in page and "<img" not in page and "javascript:" not in page
    assert html.escape("<script>alert(1)</script> &lt;!channel&gt;") in page  # shown as Slack shows it
    assert page.count('class="mention"') == 1  # only the real <!channel>, not the escaped one in the title


def test_the_real_slack_message_of_a_spike_alert_shows_every_story():
    alert = spike_alert()
    page = render(slack.message(alert))
    assert "12 counterterrorism stories about Khyber Pakhtunkhwa in an hour (usually 4.0)" in page  # title_template
    for story in alert["stories"]:
        brief = story["item"]
        assert f'<a href="{html.escape(brief["url"])}" target="_blank" rel="noopener">' \
               f'{html.escape(brief["title"])}</a>' in page
    assert "Police &amp; FC check posts" in page and "&amp;amp;" not in page


def test_the_readme_shows_the_rule_the_picture_was_made_from():
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    alerts = readme.split("\n## Alerts\n", 1)[1].split("\n## ", 1)[0]
    shown = alerts.split("```yaml\nrules:\n", 1)[1].split("```", 1)[0]
    topics = set(builtin_topics())
    assert parse_rules(yaml.safe_load(shown), "README", {}, topics) == parse_rules(
        yaml.safe_load(RULE_YAML), "README", {}, topics)
    assert "](docs/screenshots/slack-spike.png)" in readme
