"""SQLite translation: the same query table through the in-memory evaluator and a real FTS5 database
must give identical hit sets; plus injection safety and the bm25 ranking recipe."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timezone

import pytest

from pipeline.fields import DATE_FIELDS, KEYWORD_FIELDS, keyword_values
from pipeline.item import parse_time
from pipeline.query import matches, parse_query, to_sqlite
from pipeline.transport.sqlite_terms import TermDictionary

NOW = datetime(2025, 3, 10, 12, 0, 0, tzinfo=UTC)

SCHEMA = """
CREATE TABLE docs (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, doc TEXT NOT NULL,
  ts REAL, published REAL, fetched_at REAL, classified_at REAL, indexed_at REAL, seq INTEGER NOT NULL DEFAULT 1);
CREATE TABLE doc_keywords (rowid INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX doc_keywords_fv ON doc_keywords(field, value, rowid);
CREATE TABLE doc_numbers (rowid INTEGER NOT NULL, field TEXT NOT NULL, value REAL NOT NULL);
CREATE VIRTUAL TABLE docs_fts USING fts5(title, summary, body, tokenize='unicode61 remove_diacritics 2');
"""

# Made-up documents (not real news).
DOCS = [
    {"id": "d1", "title": "Reko Diq copper-gold talks resume", "summary": "Officials met miners in Quetta.",
     "body": "Pakistan’s rare-earth plans and the US-Pakistan minerals dialogue were discussed.",
     "source": "Example Wire", "language": "en", "authors": ["Ann O'Neil"], "tags": ["mining", "[draft]"],
     "topics": ["minerals_cooperation"], "countries": ["PK", "US"], "feed": {"id": "feed-a", "title": "Feed A"},
     "entities": {"persons": ["Zara Khan"], "organizations": ["Acme Mining"], "places": ["Quetta"], "groups": []},
     "locations": [{"name": "Quetta", "lat": 30.2, "lon": 67.0, "country": "PK"}],
     "scores": {"minerals_cooperation": 0.91, "counterterrorism": 0.05},
     "published": "2025-03-09T08:00:00Z", "fetched_at": "2025-03-09T08:05:00Z",
     "@timestamp": "2025-03-09T08:05:00Z", "indexed_at": "2025-03-09T08:06:00Z"},
    {"id": "d2", "title": "Suicide attack reported near a convoy", "summary": "A suicide attack hit a checkpoint.",
     "body": "Security officials in Balochistan said the attack was contained.",
     "source": "Sample Daily", "language": "en", "authors": ["B. Writer"], "tags": ["security"],
     "topics": ["counterterrorism"], "countries": ["PK"], "feed": {"id": "feed-b"},
     "scores": {"counterterrorism": 0.5, "minerals_cooperation": 0.1},
     "published": "2025-03-01T00:00:00Z", "fetched_at": "2025-03-01T01:00:00Z",
     "@timestamp": "2025-03-01T01:00:00Z", "indexed_at": "2025-03-01T01:00:30Z"},
    {"id": "d3", "title": "Balochistan mining dialogue", "summary": "The attack was not a suicide mission, officials said.",
     "body": None, "source": "Example Wire", "language": "en", "authors": [], "tags": [],
     "topics": ["minerals_cooperation"], "countries": ["PK", "CN"], "feed": {"id": "feed-a"},
     "scores": {"minerals_cooperation": 0.6},
     "published": "2025-02-28T23:59:59Z", "fetched_at": "2025-03-01T00:00:10Z",
     "@timestamp": "2025-03-01T00:00:10Z"},
    {"id": "d4", "title": "Café talks in Zürich on gold", "summary": "",
     "body": "Naïve investors met at the café; gold prices rose 3.5% and AND NOT NEAR were shouted.",
     "source": "Über News", "language": "de", "authors": ["Jürgen Maß"], "tags": ["markets"],
     "topics": [], "countries": ["CH"], "feed": {"id": "feed-c"},
     "scores": {}, "published": None, "fetched_at": "2025-03-10T11:00:00Z",
     "@timestamp": "2025-03-10T11:00:00Z"},
    {"id": "d5", "title": "Mineral exports and mine safety", "summary": "Miner unions welcome the decision.",
     "body": "The new mine near the border opened this week. \"Quoted\" words and a*b star.",
     "source": "Sample Daily", "language": "en", "authors": ["C*Star"], "tags": ["mining"],
     "topics": ["minerals_cooperation", "economy"], "countries": ["PK"], "feed": {"id": "feed-b"},
     "scores": {"minerals_cooperation": 0.45, "economy": 0.8},
     "published": "2025-01-15T10:30:00+05:00", "fetched_at": "2025-01-15T06:00:00Z",
     "@timestamp": "2025-01-15T06:00:00Z", "classified_at": "2025-01-15T06:01:00Z"},
    {"id": "d6", "title": "Weather update", "summary": "Rain expected.", "body": "",
     "source": "Example Wire", "language": "ur", "authors": [], "tags": [],
     "topics": [], "countries": [], "feed": {"id": "feed-a"}, "scores": {"counterterrorism": 0.0},
     "published": "2024-12-31T23:00:00Z", "fetched_at": "2025-01-01T00:00:00Z",
     "@timestamp": "2025-01-01T00:00:00Z"},
    {"id": "d7", "title": "بلوچستان میں معدنیات", "summary": "Gwadar port copper shipment",
     "body": "attack suicide unrelated words here suicide far away from any attack",
     "source": "Urdu Example", "language": "ur", "authors": [], "tags": ["urdu"],
     "topics": ["minerals_cooperation"], "countries": ["PK"], "feed": {"id": "feed-d"},
     "scores": {"minerals_cooperation": 0.7},
     "published": "2025-03-10T00:00:00Z", "fetched_at": "2025-03-10T00:10:00Z",
     "@timestamp": "2025-03-10T00:10:00Z"},
]

_DATE_COLUMNS = {"@timestamp": "ts", "published": "published", "fetched_at": "fetched_at",
                 "classified_at": "classified_at", "indexed_at": "indexed_at"}


def build_index(docs: list[dict]) -> sqlite3.Connection:
    """An in-memory index with the documented schema, filled as the index module does."""
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA)
    for rowid, doc in enumerate(docs, start=1):
        dates = {column: parse_time(doc[field], field).timestamp() if doc.get(field) else None
                 for field, column in _DATE_COLUMNS.items()}
        conn.execute(
            "INSERT INTO docs (rowid, id, doc, ts, published, fetched_at, classified_at, indexed_at) "
            "VALUES (?, ?, '{}', ?, ?, ?, ?, ?)",
            (rowid, doc["id"], dates["ts"], dates["published"], dates["fetched_at"],
             dates["classified_at"], dates["indexed_at"]),
        )
        for field in KEYWORD_FIELDS:
            for value in keyword_values(doc, field):
                conn.execute("INSERT INTO doc_keywords VALUES (?, ?, ?)", (rowid, field, value.casefold()))
        for topic, score in (doc.get("scores") or {}).items():
            conn.execute("INSERT INTO doc_numbers VALUES (?, ?, ?)", (rowid, f"scores.{topic}", score))
        conn.execute("INSERT INTO docs_fts (rowid, title, summary, body) VALUES (?, ?, ?, ?)",
                     (rowid, doc.get("title"), doc.get("summary"), doc.get("body")))
    assert set(DATE_FIELDS) == set(_DATE_COLUMNS)
    return conn


@pytest.fixture(scope="module")
def index():
    conn = build_index(DOCS)
    yield conn
    conn.close()


def terms(conn: sqlite3.Connection):
    """The index's own term lookup (dictionary and positions) over a test database."""
    return TermDictionary().lookup(conn)


def sqlite_hits(conn: sqlite3.Connection, text: str) -> set[str]:
    flt = to_sqlite(parse_query(text), NOW, terms(conn))
    return {row[0] for row in conn.execute(f"SELECT d.id FROM docs d WHERE {flt.where}", flt.params)}


def memory_hits(text: str) -> set[str]:
    query = parse_query(text)
    return {doc["id"] for doc in DOCS if matches(query, doc, NOW)}


# query -> expected ids (the meaning), checked for both backends
EXPECTED = {
    '"Reko Diq" AND topics:minerals_cooperation': {"d1"},
    "Balochistan -topics:counterterrorism": {"d3"},
    "title:(copper OR gold) AND countries:PK": {"d1"},
    "miner*": {"d1", "d5"},
    "published:[2025-03-01 TO now]": {"d1", "d2", "d7"},
    "scores.counterterrorism:>=0.5": {"d2"},
    "@timestamp:>now-7d": {"d1", "d4", "d7"},
    '"suicide attack"~3': {"d2", "d7"},
    '"suicide attack"': {"d2"},
    "_exists_:body": {"d1", "d2", "d4", "d5", "d7"},
    "": {d["id"] for d in DOCS},
    "*": {d["id"] for d in DOCS},
    "*:*": {d["id"] for d in DOCS},
    "rare-earth": {"d1"},
    "earth-rare": {"d1"},
    '"earth rare"': set(),
    "Pakistan’s": {"d1"},
    "pakistan's": {"d1"},
    "US-Pakistan": {"d1"},
    "cafe": {"d4"},
    "CAFÉ": {"d4"},
    "zurich": {"d4"},
    "NOT Balochistan": {"d1", "d4", "d5", "d6", "d7"},
    "-Balochistan": {"d1", "d4", "d5", "d6", "d7"},
    "!Balochistan": {"d1", "d4", "d5", "d6", "d7"},
    "mining || copper": {"d1", "d3", "d7"},
    "mining && copper": set(),
    "copper && !gold": {"d7"},
    "+mining copper": {"d3"},
    "attack -suicide": set(),
    "attack OR -suicide": set(),  # Lucene: attack, and not suicide
    "attack OR (-suicide)": {"d1", "d2", "d3", "d4", "d5", "d6", "d7"},
    "countries:pk": {"d1", "d2", "d3", "d5", "d7"},
    "countries:P?": {"d1", "d2", "d3", "d5", "d7"},
    "countries:*": {"d1", "d2", "d3", "d4", "d5", "d7"},
    "source:\"example wire\"": {"d1", "d3", "d6"},
    "source:Example*": {"d1", "d3", "d6"},
    "source:über*": {"d4"},
    "authors:jürgen*": {"d4"},
    "authors:C\\*Star": {"d5"},
    "authors:C*Star": {"d5"},
    "authors:c?star": {"d5"},
    "authors:\"Ann O'Neil\"": {"d1"},
    "tags:\\[draft\\]": {"d1"},
    "tags:\\[dr*": {"d1"},
    "feed.id:feed-a": {"d1", "d3", "d6"},
    "entities.persons:\"zara khan\"": {"d1"},
    "locations.name:quetta": {"d1"},
    "published:2025-03-01": {"d2"},
    "published:2025-02-28": {"d3"},
    "published:2025-01-15": {"d5"},
    "published:[2025-01-01 TO 2025-02-28]": {"d3", "d5"},
    "published:{2025-01-01 TO 2025-02-28}": {"d5"},
    "published:{2025-01-15 TO 2025-02-28]": {"d3"},
    "published:[2025-01-01 TO 2025-02-28}": {"d5"},
    "published:>2025-02-28": {"d1", "d2", "d7"},
    "published:>=2025-02-28": {"d1", "d2", "d3", "d7"},
    "published:<2025-01-01": {"d6"},
    "published:<=2025-01-15T05:30:00Z": {"d5", "d6"},
    "published:<2025-01-15T05:30:00Z": {"d6"},
    'published:"2025-01-15T10:30:00+05:00"': {"d5"},
    "published:[* TO 2025]": {"d6"},  # as Elasticsearch reads it: up to the end of 2025-01-01
    "published:[* TO 2025||/y]": {"d1", "d2", "d3", "d5", "d6", "d7"},
    "published:[* TO 2025}": {"d6"},
    "published:2024": set(),  # 2024-01-01 only
    "published:2024||/y": {"d6"},
    "published:2025-03": {"d2"},  # 2025-03-01 only
    "published:[2025-03-01 TO 2025-03-31]": {"d1", "d2", "d7"},
    "published:now/d": {"d7"},
    "published:>=now-10d/d": {"d1", "d2", "d3", "d7"},
    "published:*": {"d1", "d2", "d3", "d5", "d6", "d7"},
    "NOT published:*": {"d4"},
    "NOT published:[2025-03-01 TO now]": {"d3", "d4", "d5", "d6"},
    "classified_at:*": {"d5"},
    "indexed_at:[2025-03-01 TO *]": {"d1", "d2"},
    "scores.minerals_cooperation:[0.5 TO 1]": {"d1", "d3", "d7"},
    "scores.minerals_cooperation:{0.6 TO 1]": {"d1", "d7"},
    "scores.counterterrorism:0.5": {"d2"},
    "scores.counterterrorism:0": {"d6"},
    "scores.counterterrorism:<0.5": {"d1", "d6"},
    "NOT scores.counterterrorism:<0.5": {"d2", "d3", "d4", "d5", "d7"},
    "_exists_:scores.economy": {"d5"},
    "_exists_:summary": {"d1", "d2", "d3", "d5", "d6", "d7"},
    "_exists_:authors": {"d1", "d2", "d4", "d5"},
    "title:*": {d["id"] for d in DOCS},
    "body:mine": {"d5"},
    "body:mine*": {"d1", "d5"},
    "title:mine*": {"d5"},
    "summary:suicide": {"d2", "d3"},
    "US-Pak*": {"d1"},
    "rare-ear*": {"d1"},
    '"suicide attack"~0': {"d2"},  # Lucene's sloppy phrase: ~0 is the exact phrase
    '"attack suicide"~0': {"d7"},
    '"suicide attack"~1': {"d2"},  # d7 has them reversed: 2 moves
    '"attack suicide"~2': {"d2", "d7"},
    'summary:"attack suicide"~3': {"d2", "d3"},
    '"rare earth plans"~0': {"d1"},
    '"rare earth plans"~1': {"d1"},
    '"plans rare earth"~1': set(),
    '"quoted words"': {"d5"},
    '"\\"Quoted\\" words"': {"d5"},
    '"AND NOT NEAR"': {"d4"},
    "3.5": {"d4"},
    "gold^2 copper": {"d1", "d4", "d7"},
    "(gold OR copper) AND -countries:CH": {"d1", "d7"},
    "a*b": None,  # rejected: see test_parse
    "بلوچستان": {"d7"},
    "title:معدنیات": {"d7"},
    "Gwadar & port": {"d7"},
    "language:UR": {"d6", "d7"},
    "mining AND (countries:CN OR topics:economy)": {"d3"},
    "mining AND NOT (countries:CN OR topics:economy)": set(),
    "(mining OR miners) AND NOT (countries:CN OR topics:economy)": {"d1"},
    "mine* AND NOT mining": {"d1", "d5"},
}
PARITY_QUERIES = [query for query, expected in EXPECTED.items() if expected is not None]


@pytest.mark.parametrize("text", PARITY_QUERIES)
def test_sqlite_and_memory_agree_and_mean_what_is_documented(index, text):
    memory = memory_hits(text)
    assert sqlite_hits(index, text) == memory
    assert memory == EXPECTED[text]


def test_where_uses_only_placeholders_and_user_text_cannot_inject(index):
    hostile = [
        "\\'; DROP TABLE docs; \\-\\-",
        '"\'; DROP TABLE docs; --"',
        'title:"x\') OR 1=1 --"',
        'source:"x\' OR \'1\'=\'1"',
        'authors:x\'*',
        '"a" OR "b\\" OR NEAR(x y)"',
        'title:(AND\\ OR) NEAR',
        "tags:\\[\\*\\]*",
    ]
    for text in hostile:
        flt = to_sqlite(parse_query(text), NOW, terms(index))
        for fragment in ("DROP", "1=1", "'1'", "x'", "NEAR(x"):
            assert fragment not in flt.where
        sqlite_hits(index, text)  # runs without an SQL or FTS5 syntax error
    assert index.execute("SELECT count(*) FROM docs").fetchone()[0] == len(DOCS)


@pytest.mark.parametrize("word", ["AND", "OR", "NOT", "NEAR", "*", '"', "^", "{title}", "title:"])
def test_fts_keywords_in_user_text_are_quoted(index, word):
    flt = to_sqlite(parse_query(f'"{word.replace(chr(34), "")} gold"'), NOW, terms(index))
    index.execute(f"SELECT count(*) FROM docs d WHERE {flt.where}", flt.params).fetchone()


def test_match_expression_ranks_with_bm25_without_filtering(index):
    flt = to_sqlite(parse_query("gold OR copper OR countries:CN -Balochistan"), NOW)
    assert flt.match is not None and "balochistan" not in flt.match
    rows = index.execute(
        "SELECT d.id, r.rank FROM docs d LEFT JOIN (SELECT rowid, bm25(docs_fts) AS rank FROM docs_fts "
        f"WHERE docs_fts MATCH ?) r ON r.rowid = d.rowid WHERE {flt.where} "
        "ORDER BY r.rank IS NULL, r.rank, d.id",
        (flt.match, *flt.params),
    ).fetchall()
    assert {row[0] for row in rows} == memory_hits("gold OR copper OR countries:CN -Balochistan")


def test_match_is_none_without_positive_text():
    assert to_sqlite(parse_query("topics:economy -gold"), NOW).match is None
    assert to_sqlite(parse_query(""), NOW).match is None


def test_match_expressions_are_valid_fts5(index):
    for text in PARITY_QUERIES:
        flt = to_sqlite(parse_query(text), NOW, terms(index))
        if flt.match:
            index.execute("SELECT count(*) FROM docs_fts WHERE docs_fts MATCH ?", (flt.match,)).fetchone()


def test_shapes(index):
    flt = to_sqlite(parse_query('title:"Reko Diq" countries:pk'), NOW)
    assert flt.params == ('{title} : "reko" + "diq"', "countries", "pk")
    assert flt.match == '({title} : "reko" + "diq")'
    assert to_sqlite(parse_query("miner*"), NOW).params == ('{title summary body} : "miner" *',)
    sloppy = to_sqlite(parse_query('"suicide attack"~1'), NOW, terms(index))
    assert sloppy.where == "(d.rowid IN (SELECT value FROM json_each(?)))" and json.loads(sloppy.params[0])
    assert to_sqlite(parse_query("*er"), NOW, terms(index)).params[0].startswith('{title summary body} : ("')
    with pytest.raises(ValueError, match="TermLookup"):
        to_sqlite(parse_query('"a b"~3'), NOW)
    assert to_sqlite(parse_query(""), NOW).where == "(1)"


def test_date_math_uses_the_given_now(index):
    query = "@timestamp:>now-1d"
    later = datetime(2025, 3, 20, tzinfo=UTC)
    assert sqlite_hits(index, query) == {"d4", "d7"}
    flt = to_sqlite(parse_query(query), later, terms(index))
    assert index.execute(f"SELECT count(*) FROM docs d WHERE {flt.where}", flt.params).fetchone()[0] == 0


def random_queries(count: int, seed: int = 7) -> list[str]:
    """Seeded random queries over the fixture vocabulary: terms, phrases, NEAR, prefixes, fields."""
    import random

    rng = random.Random(seed)
    words = ["suicide", "attack", "mine", "miner", "gold", "copper", "balochistan", "officials",
             "the", "a", "cafe", "rare", "earth", "pakistan", "s", "was", "talks", "words"]

    def leaf() -> str:
        roll = rng.random()
        field = rng.choice(["", "", "", "title:", "summary:", "body:"])
        if roll < 0.3:
            return field + rng.choice(words)
        if roll < 0.45:
            return field + rng.choice(words)[:rng.randint(1, 4)] + "*"
        if roll < 0.75:
            phrase = " ".join(rng.choice(words) for _ in range(rng.randint(2, 3)))
            slop = f"~{rng.randint(0, 4)}" if rng.random() < 0.6 else ""
            return f'{field}"{phrase}"{slop}'
        return rng.choice(["countries:PK", "topics:minerals_cooperation", "scores.counterterrorism:>=0.05",
                           "published:>=2025-03-01", "_exists_:body", "authors:*", "language:e?"])

    def expr(depth: int) -> str:
        if depth == 0 or rng.random() < 0.3:
            return rng.choice(["", "", "-", "+", "NOT "]) + leaf()
        parts = [expr(depth - 1) for _ in range(rng.randint(2, 3))]
        joined = rng.choice([" ", " AND ", " OR "]).join(parts)
        return f"({joined})" if rng.random() < 0.5 else joined

    return [expr(3) for _ in range(count)]


def test_random_queries_agree(index):
    checked = 0
    for text in random_queries(400):
        try:
            parse_query(text)
        except Exception as exc:  # e.g. "NOT" directly after "+": a syntax error in both worlds
            assert type(exc).__name__ == "QuerySyntaxError", text
            continue
        assert sqlite_hits(index, text) == memory_hits(text), text
        checked += 1
    assert checked > 300


def test_near_phrase_and_prefix_agree_on_random_texts():
    import random

    rng = random.Random(11)
    vocab = ["ab", "abc", "b", "c"]
    docs = [{"id": f"r{i}", "title": " ".join(rng.choice(vocab) for _ in range(rng.randint(1, 10))),
             "summary": " ".join(rng.choice(vocab) for _ in range(rng.randint(0, 4)))} for i in range(120)]
    conn = build_index(docs)
    try:
        for _ in range(300):
            phrase = " ".join(rng.choice(vocab) for _ in range(rng.randint(2, 3)))
            text = rng.choice([f'"{phrase}"~{rng.randint(0, 5)}', f'"{phrase}"', f"{phrase.replace(' ', '-')}*"])
            query = parse_query(text)
            flt = to_sqlite(query, NOW, terms(conn))
            got = {row[0] for row in conn.execute(f"SELECT d.id FROM docs d WHERE {flt.where}", flt.params)}
            assert got == {doc["id"] for doc in docs if matches(query, doc, NOW)}, text
    finally:
        conn.close()
