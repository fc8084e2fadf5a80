"""`newsmon eval` on the real-news corpus's fixed held-out split (the shipped model never saw it),
with and without the items' bodies (most feeds send title and summary only).

The README's classifier table gives these figures beside the commands that produce them; here the
same commands run (from the repository root, as the README says, so `newsmon.yaml`'s feeds give the
home countries) and every figure of those two rows must be what they print. A change to the
classifier therefore comes with its new figures in the README. A floor also stands, so a broken
classifier fails even when someone updates the README to match it. Skips when ../shared is absent.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.nlp.corpus import join_corpus, split_rows, write_rows
from tests.conftest import SHARED

REPO = Path(__file__).resolve().parents[3]
TOPICS = ("counterterrorism", "minerals_cooperation")


def _eval(rows: list, path: Path) -> dict:
    write_rows(path, rows)
    result = subprocess.run([sys.executable, "-m", "newsmon.cli", "eval", str(path), "--json"],
                            capture_output=True, text=True, cwd=REPO, timeout=600)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _heldout(shared: Path) -> list:
    rows = join_corpus(shared / "corpora/real-news")
    assert all(row.get("split") in ("train", "heldout") for row in rows)  # labels v2 fix the split
    train, held = split_rows(rows)
    assert len(train) == 762 and len(held) == 334
    return held


def readme_row(label: str) -> list[str]:
    """The figures of the classifier table's row whose first cell starts with ``label``."""
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells and cells[0].strip("*").startswith(label):
            return re.findall(r"\d\.\d{3}", " ".join(cells[1:]))
    raise AssertionError(f"README has no classifier row {label!r}")


def measured_row(report: dict) -> list[str]:
    """The report's figures in the table's order: P / R / F1 per topic, macro F1, countries P / R."""
    figures = [report["topics"][t][key] for t in TOPICS for key in ("precision", "recall", "f1")]
    figures += [report["macro_f1"], report["countries"]["precision"], report["countries"]["recall"]]
    return [f"{value:.3f}" for value in figures]


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, dict]:
    if not SHARED.is_dir():
        pytest.skip(f"shared corpora not found at {SHARED} (set NEWSMON_SHARED)")
    folder, held = tmp_path_factory.mktemp("real-news"), _heldout(SHARED)
    return {"full": _eval(held, folder / "heldout.jsonl"),
            "short": _eval([{**row, "body": None} for row in held], folder / "heldout-short.jsonl")}


def test_heldout_split_is_what_the_readme_says_and_meets_its_floor(reports):
    report = reports["full"]
    assert [report["topics"][t]["support"] for t in TOPICS] == [75, 33]  # labels v2
    assert measured_row(report) == readme_row("held out (334)")
    assert report["topics"]["counterterrorism"]["precision"] >= 0.8 and report["macro_f1"] >= 0.75, report


def test_heldout_title_and_summary_only_is_what_the_readme_says(reports):
    report = reports["short"]
    assert measured_row(report) == readme_row("held out, title and summary only")
    assert report["macro_f1"] >= 0.70, report


def test_the_readme_row_reader_finds_the_rows():
    assert len(readme_row("held out (334)")) == 9 and len(readme_row("held out, title and summary only")) == 9
