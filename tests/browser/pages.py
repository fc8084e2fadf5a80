"""Steps the browser tests share: open the search page and wait for its results, read the rows' stories."""

from __future__ import annotations

__all__ = ["open_search", "story_ids"]


def open_search(page, server, query: str = ""):
    page.goto(server.url + query)
    page.wait_for_selector("#results > li")
    return page


def story_ids(page) -> list[str]:
    return page.eval_on_selector_all("#results > li", "rows => rows.map(r => r.dataset.story)")
