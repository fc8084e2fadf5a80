"""The indexer stage: documents the index rejects at flush go to the DLQ, the rest of the batch is
indexed and committed; an unavailable index is retried without losing or committing anything; an
item indexed again keeps the analysts' verdicts the feedback store holds for it."""

from __future__ import annotations

import json

import pytest

from consumers.indexer import IndexerStage
from newsmon.feedback_writes import write_verdicts
from pipeline.errors import RetryLater
from pipeline.loop import ConsumeLoop, StopSignal
from pipeline.query import parse_query
from pipeline.settings import ConsumerSettings
from pipeline.transport.base import TOPIC_CLASSIFIED, TOPIC_DLQ, Record, Rejection, SearchFilters
from pipeline.transport.memory import MemoryIndex, MemoryLog
from pipeline.transport.sqlite_feedback import FeedbackStore
from pipeline.transport.sqlite_index import SqliteIndex
from tests.factories import make_classified

FAST = ConsumerSettings(batch_size=10, poll_timeout=0, backoff_initial=0.001, backoff_max=0.01)


class RejectingIndex(MemoryIndex):
    """Rejects the documents whose id is in ``refuse`` at flush, like a mapping error would."""

    def __init__(self, refuse: set[str]) -> None:
        super().__init__()
        self.refuse = refuse

    def flush(self) -> list[Rejection]:
        rejected = [Rejection(doc_id, "document_parsing_exception: bad latitude") for doc_id in self.pending
                    if doc_id in self.refuse]
        for rejection in rejected:
            del self.pending[rejection.doc_id]
        super().flush()
        return rejected


def run(index: MemoryIndex, ids: list[str]) -> MemoryLog:
    log = MemoryLog()
    for item_id in ids:
        log.append(TOPIC_CLASSIFIED, item_id, make_classified(id=item_id, url=f"https://x.test/{item_id}").to_json())
    loop = ConsumeLoop(IndexerStage(index), log.consumer("indexer", [TOPIC_CLASSIFIED]), log.producer(), FAST,
                       StopSignal())
    loop.run(until_idle=True)
    return log


def test_a_rejected_document_goes_to_the_dlq_and_the_rest_of_its_batch_is_indexed():
    index = RejectingIndex({"b"})
    log = run(index, ["a", "b", "c"])
    assert sorted(index.docs) == ["a", "c"]
    letters = [json.loads(v) for v in log.values(TOPIC_DLQ)]
    assert [(d["stage"], d["key"], d["offset"]) for d in letters] == [("indexer", "b", 2)]
    assert "index rejected item b: document_parsing_exception" in letters[0]["error"]
    assert log.committed[("indexer", TOPIC_CLASSIFIED)] == 4


def test_an_unavailable_index_is_retried_and_nothing_is_lost():
    index = MemoryIndex()
    index.fail_next_flushes = 3
    log = run(index, ["a", "b"])
    assert sorted(index.docs) == ["a", "b"] and not log.values(TOPIC_DLQ)
    assert log.committed[("indexer", TOPIC_CLASSIFIED)] == 3


def test_created_counts_the_documents_the_index_took():
    index = RejectingIndex({"b"})
    stage = IndexerStage(index)
    for offset, item_id in enumerate(["a", "b", "c", "a"], start=1):  # "a" twice: one document
        item = make_classified(id=item_id, url=f"https://x.test/{item_id}")
        stage.handle(Record(TOPIC_CLASSIFIED, 0, offset, item_id, item.to_json(), 0.0))
    assert stage.created == 0
    assert [record.key for record, _ in stage.flush()] == ["b"]
    assert stage.created == 2 and sorted(index.docs) == ["a", "c"]


def test_created_is_unchanged_while_the_index_is_unavailable():
    index = MemoryIndex()
    index.fail_next_flushes = 1
    stage = IndexerStage(index)
    item = make_classified(id="a", url="https://x.test/a")
    stage.handle(Record(TOPIC_CLASSIFIED, 0, 1, "a", item.to_json(), 0.0))
    with pytest.raises(RetryLater):
        stage.flush()
    assert stage.created == 0
    assert stage.flush() == [] and stage.created == 1


class ProbedIndex(MemoryIndex):
    def __init__(self, answer: bool) -> None:
        super().__init__()
        self.answer = answer

    def ready(self) -> bool:
        return self.answer


@pytest.mark.parametrize("index, expected", [(ProbedIndex(True), True), (ProbedIndex(False), False),
                                             (MemoryIndex(), False)])
def test_ready_is_the_index_probe_or_false_without_one(index, expected):
    assert IndexerStage(index).ready() is expected


@pytest.fixture(params=["memory", "sqlite"])
def index(request, tmp_path):
    store = MemoryIndex() if request.param == "memory" else SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}")
    yield store
    store.close()


def append(log: MemoryLog, item_id: str, **fields) -> None:
    item = make_classified(id=item_id, url=f"https://x.test/{item_id}", story_id="s1", **fields)
    log.append(TOPIC_CLASSIFIED, item_id, item.to_json())


def consume(stage: IndexerStage, log: MemoryLog) -> None:
    ConsumeLoop(stage, log.consumer("indexer", [TOPIC_CLASSIFIED]), log.producer(), FAST, StopSignal()).run(
        until_idle=True)


def found(index, query: str) -> list[str]:
    return sorted(hit.doc["id"] for hit in index.search(parse_query(query), SearchFilters(), limit=10).hits)


def test_an_item_indexed_again_keeps_the_verdicts_of_the_feedback_store(index, tmp_path):
    verdicts = FeedbackStore(f"sqlite:///{tmp_path / 'state.db'}")
    log = MemoryLog()
    append(log, "a", topics=("counterterrorism",))
    append(log, "b", topics=("counterterrorism",))
    stage = IndexerStage(index, verdicts=verdicts)
    consume(stage, log)
    written = write_verdicts(index, verdicts, [index.get("a")], [("counterterrorism", "no")], "ana")
    assert written.refused == [] and found(index, "feedback.counterterrorism:no") == ["a"]
    append(log, "a", topics=("counterterrorism",), scores={"counterterrorism": 0.7})  # reprocessed: a new copy
    append(log, "b", topics=("counterterrorism",))
    consume(stage, log)
    assert index.get("a")["scores"] == {"counterterrorism": 0.7}  # the new copy was written ...
    assert index.get("a")["feedback"] == {"counterterrorism": "no"}  # ... with the verdict
    assert "feedback" not in index.get("b")
    assert found(index, "feedback.counterterrorism:no") == ["a"]
    verdicts.close()


def test_a_withdrawn_verdict_is_not_brought_back_by_a_re_index(index, tmp_path):
    verdicts = FeedbackStore(f"sqlite:///{tmp_path / 'state.db'}")
    log = MemoryLog()
    append(log, "a")
    stage = IndexerStage(index, verdicts=verdicts)
    consume(stage, log)
    write_verdicts(index, verdicts, [index.get("a")], [("counterterrorism", "yes"), ("minerals_cooperation", "no")],
                   "ana")
    write_verdicts(index, verdicts, [index.get("a")], [("minerals_cooperation", None)], "ana")
    append(log, "a")
    consume(stage, log)
    assert index.get("a")["feedback"] == {"counterterrorism": "yes"}
    verdicts.close()
