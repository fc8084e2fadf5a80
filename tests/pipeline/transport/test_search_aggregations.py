"""Facets, story histograms and the entity filter on the in-memory double and the embedded SQLite index:
the same made-up documents, the same answers (Elasticsearch: tests/integration/test_search_parity.py)."""

from __future__ import annotations

import json
import random
import sqlite3
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pipeline.document import index_document
from pipeline.errors import UserInputError
from pipeline.query import parse_query
from pipeline.transport.base import FACET_FIELDS, SearchFilters
from pipeline.transport.memory import MemoryIndex
from pipeline.transport.sqlite_index import SqliteIndex
from tests.factories import make_classified

CT, MIN = "counterterrorism", "minerals_cooperation"
INDEXED = datetime(2026, 3, 10, tzinfo=UTC)
NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)

# (id, published, story_id, fields): 2026-03-02 and 03-09 are Mondays, 03-08 a Sunday
DOCS = [
    ("a1", "2026-03-02T10:15:00Z", "s1", dict(title="Checkpoint attack in the north", topics=(CT,), countries=("PK",),
                                             source="Dawn", entities={"persons": ["Asim Munir"], "groups": ["TTP"]})),
    ("a2", "2026-03-02T11:40:00Z", "s1", dict(title="Attack on a checkpoint: the army responds", topics=(CT,),
                                             countries=("PK", "US"), source="dawn",
                                             entities={"persons": ["Asim Munir", "Jane Roe"]})),
    ("a3", "2026-03-03T09:00:00Z", "s2", dict(title="Copper project financing agreed", topics=(MIN,),
                                             countries=("US",), source="APP",
                                             entities={"organizations": ["Barrick"], "places": ["Quetta"]})),
    ("a4", "2026-03-03T23:59:59Z", "s3", dict(title="Mine security after an attack", topics=(CT, MIN),
                                             countries=("PK",), source="APP", entities={"places": ["quetta"]})),
    ("a5", "2026-03-08T12:00:00Z", "", dict(title="Border crossing reopens", countries=("AF",), source="Geo News",
                                           entities={"groups": ["TTP"]})),
    ("a6", "2026-03-09T00:00:00Z", "s2", dict(title="Copper project: first shipment", topics=(MIN,), countries=("US",),
                                             source="APP")),
]


def doc(item_id: str, published: str, story: str, **fields) -> dict:
    item = make_classified(id=item_id, url=f"https://news.test/{item_id}", published=published, story_id=story,
                           summary="", **fields)
    return index_document(item, INDEXED)


def documents() -> list[dict]:
    return [doc(item_id, published, story, **fields) for item_id, published, story, fields in DOCS]


@pytest.fixture(params=["memory", "sqlite"])
def index(request, tmp_path):
    made = MemoryIndex() if request.param == "memory" else SqliteIndex(f"sqlite:///{tmp_path}/index.db")
    made.index(documents())
    made.flush()
    yield made
    made.close()


def ids(index, filters: SearchFilters, query: str = "*") -> list[str]:
    return sorted(h.doc["id"] for h in index.search(parse_query(query), filters, limit=1000, now=NOW).hits)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_facets_count_documents_per_value_most_first_then_by_value(index):
    found = index.facets(parse_query("*"), SearchFilters(), FACET_FIELDS, now=NOW)
    assert found == {
        "topics": [(CT, 3), (MIN, 3)],
        "countries": [("PK", 3), ("US", 3), ("AF", 1)],
        "source": [("APP", 3), ("Dawn", 1), ("Geo News", 1), ("dawn", 1)],  # as written: case-sensitive
        "entities.persons": [("Asim Munir", 2), ("Jane Roe", 1)],
        "entities.organizations": [("Barrick", 1)],
        "entities.places": [("Quetta", 1), ("quetta", 1)],
        "entities.groups": [("TTP", 2)],
    }


def test_facets_follow_the_query_and_filters_and_size(index):
    query = parse_query("attack")
    assert index.facets(query, SearchFilters(), ["topics", "source"], size=1, now=NOW) == {
        "topics": [(CT, 3)], "source": [("APP", 1)]}
    assert index.facets(query, SearchFilters(countries=("us",)), ["entities.persons"], now=NOW) == {
        "entities.persons": [("Asim Munir", 1), ("Jane Roe", 1)]}
    assert index.facets(parse_query("nothing-like-this"), SearchFilters(), ["topics"], now=NOW) == {"topics": []}


def test_facets_refuse_an_unknown_field_or_size(index):
    with pytest.raises(UserInputError, match="'title'"):
        index.facets(parse_query("*"), SearchFilters(), ["topics", "title"])
    with pytest.raises(UserInputError, match="size"):
        index.facets(parse_query("*"), SearchFilters(), ["topics"], size=0)


