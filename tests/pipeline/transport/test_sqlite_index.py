"""The embedded index's full-text table: text stored once (external content), kept in step through
rewrites, and rebuilt when a file from schema 1 (FTS5 with its own copy of the text) is opened."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timezone
from pathlib import Path

from pipeline.document import index_document
from pipeline.query import parse_query
from pipeline.transport.base import SearchFilters
from pipeline.transport.sqlite_index import SqliteIndex
from tests.factories import make_classified

INDEXED = datetime(2026, 3, 1, tzinfo=UTC)


def doc(item_id: str, title: str, body: str | None = None) -> dict:
    item = make_classified(id=item_id, url=f"https://news.test/{item_id}", title=title, summary="", body=body)
    return index_document(item, INDEXED)


def found(index: SqliteIndex, query: str) -> list[str]:
    return sorted(h.doc["id"] for h in index.search(parse_query(query), SearchFilters(), limit=100).hits)


def fts_consistent(path: Path) -> bool:
    db = sqlite3.connect(path)
    try:
        db.execute("INSERT INTO docs_fts (docs_fts, rank) VALUES ('integrity-check', 1)")  # checks against doc_text
        return True
    except sqlite3.DatabaseError:
        return False
    finally:
        db.close()


def tables(path: Path) -> set[str]:
    return {row[0] for row in sqlite3.connect(path).execute("SELECT name FROM sqlite_master")}


def test_the_text_is_stored_once_and_the_full_text_index_follows_rewrites(tmp_path):
    path = tmp_path / "index.db"
    index = SqliteIndex(f"sqlite:///{path}")
    index.index([doc("a", "Copper deal signed in Quetta", body="Reko Diq talks"), doc("b", "Border talks resume")])
    index.flush()
    index.index([doc("a", "Militants attack a convoy")])  # the same id again: replaces the document
    index.flush()
    assert found(index, "copper") == [] and found(index, "reko") == []
    assert found(index, "convoy") == ["a"] and found(index, "talks") == ["b"]
    assert found(index, "_exists_:body") == []
    index.close()
    assert fts_consistent(path)
    assert "docs_fts_content" not in tables(path)  # FTS5 keeps no copy of its own


def test_a_schema_1_file_gets_its_full_text_index_rebuilt_from_the_documents(tmp_path, caplog):
    path = tmp_path / "index.db"
    index = SqliteIndex(f"sqlite:///{path}")
    index.index([doc("a", "Copper deal signed"), doc("b", "Border talks resume", body="Torkham crossing")])
    index.flush()
    index.close()
    old = sqlite3.connect(path)  # turn it into what newsmon wrote before: FTS5 holding the text itself
    old.executescript("""
        DROP TABLE docs_fts; DROP VIEW doc_text;
        CREATE VIRTUAL TABLE docs_fts USING fts5(title, summary, body, tokenize='unicode61 remove_diacritics 2');
        INSERT INTO docs_fts (rowid, title, summary, body)
          SELECT rowid, json_extract(doc, '$.title'), '', COALESCE(json_extract(doc, '$.body'), '') FROM doc_json;
        PRAGMA user_version = 1;
    """)
    old.close()
    assert "docs_fts_content" in tables(path)
    index = SqliteIndex(f"sqlite:///{path}")
    assert "event=index_upgrade" in caplog.text and "from_schema=1" in caplog.text
    assert found(index, "copper") == ["a"] and found(index, "torkham") == ["b"]
    index.close()
    assert "docs_fts_content" not in tables(path) and fts_consistent(path)
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == 2


def test_setup_has_nothing_to_do_and_leaves_the_documents_alone(tmp_path):
    index = SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}")
    index.index([doc("a", "Copper deal signed in Quetta")])
    index.flush()
    assert index.setup() == "" and index.setup() == ""  # newsmon setup prints no detail for it
    assert found(index, "copper") == ["a"]
    index.close()


def test_a_flush_of_new_and_replaced_documents_keeps_one_set_of_rows_per_document(tmp_path):
    path = tmp_path / "index.db"
    index = SqliteIndex(f"sqlite:///{path}")
    first = make_classified(id="a", url="https://news.test/a", title="Convoy attacked near Quetta", summary="",
                            topics=("counterterrorism",), scores={"counterterrorism": 0.9}, countries=("PK",))
    index.index([index_document(first, INDEXED), doc("b", "Border talks resume")])
    index.flush()
    again = make_classified(id="a", url="https://news.test/a", title="Copper deal signed", summary="",
                            topics=("minerals_cooperation",), scores={"minerals_cooperation": 0.8}, countries=("US",))
    index.index([doc("c", "Convoy route reopened"), index_document(again, INDEXED)])  # one new, one replaced
    index.flush()
    assert found(index, "convoy") == ["c"] and found(index, "copper") == ["a"]
    assert found(index, "topics:counterterrorism") == [] and found(index, "topics:minerals_cooperation") == ["a"]
    assert found(index, "scores.counterterrorism:>0.5") == [] and found(index, "scores.minerals_cooperation:>0.5") == ["a"]
    facets = index.facets(parse_query("*"), SearchFilters(), ["countries", "topics"])
    assert facets == {"countries": [("US", 1)], "topics": [("minerals_cooperation", 1)]}
    index.close()
    db = sqlite3.connect(path)
    rows = {table: db.execute(f"SELECT COUNT(*) FROM {table} WHERE rowid = (SELECT rowid FROM docs WHERE id = 'a')")
            .fetchone()[0] for table in ("doc_json", "doc_numbers")}
    db.close()
    assert rows == {"doc_json": 1, "doc_numbers": 1}
    assert fts_consistent(path)
