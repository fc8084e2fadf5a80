"""Rule templates: checked when the configuration loads (one line naming the rule, exit 2 through
ConfigError), rendered in Jinja2's sandbox over the alert document, never losing an alert."""

import logging

import pytest

from pipeline.alerting.rules import parse_rules
from pipeline.alerting.templates import MAX_TITLE, fields_for, render, with_text
from pipeline.errors import ConfigError

TOPICS = {"counterterrorism", "minerals_cooperation"}
SPIKE = {"name": "ct-spike", "kind": "spike", "window": "1h", "group_by": "locations.name"}


def rule(**keys):
    return parse_rules([{**SPIKE, **keys}], "rules.d/ct.yaml", {}, TOPICS)[0]


def test_a_template_over_the_rule_kinds_fields_loads():
    spike = rule(title_template="{{ count }} stories about {{ key }}",
                 body_template="{% for s in stories %}- {{ s.item.title }}\n{% endfor %}")
    assert spike.title_template == "{{ count }} stories about {{ key }}"
    item_rule = parse_rules([{"name": "ct", "title_template": "{{ item.source }}: {{ item.title }}"}], "c.yaml", {}, TOPICS)
    assert item_rule[0].title_template.startswith("{{ item.source }}")


@pytest.mark.parametrize(("template", "message"), [
    ("{{ count ", r"rules\.d/ct\.yaml: rules\[0\] \(ct-spike\)\.title_template: template error line 1: unexpected end"),
    ("{{ item.title }}", r"\(ct-spike\)\.title_template: 'item' is not a field of this rule's alerts \(fields: baseline,"),
    ("{{ ''.__class__.__mro__ }}", r"\(ct-spike\)\.title_template: template error: access to attribute '__class__'"),
    ("{{ count.__init__.__globals__ }}", r"\(ct-spike\)\.title_template: template error: access to attribute"),
    ("{{ count / 0 }}", r"\(ct-spike\)\.title_template: template fails on a sample alert: ZeroDivisionError"),
    ("{% include 'x' %}", r"\(ct-spike\)\.title_template: template fails on a sample alert: TypeError: no loader"),
    ("", r"\(ct-spike\)\.title_template: expected a non-empty template string"),
    (["{{ count }}"], r"\(ct-spike\)\.title_template: expected a non-empty template string"),
])
def test_a_bad_template_is_one_line_naming_the_file_rule_and_key(template, message):
    with pytest.raises(ConfigError, match=message) as caught:
        rule(title_template=template)
    assert "\n" not in str(caught.value)


def test_the_fields_follow_what_the_rule_sends():
    assert "item" in fields_for("item", digest=False, feed_health=False)
    assert "stories" in fields_for("item", digest=True, feed_health=False)
    assert "item" not in fields_for("item", digest=True, feed_health=False)
    assert "feed" in fields_for("item", digest=False, feed_health=True)
    assert {"term", "field", "item"} <= fields_for("new_term", digest=False, feed_health=False)
    assert "count" in fields_for("flatline", digest=False, feed_health=False)
    with pytest.raises(ConfigError, match=r"'item' is not a field"):
        parse_rules([{"name": "d", "digest": "1h", "title_template": "{{ item.title }}"}], "c.yaml", {}, TOPICS)


def test_feed_text_is_data_not_template():
    alert = {"id": "a", "item": {"title": "{{ 7 * 7 }} {% for x in range(3) %}x{% endfor %}"}}
    assert render("Alert: {{ item.title }}", alert, 500) == "Alert: {{ 7 * 7 }} {% for x in range(3) %}x{% endfor %}"


def test_with_text_adds_a_one_line_title_and_the_body():
    alert = {"id": "a", "count": 12, "key": "Khyber Pakhtunkhwa", "stories": [{"item": {"title": "One"}},
                                                                             {"item": {"title": "Two"}}]}
    with_text(alert, "{{ count }} stories\n about {{ key }}", "{% for s in stories %}- {{ s.item.title }}\n{% endfor %}")
    assert alert["title"] == "12 stories about Khyber Pakhtunkhwa"
    assert alert["body"] == "- One\n- Two"
    assert len(with_text({"id": "b", "key": "x" * 1000}, "{{ key }}", None)["title"]) == MAX_TITLE


def test_a_template_failing_on_a_real_alert_leaves_the_default_headline(caplog):
    alert = {"id": "r/spike/-/0", "count": None}
    with caplog.at_level(logging.WARNING):
        assert with_text(alert, "{{ count + 1 }}", "{{ '' }}") == {"id": "r/spike/-/0", "count": None}
    assert "event=alert_template_failed alert=r/spike/-/0 error=TypeError" in caplog.text


def test_a_missing_value_renders_empty():
    assert render("{{ item.summary }}|{{ key }}", {"id": "a", "item": {}}, 100) == "|"
