"""``feeds:`` entries as YAML, and adding them to a configuration file's text without disturbing it.

The file is edited as text, not re-serialised, so its comments, key order and quoting survive:
the new entries go right after the last entry of the top-level ``feeds:`` block list (with that
list's indentation), replace an empty ``feeds: []``, or start a ``feeds:`` block at the end of
the file. Any other shape (a non-empty flow list, say) is refused, and the result is checked by
parsing it again before anyone writes it.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from pipeline.errors import UserInputError

__all__ = ["entry_line", "insert_feeds", "write_config"]

_FEEDS_BLOCK = re.compile(r"^feeds:\s*(#.*)?$")
_FEEDS_EMPTY = re.compile(r"^feeds:\s*(\[\s*\]|null|~)?\s*(#.*)?$")
_FEEDS_ANY = re.compile(r"^feeds\s*:")


def entry_line(entry: dict[str, Any]) -> str:
    """One entry as a YAML flow mapping, ``{id: x, source: Y, url: 'https://…'}``."""
    return yaml.safe_dump(entry, default_flow_style=True, sort_keys=False, allow_unicode=True, width=10**6).strip()


def _block_end(lines: list[str], start: int) -> tuple[int, str]:
    """Index after the last list item line of the block starting at ``start``, and its item indent."""
    last, indent = start, "  "
    for index in range(start + 1, len(lines)):
        line = lines[index]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if not line[0].isspace() and not line.startswith("-"):
            break
        if stripped.startswith("- ") and index == _first_item(lines, start):
            indent = line[: len(line) - len(line.lstrip())]
        last = index
    return last + 1, indent


def _first_item(lines: list[str], start: int) -> int:
    return next((i for i in range(start + 1, len(lines)) if lines[i].strip().startswith("- ")), -1)


def insert_feeds(text: str, entries: Sequence[dict[str, Any]], name: str) -> str:
    """``text`` with ``entries`` added to its ``feeds:`` list; UserInputError naming ``name`` and the line."""
    lines = text.splitlines()
    new = [entry_line(entry) for entry in entries]
    at = next((i for i, line in enumerate(lines) if _FEEDS_ANY.match(line)), None)
    if at is None:
        out = lines + ([""] if lines and lines[-1].strip() else []) + ["feeds:"] + [f"  - {e}" for e in new]
    elif _FEEDS_BLOCK.match(lines[at]) and _first_item(lines, at) != -1:
        end, indent = _block_end(lines, at)
        out = lines[:end] + [f"{indent}- {e}" for e in new] + lines[end:]
    elif _FEEDS_EMPTY.match(lines[at]):
        out = lines[:at] + ["feeds:"] + [f"  - {e}" for e in new] + lines[at + 1:]
    else:
        raise UserInputError(f"{name}:{at + 1}: feeds: only a block list ('- ' per line) can be added to;"
                             " add the entries by hand")
    result = "\n".join(out) + "\n"
    _check(text, result, len(new), name)
    return result


def _check(before: str, after: str, added: int, name: str) -> None:
    def count(text: str) -> int:
        data = yaml.safe_load(text) or {}
        feeds = data.get("feeds") if isinstance(data, dict) else None
        return len(feeds) if isinstance(feeds, list) else 0

    try:
        ok = count(after) == count(before) + added
    except yaml.YAMLError:
        ok = False
    if not ok:
        raise UserInputError(f"{name}: feeds: could not add the entries safely to this layout; add them by hand")


def write_config(path: Path, text: str) -> None:
    """Replace ``path`` atomically (a temporary file in the same folder, then rename), keeping its mode."""
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or Path("."))
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
