"""The search page in real headless Chromium: search, filter, story, alert log, feed health, live
updates, access token, and hostile feed text shown as text without running."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from pipeline.document import index_document
from pipeline.item import ClassifiedItem, format_time
from pipeline.transport.sqlite_index import SqliteIndex
from tests.browser.pages import open_search, story_ids
from tests.browser.site import CT_STORY, HOSTILE_SUMMARY, HOSTILE_TITLE


def test_typing_a_query_shows_matching_stories_with_highlights(page, server):
    open_search(page, server)
    page.fill("#q", "copper")
    page.press("#q", "Enter")
    page.wait_for_function("() => new URL(location.href).searchParams.get('q') === 'copper'")
    page.wait_for_function("() => document.querySelectorAll('#results > li').length === 2")
    assert story_ids(page) == ["story-rekodiq", "story-09"]
    first = page.locator("#results > li").first
    assert "copper" in [t.lower() for t in first.locator(".title mark").all_inner_texts()]
    assert "Also reported by Daily Ledger (1)" in first.locator("details summary").inner_text()
    assert first.locator(".topic").first.inner_text().startswith("minerals_cooperation 0.92")
    assert page.errors == []


def test_a_bad_query_shows_the_error_under_the_query_box(page, server):
    open_search(page, server)
    page.fill("#q", "AND (")
    page.press("#q", "Enter")
    page.wait_for_selector("#q-error:not([hidden])")
    assert "invalid query" in page.inner_text("#q-error")
    assert page.get_attribute("#q", "aria-invalid") == "true"


def test_a_query_mixing_and_with_or_shows_how_it_was_read(page, server):
    open_search(page, server)
    assert page.is_hidden("#q-hints")
    page.fill("#q", "copper OR gold AND Balochistan")
    page.press("#q", "Enter")
    page.wait_for_selector("#q-hints:not([hidden])")
    assert "+gold +balochistan copper" in page.inner_text("#q-hints")
    page.fill("#q", "(copper OR gold) AND Balochistan")
    page.press("#q", "Enter")
    page.wait_for_selector("#q-hints", state="hidden")
    assert page.errors == []


def test_a_topic_filter_narrows_results_and_lands_in_the_address(page, server):
    open_search(page, server)
    page.select_option("#f-topic", "minerals_cooperation")
    page.wait_for_function("() => location.search.includes('topic=minerals_cooperation')")
    page.wait_for_function("() => document.querySelectorAll('#results > li').length === 3")
    assert story_ids(page) == ["story-rekodiq", "story-07", "story-09"]
    page.reload()  # the address alone restores the search
    page.wait_for_selector("#results > li")
    assert page.input_value("#f-topic") == "minerals_cooperation" and len(story_ids(page)) == 3


def test_opening_a_story_lists_every_outlet_oldest_first(page, server):
    open_search(page, server)
    page.click(f"#results > li[data-story='{CT_STORY}'] a[href='/story/{CT_STORY}']")
    page.wait_for_url(f"**/story/{CT_STORY}")
    page.wait_for_selector("#story-items > li")
    assert page.locator("#story-items .source").all_inner_texts() == ["Capital Wire", "Daily Ledger", "Frontier Post"]
    assert page.inner_text("#story-title") == "Troops raid militant hideout near Mir Ali"
    assert "3 items" in page.inner_text("#story-summary")
    assert page.errors == []


def test_the_alert_log_shows_what_fired_to_whom_and_whether_it_was_delivered(page, server):
    page.goto(server.url + "alerts")
    page.wait_for_selector("#alerts-table tbody tr[data-status]")
    assert page.locator("#alerts-table tbody tr").count() == 4
    failed = page.locator("#alerts-table tbody tr[data-status='failed']")
    assert "Reko Diq" in failed.inner_text() and "HTTP 500" in failed.inner_text()
    assert "slack:hooks.slack.example" in failed.inner_text()
    assert page.locator("#alerts-table .status-sent").first.inner_text() == "delivered"
    assert "2 sent, 1 failed, 1 pending" in page.inner_text("#alerts-counts")
    page.select_option("#a-status", "failed")
    page.click("#alerts-form button")
    page.wait_for_url("**/alerts?status=failed**")
    page.wait_for_function("() => document.querySelectorAll('#alerts-table tbody tr').length === 1")
    assert page.errors == []


def test_feed_health_puts_broken_and_stale_feeds_first(page, server):
    page.goto(server.url + "feeds")
    page.wait_for_selector("#feeds-table tbody tr[data-status]")
    statuses = page.eval_on_selector_all("#feeds-table tbody tr", "rows => rows.map(r => r.dataset.status)")
    assert statuses == ["broken", "stale", "failing", "new", "ok"]
    assert "HTTP 503" in page.locator("#feeds-table tbody tr").first.inner_text()
    moved = page.locator("#feeds-table tbody tr[data-status='ok']").inner_text()
    assert "moved to https://frontier.example.test/feed/rss.xml" in moved
    assert page.errors == []


def test_hostile_feed_text_shows_as_text_and_runs_nothing(page, server):
    open_search(page, server)
    row = page.locator("#results > li[data-story='story-11']")
    assert row.locator(".title").inner_text() == HOSTILE_TITLE
    assert row.locator(".summary").inner_text() == HOSTILE_SUMMARY
    assert row.locator("img, script").count() == 0
    assert row.locator("a[href^='javascript']").count() == 0
    assert "javascript:window.__pwned=3" in row.inner_text()  # shown, not linked
    page.wait_for_timeout(300)
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    page.goto(server.url + "story/story-11")
    page.wait_for_selector("#story-items > li")
    assert page.inner_text("#story-title") == HOSTILE_TITLE
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    assert page.errors == []


def test_new_items_are_offered_while_the_page_is_open(page, fresh_server, tmp_path):
    open_search(page, fresh_server)
    now = datetime.now(UTC)
    stamp = format_time(now - timedelta(minutes=1))
    item = ClassifiedItem.from_dict({
        "id": "late-1", "url": "https://news.example.test/late", "guid": "late", "source": "Capital Wire",
        "feed": {"id": "capital-wire", "url": "https://wire.example.test/atom", "title": "Wire"},
        "title": "Breaking: ceasefire talks resume in Doha", "summary": "", "published": stamp, "fetched_at": stamp,
        "story_id": "late-1"})
    index = SqliteIndex(f"sqlite:///{tmp_path / 'index.db'}")
    index.index([index_document(item, now)])
    index.flush()
    index.close()
    page.wait_for_selector("#new-stories:not([hidden])", timeout=5000)
    assert page.inner_text("#new-stories").startswith("1 new story")
    page.click("#new-stories")
    assert story_ids(page)[0] == "late-1"
    assert page.is_hidden("#new-stories")


def test_a_token_is_taken_from_the_address_once_and_sent_as_a_header(page, token_server):
    page.goto(token_server.url)
    page.wait_for_selector("#notice:not([hidden])")
    assert "access token" in page.inner_text("#notice")
    open_search(page, token_server, "?token=tok-123")
    assert "token" not in page.url
    page.goto(token_server.url + "alerts")  # same tab: the token is remembered
    page.wait_for_selector("#alerts-table tbody tr[data-status]")


def test_keyboard_users_can_skip_to_the_content_and_reach_the_query(page, server):
    open_search(page, server)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "q"
    labels = page.eval_on_selector_all("input, select", "els => els.filter(e => !e.labels.length).map(e => e.id)")
    assert labels == []


def test_phone_width_has_no_sideways_scrolling(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        open_search(page, server)
        assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    finally:
        context.close()
