"""Merging ended months against a real node: setup and the first index of a new month start a merge
of every ended month's index down to one segment, the current month's index is left alone, and a
cluster that cannot be reached costs a log line, not a write."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime

import pytest
from elasticsearch import Elasticsearch

from pipeline.document import index_document
from pipeline.item import format_time, utc_now
from pipeline.transport import elasticsearch_index
from pipeline.transport.elasticsearch_compact import merge_ended_months
from tests.factories import make_classified
from tests.integration.es_fixtures import es, es_url

pytestmark = pytest.mark.integration

PAST = ("2025-03-10T08:00:00Z", "2025-04-10T08:00:00Z")


def write_in_rounds(index, stamps: tuple[str, ...], rounds: int = 3) -> None:
    """One document per month in each round, each round flushed and refreshed: a segment per round."""
    for round_ in range(rounds):
        docs = [index_document(make_classified(id=f"m{n}-r{round_}", url=f"https://example.test/{n}/{round_}",
                                               published=stamp), utc_now())
                for n, stamp in enumerate(stamps)]
        index.index(docs)
        assert index.flush() == []
        index.refresh()


def segments(client: Elasticsearch, name: str) -> int:
    stats = client.indices.stats(index=name, metric="segments").body
    return stats["indices"][name]["primaries"]["segments"]["count"]


def wait_for_one_segment(client: Elasticsearch, names: list[str], timeout: float = 30.0) -> dict[str, int]:
    deadline = time.monotonic() + timeout
    while True:
        counts = {name: segments(client, name) for name in names}
        if all(count == 1 for count in counts.values()) or time.monotonic() > deadline:
            return counts
        time.sleep(0.2)


def test_setup_merges_ended_months_and_leaves_the_current_one(es):
    index = es.index()
    index.setup()
    now = format_time(utc_now())
    write_in_rounds(index, (*PAST, now))
    past = [f"{es.alias}-2025.03", f"{es.alias}-2025.04"]
    current = f"{es.alias}-{utc_now():%Y.%m}"
    with es.client() as client:
        assert all(segments(client, name) == 3 for name in [*past, current])
        message = index.setup()
        assert "merging 2 ended month(s)" in message
        assert wait_for_one_segment(client, past) == {name: 1 for name in past}
        assert segments(client, current) == 3
        assert index.setup().endswith(f"alias {es.alias}")  # nothing left to merge: no request, no mention
    assert index.count() == 9
    index.close()


def test_the_first_index_of_a_new_month_merges_the_ended_ones(es, monkeypatch):
    clock = {"now": datetime(2025, 4, 20, tzinfo=UTC)}
    monkeypatch.setattr(elasticsearch_index, "utc_now", lambda: clock["now"])
    writer = es.index()
    writer.setup()  # in April: nothing has ended yet
    write_in_rounds(writer, PAST)  # March is a backfill into an index of its own: no merge for that
    ended = [f"{es.alias}-2025.03", f"{es.alias}-2025.04"]
    with es.client() as client:
        assert {name: segments(client, name) for name in ended} == {name: 3 for name in ended}
        clock["now"] = datetime(2025, 5, 1, 0, 5, tzinfo=UTC)
        first_of_may = index_document(make_classified(id="may-1", published="2025-05-01T00:01:00Z"), utc_now())
        writer.index([first_of_may])
        assert writer.flush() == []
        assert wait_for_one_segment(client, ended) == {name: 1 for name in ended}
        assert client.indices.exists(index=f"{es.alias}-2025.05")
    writer.close()


def test_an_unreachable_cluster_costs_a_log_line(caplog):
    client = Elasticsearch("http://127.0.0.1:9", request_timeout=1, max_retries=0)
    with caplog.at_level(logging.WARNING):
        assert merge_ended_months(client, "newsmon-items", utc_now()) == []
    assert "event=months_merge_skipped" in caplog.text
