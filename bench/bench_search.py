"""Benchmark of the search page's requests on the embedded SQLite index of 100,000 items.

Documents: the real-news corpus (../shared, read and never copied; generated text when it is absent)
sampled into stories of one to six items from different outlets, each with @timestamp spread over one
year, topics and countries from the corpus labels, and entities: the gazetteer names found in the
item's text (persons, organisations, places, groups) plus people and places drawn from a long tail of
generated names, as the NER stage adds them. NEWSMON_BENCH_SEARCH_DOCS changes the size.

Measured: the time to build the index (flushes of 500 documents, as the indexer writes), then for a
mix of queries and filters the latency of the page's full request (one search sorted by newest,
limit 100; facets on the 7 fields, size 10; a daily histogram) and of each part alone. Timings are
reported, never asserted.
"""

from __future__ import annotations

import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import yaml

from newsmon.web import api
from pipeline.document import index_document
from pipeline.item import ClassifiedItem, FeedRef, RawItem, format_time
from pipeline.query import parse_query
from pipeline.transport.base import FACET_FIELDS, SearchFilters
from pipeline.transport.sqlite_index import SqliteIndex

SHARED = Path(os.environ.get("NEWSMON_SHARED", REPO.parent / "shared")) / "corpora/real-news"
GAZETTEER = REPO / "pipeline" / "data" / "gazetteer.yaml"
NOW = datetime(2026, 11, 1, tzinfo=UTC)
OUTLETS = ["Dawn", "Geo News", "The Express Tribune", "APP", "Business Recorder", "The News", "Radio Pakistan",
           "Reuters", "AP", "BBC News", "CNN", "Al Jazeera", "Pakistan Observer", "Arab News", "VOA",
           "U.S. Department of State", "U.S. Department of the Treasury", "Samaa", "Dunya News", "The Nation"]
FIRST = ["Ahmed", "Ali", "Fatima", "Hassan", "Ayesha", "Bilal", "Sana", "Usman", "Zainab", "Imran", "Sarah",
         "John", "Maria", "David", "Omar", "Nadia", "Khalid", "Rashid", "Hina", "Tariq", "Emily", "James"]
LAST = ["Khan", "Ahmed", "Malik", "Qureshi", "Siddiqui", "Baloch", "Mengal", "Yousafzai", "Afridi", "Chaudhry",
        "Shah", "Butt", "Smith", "Johnson", "Brown", "Garcia", "Miller", "Wilson", "Rahman", "Hussain", "Mir"]


def corpus() -> list[dict]:
    """Rows with title, summary, body, source, ct, min, countries (labels joined on id)."""
    items, labels = SHARED / "items.jsonl", SHARED / "labels.jsonl"
    if not items.is_file():
        rng = random.Random(1)
        words = ["security", "forces", "militants", "attack", "Balochistan", "copper", "gold", "mining",
                 "investment", "talks", "power"]
        return [{"title": " ".join(rng.choices(words, k=8)), "summary": " ".join(rng.choices(words, k=30)),
                 "body": None, "source": "Bench", "ct": i % 5 == 0, "min": i % 7 == 0, "countries": ["PK"]}
                for i in range(1000)]
    label = {row["id"]: row for row in map(json.loads, labels.read_text(encoding="utf-8").splitlines())}
    rows = []
    for row in map(json.loads, items.read_text(encoding="utf-8").splitlines()):
        tags = label.get(row["id"], {})
        rows.append({**row, "ct": bool(tags.get("ct")), "min": bool(tags.get("min")),
                     "countries": tags.get("countries") or []})
    return rows


def _aliases() -> list[tuple[re.Pattern, str, str]]:
    """(pattern, kind, normalised name) for the gazetteer's persons, organisations, places and groups."""
    data = yaml.safe_load(GAZETTEER.read_text(encoding="utf-8"))
    out = []
    for section, kind in (("persons", "persons"), ("organizations", "organizations"), ("groups", "groups"),
                          ("places", "places")):
        for name, entry in (data.get(section) or {}).items():
            aliases = entry.get("aliases", []) if isinstance(entry, dict) else entry
            for alias in {name, *aliases}:
                flags = 0 if alias.isupper() else re.IGNORECASE
                out.append((re.compile(rf"\b{re.escape(alias)}\b", flags), kind, name))
    return out


