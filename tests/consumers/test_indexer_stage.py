"""The indexer stage: documents the index rejects at flush go to the DLQ, the rest of the batch is
indexed and committed; an unavailable index is retried without losing or committing anything."""

from __future__ import annotations

import json

import pytest

from consumers.indexer import IndexerStage
from pipeline.errors import RetryLater
from pipeline.loop import ConsumeLoop, StopSignal
from pipeline.settings import ConsumerSettings
from pipeline.transport.base import TOPIC_CLASSIFIED, TOPIC_DLQ, Record, Rejection
from pipeline.transport.memory import MemoryIndex, MemoryLog
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
