"""Runs every benchmark module in bench/ (``bench_*.py``, each with ``run() -> list[str]``) and
rewrites bench/RESULTS.md with their figures and the machine they ran on. ``make bench`` calls it;
``python bench/run.py embedded`` runs only ``bench_embedded.py`` and replaces only its section."""

from __future__ import annotations

import importlib
import os
import platform
import sqlite3
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))
sys.path.insert(0, str(BENCH))


def machine() -> str:
    cpu = platform.processor() or "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()},"
            f" Python {platform.python_version()},"
            f" SQLite {sqlite3.sqlite_version}")


def main(selected: list[str]) -> None:
    names = selected or sorted(p.stem.removeprefix("bench_") for p in BENCH.glob("bench_*.py"))
    started = time.monotonic()
    sections = []
    for name in names:
        print(f"running bench_{name} ...", file=sys.stderr)
        sections.append("\n".join(importlib.import_module(f"bench_{name}").run()))
    minutes = (time.monotonic() - started) / 60
    header = ["# Benchmark results", "",
              f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC with `make bench` on: {machine()}."
              f" The whole set took {minutes:.1f} minutes.", ""]
    text = "\n".join(header) + "\n" + "\n\n".join(sections) + "\n"
    print(text)
    results = BENCH / "RESULTS.md"
    if not selected:
        results.write_text(text)
    elif results.is_file():  # replace only the sections that ran, each with its own "Run ..." line
        stamp = f"{datetime.now(UTC):%Y-%m-%d %H:%M}"
        merged = results.read_text()
        for name, section in zip(names, sections):
            heading, _, rest = section.partition("\n")
            section = f"{heading}\n\nRun {stamp} UTC with `python bench/run.py {name}` on: {machine()}.\n{rest}"
            merged = replace_section(merged, heading, section)
        results.write_text(merged)


def replace_section(text: str, heading: str, section: str) -> str:
    """``text`` with the part from the line ``heading`` to the next ``## `` heading replaced (or appended)."""
    lines = text.rstrip("\n").split("\n")
    if heading not in lines:
        return "\n".join(lines) + "\n\n" + section.rstrip("\n") + "\n"
    start = lines.index(heading)
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    kept_after = ["", *lines[end:]] if end < len(lines) else []
    return "\n".join([*lines[:start], *section.rstrip("\n").split("\n"), *kept_after]) + "\n"


if __name__ == "__main__":
    main(sys.argv[1:])