def test_entity_filter_is_any_value_in_any_entity_field_case_insensitive(index):
    assert ids(index, SearchFilters(entities=("QUETTA",))) == ["a3", "a4"]
    assert ids(index, SearchFilters(entities=("ttp", "barrick"))) == ["a1", "a3", "a5"]
    assert ids(index, SearchFilters(entities=("asim munir",), countries=("us",))) == ["a2"]
    assert ids(index, SearchFilters(entities=("Asim",))) == []  # a whole value, not a word of it
    assert ids(index, SearchFilters(entities=("TTP",)), "attack") == ["a1"]


def test_daily_histogram_counts_distinct_stories_in_all_and_per_topic(index):
    assert index.histogram(parse_query("*"), SearchFilters(), interval="day", now=NOW) == [
        (utc("2026-03-02T00:00:00"), {"all": 1, CT: 1}),  # a1 and a2: one story
        (utc("2026-03-03T00:00:00"), {"all": 2, CT: 1, MIN: 2}),
        (utc("2026-03-08T00:00:00"), {"all": 1}),  # a5 has no story id: its own story
        (utc("2026-03-09T00:00:00"), {"all": 1, MIN: 1}),
    ]


def test_weekly_and_hourly_histograms(index):
    assert index.histogram(parse_query("*"), SearchFilters(), interval="week", now=NOW) == [
        (utc("2026-03-02T00:00:00"), {"all": 4, CT: 2, MIN: 2}),  # Monday to Sunday
        (utc("2026-03-09T00:00:00"), {"all": 1, MIN: 1}),
    ]
    hours = index.histogram(parse_query("*"), SearchFilters(entities=("quetta",)), interval="hour", now=NOW)
    assert hours == [(utc("2026-03-03T09:00:00"), {"all": 1, MIN: 1}),
                     (utc("2026-03-03T23:00:00"), {"all": 1, CT: 1, MIN: 1})]


def test_histogram_follows_the_query_and_refuses_an_unknown_interval(index):
    found = index.histogram(parse_query("topics:counterterrorism"), SearchFilters(since=utc("2026-03-02T11:00:00")),
                            interval="day", now=NOW)
    assert found == [(utc("2026-03-02T00:00:00"), {"all": 1, CT: 1}),
                     (utc("2026-03-03T00:00:00"), {"all": 1, CT: 1, MIN: 1})]
    assert index.histogram(parse_query("nothing-like-this"), SearchFilters(), interval="hour", now=NOW) == []
    with pytest.raises(UserInputError, match="month"):
        index.histogram(parse_query("*"), SearchFilters(), interval="month")


def test_sqlite_facets_follow_writes_from_this_and_other_processes(tmp_path):
    url = f"sqlite:///{tmp_path}/index.db"
    reader, writer = SqliteIndex(url), SqliteIndex(url)
    writer.index(documents())
    writer.flush()
    everything = parse_query("*")
    assert reader.facets(everything, SearchFilters(), ["entities.persons"]) == {
        "entities.persons": [("Asim Munir", 2), ("Jane Roe", 1)]}
    writer.index([doc("a2", "2026-03-05T08:00:00Z", "s9", title="Rewritten", topics=(MIN,), source="APP",
                      entities={"persons": ["Jane Roe"]})])
    writer.flush()
    assert reader.facets(everything, SearchFilters(), ["entities.persons", "source"]) == {
        "entities.persons": [("Asim Munir", 1), ("Jane Roe", 1)],
        "source": [("APP", 4), ("Dawn", 1), ("Geo News", 1)]}
    days = dict(reader.histogram(everything, SearchFilters(), interval="day"))
    assert days[utc("2026-03-02T00:00:00")] == {"all": 1, CT: 1}
    assert days[utc("2026-03-05T00:00:00")] == {"all": 1, MIN: 1}
    reader.index([doc("a7", "2026-03-05T09:00:00Z", "s9", title="More", topics=(CT,), source="Dawn")])
    reader.flush()
    days = dict(reader.histogram(everything, SearchFilters(), interval="day"))
    assert days[utc("2026-03-05T00:00:00")] == {"all": 1, CT: 1, MIN: 1}
    assert reader.search(everything, SearchFilters(), limit=1, sort="newest").total == 7
    reader.close()
    writer.close()


OLD_SCHEMA = """
CREATE TABLE docs (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, doc TEXT NOT NULL,
  ts REAL, published REAL, fetched_at REAL, classified_at REAL, indexed_at REAL);
CREATE INDEX docs_ts ON docs(ts);
CREATE TABLE doc_keywords (rowid INTEGER NOT NULL, field TEXT NOT NULL, value TEXT NOT NULL);
CREATE INDEX doc_keywords_fv ON doc_keywords(field, value, rowid);
CREATE INDEX doc_keywords_row ON doc_keywords(rowid);
CREATE TABLE doc_numbers (rowid INTEGER NOT NULL, field TEXT NOT NULL, value REAL NOT NULL);
CREATE INDEX doc_numbers_fv ON doc_numbers(field, value, rowid);
CREATE INDEX doc_numbers_row ON doc_numbers(rowid);
CREATE VIRTUAL TABLE docs_fts USING fts5(title, summary, body, tokenize='unicode61 remove_diacritics 2');
"""


