"""The alert documents of the new kinds follow the published JSON Schema, and every channel renders
them: a window alert lists its stories like a digest and says the count, the trailing average and
the key; a new-term alert shows its story and names the term."""

import json
from pathlib import Path

import pytest

from consumers.alert_schema import title_of
from pipeline.alerting.channels import email, slack, teams
from pipeline.alerting.envelope import new_term_alert, story_brief, window_alert
from pipeline.alerting.render.view import headline, story_views
from pipeline.alerting.rules import RuleSpec
from pipeline.item import Location
from tests.factories import make_classified

SCHEMA = json.loads((Path(__file__).parents[3] / "docs" / "alert-payload.schema.json").read_text())
H = 3600.0
START = 1_767_348_000.0  # 2026-01-02 10:00 UTC
SPIKE = RuleSpec(name="ct-spike", kind="spike", window=H, min_stories=5, ratio=3.0, group_by="locations.name",
                 severity="critical")
FLAT = RuleSpec(name="quiet", kind="flatline", window=H, min_stories=3)
TERMS = RuleSpec(name="new-groups", kind="new_term", term_field="entities.groups")


def item(n):
    return make_classified(id=f"i{n}", url=f"https://x.test/{n}", title=f"Blast {n} in Quetta", source="Dawn",
                           topics=("counterterrorism",), scores={"counterterrorism": 0.9}, story_id=f"s{n}",
                           locations=(Location("Quetta", 30.2, 67.0, "PK"),), countries=("PK",),
                           entities={"persons": [], "organizations": [], "places": [], "groups": ["LeJ"]}).to_dict()


def spike_alert(stories=12):
    return window_alert(SPIKE, (START, START + H), ("quetta", "Quetta"), stories, 2.0,
                        [(f"s{n}", START + 60 * n, story_brief(item(n))) for n in range(stories)], START + 1500)


def alerts():
    flat = window_alert(FLAT, (START, START + H), ("", ""), 1, None, [("s1", START + 5, story_brief(item(1)))],
                        START + H + 600)
    return [spike_alert(), flat, new_term_alert(TERMS, item(3), ("lej", "LeJ"), START + 30, START + 40)]


def test_the_new_kinds_follow_the_published_schema():
    jsonschema = pytest.importorskip("jsonschema")
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    for alert in alerts():
        errors = [e.message for e in validator.iter_errors(alert)]
        assert errors == [], (alert["kind"], errors)
    broken = dict(spike_alert(), count=None)
    assert list(validator.iter_errors(broken))


def test_ids_headlines_and_titles():
    spike, flat, term = alerts()
    assert (spike["id"], flat["id"], term["id"]) == (f"ct-spike/spike/quetta/{int(START)}",
                                                     f"quiet/flatline/-/{int(START)}",
                                                     f"new-groups/new_term/lej/{int(START + 30)}")
    assert headline(spike) == ("[CRITICAL] ct-spike spike: 12 stories for locations.name Quetta,"
                               " 2026-01-02 10:00 to 11:00 UTC (trailing average 2.0)")
    assert headline(flat) == "[WARNING] quiet flatline: 1 story, 2026-01-02 10:00 to 11:00 UTC (fewer than 3)"
    assert headline(term) == "[WARNING] new-groups: new entities.groups: LeJ — Blast 3 in Quetta"
    assert [title_of(a) for a in alerts()] == ["spike locations.name=Quetta: 12 stories", "flatline: 1 story",
                                               "new entities.groups LeJ: Blast 3 in Quetta"]
    assert [s.title for s in story_views(spike)][:2] == ["Blast 0 in Quetta", "Blast 1 in Quetta"]


def test_slack_teams_and_email_list_a_spikes_stories_with_links():
    spike = spike_alert()
    message = slack.message(spike)
    text = json.dumps(message)
    assert "trailing average 2.0" in message["text"] and "Quetta" in message["text"]
    assert all(f"https://x.test/{n}|Blast {n} in Quetta" in text for n in range(12)) and slack.fits(message)
    card = json.dumps(teams.card(spike))
    assert all(f"(https://x.test/{n})" in card for n in range(12)) and "12 stories for locations.name" in card
    body = email.text_body(spike)
    assert body.startswith("[CRITICAL] ct-spike spike: 12 stories") and "https://x.test/11" in body
    term = slack.message(alerts()[2])  # a new term renders as its story
    assert "new entities.groups: LeJ" in term["text"] and "Blast 3 in Quetta" in json.dumps(term)
