"""Shared fixtures: the location of the shared corpora."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NEWSMON_SHARED", REPO.parent / "shared"))


@pytest.fixture
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"shared corpora not found at {SHARED} (set NEWSMON_SHARED)")
    return SHARED
