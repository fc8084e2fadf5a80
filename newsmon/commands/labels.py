"""``newsmon label`` and ``newsmon labels list|export``: analysts' verdicts on topics.

A verdict goes to the feedback store (the state database) and onto the item's index document as
``feedback.<topic>``; ``labels export`` writes the standing verdicts in the eval/train format (the
texts read back from the index), for ``newsmon train --feedback`` and ``newsmon eval``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from newsmon.commands.inspect import parse_since
from newsmon.console import ProgressLine
from newsmon.feedback_writes import story_documents, write_verdicts
from pipeline.errors import NewsmonError, UserInputError
from pipeline.feedback import Verdict, labelled_row, parse_topic_verdicts
from pipeline.settings import Settings
from pipeline.transport.base import SearchIndex
from pipeline.transport.registry import open_index
from pipeline.transport.sqlite_feedback import FeedbackStore

__all__ = ["cmd_label", "cmd_labels_list", "cmd_labels_export"]


def _who(value: str | None) -> str:
    try:
        return value or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _targets(index: SearchIndex, item: str | None, story: str | None) -> list[dict[str, Any]]:
    """The index documents the verdict applies to; an unknown id is a UserInputError."""
    if bool(item) == bool(story):
        raise UserInputError("label: give an item id or --story (not both)")
    if item:
        doc = index.get(item)
        if doc is None:
            raise UserInputError(f"item {item!r}: no such item in the index")
        return [doc]
    docs = story_documents(index, str(story))
    if not docs:
        raise UserInputError(f"--story {story!r}: no such story in the index")
    return docs


def cmd_label(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    given = parse_topic_verdicts(args.topic, settings.topics)
    withdrawn = list(args.withdraw)
    unknown = [t for t in withdrawn if t not in settings.topics]
    if unknown:
        raise UserInputError(f"--withdraw {unknown[0]}: unknown topic (known: {', '.join(settings.topics)})")
    if not given and not withdrawn:
        raise UserInputError("label: give --topic TOPIC=yes|no or --withdraw TOPIC")
    index = open_index(settings)
    try:
        docs = _targets(index, args.item, args.story)  # everything is checked before anything is written
        who = _who(args.by)
        store = FeedbackStore(settings.state_url)
        try:
            written = write_verdicts(index, store, docs, [*given.items(), *((t, None) for t in withdrawn)], who)
        finally:
            store.close()
    finally:
        index.close()
    if written.refused:
        raise NewsmonError(written.refusal())
    print(f"{len(written.verdicts)} verdict(s) by {who} on {len(docs)} item(s)")
    return 0


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M")


def _since(value: str | None) -> float | None:
    moment = parse_since(value, datetime.now(UTC))
    return moment.timestamp() if moment else None


def cmd_labels_list(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    store = FeedbackStore(settings.state_url)
    try:
        since = _since(args.since)
        rows = store.history() if args.history else store.current(since)
    finally:
        store.close()
    if args.history and since is not None:
        rows = [v for v in rows if v.at >= since]
    if args.json:
        print(json.dumps([{"item_id": v.item_id, "topic": v.topic, "verdict": v.verdict, "who": v.who,
                           "at": _when(v.at)} for v in rows], ensure_ascii=False))
        return 0
    _print_verdicts(rows)
    return 0


def _print_verdicts(rows: Sequence[Verdict]) -> None:
    if not rows:
        print("no verdicts")
        return
    print(f"{'given':<16}  {'by':<16}  {'topic':<22}  {'verdict':<9}  item")
    for v in rows:
        print(f"{_when(v.at):<16}  {v.who[:16]:<16}  {v.topic[:22]:<22}  {v.verdict or 'withdrawn':<9}  {v.item_id}")


def cmd_labels_export(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    store = FeedbackStore(settings.state_url)
    try:
        by_item: dict[str, dict[str, str]] = {}
        for v in store.current(_since(args.since)):
            by_item.setdefault(v.item_id, {})[v.topic] = str(v.verdict)
    finally:
        store.close()
    index = open_index(settings)
    missing = 0
    try:
        for item_id, verdicts in by_item.items():
            doc = index.get(item_id)
            if doc is None:
                missing += 1
                continue
            print(json.dumps(labelled_row(doc, verdicts), ensure_ascii=False))
    finally:
        index.close()
    if missing:
        print(f"newsmon: note: {missing} item(s) with verdicts are no longer in the index (not exported)",
              file=sys.stderr)
    return 0
