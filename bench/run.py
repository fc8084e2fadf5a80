"""Runs every benchmark module in bench/ (``bench_*.py``, each with ``run() -> list[str]``) and
rewrites bench/RESULTS.md with their figures and the machine they ran on. ``make bench`` calls it;
``python bench/run.py embedded`` runs only ``bench_embedded.py``."""

from __future__ import annotations

import importlib
import os
import platform
import sqlite3
import sys
from datetime import datetime, timezone
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
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, Python {platform.python_version()},"
            f" SQLite {sqlite3.sqlite_version}")


def main(selected: list[str]) -> None:
    names = selected or sorted(p.stem.removeprefix("bench_") for p in BENCH.glob("bench_*.py"))
    sections = []
    for name in names:
        print(f"running bench_{name} ...", file=sys.stderr)
        sections.append("\n".join(importlib.import_module(f"bench_{name}").run()))
    header = ["# Benchmark results", "",
              f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC with `make bench` on: {machine()}.", ""]
    text = "\n".join(header) + "\n" + "\n\n".join(sections) + "\n"
    print(text)
    if not selected:
        (BENCH / "RESULTS.md").write_text(text)


if __name__ == "__main__":
    main(sys.argv[1:])
