"""producers.normalise: canonical URLs, HTML → text, entries → RawItems; plus the corpus sweeps."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.errors import PermanentError
from pipeline.item import FeedRef, RawItem, item_id_for
from producers.normalise import (
    MAX_BODY_CHARS,
    MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
    SUMMARY_CHARS,
    TRACKING_PARAMS,
    TRUNCATION_MARKER,
    EntryError,
    bound_text,
    canonical_url,
    html_to_text,
    normalise_entry,
    normalise_feed,
    truncate_text,
    with_body,
)
from producers.parse import FeedParseError, ParsedEntry, ParsedFeed, parse_feed
from tests.conftest import SHARED  # NEWSMON_SHARED, else the "shared" folder next to the repo

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
FETCHED = datetime(2025, 6, 10, 12, 0, tzinfo=UTC)
FEED = FeedRef(id="frontier", url="https://news.example.pk/feed/", title="Frontier Desk")


def entry(**fields) -> ParsedEntry:
    base = dict(guid="", link="", title="", summary="", content="", published=None)
    return ParsedEntry(**{**base, **fields})


def normalise(e: ParsedEntry, **kwargs):
    return normalise_entry(e, feed=FEED, source="Frontier Desk", fetched_at=FETCHED, **kwargs)


# --- canonical_url ---------------------------------------------------------------------------


@pytest.mark.parametrize("url, expected", [
    ("HTTPS://News.Example.PK:443/A/b?x=1#top", "https://news.example.pk/A/b?x=1"),
    ("http://example.com:80", "http://example.com/"),
    ("http://example.com:8080/x", "http://example.com:8080/x"),
    ("https://example.com:80/x", "https://example.com:80/x"),
    ("https://e.com/a?utm_source=rss&id=5&UTM_Medium=x&fbclid=1&gclid=2", "https://e.com/a?id=5"),
    ("https://e.com/a?mc_cid=1&mc_eid=2&igshid=3&ref=4&ref_src=5&cmpid=6&ocid=7&_ga=8&spm=9",
     "https://e.com/a"),
    ("https://e.com/a?b=2&a=1&c=3", "https://e.com/a?b=2&a=1&c=3"),  # order kept
    ("https://e.com/a?", "https://e.com/a"),
    ("https://e.com/a?&&x=1&", "https://e.com/a?x=1"),
    ("https://e.com/a/./b/../c/./d", "https://e.com/a/c/d"),
    ("https://e.com/../../x", "https://e.com/x"),
    ("https://e.com/a/b/..", "https://e.com/a/"),
    ("https://e.com/News/Pakistan%2FUS", "https://e.com/News/Pakistan%2FUS"),  # path case kept
    ("https://e.com/search?q=Reko+Diq&page=2", "https://e.com/search?q=Reko+Diq&page=2"),
    ("https://E.com./x", "https://e.com/x"),
    ("http://[2001:DB8::1]:80/x", "http://[2001:db8::1]/x"),
    ("  https://e.com/x  ", "https://e.com/x"),
])
def test_canonical_url(url, expected):
    assert canonical_url(url) == expected
    assert canonical_url(expected) == expected  # idempotent


def test_tracking_parameters_are_a_named_constant():
    assert {"fbclid", "gclid", "mc_cid", "mc_eid", "igshid", "ref", "ref_src", "cmpid", "ocid", "_ga",
            "spm"} <= TRACKING_PARAMS


# --- html_to_text ----------------------------------------------------------------------------


@pytest.mark.parametrize("fragment, text", [
    ("<p>Troops&nbsp;<b>deployed</b> in Kurram.</p><p>Roads reopened.</p>",
     "Troops deployed in Kurram. Roads reopened."),
    ("Before<script>var x = '<p>no</p>';</script>After", "BeforeAfter"),
    ("<style>p { color: red }</style><noscript><img src=x>enable JS</noscript>Kept", "Kept"),
    ("line one<br>line two<br/>line three", "line one line two line three"),
    ("<ul><li>copper</li><li>gold</li></ul>", "copper gold"),
    ("<div>a</div>b<span>c</span>", "a bc"),
    ("AT&amp;T &amp; Co &#8212; &eacute;t&eacute; &#x27;x&#x27;", "AT&T & Co \u2014 \u00e9t\u00e9 'x'"),
    ("Quetta &amp;amp; Kalat", "Quetta & Kalat"),  # double-encoded ampersand decoded once more
    ("&amp;#8217;s", "\u2019s"),
    ("&amp;lt;script&amp;gt;", "&lt;script&gt;"),  # the second pass never makes markup
    ("5 &lt; 6 and 7 > 3", "5 < 6 and 7 > 3"),
    ("  lots \n\t of   space  ", "lots of space"),
    ("<!-- a comment --><p>text</p>", "text"),
    ("<script>never closed", ""),
    ("&lt;script&gt;alert(1)&lt;/script&gt;Escaped &lt;b&gt;markup&lt;/b&gt; in a headline",
     "Escaped markup in a headline"),  # escaped markup is stripped too: the text never looks like HTML
    ("Cut off mid-tag <a href=\"https://e.example/x", "Cut off mid-tag"),
    ("a &lt;script", "a"),
    ("", ""),
])
def test_html_to_text(fragment, text):
    assert html_to_text(fragment) == text


@given(st.text(alphabet=st.characters(blacklist_characters="<&"), max_size=80))
def test_text_without_a_tag_or_an_entity_comes_back_as_the_parser_would_give_it(text):
    # an empty inline element sends the same text through the HTML parser
    assert html_to_text(text) == html_to_text(f"{text}<b></b>") == " ".join(text.split())


def test_truncate_text_prefers_sentence_then_word_boundaries():
    sentences = "Talks resumed in Islamabad today. " * 30
    cut = truncate_text(sentences, 100)
    assert cut.endswith("today.") and len(cut) <= 100
    words = "antimony " * 100
    cut = truncate_text(words, 50)
    assert cut.endswith("antimony\u2026") and len(cut) <= 50
    assert truncate_text("short", 50) == "short"


# --- normalise_entry -------------------------------------------------------------------------


def test_id_is_the_hash_of_the_canonical_url_else_the_guid():
    linked = normalise(entry(link="https://News.example.pk/a?utm_source=x", guid="g1", title="T")).item
    assert linked.url == "https://news.example.pk/a"
    assert linked.id == item_id_for("https://news.example.pk/a", "g1")
    guid_only = normalise(entry(guid="g1", title="T")).item
    assert guid_only.id == item_id_for(None, "g1") and guid_only.url == ""


def test_item_fields():
    result = normalise(entry(
        guid="g", link="/security/raid", title="<b>Raid</b> in &amp;amp; near Bannu",
        summary="<p>Security forces said the raid ended.</p><script>x()</script>",
        published=datetime(2025, 6, 9, 23, 0, tzinfo=timezone(timedelta(hours=5))),
        authors=("<i>Staff</i>", "Staff", ""), tags=("Security", "Security", "KP"), language="en-PK",
    ))
    item = result.item
    assert item.url == "https://news.example.pk/security/raid"  # resolved against the feed URL
    assert item.title == "Raid in & near Bannu"
    assert item.summary == "Security forces said the raid ended."
    assert (item.published, item.fetched_at) == ("2025-06-09T18:00:00Z", "2025-06-10T12:00:00Z")
    assert (item.authors, item.tags, item.language) == (("Staff",), ("Security", "KP"), "en")
    assert (item.source, item.feed, item.body, result.notes) == ("Frontier Desk", FEED, None, ())
    assert RawItem.from_dict(json.loads(item.to_json())) == item  # valid against the schema


def test_summary_from_content_is_cut_at_a_boundary():
    content = "<p>" + "The copper block in Chagai was discussed at length. " * 30 + "</p>"
    item = normalise(entry(link="https://e.example/x", title="T", content=content)).item
    assert 300 < len(item.summary) <= SUMMARY_CHARS + 1
    assert item.summary.endswith("length.")


def test_missing_title_is_taken_from_the_summary():
    result = normalise(entry(link="https://e.example/x", summary="<p>A road was cleared near Zhob.</p>"))
    assert result.item.title == "A road was cleared near Zhob."
    assert any("no title" in note for note in result.notes)


def test_title_only_entry_gets_a_stable_id():
    first = normalise(entry(title="Only a title"))
    assert first.item.id == normalise(entry(title="Only a title")).item.id
    assert first.item.id != normalise(entry(title="Another title")).item.id
    assert any("no link or guid" in note for note in first.notes)


def test_entry_without_link_guid_or_title_is_an_error():
    with pytest.raises(EntryError, match=r"entry 4: .*'link'.*'guid'.*'title'") as info:
        normalise(entry(summary="", published=FETCHED), index=4)
    assert isinstance(info.value, PermanentError)


@pytest.mark.parametrize("link", ["javascript:alert(1)", "mailto:desk@example.pk", "ftp://e.example/x",
                                  "http://[broken/x"])
def test_non_web_links_are_ignored(link):
    result = normalise(entry(link=link, guid="g", title="T"))
    assert result.item.url == "" and result.item.id == item_id_for(None, "g")
    assert any("not an absolute http(s) URL" in note for note in result.notes)


@pytest.mark.parametrize("published, expected, note", [
    (FETCHED + timedelta(minutes=14), "2025-06-10T12:14:00Z", None),
    (FETCHED + timedelta(minutes=16), "2025-06-10T12:00:00Z", "in the future"),
    (datetime(2033, 1, 1, tzinfo=UTC), "2025-06-10T12:00:00Z", "in the future"),
    (datetime(1990, 1, 1, tzinfo=UTC), "1990-01-01T00:00:00Z", None),
    (datetime(1989, 12, 31, 23, 59, tzinfo=UTC), "2025-06-10T12:00:00Z", "before 1990"),
    (datetime(2025, 6, 1, 8, 0), "2025-06-01T08:00:00Z", None),  # naive taken as UTC
    (None, None, None),
])
def test_published_sanity(published, expected, note):
    result = normalise(entry(link="https://e.example/x", title="T", published=published), index=0)
    assert result.item.published == expected
    if note is None:
        assert result.notes == ()
    else:
        assert len(result.notes) == 1 and note in result.notes[0] and result.notes[0].startswith("entry 0:")


def test_max_future_is_configurable_and_fetched_at_may_be_another_zone():
    fetched = datetime(2025, 6, 10, 17, 0, tzinfo=timezone(timedelta(hours=5)))
    e = entry(link="https://e.example/x", title="T", published=FETCHED + timedelta(hours=1))
    result = normalise_entry(e, feed=FEED, source="S", fetched_at=fetched, max_future=timedelta(hours=2))
    assert (result.item.published, result.item.fetched_at) == ("2025-06-10T13:00:00Z", "2025-06-10T12:00:00Z")


@pytest.mark.parametrize("language, expected", [("ur", "ur"), ("EN-gb", "en"), ("en_US", "en"),
                                                ("english", "de"), ("", "de"), (None, "de")])
def test_language(language, expected):
    e = entry(link="https://e.example/x", title="T", language=language)
    assert normalise(e, default_language="de").item.language == expected


# --- normalise_feed --------------------------------------------------------------------------


def test_normalise_feed_keeps_good_entries_reports_bad_and_drops_duplicates():
    parsed = ParsedFeed(title="F", link="", language="ur-PK", ttl_seconds=None, entries=(
        entry(link="https://e.example/a?utm_source=x", title="A"),
        entry(summary="nothing to identify"),
        entry(link="https://e.example/a", title="A again"),
        entry(guid="b", title="B", language="en"),
    ))
    items, errors = normalise_feed(parsed, feed=FEED, source="S", fetched_at=FETCHED)
    assert [n.item.title for n in items] == ["A", "B"]
    assert [n.item.language for n in items] == ["ur", "en"]  # the feed's language is the default
    assert len(errors) == 2
    assert errors[0].startswith("entry 1: no link, guid or title")
    assert errors[1].startswith("entry 2: duplicate of entry 0")


def test_rss20_fixture_end_to_end():
    parsed = parse_feed((FEEDS / "rss20.xml").read_bytes(), url=FEED.url)
    items, errors = normalise_feed(parsed, feed=FEED, source="Frontier Desk", fetched_at=FETCHED)
    assert [n.item.url for n in items] == [
        "https://news.example.pk/security/2025/06/joint-drill?id=42",
        "https://news.example.pk/minerals/2025/06/copper-licence-talks",
        "https://news.example.pk/misc/future-dated",
        "https://news.example.pk/misc/epoch-dated",
        "https://news.example.pk/security/zhob-road-cleared",
    ]
    assert items[0].item.title == "Joint counter-terrorism drill ends in Quetta & Kalat"
    assert items[0].item.summary == "Officials said the week-long exercise tested border coordination."
    assert len(items[1].item.summary) <= SUMMARY_CHARS + 1 and items[1].item.summary.startswith("Negotiators")
    assert [len(n.notes) for n in items] == [0, 0, 1, 1, 1]
    assert [e.split(":")[0] for e in errors] == ["entry 5", "entry 6"]


# --- shared corpora (read in place, never copied) --------------------------------------------


def _params(folder: str, build, arity: int = 1) -> list:
    """``build(path)`` for a corpus folder, or one skipped case saying where it was looked for."""
    path = SHARED / "corpora" / folder
    if not path.is_dir():
        reason = f"shared corpus {path} is absent (set NEWSMON_SHARED to the folder holding corpora/)"
        return [pytest.param(*[None] * arity, marks=pytest.mark.skip(reason=reason), id="absent")]
    return build(path)


REAL_FEED_URLS = {"us-state-dept": "https://www.state.gov/rss-feed/press-releases/feed/",
                  "white-house": "https://www.whitehouse.gov/briefing-room/feed/"}
TAG = re.compile(r"<[a-zA-Z/!?]")
SCRIPT_TEXT = re.compile(r"<script|javascript:|addEventListener|jQuery\(|function\s*\(", re.IGNORECASE)


@pytest.mark.parametrize("path", _params("real-feeds", lambda p: [
    pytest.param(f, id=f.name) for f in sorted(p.glob("*.xml"))]))
def test_real_feeds(path: Path):
    url = REAL_FEED_URLS.get(path.name.rsplit("-", 1)[0], "https://feeds.example.invalid/feed")
    parsed = parse_feed(path.read_bytes(), url=url, content_type="application/rss+xml; charset=UTF-8")
    feed = FeedRef(id=path.stem, url=url)
    fetched_at = datetime(2030, 1, 1, tzinfo=UTC)
    items, errors = normalise_feed(parsed, feed=feed, source="corpus", fetched_at=fetched_at)
    assert (len(parsed.entries), len(items), errors) == (10, 10, [])
    for n in items:
        item = n.item
        assert item.title and item.published and n.notes == ()
        assert item.url.startswith("https://") and canonical_url(item.url) == item.url
        for text in (item.title, item.summary):
            assert not TAG.search(text) and not SCRIPT_TEXT.search(text), text[:200]


def _suite_cases(root: Path) -> list:
    records = [json.loads(line) for line in (root / "index.jsonl").read_text().splitlines() if line.strip()]
    return [pytest.param(root / r["path"], dict(r["http_headers"]), id=r["path"]) for r in records]


@pytest.mark.parametrize("path, headers", _params("feedparser-suite", _suite_cases, arity=2))
def test_feedparser_suite_robustness(path: Path, headers: dict):
    url = "http://example.org/feed.xml"
    try:
        parsed = parse_feed(path.read_bytes(), url=url, headers=headers)
    except FeedParseError as exc:
        assert "\n" not in str(exc)
        return
    items, errors = normalise_feed(parsed, feed=FeedRef(id="suite", url=url), source="suite",
                                   fetched_at=datetime(2025, 1, 1, tzinfo=UTC))
    assert all(isinstance(e, str) and e.startswith("entry ") for e in errors)
    texts = [t for n in items for t in (n.item.title, n.item.summary)]
    texts += [html_to_text(t) for e in parsed.entries for t in (e.title, e.summary, e.content)]
    for text in texts:
        assert "<script" not in text.lower() and "javascript:" not in text.lower(), text[:200]


@pytest.mark.parametrize("root", _params("feedparser-suite", lambda p: [p]))
def test_feedparser_suite_sweep_is_not_vacuous(root: Path):
    cases = [case.values for case in _suite_cases(root)]
    refused = 0
    for path, headers in cases:
        try:
            parse_feed(path.read_bytes(), url="http://example.org/feed.xml", headers=headers)
        except FeedParseError:
            refused += 1
    assert len(cases) > 2000 and refused <= len(cases) // 100


def test_escaped_markup_in_an_rss_title_ends_up_as_plain_text():
    body = (b'<rss version="2.0"><channel><title>t</title><item>'
            b"<title>&lt;script&gt;alert(1)&lt;/script&gt;"
            b"Blast near &lt;b&gt;Peshawar&lt;/b&gt; cantonment</title>"
            b'<link>https://e.example/blast</link><description><![CDATA[<img src=x onerror="alert(1)">'
            b"Police said the device was defused.<script>alert(2)</script>]]></description>"
            b"</item></channel></rss>")
    parsed = parse_feed(body, url="https://e.example/feed")
    (result,), _ = normalise_feed(parsed, feed=FEED, source="S", fetched_at=FETCHED)
    assert result.item.title == "Blast near Peshawar cantonment"
    assert result.item.summary == "Police said the device was defused."


# --- size bounds -----------------------------------------------------------------------------

LONG = "Floods displaced thousands across Sindh province overnight. " * 5000  # 300,000 characters


@pytest.mark.parametrize("text", ["", "short", "exactly twenty chars"])
def test_bound_text_leaves_a_text_within_the_limit_unchanged(text):
    assert bound_text(text, 20) is text


def test_bound_text_cuts_at_a_word_boundary_with_the_marker():
    cut = bound_text("alpha beta gamma delta epsilon", 19)
    assert cut == "alpha beta" + TRUNCATION_MARKER  # "gamma" would end past the room of 15
    assert len(cut) <= 19 and TRUNCATION_MARKER == " […]"


def test_bound_text_keeps_a_word_ending_exactly_at_the_cut():
    assert bound_text("alpha beta gamma", 15) == "alpha beta" + TRUNCATION_MARKER  # room 11: "alpha beta " fits


def test_bound_text_cuts_mid_word_only_without_a_boundary_in_the_second_half():
    cut = bound_text("a " + "x" * 100, 30)
    assert cut == "a " + "x" * 24 + TRUNCATION_MARKER and len(cut) == 30


def test_bound_text_of_a_long_article_is_never_longer_than_the_limit():
    cut = bound_text(LONG, MAX_BODY_CHARS)
    kept = cut.removesuffix(TRUNCATION_MARKER)
    assert len(cut) <= MAX_BODY_CHARS and cut.endswith(TRUNCATION_MARKER)
    assert LONG.startswith(kept) and LONG[len(kept)] == " "  # whole words only


def test_with_body_bounds_the_body_and_fills_a_missing_summary():
    item = normalise(entry(link="https://e.test/a", title="Floods")).item
    bounded = with_body(item, LONG, 1000)
    assert len(bounded.body) <= 1000 and bounded.body.endswith(TRUNCATION_MARKER)
    assert len(bounded.summary) <= SUMMARY_CHARS and bounded.summary.startswith("Floods displaced")
    assert with_body(item, "Short body.", 1000).body == "Short body."
    assert with_body(item, None) is item and with_body(item, "") is item


def test_default_body_bound_keeps_the_raw_record_well_under_one_megabyte():
    item = normalise(entry(link="https://e.test/a", title="T " * 5000, summary="S " * 100_000)).item
    bounded = with_body(item, LONG)
    assert len(bounded.title) <= MAX_TITLE_CHARS and len(bounded.summary) <= MAX_SUMMARY_CHARS
    assert bounded.title.endswith(TRUNCATION_MARKER) and bounded.summary.endswith(TRUNCATION_MARKER)
    assert len(bounded.to_json()) < 300_000


def test_normal_title_and_summary_are_not_bounded():
    item = normalise(entry(link="https://e.test/a", title="Floods in Sindh", summary="<p>Thousands moved.</p>")).item
    assert (item.title, item.summary) == ("Floods in Sindh", "Thousands moved.")
