"""Browser tests: real headless Chromium against a real search-page server on an ephemeral port.

They skip with the reason when Playwright or Chromium is missing, unless ``CI`` is set: then they fail."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from newsmon.app import start_web
from tests.browser.chromium import launch, missing_reason
from tests.browser.site import build_archive, build_site


@pytest.fixture(scope="session")
def browser():
    reason = missing_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests cannot run in CI: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


def _serve(folder: Path, token: str = ""):
    return start_web(build_site(folder, token=token))


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    web = _serve(tmp_path_factory.mktemp("site"))
    yield web
    web.close()


@pytest.fixture
def fresh_server(tmp_path: Path):
    """A server of its own, for a test that changes the index."""
    web = _serve(tmp_path)
    yield web
    web.close()


@pytest.fixture(scope="module")
def archive_server(tmp_path_factory):
    """Three stories of 2023 only."""
    web = start_web(build_archive(tmp_path_factory.mktemp("archive")))
    yield web
    web.close()


@pytest.fixture
def token_server(tmp_path: Path):
    web = _serve(tmp_path, token="tok-123")
    yield web
    web.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(5000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.errors = errors
    yield page
    context.close()
