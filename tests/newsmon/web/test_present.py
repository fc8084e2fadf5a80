"""How documents are shown: highlighting, links, topics and folding into stories."""

from __future__ import annotations

import pytest

from newsmon.web.present import (
    against_phrases,
    evidence_phrases,
    group_stories,
    highlight_parts,
    is_web_link,
    item_view,
    topic_views,
)


def marks(text: str, phrases) -> list[str]:
    parts = highlight_parts(text, phrases)
    assert "".join(piece for piece, _ in parts) == text  # nothing lost, nothing added
    return [piece for piece, marked in parts if marked]


def test_phrases_mark_case_insensitively_at_word_starts_with_inflections():
    assert marks("Suicide Bombers attacked a TTP camp", ["suicide bomber", "attack", "ttp"]) == [
        "Suicide Bombers", "attacked", "TTP"]


def test_short_words_match_whole_words_only():
    assert marks("The US will use the port", ["us"]) == ["US"]


def test_query_prefix_and_separators_inside_a_phrase():
    assert marks("Reko-Diq miners and mining", ["reko diq", "min*"]) == ["Reko-Diq", "miners", "mining"]


def test_longest_phrase_wins_and_markup_stays_plain_text():
    assert marks("<b>critical minerals</b> deal", ["critical minerals", "minerals"]) == ["critical minerals"]
    assert highlight_parts("<script>x</script>", []) == [["<script>x</script>", False]]
    assert highlight_parts("", ["a"]) == []


def test_evidence_skips_model_scores_which_become_the_model_part():
    doc = {"topics": ["ct"], "scores": {"ct": 0.876}, "evidence": {"ct": ["TTP", "model:0.81", "attack"], "x": ["TTP"]}}
    assert evidence_phrases(doc) == ["TTP", "attack"]
    assert topic_views(doc) == [{"name": "ct", "score": 0.876, "model": 0.81, "evidence": ["TTP", "attack"],
                                 "against": []}]


def test_evidence_of_topics_the_item_does_not_have_is_not_marked():
    # the classifier writes evidence for every topic it scored, also those it did not assign
    doc = {"title": "Fast bowlers lead the attack", "topics": [], "evidence": {"ct": ["attack", "model:0.2"]}}
    assert evidence_phrases(doc) == [] and against_phrases(doc) == {}
    assert item_view(doc)["title_parts"] == [["Fast bowlers lead the attack", False]]
    assert [p for p, marked in item_view(doc, ["bowler"])["title_parts"] if marked] == ["bowlers"]


def test_negative_evidence_is_its_own_kind_of_mark_naming_the_topics():
    doc = {"title": "Earthquake relief convoy attacked", "topics": ["ct", "aid"],
           "evidence": {"ct": ["attack", "-earthquake", "model:0.6"], "aid": ["relief", "-attack (veto)"],
                        "other": ["-convoy"]}}
    assert evidence_phrases(doc) == ["attack", "relief"]
    assert against_phrases(doc) == {"earthquake": ["ct"], "attack": ["aid"]}
    assert item_view(doc)["title_parts"] == [
        ["Earthquake", False, ["ct"]], [" ", False], ["relief", True], [" convoy ", False], ["attacked", True]]
    assert [v["against"] for v in topic_views(doc)] == [["earthquake"], ["attack"]]
    assert [v["evidence"] for v in topic_views(doc)] == [["attack"], ["relief"]]


def test_the_longest_phrase_decides_between_positive_and_negative():
    parts = highlight_parts("a heart attack, then an attack", ["attack"], {"heart attack": ["ct"]})
    assert parts == [["a ", False], ["heart attack", False, ["ct"]], [", then an ", False], ["attack", True]]


@pytest.mark.parametrize("url, expected", [
    ("https://example.test/a", True), ("HTTP://example.test", True), ("javascript:alert(1)", False),
    ("data:text/html,x", False), ("//example.test", False), ("", False), (None, False), ("http://", False),
])
def test_only_http_and_https_are_links(url, expected):
    assert is_web_link(url) is expected


def test_group_stories_keeps_first_appearance_order_and_folds_newest_first():
    docs = [{"id": "a", "story_id": "s", "@timestamp": "3"}, {"id": "b", "@timestamp": "2"},
            {"id": "c", "story_id": "s", "@timestamp": "1"}, {"id": "d", "story_id": "s", "@timestamp": "2"}]
    assert [[d["id"] for d in group] for group in group_stories(docs)] == [["a", "d", "c"], ["b"]]
