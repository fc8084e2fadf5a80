"""Every command the CLI has is in the README's command table, and the table names no command it lacks."""

import argparse
import re
from pathlib import Path

from newsmon.cli import build_parser

README = Path(__file__).resolve().parents[1] / "README.md"


def leaf_commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return [leaf for name, sub in action.choices.items() for leaf in leaf_commands(sub, (*prefix, name))]
    return [" ".join(prefix)]


def table_commands() -> set[str]:
    """The commands of the '## Other commands' table: each backticked `newsmon a b` and the `b`
    after a slash in the same cell (`alerts list` / `alerts retry`)."""
    section = README.read_text(encoding="utf-8").split("## Other commands", 1)[1].split("\n## ", 1)[0]
    found = set()
    for row in (line for line in section.splitlines() if line.startswith("| `")):
        cell = row.split(" | ")[0]
        for code in re.findall(r"`(?:newsmon )?([a-z][a-z-]*(?: [a-z][a-z-]*)?)", cell):
            found.add(code)
    return found


def test_every_command_is_in_the_table():
    commands = leaf_commands(build_parser())
    listed = table_commands()
    missing = [c for c in commands if not any(code == c or code.startswith(c + " ") for code in listed)]
    assert not missing, f"README's command table lacks: {missing}"


def test_the_table_names_only_real_commands():
    commands = set(leaf_commands(build_parser()))
    groups = {c.split()[0] for c in commands}
    unknown = [code for code in table_commands()
               if not any(code == c or code.startswith(c + " ") for c in commands) and code not in groups]
    assert not unknown, f"README's command table names: {unknown}"
