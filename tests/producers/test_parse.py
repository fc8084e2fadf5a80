"""producers.parse: feed bytes → ParsedFeed, for every supported format, and the refusals."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timezone
from pathlib import Path

import pytest

from pipeline.errors import PermanentError
from producers.normalise import html_to_text
from producers.parse import FeedParseError, ParsedEntry, ParsedFeed, parse_feed

FEEDS = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"


def parse_fixture(name: str, url: str, content_type: str | None = None) -> ParsedFeed:
    return parse_feed((FEEDS / name).read_bytes(), url=url, content_type=content_type)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize("name, url, content_type, title, count, language, ttl", [
    ("rss20.xml", "https://news.example.pk/feed/", "application/rss+xml", "Frontier Desk (invented test feed)",
     7, "en-PK", 1800),
    ("atom10.xml", "https://wire.example.com/feed.atom", "application/atom+xml",
     "Example Wire: South Asia (invented)", 2, "en-US", None),
    ("atom03.xml", "https://old.example.net/atom.xml", None, "Old Atom Desk (invented)", 1, None, None),
    ("rss10.xml", "https://rdf.example.org/rss", "application/rdf+xml", "RDF Monitor (invented)", 1, "en", 21600),
    ("rss091.xml", "https://legacy.example.org/rss.xml", "text/xml", "Legacy Bulletin (invented)", 1, "en", None),
    ("jsonfeed.json", "https://json.example.com/feed.json", "application/feed+json",
     "Example JSON Desk (invented)", 2, "en-GB", None),
], ids=["rss20", "atom10", "atom03", "rss10", "rss091", "jsonfeed"])
def test_every_format_parses(name, url, content_type, title, count, language, ttl):
    parsed = parse_fixture(name, url, content_type)
    assert (parsed.title, len(parsed.entries), parsed.language, parsed.ttl_seconds) == (title, count, language, ttl)
    assert parsed.warning is None
    assert all(isinstance(e, ParsedEntry) for e in parsed.entries)
    for entry in parsed.entries:
        assert entry.published is None or entry.published.tzinfo == UTC


def test_rss20_entry_fields_stay_html():
    first = parse_fixture("rss20.xml", "https://news.example.pk/feed/").entries[0]
    assert first.guid == "frontier-desk-0001"
    assert first.title == "Joint <b>counter-terrorism</b> drill ends in Quetta &amp; Kalat"
    assert first.summary.startswith("<p>Officials said the <em>week-long</em>")
    assert '<script>track("drill")</script>' in first.summary  # as published: html_to_text drops it
    assert "track(" not in html_to_text(first.summary) and "color:red" not in html_to_text(first.summary)
    assert first.content.endswith("<p>A second paragraph with more detail.</p>")  # the longer content:encoded
    assert first.published == utc(2025, 6, 3, 5, 0)  # +0500 converted to UTC
    assert (first.authors, first.tags) == (("Staff Reporter",), ("Security", "Balochistan"))


def test_content_copied_into_a_missing_summary_is_undone_and_relative_links_resolved():
    second = parse_fixture("rss20.xml", "https://news.example.pk/feed/").entries[1]
    assert second.summary == ""
    assert second.content.startswith("<p>Negotiators")
    assert second.link == "https://news.example.pk/minerals/2025/06/copper-licence-talks"


def test_atom10_authors_categories_languages_and_plain_text_escaped():
    first, second = parse_fixture("atom10.xml", "https://wire.example.com/feed.atom").entries
    assert first.link == "https://wire.example.com/stories/2025/06/ct-dialogue?ocid=rss"  # xml:base
    assert first.summary == "Officials discussed information sharing &amp; capacity building."
    assert first.published == utc(2025, 6, 5, 4, 15)  # <published>, not <updated>
    assert first.authors == ("A. Correspondent", "B. Editor")
    assert first.tags == ("Counterterrorism",)
    assert (first.language, second.language) == ("en-US", "ur")
    assert second.published == utc(2025, 6, 4, 7, 0)  # only <updated>
    assert second.content == "<p>The team collected samples from three valleys.</p>"


def test_atom03_and_rss10_dates():
    (atom,) = parse_fixture("atom03.xml", "https://old.example.net/atom.xml").entries
    assert atom.published == utc(2025, 6, 1, 6, 0)
    (rdf,) = parse_fixture("rss10.xml", "https://rdf.example.org/rss").entries
    assert rdf.published == utc(2025, 6, 2, 14, 0) and rdf.tags == ("Mining",)


def test_json_feed_items():
    first, second = parse_fixture("jsonfeed.json", "https://json.example.com/feed.json").entries
    assert first.guid == "json-0001" and first.authors == ("C. Writer",)
    assert first.summary == "Delegates met in Islamabad to discuss processing &amp; investment."
    assert first.published == utc(2025, 6, 6, 5, 0) and first.tags == ("minerals", "investment")
    assert second.guid == "2"  # a numeric id
    assert second.link == "https://json.example.com/2025/06/border-fencing"
    assert second.content == "Work on the fence resumed on Monday. Contractors said &lt;no&gt; delays were expected."
    assert second.authors == ("Desk Editor",)  # the feed's authors
    assert second.published == utc(2025, 6, 5, 8, 0) and second.language == "ur"


def test_charset_from_the_content_type_header():
    url = "https://cp.example.org/feed"
    declared = parse_fixture("rss20-windows-1252.xml", url, "application/rss+xml; charset=windows-1252")
    expected = "\u201cSecurity first\u201d: r\u00e9sum\u00e9 of the mining conference \u2014 \u20ac2m pledged"
    assert declared.entries[0].title == expected and declared.warning is None
    assert declared.title == "Caf\u00e9 Wire \u2013 Windows-1252 (invented)"
    via_headers = parse_feed((FEEDS / "rss20-windows-1252.xml").read_bytes(), url=url,
                             headers={"Content-Type": "application/rss+xml; charset=windows-1252"})
    assert via_headers == declared
    undeclared = parse_fixture("rss20-windows-1252.xml", url)
    assert undeclared.warning and "CharacterEncodingOverride" in undeclared.warning


def test_zero_entries_is_a_valid_feed():
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title></channel></rss>'
    parsed = parse_feed(body, url="https://q.example/feed")
    assert parsed.entries == () and parsed.title == "Quiet"


def test_bozo_feed_that_still_has_entries_carries_a_warning():
    body = b'<rss version="2.0"><channel><item><title>Raid&nbsp;in Khyber</title></item></channel></rss>'
    parsed = parse_feed(body, url="https://b.example/feed")
    assert len(parsed.entries) == 1 and parsed.warning and "\n" not in parsed.warning


@pytest.mark.parametrize("channel, seconds", [
    ("<ttl>15</ttl>", 900), ("<ttl>0</ttl>", None), ("<ttl>soon</ttl>", None),
    ("<sy:updatePeriod>hourly</sy:updatePeriod>", 3600),
    ("<sy:updatePeriod>weekly</sy:updatePeriod><sy:updateFrequency>7</sy:updateFrequency>", 86400),
    ("<ttl>60</ttl><sy:updatePeriod>daily</sy:updatePeriod>", 3600), ("", None),
])
def test_ttl_seconds(channel, seconds):
    body = ('<rss version="2.0" xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"><channel>'
            f"<title>t</title>{channel}</channel></rss>").encode()
    assert parse_feed(body, url="https://t.example/feed").ttl_seconds == seconds


@pytest.mark.parametrize("body, reason", [
    (b"", "not a feed: empty response"),
    (b" \r\n\t ", "not a feed: empty response"),
    ((FEEDS / "not-a-feed.html").read_bytes(), "not a feed: an HTML page"),
    (b"<!-- served by the proxy -->\n<head><title>Sign in</title></head><body>Login</body>", "an HTML page"),
    (b'<?xml version="1.0"?>\n<rss version="2.0"><channel>\n<title>Desk</oops></channel></rss>',
     "not a feed: mismatched tag at line 3"),
    (b'<?xml version="1.0"?>\n<rss version="2.0">\n', "not a feed: no element found at line 3"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\xff\xfe", "not a feed"),
    (b'{"name": "config", "values": [1, 2]}', "jsonfeed.org"),
    (b'{"version": "https://jsonfeed.org/version/1.1", "items": [', "invalid JSON"),
    (b"plain words, no markup", "not a feed"),
], ids=["empty", "whitespace", "html", "html-no-doctype", "malformed-xml", "truncated-xml", "binary",
        "json-not-feed", "broken-json", "text"])
def test_not_a_feed(body, reason):
    with pytest.raises(FeedParseError, match=reason) as info:
        parse_feed(body, url="https://x.example/page")
    assert isinstance(info.value, PermanentError) and "\n" not in str(info.value)
    assert str(info.value) == f"https://x.example/page: not a feed: {info.value.reason}"


@pytest.mark.parametrize("body, content_type", [
    (b'<rss version="2.0"><channel><title>Quiet</title></channel></rss>', "text/html; charset=utf-8"),
    (b'<rss version="2.0"><channel></channel></rss>', None),
    (b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Caf\xe9</title></channel></rss>',
     "application/rss+xml; charset=utf-8"),
    (b'<rss version="2.0"><channel><title>Raid&nbsp;in Khyber</title></channel></rss>', None),
], ids=["served-as-html", "bare-channel", "wrong-declared-encoding", "undefined-entity"])
def test_a_feed_with_zero_items_or_a_minor_complaint_is_still_a_feed(body, content_type):
    parsed = parse_feed(body, url="https://q.example/feed", content_type=content_type)
    assert parsed.entries == ()


def test_malformed_xml_with_entries_is_kept_with_a_warning():
    body = b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>t</title>\n<item><title>a</oops></item>'
    parsed = parse_feed(body, url="https://m.example/feed")
    assert len(parsed.entries) == 1 and parsed.warning and "mismatched tag" in parsed.warning


def test_body_is_never_taken_for_a_file_name_or_url(tmp_path, monkeypatch):
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes((FEEDS / "rss091.xml").read_bytes())
    with pytest.raises(FeedParseError):
        parse_feed(str(feed_file).encode(), url="https://x.example/feed")

    def no_network(*args, **kwargs):
        raise AssertionError("parse_feed tried to fetch something")
    monkeypatch.setattr("urllib.request.urlopen", no_network)
    monkeypatch.setattr("urllib.request.OpenerDirector.open", no_network)
    with pytest.raises(FeedParseError):
        parse_feed(b"https://127.0.0.1:9/feed.xml", url="https://x.example/feed")


def test_external_entities_and_dtds_are_not_resolved(tmp_path, monkeypatch):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-MARKER")
    dtd = tmp_path / "evil.dtd"
    dtd.write_text('<!ENTITY leak "DTD-MARKER">')
    monkeypatch.setattr("urllib.request.OpenerDirector.open", lambda *a, **k: pytest.fail("fetched"))
    body = (f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "{dtd.as_uri()}" '
            f'[<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
            '<rss version="2.0"><channel><title>a &xxe; b &leak;</title>'
            '<item><title>x &xxe; y</title><link>https://e.example/1</link></item></channel></rss>').encode()
    parsed = parse_feed(body, url="https://e.example/feed")
    seen = parsed.title + parsed.entries[0].title
    assert "MARKER" not in seen


def test_entity_expansion_bomb_is_not_expanded():
    lols = "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10))
    body = (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">{lols}]>'
            '<rss version="2.0"><channel><title>t</title><item><title>&lol9;</title>'
            '<link>https://e.example/1</link></item></channel></rss>').encode()
    started = time.monotonic()
    parsed = parse_feed(body, url="https://e.example/feed")
    assert time.monotonic() - started < 5
    assert all(len(e.title) < 1000 for e in parsed.entries)
