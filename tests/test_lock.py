"""The lock file (requirements/lock.txt) stays in step with pyproject.toml: every declared
dependency, of every extra the lock was made with, is pinned at a version its specifier allows,
and every pin carries a hash, so `make install` installs exactly what CI tested."""

import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
LOCKED_EXTRAS = ("test", "dev")  # the Makefile's LOCK_EXTRAS


def locked_pins(text: str) -> dict[str, list[tuple[str, str, bool]]]:
    """name -> [(version, marker, has a hash)] from a `uv pip compile --generate-hashes` file."""
    pins: dict[str, list[tuple[str, str, bool]]] = {}
    for block in re.split(r"\n(?=\S)", text):
        match = re.match(r"([A-Za-z0-9_.\-]+)==([^\s;\\]+)\s*(?:;\s*([^\\\n]+))?", block)
        if match:
            name, version, marker = match.groups()
            pins.setdefault(canonicalize_name(name), []).append((version, (marker or "").strip(),
                                                                 "--hash=sha256:" in block))
    return pins


def declared_requirements() -> list[Requirement]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    names = list(project["dependencies"]) + [req for extra in LOCKED_EXTRAS for req in extras[extra]]
    requirements = [Requirement(text) for text in names]
    # an extra that names newsmon itself (newsmon[fulltext]) brings that extra's requirements
    for req in [r for r in requirements if canonicalize_name(r.name) == "newsmon"]:
        requirements += [Requirement(text) for extra in req.extras for text in extras[extra]]
    return [r for r in requirements if canonicalize_name(r.name) != "newsmon"]


def test_the_lock_parser_reads_pins_markers_and_hashes():
    text = ("a-b==1.0 \\\n    --hash=sha256:00\n    # via x\nnumpy==2.4.6 ; python_full_version < '3.12' \\\n"
            "    --hash=sha256:11\nc==3\n")
    assert locked_pins(text) == {"a-b": [("1.0", "", True)],
                                 "numpy": [("2.4.6", "python_full_version < '3.12'", True)], "c": [("3", "", False)]}


def test_every_declared_dependency_is_pinned_within_its_specifier():
    pins = locked_pins((REPO / "requirements/lock.txt").read_text(encoding="utf-8"))
    problems = []
    for req in declared_requirements():
        versions = pins.get(canonicalize_name(req.name))
        if not versions:
            problems.append(f"{req}: not in the lock")
        problems += [f"{req}: locked at {version}" for version, _, _ in versions or []
                     if not req.specifier.contains(version, prereleases=True)]
    assert problems == [], "run `make upgrade` (see README)"


def test_every_pin_carries_a_hash():
    pins = locked_pins((REPO / "requirements/lock.txt").read_text(encoding="utf-8"))
    assert len(pins) > 50
    assert [name for name, versions in pins.items() if not all(hashed for _, _, hashed in versions)] == []


RUN_EXTRAS = ("kafka", "elasticsearch", "fulltext", "brotli", "build")  # the Makefile's RUN_EXTRAS


def test_the_run_lock_pins_what_running_needs_at_the_versions_ci_tests():
    """`make install` (requirements/lock-run.txt) has every runtime dependency, no test tool, and only
    versions the full lock, which CI installs, also pins."""
    full = locked_pins((REPO / "requirements/lock.txt").read_text(encoding="utf-8"))
    run = locked_pins((REPO / "requirements/lock-run.txt").read_text(encoding="utf-8"))
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    needed = list(project["dependencies"]) + [r for e in RUN_EXTRAS for r in project["optional-dependencies"][e]]
    assert [r for r in needed if canonicalize_name(Requirement(r).name) not in run] == []
    assert [name for name, versions in run.items() if not all(v in full.get(name, []) for v in versions)] == []
    assert {"pytest", "playwright", "mypy", "ruff", "hypothesis"}.isdisjoint(run)
    assert all(hashed for versions in run.values() for _, _, hashed in versions)
