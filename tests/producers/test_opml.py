"""producers.opml, producers.feedconfig and producers.discover: pure parts of feed management."""

from __future__ import annotations

from datetime import UTC, datetime, timezone

import pytest
import yaml

from pipeline.errors import UserInputError
from pipeline.settings import FeedSpec
from producers.discover import decode_page, discover_feeds
from producers.feedconfig import entry_line, insert_feeds
from producers.opml import OpmlError, feed_entries, parse_opml, render_opml

READER_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Pakistan" title="Pakistan">
      <outline text="Frontier Desk" title="Frontier Desk">
        <outline type="rss" text="Front page" xmlUrl="https://frontier.example/feed" htmlUrl="https://frontier.example/"/>
        <outline type="rss" text="Business" xmlurl="https://frontier.example/business/feed" language="en-PK"/>
      </outline>
    </outline>
    <outline type="rss" text="Energy Wire" xmlUrl="https://energy.example/rss.xml"/>
    <outline text="Empty folder"/>
  </body>
</opml>
"""


def test_parse_nested_folders_and_attribute_case():
    feeds = parse_opml(READER_EXPORT, "subs.opml")
    assert [(f.url, f.title, f.category, f.line) for f in feeds] == [
        ("https://frontier.example/feed", "Front page", "Pakistan / Frontier Desk", 7),
        ("https://frontier.example/business/feed", "Business", "Pakistan / Frontier Desk", 8),
        ("https://energy.example/rss.xml", "Energy Wire", "", 11),
    ]


@pytest.mark.parametrize("data, message", [
    (b"<opml><body><outline xmlUrl='https://e.example/f'>\n</body></opml>", "bad.opml:2: not well-formed XML (mismatched tag"),
    (b'<?xml version="1.0"?>\n<!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n<opml/>',
     "bad.opml:2: DOCTYPE and entity declarations are not allowed"),
    (b"<rss version='2.0'><channel/></rss>", "bad.opml:1: not an OPML document (root element <rss>"),
    (b"<opml>\n<body>\n<outline xmlUrl='javascript:alert(1)'/></body></opml>", "bad.opml:3: outline xmlUrl: expected an http(s) URL"),
    (b"<opml><body><outline text='folder'/></body></opml>", "bad.opml: no feeds in it"),
    (b"", "bad.opml:1: not well-formed XML (no element found"),
])
def test_bad_opml_is_one_line_naming_file_and_line(data, message):
    with pytest.raises(OpmlError) as info:
        parse_opml(data, "bad.opml")
    assert str(info.value).startswith(message) and "\n" not in str(info.value)
    assert isinstance(info.value, UserInputError)


def test_entries_skip_configured_urls_and_get_unique_ids():
    existing = [FeedSpec("frontier-desk-front-page", "https://other.example/feed", "X"),
                FeedSpec("energy", "https://energy.example/rss.xml", "Energy Wire")]
    entries = feed_entries(parse_opml(READER_EXPORT, "subs.opml"), existing)
    assert entries == [
        {"id": "frontier-desk-front-page-2", "source": "Frontier Desk", "url": "https://frontier.example/feed",
         "title": "Front page"},
        {"id": "frontier-desk-business", "source": "Frontier Desk", "url": "https://frontier.example/business/feed",
         "title": "Business", "language": "en"},
    ]


def test_export_then_import_round_trips_sources_and_urls():
    feeds = [FeedSpec("dawn-home", "https://www.dawn.com/feeds/home", "Dawn", title="Home & front"),
             FeedSpec("dawn-biz", "https://www.dawn.com/feeds/business?x=1&y=2", "Dawn"),
             FeedSpec("state", "https://www.state.gov/rss-feed/press-releases/feed/", "U.S. State Department", language="en")]
    text = render_opml(feeds, datetime(2026, 1, 2, tzinfo=UTC))
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    back = feed_entries(parse_opml(text.encode(), "out.opml"), [])
    assert [(e["source"], e["url"]) for e in back] == [(f.source, f.url) for f in feeds]
    assert back[0]["title"] == "Home & front"


CONFIG = """# newsmon configuration
log: sqlite:///data/newsmon.db
feeds:
  # Pakistan
  - {id: dawn, source: Dawn, url: "https://www.dawn.com/feeds/home"}
  - id: geo
    source: Geo
    url: https://www.geo.tv/rss/1/1

# alert rules
rules:
  - {name: ct, query: 'Quetta'}
"""
NEW = [{"id": "frontier", "source": "Frontier Desk", "url": "https://frontier.example/feed?a=1&b=2"}]


def test_insert_after_the_last_entry_keeping_comments():
    out = insert_feeds(CONFIG, NEW, "newsmon.yaml")
    assert out.startswith(CONFIG.split("\n\n# alert rules")[0] + "\n  - {id: frontier,")
    assert "# alert rules\nrules:" in out
    data = yaml.safe_load(out)
    assert [f["id"] for f in data["feeds"]] == ["dawn", "geo", "frontier"] and data["rules"][0]["name"] == "ct"
    assert data["feeds"][2]["url"] == NEW[0]["url"]


@pytest.mark.parametrize("text", ["log: x\n", "log: x\nfeeds: []\nrules: []\n", "log: x\nfeeds:\nrules: []\n", ""])
def test_insert_into_empty_or_missing_feeds(text):
    out = insert_feeds(text, NEW, "c.yaml")
    assert yaml.safe_load(out)["feeds"] == NEW


def test_insert_refuses_a_flow_list():
    with pytest.raises(UserInputError, match=r"c.yaml:2: feeds: only a block list"):
        insert_feeds("log: x\nfeeds: [{id: a, source: A, url: 'https://a.example'}]\n", NEW, "c.yaml")


def test_entry_line_quotes_what_needs_quoting():
    line = entry_line({"id": "x", "source": "Dawn: Pakistan", "url": "https://e.example/?a=1#b"})
    assert yaml.safe_load(line) == {"id": "x", "source": "Dawn: Pakistan", "url": "https://e.example/?a=1#b"}


PAGE = """<!doctype html><html><head><base href="/news/">
<link rel="stylesheet" href="/s.css">
<link rel="alternate" type="application/rss+xml" title="Top  stories" href="feed.xml">
<LINK REL="Alternate" TYPE="application/atom+xml" HREF="https://cdn.example/atom">
<link rel="alternate" type="application/feed+json" href="/feed.json"/>
<link rel="alternate" type="application/rss+xml" href="feed.xml#dup">
<link rel="alternate" hreflang="ur" href="/ur/">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
</head><body><a rel="alternate" type="application/rss+xml" href="/body-feed">RSS</a></body></html>"""


def test_discover_feeds():
    links = discover_feeds(PAGE, "https://site.example/")
    assert [(link.url, link.format, link.title) for link in links] == [
        ("https://site.example/news/feed.xml", "rss", "Top stories"),
        ("https://cdn.example/atom", "atom", ""),
        ("https://site.example/feed.json", "json", ""),
        ("https://site.example/body-feed", "rss", ""),
    ]


def test_decode_page():
    assert decode_page("caf\u00e9".encode("latin-1"), "text/html; charset=ISO-8859-1") == "caf\u00e9"
    assert decode_page(b'<meta charset="windows-1252">\x93q\x94', None).endswith("\u201cq\u201d")
    assert decode_page(b"\xff ok", "text/html; charset=bogus") == "\ufffd ok"