def test_sqlite_converts_a_file_written_before_facets(tmp_path):
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(OLD_SCHEMA)
    for rowid, item in enumerate(documents(), start=1):
        stamp = utc(item["@timestamp"][:-1]).timestamp()
        old.execute("INSERT INTO docs VALUES (?, ?, ?, ?, ?, NULL, NULL, NULL)",
                    (rowid, item["id"], json.dumps(item), stamp, stamp))
        old.executemany("INSERT INTO doc_keywords VALUES (?, ?, ?)",
                        [(rowid, "topics", t.casefold()) for t in item["topics"]])
        old.execute("INSERT INTO docs_fts (rowid, title, summary, body) VALUES (?, ?, '', '')", (rowid, item["title"]))
    old.commit()
    old.close()
    index = SqliteIndex(f"sqlite:///{path}")
    assert index.get("a3") == documents()[2]
    assert ids(index, SearchFilters(topics=(MIN,)), "copper") == ["a3", "a6"]
    assert index.facets(parse_query("*"), SearchFilters(), ["source"])["source"][0] == ("APP", 3)
    assert index.histogram(parse_query("*"), SearchFilters(), interval="week")[-1][1] == {"all": 1, MIN: 1}
    index.close()
    assert "doc" not in {row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(docs)")}


def generated(count: int, seed: int) -> list[dict]:
    rng = random.Random(seed)
    words = ["attack", "copper", "talks", "border", "mine", "quetta", "gold", "army", "blast", "deal"]
    names = ["Ann Lee", "ann lee", "Bo Chen", "Cy Ames", "Dee Oka", "Eli Park", "Fay Ng"]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(count):
        moment = start + timedelta(minutes=rng.randrange(0, 60 * 24 * 40))
        out.append(doc(f"g{i}", moment.strftime("%Y-%m-%dT%H:%M:%SZ"), rng.choice(["", f"s{i // 3}", f"s{i // 5}"]),
                       title=" ".join(rng.choices(words, k=5)), topics=tuple(rng.sample([CT, MIN], rng.randrange(3))),
                       countries=tuple(rng.sample(["PK", "US", "AF", "CN"], rng.randrange(3))),
                       source=rng.choice(["Dawn", "APP", "dawn", "Geo News"]),
                       entities={kind: rng.sample(names, rng.randrange(3)) for kind in ("persons", "places")}))
    return out


def test_memory_and_sqlite_agree_on_generated_documents_through_rewrites(tmp_path):
    memory, sqlite = MemoryIndex(), SqliteIndex(f"sqlite:///{tmp_path}/index.db")
    cases = [("*", SearchFilters()), ("attack", SearchFilters()), ("copper OR gold", SearchFilters(countries=("pk",))),
             ("topics:counterterrorism AND army", SearchFilters()),
             ("*", SearchFilters(entities=("ANN LEE", "Fay Ng"))),
             ("-blast", SearchFilters(since=datetime(2026, 1, 20, tzinfo=UTC), sources=("dawn",)))]
    docs = generated(400, seed=3)
    for round_, batch in enumerate((docs[:250], docs[250:], generated(120, seed=4))):  # the last rewrites g0..g119
        for index in (memory, sqlite):
            index.index(batch)
            index.flush()
        for query, filters in cases:
            parsed = parse_query(query)
            for size in (3, 50):
                assert sqlite.facets(parsed, filters, FACET_FIELDS, size=size, now=NOW) == memory.facets(
                    parsed, filters, FACET_FIELDS, size=size, now=NOW), (round_, query, filters, size)
            for interval in ("hour", "day", "week"):
                assert sqlite.histogram(parsed, filters, interval=interval, now=NOW) == memory.histogram(
                    parsed, filters, interval=interval, now=NOW), (round_, query, filters, interval)
            assert ids(sqlite, filters, query) == ids(memory, filters, query)
    sqlite.close()


def test_an_empty_sqlite_index_has_no_facets_and_no_buckets(tmp_path):
    index = SqliteIndex(f"sqlite:///{tmp_path}/index.db")
    assert index.facets(parse_query("*"), SearchFilters(), FACET_FIELDS) == {name: [] for name in FACET_FIELDS}
    assert index.facets(parse_query("attack"), SearchFilters(entities=("x",)), ["topics"]) == {"topics": []}
    assert index.histogram(parse_query("*"), SearchFilters(), interval="week") == []
    index.close()
