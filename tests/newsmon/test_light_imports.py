"""Commands that do not classify never import spaCy: the classifier contract is light and the
implementation is imported only when ``classifier.kind`` is built."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("spacy", "thinc")

# produce, consume indexer|alerter, search, rules, alerts, feeds, status, dlq, serve and the page
LIGHT_MODULES = [
    "newsmon.cli", "newsmon.app", "newsmon.commands.service", "newsmon.commands.inspect",
    "newsmon.commands.alerts", "newsmon.commands.feeds", "newsmon.commands.logtools", "newsmon.commands.web",
    "newsmon.web.server", "newsmon.web.api", "pipeline.classify", "consumers.classifier", "consumers.indexer",
    "consumers.alerter", "producers.poller",
]


def heavy_after_import(statement: str) -> list[str]:
    code = f"import sys\n{statement}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


@pytest.mark.parametrize("module", LIGHT_MODULES)
def test_a_command_that_does_not_classify_does_not_import_spacy(module):
    assert heavy_after_import(f"import {module}") == []


def test_building_the_classifier_does_import_it():
    # the check above can fail: the registered implementation pulls spaCy in
    statement = "from pipeline.classify import classifier_factory; classifier_factory('hybrid')"
    assert heavy_after_import(statement) == list(HEAVY)
