"""``newsmon feeds list|check|import-opml|export-opml|discover|parse``: feed management and health.

Everything here is a thin shell over the producer's pure parts (health, OPML, discovery, parsing)
and its state store; nothing here polls feeds into the log.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from newsmon.console import ProgressLine
from pipeline.errors import NewsmonError, UserInputError
from pipeline.item import FeedRef
from pipeline.settings import Settings, load_settings
from producers.discover import decode_page, discover_feeds
from producers.feedconfig import entry_line, insert_feeds, write_config
from producers.fetch import fetch_page, limits_from
from producers.health import FLAGGED, FeedHealth, assess
from producers.normalise import html_to_text, normalise_feed
from producers.opml import feed_entries, parse_opml, render_opml
from producers.parse import FeedParseError, parse_feed
from producers.state import FeedStateStore

__all__ = ["cmd_feeds_list", "cmd_feeds_check", "cmd_import_opml", "cmd_export_opml",
           "cmd_discover", "cmd_parse"]

logger = logging.getLogger(__name__)


def _when(epoch: float | None) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M") if epoch else "never"


def cmd_feeds_list(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    as_json: bool = args.json
    store = FeedStateStore(settings.state_url)
    states = store.get_many([(f.id, f.url) for f in settings.feeds])
    store.close()
    rows: list[dict[str, Any]] = []
    now = time.time()
    for feed in settings.feeds:
        state = states[feed.id]
        health = assess(state, now, settings.producer)  # the same status as feeds check shows
        rows.append({"id": feed.id, "source": feed.source, "country": feed.country or None, "url": feed.url,
                     "status": health.status, "reason": health.reason, "last_poll": state.last_status or None,
                     "last_success": _when(state.last_success), "errors": state.error_count,
                     "items_published": state.items_published, "next_check": _when(state.next_check),
                     "last_error": state.last_error})
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return 0
    print(f"{'feed':<28} {'source':<22} {'status':<13} {'last success':<17} {'errors':>6} {'items':>6}")
    for row in rows:
        print(f"{row['id'][:28]:<28} {row['source'][:22]:<22} {row['status']:<13} {row['last_success']:<17}"
              f" {row['errors']:>6} {row['items_published']:>6}")
        if row["status"] not in ("ok", "new") and row["reason"]:
            print(f"    {row['status']}: {row['reason']}")
        elif row["last_error"]:
            print(f"    last error: {row['last_error']}")
    return 0


def _health_row(health: FeedHealth, source: str) -> dict[str, Any]:
    return {"id": health.feed_id, "source": source, "status": health.status, "reason": health.reason,
            "last_success": _when(health.last_success), "error_streak": health.error_streak,
            "latest_item": _when(health.latest_item), **health.figures()}


def cmd_feeds_check(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    """Each feed's health; with ``strict``, exit 1 when any feed is broken or stale."""
    as_json: bool = args.json
    strict: bool = args.strict
    store = FeedStateStore(settings.state_url)
    states = store.get_many([(f.id, f.url) for f in settings.feeds])
    store.close()
    now = time.time()
    rows = [_health_row(assess(states[f.id], now, settings.producer), f.source) for f in settings.feeds]
    flagged = [row for row in rows if row["status"] in FLAGGED]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
    else:
        print(f"{'feed':<28} {'status':<8} {'last success':<17} {'errors':>6} {'items/day':>9}  {'latest item':<17}")
        for row in rows:
            per_day = "-" if row["items_per_day"] is None else f"{row['items_per_day']:.1f}"
            print(f"{row['id'][:28]:<28} {row['status']:<8} {row['last_success']:<17} {row['error_streak']:>6}"
                  f" {per_day:>9}  {row['latest_item']:<17}")
            if row["status"] not in ("ok", "new") and row["reason"]:
                print(f"    {row['status']}: {row['reason']}")
            if row["moved_to"]:
                print(f"    moved permanently to {row['moved_to']}"
                      " (fetched there; update its url in the configuration)")
        print(f"{len(rows)} feeds, {len(flagged)} broken or stale", file=sys.stderr)
    return 1 if strict and flagged else 0


def cmd_import_opml(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    """Print the ``feeds:`` entries for the OPML file's feeds not configured yet, or add them to ``--write``
    (whose configuration is loaded here, after the OPML file was read)."""
    path = Path(args.file)
    write = Path(args.write) if args.write else None
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    found = parse_opml(data, str(path))
    existing = load_settings(write).feeds if write else settings.feeds
    entries = feed_entries(found, existing)
    skipped = len(found) - len(entries)
    if write is None:
        print("feeds:")
        for entry in entries:
            print(f"  - {entry_line(entry)}")
    elif entries:
        write_config(write, insert_feeds(write.read_text(encoding="utf-8"), entries, str(write)))
    target = f"added to {write}" if write else "to add"
    print(f"{path}: {len(found)} feeds, {len(entries)} {target}, {skipped} already configured", file=sys.stderr)
    return 0


def cmd_export_opml(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    sys.stdout.write(render_opml(settings.feeds, datetime.now(UTC)))
    return 0


def cmd_discover(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    """List the feeds a page advertises (or the URL itself when it is a feed)."""
    url: str = args.url
    if not url.startswith(("http://", "https://")):
        raise UserInputError(f"discover: expected an http(s) URL, got {url!r}")
    response = fetch_page(url, limits_from(settings.producer))
    content_type = response.headers.get("content-type")
    try:
        parsed = parse_feed(response.body, url=response.url, content_type=content_type, headers=response.headers)
        print(f"{response.url}\tfeed\t{html_to_text(parsed.title)}")
        return 0
    except FeedParseError:
        pass
    links = discover_feeds(decode_page(response.body, content_type), response.url)
    for link in links:
        print(f"{link.url}\t{link.format}\t{link.title}")
    if not links:
        raise NewsmonError(f"{response.url}: the page advertises no feeds (no <link rel=\"alternate\"> of a feed type)")
    return 0


def _feed_files(paths: Sequence[str]) -> Iterator[Path]:
    for name in paths:
        path = Path(name)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            yield path
        else:
            raise UserInputError(f"{name}: no such file or directory")


def cmd_parse(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    """Parse local feed files into normalised items (JSON lines on stdout), a summary on stderr.

    Offline and settings-free; the CLI still loads the configuration first, so a bad one is reported."""
    paths: Sequence[str] = args.paths
    source: str | None = args.source
    verbose: bool = args.verbose
    files = list(_feed_files(paths))  # every path checked before any output
    if not files:
        raise UserInputError(f"{paths[0]}: no files to parse")
    fetched_at = datetime.now(UTC)
    items = malformed = warnings = 0
    out = sys.stdout
    for path in files:
        try:
            parsed = parse_feed(path.read_bytes(), url=path.resolve().as_uri())
        except (FeedParseError, OSError) as exc:
            malformed += 1
            if verbose:
                print(f"newsmon: {path}: {exc}", file=sys.stderr)
            continue
        warnings += parsed.warning is not None
        title = html_to_text(parsed.title)
        ref = FeedRef(id=path.stem, url=path.resolve().as_uri(), title=title)
        entries, _ = normalise_feed(parsed, feed=ref, source=source or title or path.stem, fetched_at=fetched_at)
        for entry in entries:
            out.write(entry.item.to_json().decode("utf-8") + "\n")
        items += len(entries)
    print(f"feeds parse: {len(files)} files, {items} items, {malformed} malformed, {warnings} with parser warnings",
          file=sys.stderr)
    return 0