def found_entities(rows: list[dict]) -> list[dict[str, list[str]]]:
    patterns = _aliases()
    out = []
    for row in rows:
        text = f"{row['title']} {row.get('summary') or ''} {(row.get('body') or '')[:1500]}"
        found: dict[str, list[str]] = {"persons": [], "organizations": [], "places": [], "groups": []}
        for pattern, kind, name in patterns:
            if name not in found[kind] and pattern.search(text):
                found[kind].append(name)
        out.append(found)
    return out


def _long_tail(rng: random.Random, pool: list[str]) -> str:
    """A name by a log-uniform rank: a few frequent names and a long tail of rare ones."""
    return pool[int(len(pool) ** rng.random()) - 1]


def documents(total: int, seed: int = 7) -> list[dict]:
    """``total`` index documents in stories, @timestamp over the year before NOW."""
    return list(iter_documents(total, seed))


def iter_documents(total: int, seed: int = 7, rows: list[dict] | None = None) -> Iterator[dict]:
    """The documents of :func:`documents` one at a time (``rows``: the corpus rows to sample)."""
    rows = corpus() if rows is None else rows
    rng = random.Random(seed)
    entities = found_entities(rows)
    people = [" ".join(filter(None, (a, m, b))) for a in FIRST for m in ["", *LAST] for b in LAST if m != b]
    rng.shuffle(people)
    towns = [f"{a}{b} {c}".strip() for a in ("Mir", "Kot", "Dera", "Pir", "Chak", "Bagh", "Shah", "Gul")
             for b in ("abad", "pur", " Khan", "wal", "garh", "kot") for c in ("", "Kalan", "Khurd", "Sharif")]
    rng.shuffle(towns)
    made = 0
    while made < total:
        base = rng.randrange(len(rows))
        start = NOW - timedelta(seconds=rng.uniform(0, 365 * 86400))
        story = None
        for n in range(min(1 + int(rng.expovariate(1.2)), 6, total - made)):
            moment = start + timedelta(minutes=rng.uniform(0, 600) * n)
            doc = _document(rng, rows[base], entities[base], made, moment, people, towns, story,
                            first_source=n == 0)
            story = story or doc["id"]
            made += 1
            yield doc


def _document(rng: random.Random, row: dict, found: dict, number: int, moment: datetime, people: list[str],
              towns: list[str], story: str | None, first_source: bool) -> dict:
    found = {kind: list(names) for kind, names in found.items()}
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        found["persons"].append(_long_tail(rng, people))
    if rng.random() < 0.3:
        found["places"].append(_long_tail(rng, towns))
    topics = tuple(t for t, on in (("counterterrorism", row["ct"]), ("minerals_cooperation", row["min"])) if on)
    scores = {t: round(rng.uniform(0.5, 1.0) if t in topics else rng.uniform(0, 0.4), 3)
              for t in ("counterterrorism", "minerals_cooperation")}
    source = row["source"] if first_source else rng.choice(OUTLETS)
    stamp = format_time(moment)
    raw = RawItem(id=f"b{number:07d}", url=f"https://bench.example/{number}", guid="", source=source,
                  feed=FeedRef(source.lower().replace(" ", "-"), ""), title=row["title"],
                  summary=row.get("summary") or "", body=row.get("body"), published=stamp, fetched_at=stamp)
    item = ClassifiedItem.from_raw(raw, topics=topics, scores=scores, countries=tuple(row["countries"]),
                                   entities={k: list(dict.fromkeys(v)) for k, v in found.items()},
                                   story_id=story or raw.id, model_version="bench", classified_at=stamp)
    return index_document(item, moment)


