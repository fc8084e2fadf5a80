"""Full-text extraction on a real HTML page, with the dependencies ``newsmon[fulltext]`` declares.

These tests fail when the installed lxml lacks ``lxml.html.clean`` (the HTML cleaner moved to the
``lxml_html_clean`` package in lxml 5.2), which jusText, trafilatura's fallback extractor, imports.
"""

from importlib import metadata
from pathlib import Path

import pytest

from producers.fulltext import extract_body

PAGE = Path(__file__).resolve().parents[1] / "fixtures/pages/article.html"


def test_the_fulltext_extra_declares_the_html_cleaner():
    declared = [req.replace(" ", "") for req in metadata.requires("newsmon") or []]
    extras = [req for req in declared if 'extra=="fulltext"' in req]
    assert any(req.lower().startswith("lxml_html_clean") for req in extras), extras


def test_justext_and_the_html_cleaner_import():
    pytest.importorskip("trafilatura")
    import justext
    from lxml.html.clean import Cleaner

    assert Cleaner(javascript=True).clean_html("<p>kept<script>dropped()</script></p>") == "<p>kept</p>"
    paragraphs = [p.text for p in justext.justext(PAGE.read_bytes(), justext.get_stoplist("English"))]
    assert any(text.startswith("The provincial cabinet on Tuesday approved") for text in paragraphs)
    assert not any("analytics" in text for text in paragraphs)


def test_an_article_page_gives_its_main_text_without_navigation_or_scripts():
    pytest.importorskip("trafilatura")
    body = extract_body(PAGE.read_bytes(), "https://example.test/news/copper-licences")
    assert body is not None
    lines = body.splitlines()
    assert lines[0] == "Provincial cabinet approves copper exploration licences"
    assert lines[1].startswith("The provincial cabinet on Tuesday approved four exploration licences")
    assert lines[-1].startswith("Business groups in the provincial capital")
    for noise in ("analytics", "Most read", "Cricket squad", "Copyright", "Privacy"):
        assert noise not in body
