"""The pure side of analysts' verdicts: parsing, the index field, eval rows and merging into training rows."""

import pytest

from pipeline.errors import UserInputError
from pipeline.feedback import labelled_row, merge_training_rows, parse_topic_verdicts, with_feedback

TOPICS = ("counterterrorism", "minerals_cooperation")


def test_parse_topic_verdicts():
    assert parse_topic_verdicts(["counterterrorism=no", "minerals_cooperation=yes"], TOPICS) == {
        "counterterrorism": "no", "minerals_cooperation": "yes"}
    with pytest.raises(UserInputError, match="expected yes or no, got 'YES'"):
        parse_topic_verdicts(["counterterrorism=YES"], TOPICS)


def test_with_feedback_sets_and_clears_the_field():
    doc = with_feedback({"id": "a", "topics": ["counterterrorism"]}, {"counterterrorism": "no"})
    assert doc["feedback"] == {"counterterrorism": "no"}
    assert "feedback" not in with_feedback(doc, {})


def test_labelled_row_corrects_the_classifiers_topics():
    row = labelled_row({"id": "a", "title": "t", "topics": ["counterterrorism"]},
                       {"counterterrorism": "no", "minerals_cooperation": "yes"})
    assert row["labels"] == ["minerals_cooperation"] and row["body"] is None


def test_verdicts_win_over_the_corpus_label_for_their_topic_only():
    rows = [{"id": "a", "title": "x", "labels": ["counterterrorism", "minerals_cooperation"]},
            {"id": "b", "title": "y", "labels": []}]
    feedback = [{"id": "a", "title": "x", "labels": [], "verdicts": {"counterterrorism": "no"}},
                {"id": "c", "title": "z", "labels": ["counterterrorism"], "verdicts": {"counterterrorism": "yes"}}]
    merged = merge_training_rows(rows, feedback)
    assert [(r["id"], r["labels"]) for r in merged] == [
        ("a", ["minerals_cooperation"]), ("b", []), ("c", ["counterterrorism"])]