TOPICS = ("counterterrorism", "minerals_cooperation")
QUERIES = ["*", "Pakistan", '"prime minister"', "topics:counterterrorism AND Balochistan", "terrorism OR sanctions",
           # multi-term and proximity: the SQLite index expands them against its term dictionary / positions
           "*stan", "Kash*r", "Tehrik~1", "Taliban~", "/talib[a-z]n/", '"suicide attack"~3']
FILTERS = {
    "none": SearchFilters(),
    "topic": SearchFilters(topics=("counterterrorism",)),
    "country": SearchFilters(countries=("PK",)),
    "last 7 days": SearchFilters(since=NOW - timedelta(days=7)),
    "last 30 days": SearchFilters(since=NOW - timedelta(days=30)),
    "entity": SearchFilters(entities=("Taliban",)),
    "topic+country+90 days": SearchFilters(topics=("counterterrorism", "minerals_cooperation"), countries=("PK",),
                                           since=NOW - timedelta(days=90)),
}


def build(path: Path, docs: list[dict]) -> tuple[SqliteIndex, float]:
    index = SqliteIndex(f"sqlite:///{path}")
    start = time.perf_counter()
    for first in range(0, len(docs), 500):
        index.index(docs[first:first + 500])
        index.flush()
    return index, time.perf_counter() - start


def page_request(index: SqliteIndex, query, filters: SearchFilters) -> dict[str, float]:
    """The search page's request: newest 100 hits, facets on the 7 fields, a daily histogram (ms each)."""
    out = {}
    start = time.perf_counter()
    index.search(query, filters, limit=100, sort="newest", now=NOW)
    out["search"] = time.perf_counter()
    index.facets(query, filters, FACET_FIELDS, size=10, now=NOW)
    out["facets"] = time.perf_counter()
    index.histogram(query, filters, interval="day", now=NOW)
    out["histogram"] = time.perf_counter()
    return {"full": (out["histogram"] - start) * 1000, "search": (out["search"] - start) * 1000,
            "facets": (out["facets"] - out["search"]) * 1000, "histogram": (out["histogram"] - out["facets"]) * 1000}


def api_request(index: SqliteIndex, text: str, query, filters: SearchFilters) -> float:
    """What ``GET /api/search`` computes (ms): the newest 20 stories from up to 100 hits, facets counted
    per filter group with every other filter applied, the analysts' verdicts facet of both topics, the
    histogram, and the JSON-ready views."""
    request = api.SearchRequest(text=text, query=query, filters=filters, range="custom", sort="newest", limit=20,
                                interval="auto")
    start = time.perf_counter()
    json.dumps(api.search(index, request, NOW, topics=TOPICS))
    return (time.perf_counter() - start) * 1000


def alone(index: SqliteIndex, part: str, query, filters: SearchFilters) -> float:
    start = time.perf_counter()
    if part == "search":
        index.search(query, filters, limit=100, sort="newest", now=NOW)
    elif part == "facets":
        index.facets(query, filters, FACET_FIELDS, size=10, now=NOW)
    else:
        index.histogram(query, filters, interval="day", now=NOW)
    return (time.perf_counter() - start) * 1000


def measure(index: SqliteIndex, rounds: int) -> dict:
    """Every (query, filters) pair in turn, ``rounds`` times, so consecutive requests always differ."""
    combos = [(text, name, parse_query(text), filters) for text in QUERIES for name, filters in FILTERS.items()]
    full: dict[str, list[float]] = {"full": [], "search": [], "facets": [], "histogram": []}
    per_query: dict[str, list[float]] = {text: [] for text in QUERIES}
    parts: dict[str, list[float]] = {"search": [], "facets": [], "histogram": []}
    page: list[float] = []
    for _ in range(rounds):
        for text, _name, query, filters in combos:
            timings = page_request(index, query, filters)
            for key, value in timings.items():
                full[key].append(value)
            per_query[text].append(timings["full"])
        for part in parts:
            for _text, _name, query, filters in combos:
                parts[part].append(alone(index, part, query, filters))
        for text, _name, query, filters in combos:
            page.append(api_request(index, text, query, filters))
    hits = {text: index.search(query, filters, limit=1, now=NOW).total for text, name, query, filters in combos
            if name == "none"}
    return {"full": full, "per_query": per_query, "parts": parts, "page": page, "hits": hits,
            "requests": len(combos) * rounds}


