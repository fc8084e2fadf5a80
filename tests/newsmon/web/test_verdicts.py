"""Verdicts in the API's read answers and the label body, as pure functions: the item view carries
``feedback``, the search facets count the verdicts among the matches, ``feedback_by`` comes from the
feedback store only when an item shown has verdicts, and the body is read strictly."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsmon.web import api, verdicts
from newsmon.web.csrf import same_origin
from pipeline.errors import UserInputError
from pipeline.feedback import Verdict
from pipeline.transport.memory import MemoryIndex
from pipeline.transport.sqlite_feedback import FeedbackStore
from pipeline.transport.sqlite_index import SqliteIndex
from tests.newsmon.web.sample import DOCS, NOW, TOPICS

CT = "counterterrorism"


@pytest.fixture(params=["memory", "sqlite"])
def index(request, tmp_path: Path):
    marked = {"i1": {CT: "no"}, "i2": {CT: "no"}, "i4": {CT: "yes"}}
    docs = [{**doc, "feedback": marked[doc["id"]]} if doc["id"] in marked else doc for doc in DOCS]
    store = MemoryIndex() if request.param == "memory" else SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}")
    store.index(docs)
    store.flush()
    yield store
    store.close()


def search(index, feedback=None, **values) -> dict:
    params = {k: [v] for k, v in values.items()}
    return api.search(index, api.parse_search(params, NOW, TOPICS), NOW, TOPICS, feedback)


def test_the_search_counts_verdicts_among_the_matches(index):
    assert search(index)["facets"]["feedback"] == [["counterterrorism:yes", 1], ["counterterrorism:no", 2]]
    assert search(index, q="Bannu")["facets"]["feedback"] == [["counterterrorism:no", 2]]
    assert search(index, q="copper OR cricket")["facets"]["feedback"] == [["counterterrorism:yes", 1]]
    assert search(index, source="Geo")["facets"]["feedback"] == [["counterterrorism:no", 1]]
    assert "feedback" not in api.search(index, api.parse_search({}, NOW, TOPICS), NOW)["facets"]  # no topics given


def test_items_carry_their_verdicts_and_who_gave_them(index, tmp_path: Path):
    store = FeedbackStore(f"sqlite:///{tmp_path / 'state.db'}")
    store.record([Verdict("i1", CT, "no", "ana", 1.0), Verdict("i4", CT, "yes", "bo", 2.0)])
    opened: list[int] = []

    def feedback():
        opened.append(1)
        return store

    stories = {s["story_id"]: s["item"] for s in search(index, feedback)["stories"]}
    assert (stories["s-bannu"]["feedback"], stories["s-bannu"]["feedback_by"]) == ({CT: "no"}, {CT: "ana"})
    assert (stories["s-reko"]["feedback"], stories["s-reko"]["feedback_by"]) == ({CT: "yes"}, {CT: "bo"})
    assert (stories["i5"]["feedback"], stories["i5"]["feedback_by"]) == ({}, {})
    assert search(index, feedback, q="cricket")["stories"][0]["item"]["feedback"] == {}
    assert len(opened) == 1  # the store is not asked when no item shown has verdicts
    items = api.story(index, "s-bannu", NOW, feedback)["items"]
    assert [(i["id"], i["feedback"], i["feedback_by"]) for i in items] == [
        ("i3", {}, {}), ("i2", {CT: "no"}, {}), ("i1", {CT: "no"}, {CT: "ana"})]
    store.close()


def test_a_label_body_is_read_strictly():
    request = verdicts.parse_label(b'{"story_id": "s-bannu", "topic": "counterterrorism", "verdict": null}', TOPICS)
    assert request == verdicts.LabelRequest(None, "s-bannu", CT, None, "web")
    named = verdicts.parse_label(b'{"item_id": "i1", "topic": "counterterrorism", "verdict": "yes", "who": " Ana "}',
                                 TOPICS)
    assert (named.item_id, named.verdict, named.who) == ("i1", "yes", "Ana")
    with pytest.raises(UserInputError, match=r"^verdict:"):
        verdicts.parse_label(b'{"item_id": "i1", "topic": "counterterrorism", "verdict": "No"}', TOPICS)
    with pytest.raises(UserInputError, match=r"^item_id:"):
        verdicts.parse_label(b'{"item_id": "", "topic": "counterterrorism", "verdict": "no"}', TOPICS)


def test_the_own_origin_is_http_and_the_host_with_its_port():
    assert same_origin("http://127.0.0.1:8470", "127.0.0.1:8470")
    assert same_origin("http://LOCALHOST:8470", "localhost:8470")
    assert same_origin("http://[::1]:8470", "[::1]:8470")
    assert same_origin("http://localhost", "localhost:80")
    assert not same_origin("http://localhost:8471", "localhost:8470")
    assert not same_origin("https://localhost:8470", "localhost:8470")
    assert not same_origin("http://localhost:8470/x", "localhost:8470")
    assert not same_origin("null", "localhost:8470")
