"""docs/configuration.md and the settings declarations stay in step, both ways.

The keys come from the same field metadata the loader reads (:mod:`pipeline.setting_values`), so a
field added without documentation, or a documented key the code no longer takes, fails here. The
doc marks a key as a table row whose first cell is the key in backticks (``| `timeout` | `20s` | ...``),
under a ``## <section>`` heading (``## Top level``, ``## feeds[]``, ``## producer``...); the
``## Environment`` table maps a key path (``log``, ``producer.<key>``) to its variable.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

import pytest

from pipeline.settings import credential_variables, environment_variables, section_keys, top_level_keys

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
TOP = "Top level"
_ROW = re.compile(r"^\| `([^`]+)` \|(.*)$")


def code_keys() -> dict[str, tuple[str, ...]]:
    """Documented section heading -> the keys the loader accepts there."""
    return {TOP: top_level_keys(), **section_keys()}


def doc_sections(text: str) -> dict[str, list[str]]:
    """``## heading`` -> the keys of the table rows before its first ``###`` subsection."""
    found: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("## "):
            current = found.setdefault(line[3:].strip(), [])
        elif line.startswith("### "):
            current = None
        elif current is not None and (row := _ROW.match(line)):
            current.append(row.group(1))
    return found


def doc_environment(text: str) -> dict[str, str]:
    """The ``## Environment`` table: key path -> the first variable named in its second cell."""
    table: dict[str, str] = {}
    for line in _section_text(text, "Environment").splitlines():
        row = _ROW.match(line)
        variable = re.search(r"`(NEWSMON_[A-Z_<>]+)", row.group(2)) if row else None
        if row and variable:
            table[row.group(1)] = variable.group(1)
    return table


def _section_text(text: str, heading: str) -> str:
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match, f"docs/configuration.md has no '## {heading}' section"
    return match.group(1)


def key_differences(text: str, code: Mapping[str, tuple[str, ...]]) -> list[str]:
    """What the doc lacks and what it lists beyond the code, per section."""
    documented = doc_sections(text)
    problems = []
    for heading, keys in code.items():
        listed = documented.get(heading)
        if listed is None:
            problems.append(f"no '## {heading}' section")
            continue
        problems += [f"{heading}: `{key}` is not documented" for key in keys if key not in listed]
        problems += [f"{heading}: `{key}` is documented but not a key" for key in listed if key not in keys]
    return problems


def environment_differences(text: str, variables: Mapping[str, str]) -> list[str]:
    """Each override variable must have its row: ``log`` -> ``NEWSMON_LOG``, ``producer.<key>`` ->
    ``NEWSMON_PRODUCER_<KEY>``; and each backticked key path of the table must be one the code overrides."""
    expected: dict[str, str] = {}
    for path, variable in variables.items():
        section, _, key = path.rpartition(".")
        expected[f"{section}.<key>" if section else key] = variable[: -len(key)] + "<KEY>" if section else variable
    table = doc_environment(text)
    problems = [f"Environment: no row `{row}` -> `{var}`" for row, var in expected.items() if table.get(row) != var]
    return problems + [f"Environment: `{row}` is not overridable" for row in table if row not in expected]


def test_every_section_of_the_code_has_a_heading_in_the_doc():
    assert set(code_keys()) <= set(doc_sections(DOC.read_text(encoding="utf-8")))


@pytest.mark.parametrize("heading", list(code_keys()))
def test_doc_lists_exactly_the_keys_the_code_takes(heading):
    assert key_differences(DOC.read_text(encoding="utf-8"), {heading: code_keys()[heading]}) == []


def test_every_environment_override_is_documented_and_every_documented_one_exists():
    assert environment_differences(DOC.read_text(encoding="utf-8"), environment_variables()) == []


@pytest.mark.parametrize("path, variable", sorted(credential_variables().items()))
def test_every_credential_variable_is_documented(path, variable):
    section = path.split(".")[0]
    assert f"`{variable}`" in _section_text(DOC.read_text(encoding="utf-8"), "Environment")
    assert f"`{variable}`" in _section_text(DOC.read_text(encoding="utf-8"), section)


def test_the_checks_notice_a_missing_or_extra_key():
    text = DOC.read_text(encoding="utf-8")
    without_kind = "\n".join(line for line in text.splitlines() if not line.startswith("| `kind` |"))
    assert key_differences(without_kind, {"classifier": code_keys()["classifier"]}) == [
        "classifier: `kind` is not documented"]
    added = {"classifier": (*code_keys()["classifier"], "new_knob")}
    assert key_differences(text, added) == ["classifier: `new_knob` is not documented"]
    removed = {"classifier": code_keys()["classifier"][1:]}
    assert key_differences(text, removed) == ["classifier: `kind` is documented but not a key"]
    assert environment_differences(text, {**environment_variables(), "kafka_extra": "NEWSMON_KAFKA_EXTRA"}) == [
        "Environment: no row `kafka_extra` -> `NEWSMON_KAFKA_EXTRA`"]


def test_the_derived_tables_cover_what_the_loader_accepts():
    """The derivation itself: every section key is overridable by its variable, secrets are never keys."""
    variables = environment_variables()
    for section, keys in section_keys().items():
        if section != "feeds[]":
            assert all(variables[f"{section}.{key}"] == f"NEWSMON_{section.upper()}_{key.upper()}" for key in keys)
    for path in credential_variables():
        section, _, key = path.partition(".")
        assert key not in section_keys()[section]
    assert "source" not in top_level_keys() and "rules_dir" in top_level_keys()
