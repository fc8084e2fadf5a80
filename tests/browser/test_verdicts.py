"""Analysts' verdicts on the search page, in real headless Chromium: ✗ on a story row marks every item
of the story (the API and a feedback.<topic>:no search see it), the row says who marked it, the
keyboard does it all, a verdict can be withdrawn, the story page marks one item, and the tab's
token goes with the write."""

from __future__ import annotations

import json
import urllib.request

from tests.browser.pages import open_search
from tests.browser.site import CT_STORY

CT, MIN = "counterterrorism", "minerals_cooperation"


def api(server, path: str, token: str = "") -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    with urllib.request.urlopen(urllib.request.Request(server.url + path.lstrip("/"), headers=headers),
                                timeout=10) as response:
        return json.loads(response.read())


def story_feedback(server, story: str = CT_STORY, token: str = "") -> list[dict]:
    return [item["feedback"] for item in api(server, f"/api/story/{story}", token)["items"]]


def ct_row(page):
    return page.locator(f"#results > li[data-story='{CT_STORY}']")


def test_a_cross_on_a_story_row_marks_every_item_and_is_searchable(page, fresh_server):
    open_search(page, fresh_server)
    page.fill("#who", "ana")
    page.press("#who", "Tab")
    cross = ct_row(page).locator(f"button[data-key='{CT}:no']")
    assert cross.get_attribute("aria-pressed") == "false"
    assert cross.get_attribute("aria-label") == f"Mark this story not on topic: {CT}"
    cross.click()
    mark = ct_row(page).locator(".verdict-mark")
    mark.wait_for()
    assert mark.inner_text() == "✗ marked not on topic by ana"
    assert cross.get_attribute("aria-pressed") == "true"
    assert story_feedback(fresh_server) == [{CT: "no"}] * 3
    page.fill("#q", f"feedback.{CT}:no")
    page.press("#q", "Enter")
    page.wait_for_function("() => document.querySelectorAll('#results > li').length === 1")
    assert ct_row(page).count() == 1
    assert ct_row(page).locator(".verdict-mark").inner_text() == "✗ marked not on topic by ana"  # after a reload
    assert page.locator("#f-feedback").inner_text() == f"{CT} ✗ not on topic (3)"
    page.reload()
    page.wait_for_selector("#results > li")
    assert page.input_value("#who") == "ana"  # the name is kept in this browser
    assert page.errors == []


def test_the_keyboard_marks_and_withdraws(page, fresh_server):
    open_search(page, fresh_server)
    cross = ct_row(page).locator(f"button[data-key='{CT}:no']")
    cross.focus()
    page.keyboard.press("Enter")
    ct_row(page).locator(".verdict-mark").wait_for()
    assert ct_row(page).locator(".verdict-mark").inner_text() == "✗ marked not on topic by web"
    assert page.evaluate("() => document.activeElement.dataset.key") == f"{CT}:no"  # focus stays put
    assert page.inner_text("#verdict-status") == f"{CT} marked not on topic (3 items)"
    assert story_feedback(fresh_server) == [{CT: "no"}] * 3
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent") == "Withdraw"
    page.keyboard.press("Enter")
    ct_row(page).locator(".verdict-mark").wait_for(state="detached")
    assert story_feedback(fresh_server) == [{}] * 3
    assert page.evaluate("() => document.activeElement.dataset.key") == f"{CT}:no"
    assert cross.get_attribute("aria-pressed") == "false"
    page.keyboard.press(" ")  # Space works too; pressing the pressed ✗ again withdraws
    ct_row(page).locator(".verdict-mark").wait_for()
    page.keyboard.press("Enter")
    ct_row(page).locator(".verdict-mark").wait_for(state="detached")
    assert story_feedback(fresh_server) == [{}] * 3
    assert page.errors == []


def test_also_about_on_the_story_page_marks_one_item(page, fresh_server):
    page.goto(fresh_server.url + f"story/{CT_STORY}")
    page.wait_for_selector("#story-items > li")
    first = page.locator("#story-items > li").first
    also = first.locator(f"button[data-key='{MIN}:also']")
    assert also.inner_text() == f"also about: {MIN}" and also.get_attribute("aria-label") == f"Mark this item also about {MIN}"
    also.click()
    first.locator(f".verdict[data-topic='{MIN}'] .verdict-mark").wait_for()
    assert first.locator(f".verdict[data-topic='{MIN}'] .verdict-mark").inner_text() == "✓ marked on topic by web"
    assert first.locator(f"button[data-key='{MIN}:also']").count() == 0
    assert story_feedback(fresh_server) == [{MIN: "yes"}, {}, {}]  # oldest first: only the first item
    first.locator(f".verdict[data-topic='{MIN}'] button.withdraw").click()
    first.locator(f"button[data-key='{MIN}:also']").wait_for()
    assert story_feedback(fresh_server) == [{}, {}, {}]
    assert page.errors == []


def test_the_write_carries_the_tabs_token(page, token_server):
    open_search(page, token_server, "?token=tok-123")
    ct_row(page).locator(f"button[data-key='{CT}:yes']").click()
    ct_row(page).locator(".verdict-mark").wait_for()
    assert story_feedback(token_server, token="tok-123") == [{CT: "yes"}] * 3
    assert page.is_hidden("#notice")
    assert page.errors == []


def test_a_name_with_markup_is_shown_as_text(page, fresh_server):
    open_search(page, fresh_server)
    page.fill("#who", "<img src=x onerror=window.__pwned=4>")
    page.press("#who", "Tab")
    ct_row(page).locator(f"button[data-key='{CT}:no']").click()
    mark = ct_row(page).locator(".verdict-mark")
    mark.wait_for()
    assert mark.inner_text() == "✗ marked not on topic by <img src=x onerror=window.__pwned=4>"
    assert ct_row(page).locator("img").count() == 0
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
