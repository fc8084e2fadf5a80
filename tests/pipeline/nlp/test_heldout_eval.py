"""`newsmon eval` on the fixed held-out split of each labelled corpus (real-news and real-news-2; the
shipped model never saw them), with and without the items' bodies (most feeds send title and summary only).

The README's classifier table gives these figures beside the commands that produce them; here the
same evaluations run (from the repository root, as the README says, so `newsmon.yaml`'s feeds give the
home countries) and every figure of those four rows must be what they print. A change to the
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


CORPORA = {"real-news": (762, 334, [75, 33]), "real-news-2": (629, 291, [40, 67])}  # train, held out, supports


def _heldout(shared: Path, name: str) -> list:
    rows = join_corpus(shared / "corpora" / name)
    assert all(row.get("split") in ("train", "heldout") for row in rows)  # labels v2 fix the split
    train, held = split_rows(rows)
    assert (len(train), len(held)) == CORPORA[name][:2]
    return held


def readme_row(label: str) -> list[str]:
    """The figures of the classifier table's row whose first cell starts with ``label``."""
    for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells and cells[0].strip("*").startswith(label):
            return re.findall(r"\d\.\d{3}", " ".join(cells[1:]))
    raise AssertionError(f"README has no classifier row {label!r}")


def measured_row(report: dict) -> list[float]:
    """The report's figures in the table's order: P / R / F1 per topic, macro F1, countries P / R."""
    figures = [report["topics"][t][key] for t in TOPICS for key in ("precision", "recall", "f1")]
    return [*figures, report["macro_f1"], report["countries"]["precision"], report["countries"]["recall"]]


def same_figures(measured: list[float], printed: list[str]) -> bool:
    """The README's three-decimal figures are the measured ones (which --json gives to four decimals)."""
    return len(measured) == len(printed) and all(abs(m - float(p)) <= 0.00051 for m, p in zip(measured, printed))


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, dict]:
    if not SHARED.is_dir():
        pytest.skip(f"shared corpora not found at {SHARED} (set NEWSMON_SHARED)")
    folder, found = tmp_path_factory.mktemp("corpora"), {}
    for name in CORPORA:
        held = _heldout(SHARED, name)
        found[name] = _eval(held, folder / f"heldout-{name}.jsonl")
        found[f"{name} short"] = _eval([{**row, "body": None} for row in held], folder / f"{name}-short.jsonl")
    return found


@pytest.mark.parametrize("name", list(CORPORA))
def test_heldout_split_is_what_the_readme_says_and_meets_its_floor(reports, name):
    report = reports[name]
    assert [report["topics"][t]["support"] for t in TOPICS] == CORPORA[name][2]  # labels v2
    assert same_figures(measured_row(report), readme_row(f"{name} held out (")), measured_row(report)
    assert report["topics"]["counterterrorism"]["precision"] >= 0.8 and report["macro_f1"] >= 0.75, report


@pytest.mark.parametrize("name", list(CORPORA))
def test_heldout_title_and_summary_only_is_what_the_readme_says(reports, name):
    report = reports[f"{name} short"]
    assert same_figures(measured_row(report), readme_row(f"{name} held out, title and summary only")), \
        measured_row(report)
    assert report["macro_f1"] >= 0.70, report


def test_the_readme_row_reader_finds_the_rows():
    for name in CORPORA:
        assert len(readme_row(f"{name} held out (")) == 9
        assert len(readme_row(f"{name} held out, title and summary only")) == 9
