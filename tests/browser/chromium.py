"""Headless Chromium for the browser tests and screenshots: Debian's /usr/bin/chromium driven by the
``playwright`` package's sync API (no browser download)."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

__all__ = ["CHROMIUM", "missing_reason", "launch"]

CHROMIUM = Path(os.environ.get("NEWSMON_CHROMIUM", "/usr/bin/chromium"))


def missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install -e '.[test]')"
    if not CHROMIUM.is_file() and not shutil.which(str(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set NEWSMON_CHROMIUM)"
    return None


def launch(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
