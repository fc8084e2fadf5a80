"""Console output: key=value log lines, a one-line live progress display on a terminal, and a text
column sized to its values."""

from __future__ import annotations

import logging
import sys
from typing import TextIO

__all__ = ["KeyValueFormatter", "configure_logging", "ProgressLine", "fit_column"]

MAX_COLUMN = 32


class KeyValueFormatter(logging.Formatter):
    """``ts=2026-01-01T00:00:00Z level=warning logger=producers.poller event=feed_error feed=dawn ...``"""

    def format(self, record: logging.LogRecord) -> str:
        stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S")
        line = f"ts={stamp}Z level={record.levelname.lower()} logger={record.name} {record.getMessage()}"
        if record.exc_info:
            line += " exc=" + repr(self.formatException(record.exc_info))
        return line


class _ClearingHandler(logging.StreamHandler):
    """Clears the progress line before a log line, so the two never interleave on a terminal."""

    def __init__(self, stream: TextIO, progress: ProgressLine) -> None:
        super().__init__(stream)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        self.progress.clear()
        super().emit(record)
        self.progress.redraw()


class ProgressLine:
    def __init__(self, stream: TextIO) -> None:
        self.stream, self.text = stream, ""

    def show(self, text: str) -> None:
        self.text = text
        self.redraw()

    def redraw(self) -> None:
        if self.text:
            self.stream.write("\r\x1b[2K" + self.text)
            self.stream.flush()

    def clear(self) -> None:
        if self.text:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()

    def finish(self) -> None:
        if self.text:
            self.stream.write("\n")
            self.stream.flush()
            self.text = ""


def configure_logging(level: str = "info", stream: TextIO = sys.stderr) -> ProgressLine | None:
    """Key=value logs on ``stream``; on a terminal also returns a progress line that logs step around."""
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level.upper())
    progress = ProgressLine(stream) if stream.isatty() else None
    handler = _ClearingHandler(stream, progress) if progress else logging.StreamHandler(stream)
    handler.setFormatter(KeyValueFormatter())
    root.addHandler(handler)
    logging.getLogger("spacy").setLevel(logging.WARNING)  # its info lines come twice (it adds its own handler)
    return progress


def fit_column(values: list[str], limit: int = MAX_COLUMN) -> list[str]:
    """The values padded to the longest of them; one longer than ``limit`` is cut with an ellipsis."""
    cut = [v if len(v) <= limit else v[: limit - 1] + "…" for v in values]
    width = max((len(v) for v in cut), default=0)
    return [v.ljust(width) for v in cut]
