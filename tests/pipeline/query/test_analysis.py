"""The Python analyser must split and fold text exactly as SQLite FTS5 unicode61 remove_diacritics 2."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import feedparser
import pytest

from pipeline.query.analysis import is_token_char, reference_tokens, token_text, tokens


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


# -- the fast tokenizer against the per-code-point definition -------------------------------------


def assert_same_tokens(texts: list[str]) -> None:
    """tokens() agrees with reference_tokens(), and token_text() holds the same tokens separated by
    ASCII spaces only (so Elasticsearch's whitespace tokenizer and str.split() both find them)."""
    bad = []
    for text in texts:
        expected = reference_tokens(text)
        spaced = token_text(text)
        if tokens(text) != expected or [word for word in spaced.split(" ") if word] != expected:
            bad.append(text[:80])
    assert bad == []


def test_every_code_point_in_context_matches_the_definition():
    everything = "".join(chr(cp) for cp in range(0x110000))  # lone surrogates included
    for width in (13, 1000):
        assert_same_tokens(["Q" + everything[i:i + width] + "é" for i in range(0, len(everything), width)])


@pytest.mark.parametrize("seed", range(3))
def test_random_text_matches_the_definition(seed):
    rng = random.Random(seed)
    pool = [chr(c) for c in [*range(0x250), *range(0x300, 0x370), *range(0x2000, 0x2070), *range(0x3000, 0x3040),
                             0x130, 0x1E9E, 0x3A3, 0x3C2, 0x40B, 0x5D0, 0x627, 0x64E, 0x915, 0x4E2D, 0x1F600, 0xFEFF,
                             0x58D, 0x13F8, 0x1E900, 0x10400, 0x212A, 0xE000, 0xD800, 0xDC00, 0x10FFFF]]
    pool += [" "] * 20 + list("Pakistan") + [chr(rng.randrange(0x110000)) for _ in range(200)]
    assert_same_tokens(["".join(rng.choice(pool) for _ in range(rng.randint(0, 60))) for _ in range(5000)])


def test_the_real_news_corpus_matches_the_definition(shared):
    rows = [json.loads(line) for line in (shared / "corpora/real-news/items.jsonl").read_text("utf-8").splitlines()]
    texts = [row.get(field) or "" for row in rows for field in ("title", "summary", "body")]
    assert sum(len(text) for text in texts) > 1_000_000 and any(not text.isascii() for text in texts)
    assert_same_tokens(texts)


def _suite_texts(root: Path) -> list[str]:
    """The feedparser suite's feeds as text every way they can be read: the raw bytes as UTF-8 (bad
    bytes become lone surrogates), Latin-1 and UTF-16, and the titles and contents feedparser finds."""
    texts = []
    for path in sorted(root.rglob("*.xml")) + sorted(root.rglob("*.json")):
        data = path.read_bytes()
        texts += [data.decode("utf-8", "surrogateescape"), data.decode("latin-1"),
                  data[:len(data) // 2 * 2].decode("utf-16-le", "surrogatepass")]
        parsed = feedparser.parse(data)
        for entry in [parsed.feed, *parsed.entries]:
            texts += [entry[key] for key in ("title", "subtitle", "summary") if isinstance(entry.get(key), str)]
            texts += [part.get("value") or "" for part in entry.get("content") or []]
    return texts


def test_the_feedparser_suite_s_odd_unicode_matches_the_definition(shared):
    texts = _suite_texts(shared / "corpora/feedparser-suite")
    assert len(texts) > 6000 and len({char for text in texts for char in text if ord(char) > 0x7F}) > 1000
    assert_same_tokens(texts)


def test_token_text_separates_tokens_with_spaces():
    assert token_text("Pakistan’s café: rare-earth").split() == ["pakistan", "s", "cafe", "rare", "earth"]
    assert token_text("") == "" and token_text("!!! ---").strip() == ""
    assert token_text("e\u0301te\u0301 \u0301").split() == ["ete"]
