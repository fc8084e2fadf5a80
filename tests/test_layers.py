"""The import rule that keeps the layers visible: newsmon → producers, consumers → pipeline.

``pipeline`` (the core) imports none of the other packages; ``producers`` and ``consumers`` import
the core and themselves, never each other; ``newsmon`` (the application) may import all of them.
Every import statement counts, also those inside functions and ``TYPE_CHECKING`` blocks.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
ALLOWED = {
    "pipeline": {"pipeline"},
    "producers": {"pipeline", "producers"},
    "consumers": {"pipeline", "consumers"},
    "newsmon": {"newsmon", "pipeline", "producers", "consumers"},
}


def imported_packages(source: str) -> list[tuple[int, str]]:
    """(line, top-level package) of every absolute import in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name.split(".")[0]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module.split(".")[0]))
    return found


def upward_imports(package: str, source: str) -> list[str]:
    return [f"line {line}: imports {target}" for line, target in imported_packages(source)
            if target in ALLOWED and target not in ALLOWED[package]]


def test_the_checker_sees_an_upward_import_even_inside_a_function():
    source = "import json\nfrom pipeline.item import RawItem\n\ndef f():\n    from newsmon.app import build_loop\n"
    assert upward_imports("pipeline", source) == ["line 5: imports newsmon"]
    assert upward_imports("producers", "import consumers.rules\n") == ["line 1: imports consumers"]
    assert upward_imports("newsmon", source) == []


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_only_run_downwards(package):
    modules = sorted((REPO / package).rglob("*.py"))
    assert modules, f"no modules under {package}/"
    violations = [f"{path.relative_to(REPO)}: {problem}" for path in modules
                  for problem in upward_imports(package, path.read_text(encoding="utf-8"))]
    assert violations == []


def test_no_relative_imports_hide_a_package():
    relative = [str(path.relative_to(REPO)) for package in ALLOWED for path in (REPO / package).rglob("*.py")
                if any(isinstance(n, ast.ImportFrom) and n.level for n in ast.walk(ast.parse(path.read_text())))]
    assert relative == []
