"""What a result row offers, in real headless Chromium: evidence marked only for the item's own
topics, negative evidence marked apart, topics and entities as links that filter the search, and
the "all time" histogram fitted to the data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from pipeline.transport.base import bucket_start
from tests.browser.pages import open_search, story_ids
from tests.browser.site import CT_STORY


def q_is(page, expected: str) -> None:
    page.wait_for_function("q => new URL(location.href).searchParams.get('q') === q", arg=expected)


def style(locator, name: str) -> str:
    return locator.evaluate("(node, name) => getComputedStyle(node)[name]", name)


# -- evidence ---------------------------------------------------------------------------------------

def test_an_item_without_topics_has_no_evidence_marked(page, server):
    row = open_search(page, server).locator("#results > li[data-story='story-08']")
    assert "lead the attack" in row.locator(".summary").inner_text()  # "attack" is evidence of a topic it lacks
    assert row.locator("mark").count() == 0
    assert row.locator(".evidence").count() == 0


def test_negative_evidence_is_struck_through_and_titled_never_the_positive_yellow(page, server):
    row = open_search(page, server).locator("#results > li[data-story='story-12']")
    against = row.locator(".title mark.against")
    assert against.all_inner_texts() == ["Earthquake"]
    assert against.get_attribute("title") == "counts against counterterrorism"
    assert "line-through" in style(against, "textDecorationLine")
    positive = row.locator(".title mark:not(.against)")
    assert positive.all_inner_texts() == ["attacked"]
    assert style(against, "backgroundColor") != style(positive, "backgroundColor")
    assert row.locator(".summary mark.against").all_inner_texts() == ["earthquake"]
    evidence = row.locator(".evidence")
    assert evidence.inner_text() == "Evidence for counterterrorism: attack, gunmen · against: earthquake"
    assert evidence.locator(".against").get_attribute("title") == "counts against counterterrorism"
    assert page.errors == []


# -- click to filter --------------------------------------------------------------------------------

def test_clicking_an_entity_then_a_topic_narrows_the_search_in_the_address(page, server):
    open_search(page, server, "?range=7d&sort=relevance")
    row = page.locator(f"#results > li[data-story='{CT_STORY}']")
    row.locator(".entities a.filter", has_text="TTP").click()
    q_is(page, "entities.groups:TTP")
    page.wait_for_function("() => document.querySelectorAll('#results > li').length === 1")
    assert story_ids(page) == [CT_STORY]
    assert page.input_value("#q") == "entities.groups:TTP"
    assert "range=7d" in page.url and "sort=relevance" in page.url  # the other filters stay
    page.locator(f"#results > li[data-story='{CT_STORY}'] .topic a.filter").first.click()
    q_is(page, "entities.groups:TTP AND topics:counterterrorism")
    page.go_back()  # each filter is a step in the history
    q_is(page, "entities.groups:TTP")
    page.wait_for_function("() => document.getElementById('q').value === 'entities.groups:TTP'")
    assert page.errors == []


def test_a_filter_link_works_from_the_keyboard_and_keeps_the_query_as_read(page, server):
    open_search(page, server, "?q=copper OR convoy")
    link = page.locator("#results > li[data-story='story-09'] .entities a.filter", has_text="Chagai")
    assert link.evaluate("a => a.tabIndex") == 0 and link.get_attribute("href").startswith("/?")
    link.focus()
    page.keyboard.press("Enter")
    q_is(page, '(copper OR convoy) AND entities.places:Chagai')
    page.wait_for_function("() => document.querySelectorAll('#results > li').length === 1")
    assert story_ids(page) == ["story-09"]
    page.locator("#results .entities a.filter", has_text="PK").focus()
    page.keyboard.press("Enter")
    q_is(page, "(copper OR convoy) AND entities.places:Chagai AND countries:PK")
    page.wait_for_function("() => document.activeElement.id === 'results'")  # focus moves to the new results
    assert page.errors == []


def test_names_of_several_words_are_quoted_and_the_story_page_links_to_the_search(page, server):
    page.goto(server.url + f"story/{CT_STORY}")
    page.wait_for_selector("#story-items > li")
    page.locator("#story-items > li").first.locator(".entities a.filter", has_text="North Waziristan").click()
    q_is(page, 'entities.places:"North Waziristan"')
    page.wait_for_selector("#results > li")
    assert story_ids(page) == [CT_STORY]
    assert page.errors == []


# -- histogram --------------------------------------------------------------------------------------

def axis(page) -> list[str]:
    return page.locator("#histogram .axis span").all_inner_texts()


def test_all_time_histogram_runs_from_the_first_to_the_last_story(page, archive_server):
    open_search(page, archive_server)  # 2023: weeks, from the first story's to the last one's
    assert axis(page) == ["2023-03-06", "2023-07-31"]
    assert page.locator("#histogram p.meta").inner_text().startswith("One group of bars per week")
    bars = page.eval_on_selector_all("#histogram rect", "rs => rs.map(r => +r.getAttribute('x'))")
    assert len(bars) == 3 and min(bars) < 50 and max(bars) > 650  # spread over the 720-wide chart
    page.select_option("#f-range", "30d")  # a chosen range keeps its bounds, even without stories
    now = datetime.now(UTC)
    expected = [str(bucket_start(now - timedelta(days=30), "day").date()), str(now.date())]
    page.wait_for_function("days => [...document.querySelectorAll('#histogram .axis span')]"
                           ".map(s => s.textContent).join() === days.join()", arg=expected)
    assert page.locator("#histogram rect").count() == 0
    assert page.errors == []
