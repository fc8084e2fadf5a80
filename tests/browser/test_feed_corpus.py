"""Hostile markup from the feedparser sanitize corpus, indexed unsanitised, shows as text on the page.

Every case of ``wellformed/sanitize`` whose text carries script, event handlers, frames, embeds or
script URLs is parsed with feedparser's sanitising turned off, so the strings reach the index with
their markup intact (worse than the producer, which strips tags). All of them form one story; its
page must show them as text: no element the page did not make, no ``on*`` attribute, no dialog,
no console error (a CSP violation is one)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import feedparser
import pytest

from newsmon.app import start_web
from pipeline.document import index_document
from pipeline.item import ClassifiedItem, format_time
from pipeline.settings import settings_from_mapping
from pipeline.transport.sqlite_index import SqliteIndex

_HOSTILE = re.compile(r"script|onerror|onload|onmouse|onclick|iframe|<object|<embed|expression\(|javascript:", re.I)
_PAGE_TAGS = {"ARTICLE", "H2", "A", "P", "SPAN", "MARK", "UL", "LI", "DL", "DT", "DD", "TIME", "STRONG", "BR",
              "DIV", "BUTTON"}  # the verdict controls


def _strings(parsed) -> list[str]:
    texts = [parsed.feed.get(key, "") for key in ("title", "subtitle", "info", "rights")]
    for entry in parsed.entries:
        texts += [entry.get("title", ""), entry.get("summary", "")]
        texts += [content.get("value", "") for content in entry.get("content", [])]
    return [text for text in texts if text]


def _hostile_docs(corpus: Path, now: datetime) -> list[dict]:
    docs = []
    for n, path in enumerate(sorted(corpus.glob("*.xml"))):
        parsed = feedparser.parse(path.read_bytes(), sanitize_html=False, resolve_relative_uris=False)
        texts = _strings(parsed)
        if not _HOSTILE.search(" ".join(texts)):
            continue
        link = next((e.get("link") for e in parsed.entries if e.get("link")), f"https://example.test/{n}")
        stamp = format_time(now - timedelta(minutes=n))
        item = ClassifiedItem.from_dict({
            "id": f"case-{n}", "url": link, "guid": path.name, "source": path.stem, "title": texts[0],
            "summary": " | ".join(texts)[:4000], "published": stamp, "fetched_at": stamp,
            "feed": {"id": "corpus", "url": "https://example.test/feed", "title": "corpus"},
            "story_id": "hostile-corpus", "topics": ["counterterrorism"], "scores": {"counterterrorism": 0.5},
            "evidence": {"counterterrorism": ["script", "onload", "model:0.5"]},
            "entities": {"persons": [texts[0][:200]], "organizations": [], "places": [], "groups": []},
        })
        docs.append(index_document(item, now))
    return docs


@pytest.fixture
def corpus_server(shared: Path, tmp_path: Path):
    corpus = shared / "corpora" / "feedparser-suite" / "wellformed" / "sanitize"
    if not corpus.is_dir():
        pytest.skip(f"no sanitize corpus at {corpus}")
    docs = _hostile_docs(corpus, datetime.now(UTC))
    index = SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}")
    index.index(docs)
    index.flush()
    index.close()
    settings = settings_from_mapping({"index": f"sqlite:///{tmp_path / 'index.db'}",
                                      "state": f"sqlite:///{tmp_path / 'state.db'}", "web": {"port": 0}}, "<test>", {})
    web = start_web(settings)
    yield web, len(docs)
    web.close()


def test_every_hostile_case_shows_as_text_and_runs_nothing(page, corpus_server):
    server, count = corpus_server
    assert count > 200  # the corpus has a few hundred such cases
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(server.url + "story/hostile-corpus")
    page.wait_for_selector("#story-items > li")
    assert page.locator("#story-items > li").count() == count
    made = page.eval_on_selector_all("#story-items *", "els => [...new Set(els.map(e => e.tagName))]")
    assert set(made) <= _PAGE_TAGS, set(made) - _PAGE_TAGS
    handlers = page.eval_on_selector_all(
        "#story-items *", "els => els.flatMap(e => [...e.attributes].map(a => a.name)).filter(n => n.startsWith('on'))")
    assert handlers == []
    links = page.eval_on_selector_all("#story-items a", "els => els.map(e => e.protocol)")
    assert set(links) <= {"http:", "https:"}
    assert "<script" in page.inner_text("#story-items").lower()  # the markup is there, as text
    page.wait_for_timeout(300)
    assert dialogs == [] and page.errors == []
