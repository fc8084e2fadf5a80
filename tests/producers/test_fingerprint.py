"""producers.fingerprint: an edited title is the same story; different stories never are, even
from a source whose summaries are mostly boilerplate (measured on the real-news corpus); the
poller's index of known stories answers as the item-by-item comparison does."""

from __future__ import annotations

import json
from collections import defaultdict

import pytest

from producers.fingerprint import (
    Fingerprint,
    KnownStories,
    common_shingles,
    content_fingerprint,
    find_same_story,
    same_story,
)
from producers.normalise import SUMMARY_CHARS, truncate_text
from tests.producers.feeds import STORIES

SUMMARY = STORIES[1].summary


@pytest.mark.parametrize("edited", [
    "Lenders sign long-awaited financing terms for Reko Diq copper project",
    "UPDATE: Lenders sign financing terms for Reko Diq copper project",
    "Lenders sign financing terms for Reko Diq copper-gold project",
])
def test_edited_titles_are_the_same_story(edited):
    original = content_fingerprint(STORIES[1].title, SUMMARY)
    assert same_story(original, content_fingerprint(edited, SUMMARY))


def test_a_new_figure_in_the_title_is_news_not_an_edit():
    assert not same_story(content_fingerprint(STORIES[1].title, SUMMARY),
                          content_fingerprint("Lenders sign $2.6bn financing terms for Reko Diq copper project", SUMMARY))


def test_different_stories_and_short_texts():
    a, b, c = (content_fingerprint(s.title, s.summary) for s in STORIES)
    assert not same_story(a, b) and not same_story(b, c) and not same_story(a, c)
    assert content_fingerprint("Blast in Quetta", "") is None  # too short to tell stories apart
    assert find_same_story(b, [("x", a), ("y", c)]) is None and find_same_story(b, [("x", a), ("y", b)]) == "y"


def test_boilerplate_summaries_do_not_merge_different_stories():
    boiler = "The text of the following statement was released by the Governments of the United States and"
    others = [content_fingerprint(f"Joint Statement on {topic}", f"{boiler} partners on {topic}.")
              for topic in ("energy security", "maritime cooperation", "counterterrorism dialogue")]
    g7a = content_fingerprint("G7 Foreign Ministers' Statement on Afghanistan", f"{boiler} the G7 on women.")
    g7b = content_fingerprint("G7 Foreign Ministers' Statement on Hong Kong", f"{boiler} the G7 on elections.")
    known = [(f"o{i}", fp) for i, fp in enumerate(others)] + [("a", g7a)]
    assert find_same_story(g7b, known) is None
    assert find_same_story(g7a, known) == "a"
    assert not same_story(g7a, g7b, common_shingles(known))


@pytest.mark.parametrize("first, second", [
    (("KSE-100 gains 340 points as banks rally", "The benchmark index closed higher on Monday as investors bought"
      " bank shares, dealers said, with volumes thin ahead of the budget."),
     ("KSE-100 loses 120 points as banks slide", "The benchmark index closed lower on Monday as investors sold"
      " bank shares, dealers said, with volumes thin ahead of the budget.")),
    (("Blast in Quetta kills 5, police say", "A bomb planted on a motorcycle exploded near a market in Quetta on"
      " Tuesday evening, police said, and rescue teams took the wounded to the civil hospital."),
     ("Blast in Quetta kills 12, police say", "A bomb planted on a motorcycle exploded near a market in Quetta on"
      " Tuesday evening, police said, and rescue teams took the wounded to the civil hospital.")),
], ids=["bulletin", "death-toll"])
def test_conflicting_numbers_are_different_stories(first, second):
    assert not same_story(content_fingerprint(*first), content_fingerprint(*second))


def test_blobs_round_trip():
    fp = content_fingerprint(STORIES[0].title, STORIES[0].summary)
    assert Fingerprint.from_blobs(*fp.to_blobs()) == fp


def test_real_news_no_two_different_stories_of_one_source_are_merged(shared):
    by_source = defaultdict(list)
    for line in (shared / "corpora" / "real-news" / "items.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        fp = content_fingerprint(row["title"], truncate_text(row.get("summary") or "", SUMMARY_CHARS))
        if fp:
            by_source[row["source"]].append((row["title"], fp))
    merged = []
    for items in by_source.values():
        common = common_shingles(items)  # the whole corpus of a source as its window: harsher than 7 days
        merged += [(a[0], b[0]) for i, a in enumerate(items) for b in items[i + 1:] if same_story(a[1], b[1], common)]
    assert sum(len(v) for v in by_source.values()) > 900
    # the one pair found is the same press conference announced twice ("MEDIA ADVISORY: ..." and without)
    assert len(merged) <= 1 and all(x.endswith(y) or y.endswith(x) for x, y in merged)


def test_known_stories_answers_as_find_same_story_with_items_added_in_front():
    boiler = "The text of the following statement was released by the Governments of the United States and"
    texts = [(s.title, s.summary) for s in STORIES] + [
        ("Lenders sign long-awaited financing terms for Reko Diq copper project", SUMMARY),
        *((f"Joint Statement on {topic}", f"{boiler} partners on {topic}.")
          for topic in ("energy security", "maritime cooperation", "counterterrorism dialogue")),
        ("G7 Foreign Ministers' Statement on Afghanistan", f"{boiler} the G7 on women."),
        ("G7 Foreign Ministers' Statement on Afghanistan", f"{boiler} the G7 on women and girls."),
    ]
    prints = [(f"i{n}", content_fingerprint(*text)) for n, text in enumerate(texts)]
    for given in range(len(prints) + 1):
        assert _decisions(prints, given, linear=False) == _decisions(prints, given, linear=True)
    assert any(_decisions(prints, 0, linear=False))  # the cases include duplicates found


def _decisions(prints, given: int, *, linear: bool) -> list:
    """The first ``given`` prints as the known window (newest first), the rest checked and added in turn."""
    known = list(reversed(prints[:given]))
    index = KnownStories(known)
    common = common_shingles(known)
    decisions = []
    for item_id, fp in prints[given:]:
        found = find_same_story(fp, known, common) if linear else index.find(fp)
        decisions.append(found)
        if not found:
            known.insert(0, (item_id, fp))
            index.add(item_id, fp)
    return decisions


def test_known_stories_answers_as_find_same_story_on_real_news(shared):
    by_source = defaultdict(list)
    for line in (shared / "corpora" / "real-news" / "items.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        title, summary = row["title"], truncate_text(row.get("summary") or "", SUMMARY_CHARS)
        for n, variant in enumerate((title, f"UPDATE: {title}", f"{title} 2")):  # edits, and a new number
            fp = content_fingerprint(variant, summary)
            if fp:
                by_source[row["source"]].append((f"{row['id']}/{n}", fp))
    for prints in by_source.values():
        half = len(prints) // 2
        linear, indexed = _decisions(prints, half, linear=True), _decisions(prints, half, linear=False)
        assert indexed == linear and any(linear)
