"""The search page's API against a real Elasticsearch node: the same answers as on SQLite."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import replace

import pytest

from newsmon.app import start_web
from newsmon.web import api
from tests.integration.es_fixtures import es, es_url
from tests.newsmon.web.sample import DOCS, NOW, OLD_DOCS, TOPICS

pytestmark = pytest.mark.integration


@pytest.fixture
def es_index(es):
    index = es.index()
    index.index(DOCS)
    assert index.flush() == []
    es.refresh()
    yield index
    index.close()


def run(index, **values) -> dict:
    params = {k: v if isinstance(v, list) else [v] for k, v in values.items()}
    return api.search(index, api.parse_search(params, NOW, TOPICS), NOW)


def test_stories_facets_and_histogram_as_on_sqlite(es_index):
    result = run(es_index)
    assert [s["story_id"] for s in result["stories"]] == ["s-bannu", "s-reko", "i5", "i6"]
    assert [o["source"] for o in result["stories"][0]["others"]] == ["Geo", "Tribune"]
    assert [s["story_id"] for s in run(es_index, q="copper")["stories"]] == ["s-reko"]
    assert [s["story_id"] for s in run(es_index, entity="ttp")["stories"]] == ["s-bannu"]
    facets = run(es_index, topic="counterterrorism")["facets"]
    assert dict(map(tuple, facets["topics"])) == {"counterterrorism": 4, "minerals_cooperation": 1}
    assert dict(map(tuple, facets["sources"])) == {"Dawn": 1, "Geo": 1, "Tribune": 2}
    hours = run(es_index, range="24h")["histogram"]["buckets"]
    assert [b["counts"]["all"] for b in hours if b["counts"]["all"]] == [1, 1, 1]


def test_all_time_histogram_fits_the_data_as_on_sqlite(es):
    index = es.index()
    index.index(OLD_DOCS)
    assert index.flush() == []
    es.refresh()
    try:
        buckets = run(index)["histogram"]["buckets"]
    finally:
        index.close()
    assert (buckets[0]["start"], buckets[-1]["start"], len(buckets)) == ("2024-04-09T00:00:00Z", "2024-04-29T00:00:00Z", 21)
    assert [b["counts"]["all"] for b in buckets if b["counts"]["all"]] == [1, 1, 1]


def test_story_oldest_first(es_index):
    assert [i["id"] for i in api.story(es_index, "s-bannu", NOW)["items"]] == ["i3", "i2", "i1"]
    with pytest.raises(api.NotFound):
        api.story(es_index, "s-none", NOW)


def test_serve_against_elasticsearch(es, es_index, tmp_path):
    settings = es.settings(NEWSMON_STATE=f"sqlite:///{tmp_path / 'state.db'}")
    server = start_web(replace(settings, web=replace(settings.web, port=0)))
    try:
        with urllib.request.urlopen(f"{server.url}api/health", timeout=10) as response:
            health = json.loads(response.read())
        assert health["backend"] == "elasticsearch" and health["items"] == len(DOCS)
        with urllib.request.urlopen(f"{server.url}api/story/s-reko", timeout=10) as response:
            assert len(json.loads(response.read())["items"]) == 1
    finally:
        server.close()
