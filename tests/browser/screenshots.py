"""Screenshots of the search page for the README: ``python -m tests.browser.screenshots [--out DIR]``.

Serves the browser tests' invented newsroom (without its hostile item) from a temporary folder and
saves search, story, alerts and feeds at laptop width and the search page at phone width as PNG; last,
it marks the counterterrorism story not about counterterrorism through the page's ``POST /api/label``
and saves the search for ``feedback.counterterrorism:no`` (the row's verdict and the verdicts facet)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import urllib.request
from pathlib import Path

from newsmon.app import start_web
from tests.browser.chromium import launch, missing_reason
from tests.browser.site import CT_STORY, build_site

LAPTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}
SHOTS = (  # file, path, viewport, what to wait for, whole page
    ("search.png", "?range=30d", LAPTOP, "#results > li", False),
    ("story.png", f"story/{CT_STORY}", LAPTOP, "#story-items > li", False),
    ("alerts.png", "alerts", LAPTOP, "#alerts-table tbody tr[data-status]", False),
    ("feeds.png", "feeds", LAPTOP, "#feeds-table tbody tr[data-status]", False),
    ("search-phone.png", "?q=copper", PHONE, "#results > li", False),
)
VERDICT_SHOT = ("verdicts.png", "?q=feedback.counterterrorism%3Ano&range=30d", LAPTOP, "#results > li", False)


def mark_off_topic(base_url: str, story_id: str) -> None:
    """The verdict an analyst gives with the row's ✗ (the page on loopback without a token)."""
    body = json.dumps({"story_id": story_id, "topic": "counterterrorism", "verdict": "no", "who": "ana"}).encode()
    request = urllib.request.Request(base_url + "api/label", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()


def take(out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        server = start_web(build_site(Path(folder), hostile=False))
        browser = launch(playwright)
        try:
            for shot in (*SHOTS, VERDICT_SHOT):
                name, path, viewport, ready, whole = shot
                if shot is VERDICT_SHOT:
                    mark_off_topic(server.url, CT_STORY)
                context = browser.new_context(viewport=viewport, device_scale_factor=1)
                page = context.new_page()
                page.goto(server.url + path)
                page.wait_for_selector(ready)
                page.screenshot(path=str(out / name), full_page=whole)
                saved.append(out / name)
                context.close()
        finally:
            browser.close()
            server.close()
    return saved


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs/screenshots", help="folder for the PNG files (default: docs/screenshots)")
    args = parser.parse_args()
    reason = missing_reason()
    if reason:
        print(f"screenshots: {reason}", file=sys.stderr)
        return 1
    for path in take(Path(args.out)):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
