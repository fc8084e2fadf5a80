"""How documents are shown: highlighting, links, topics and folding into stories."""

from __future__ import annotations

import pytest

from newsmon.web.present import evidence_phrases, group_stories, highlight_parts, is_web_link, topic_views


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
    assert topic_views(doc) == [{"name": "ct", "score": 0.876, "model": 0.81, "evidence": ["TTP", "attack"]}]


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
