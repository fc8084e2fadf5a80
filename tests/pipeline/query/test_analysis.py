"""The Python analyser must split and fold text exactly as SQLite FTS5 unicode61 remove_diacritics 2."""

from __future__ import annotations

import sqlite3

import pytest

from pipeline.query.analysis import is_token_char, tokens


@pytest.fixture(scope="module")
def fts():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(a, tokenize='unicode61 remove_diacritics 2')")
    conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    yield conn
    conn.close()


def fts_tokens(conn: sqlite3.Connection, texts: list[str]) -> list[list[tuple[int, str]]]:
    """(position, token) lists of each text, as FTS5 indexes them."""
    conn.execute("DELETE FROM t")
    conn.executemany("INSERT INTO t(rowid, a) VALUES (?, ?)", list(enumerate(texts)))
    out: list[list[tuple[int, str]]] = [[] for _ in texts]
    for term, doc, offset in conn.execute("SELECT term, doc, offset FROM v ORDER BY doc, offset"):
        out[doc].append((offset, term))
    return out


TRICKY = [
    "Pakistan’s rare-earth deal",
    "Pakistan's US-Pakistan ties",
    "Café São Paulo Zürich naïve façade",
    "ÀÉÎÕÜ ǖ Ǘ İstanbul STRASSE Straße ẞ",
    "decomposed e\u0301 and a\u0301\u0301b",
    "3.5% of 1,200 tonnes (2025-01-02) 10x 4th",
    "e-mail: info@example.org, https://example.org/a_b?c=d#e",
    "tabs\tand\nnewlines\r\nand  spaces",
    "quotes «guillemets» “curly” ‘single’ \"double\" `back`",
    "بلوچستان میں سونے کی کان",  # Urdu
    "بَلُوچِسْتان with harakat",
    "हिन्दी समाचार",
    "Ελληνικά άλφα ΆΛΦΑ ς σ",
    "Русский Йошкар-Ола ёлка",
    "中文新闻 日本語",
    "emoji 😀 deal🤝signed ₽100 ₹50 $20 €5",
    "bidi x\u2066y\u2069z zero\u200bwidth soft\u00adhyphen nbsp\u00a0here",
    "µ ſ ϐ ς K Å ﬁ ligature",
    "   ",
    "",
    "!!!---...",
    "\u0301 lonely mark",
]


@pytest.mark.parametrize("text", TRICKY)
def test_tokens_agree_with_fts5_on_tricky_text(fts, text):
    expected = fts_tokens(fts, [text])[0]
    assert list(enumerate(tokens(text))) == expected


def test_examples_from_the_docs():
    assert tokens("Pakistan’s") == ["pakistan", "s"]
    assert tokens("rare-earth") == ["rare", "earth"]
    assert tokens("Café") == ["cafe"]
    assert tokens("3.5%") == ["3", "5"]
    assert tokens("US_Pakistan") == ["us", "pakistan"]


def test_every_code_point_of_the_first_two_planes_agrees_with_fts5(fts):
    code_points = [cp for cp in range(0x20000) if not 0xD800 <= cp <= 0xDFFF]
    texts = ["q" + chr(cp) + "q" for cp in code_points]
    got = fts_tokens(fts, texts)
    bad = [
        hex(cp) for cp, text, expected in zip(code_points, texts, got)
        if list(enumerate(tokens(text))) != expected
    ]
    assert bad == []


def test_is_token_char():
    assert is_token_char("a") and is_token_char("é") and is_token_char("٣")
    assert not is_token_char("-") and not is_token_char("’") and not is_token_char(" ")


def test_tokens_are_stable_under_reanalysis():
    for text in TRICKY:
        words = tokens(text)
        assert tokens(" ".join(words)) == words