def after_writes(index: SqliteIndex, docs: list[dict]) -> float:
    """The page's request right after the indexer flushed 100 new documents (the columns catch up)."""
    index.index([{**d, "id": f"late-{i}"} for i, d in enumerate(docs[:100])])
    index.flush()
    return page_request(index, parse_query("*"), SearchFilters(topics=("counterterrorism",)))["full"]


def stats(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.1f} | {p95:.1f} | {ordered[-1]:.1f}"


def run() -> list[str]:
    """Markdown lines for bench/RESULTS.md."""
    total = int(os.environ.get("NEWSMON_BENCH_SEARCH_DOCS", "100000"))
    rounds = int(os.environ.get("NEWSMON_BENCH_SEARCH_ROUNDS", "5"))
    docs = documents(total)
    with tempfile.TemporaryDirectory() as tmp:
        index, seconds = build(Path(tmp) / "index.db", docs)
        size = (Path(tmp) / "index.db").stat().st_size
        index.close()
        index = SqliteIndex(f"sqlite:///{Path(tmp) / 'index.db'}")  # a new connection: no facet columns in memory yet
        cold = page_request(index, parse_query("*"), SearchFilters())
        found = measure(index, rounds)
        late = after_writes(index, docs)
        index.close()
    source = "real-news corpus" if (SHARED / "items.jsonl").is_file() else "generated text"
    stories = len({d["story_id"] for d in docs})
    return [
        "## Search page (embedded index)", "",
        f"{total} documents ({source} sampled into {stories} stories over one year; topics and countries from the"
        f" labels; entities from the gazetteer plus a long tail of generated names; {sum(1 for d in docs if d['body'])}"
        f" with a body). Index build: {seconds:.0f} s ({total / seconds:.0f} docs/s, flushes of 500), file"
        f" {size / 1e6:.0f} MB.", "",
        f"The page's request: search (newest first, limit 100) + facets on the 7 fields (size 10) + daily histogram,"
        f" same query and filters; {len(QUERIES)} queries x {len(FILTERS)} filter sets"
        f" ({', '.join(FILTERS)}), {rounds} rounds, {found['requests']} requests; consecutive requests always differ."
        " Within the full request, facets and histogram reuse the matching rowids the search found; alone,"
        " each finds them itself. Goal: full request p95 < 200 ms.", "",
        "| measured | p50 ms | p95 ms | max ms |", "|---|---|---|---|",
        f"| **full request** | {stats(found['full']['full'])} |",
        *[f"| within it: {part} | {stats(found['full'][part])} |" for part in ("search", "facets", "histogram")],
        *[f"| {part} alone | {stats(values)} |" for part, values in found["parts"].items()],
        f"| **`/api/search` as the page calls it** (20 stories from up to 100 hits, facets per filter group"
        f" with the other filters, the verdicts facet of both topics, histogram, item views; no HTTP)"
        f" | {stats(found['page'])} |",
        "", "Full request per query (over the filter sets):", "",
        "| query | hits without filters | p50 ms | p95 ms | max ms |", "|---|---|---|---|---|",
        *[f"| `{text}` | {found['hits'][text]} | {stats(values)} |" for text, values in found["per_query"].items()],
        "", f"First request after opening the file (loads the facet columns): {cold['full']:.0f} ms. First request"
        f" after the indexer flushed 100 more documents (the columns load only those): {late:.0f} ms.",
    ]


if __name__ == "__main__":
    print("\n".join(run()))
