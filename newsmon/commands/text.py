"""Text commands: ``classify`` (JSON lines or plain text in, one JSON line per item out) and ``eval``."""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from consumers.classifier import StoryAssigner, classify_items
from newsmon.app import build_classifier, build_home_countries
from newsmon.console import ProgressLine
from pipeline.errors import UserInputError
from pipeline.evaluate import Evaluation, evaluate
from pipeline.item import FeedRef, RawItem, format_time, utc_now
from pipeline.settings import Settings

__all__ = ["read_json_lines", "cmd_classify", "cmd_eval", "print_evaluation"]


def _open_input(path: str) -> tuple[str, TextIO]:
    if path == "-":
        return "<stdin>", sys.stdin
    try:
        return path, open(path, encoding="utf-8")
    except FileNotFoundError:
        raise UserInputError(f"{path}: no such file") from None
    except OSError as exc:
        raise UserInputError(f"{path}: cannot read: {exc.strerror}") from None


def read_json_lines(path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield (``name:line``, object) per non-blank line; a bad line raises UserInputError naming it."""
    name, stream = _open_input(path)
    try:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            where = f"{name}:{number}"
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise UserInputError(f"{where}: invalid JSON: {exc.msg} (column {exc.colno})") from None
            if not isinstance(value, dict):
                raise UserInputError(f"{where}: expected a JSON object")
            yield where, value
    except UnicodeDecodeError as exc:
        raise UserInputError(f"{name}: not UTF-8 text: {exc.reason}") from None
    finally:
        if stream is not sys.stdin:
            stream.close()


def _text_field(data: dict[str, Any], name: str, where: str, required: bool = False) -> str:
    value = data.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise UserInputError(f"{where}: field '{name}': expected a {'non-empty ' if required else ''}string")
    return value


def _raw_item(data: dict[str, Any], where: str) -> RawItem:
    title = _text_field(data, "title", where, required=True)
    summary, body = _text_field(data, "summary", where), _text_field(data, "body", where)
    item_id = data.get("id") if isinstance(data.get("id"), str) else None
    if not item_id:
        item_id = hashlib.sha256(f"{title}\n{summary}\n{body}".encode()).hexdigest()[:32]
    return RawItem(id=item_id, url=_text_field(data, "url", where), guid="", source=_text_field(data, "source", where),
                   feed=FeedRef(_feed_id(data), ""), title=title, summary=summary, body=body or None,
                   fetched_at=format_time(utc_now()))


def _feed_id(data: dict[str, Any]) -> str:
    """The row's ``feed.id`` when it has one (items read back from the log), else "cli"."""
    feed = data.get("feed")
    return feed["id"] if isinstance(feed, dict) and isinstance(feed.get("id"), str) and feed["id"] else "cli"


def _plain_text_item(text: str) -> RawItem:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise UserInputError("<input>: empty text")
    title, body = lines[0], "\n".join(lines[1:])
    return _raw_item({"title": title, "body": body}, "<input>")


def _output(item) -> dict[str, Any]:
    return {"id": item.id, "topics": list(item.topics), "scores": item.scores, "evidence": item.evidence,
            "entities": item.entities, "countries": list(item.countries),
            "locations": [vars(loc) for loc in item.locations], "story_id": item.story_id,
            "model_version": item.model_version}


def _batches(rows: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of up to ``size`` rows; a bad row (UserInputError) first yields the good rows before it."""
    batch: list[Any] = []
    try:
        for row in rows:
            batch.append(row)
            if len(batch) >= size:
                yield batch
                batch = []
    except UserInputError:
        if batch:
            yield batch  # accepted input is answered before the error ends the command
        raise
    if batch:
        yield batch


def cmd_classify(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    """One JSON line out per item in; items are judged in batches, each printed as soon as its batch is done."""
    path: str = args.file
    plain_text: bool = args.text
    if path != "-" and not Path(path).is_file():
        raise UserInputError(f"{path}: no such file")
    classifier, stories = build_classifier(settings), StoryAssigner(window=settings.classifier.story_window)
    if plain_text:
        name, stream = _open_input(path)
        try:
            text = stream.read()
        except UnicodeDecodeError as exc:
            raise UserInputError(f"{name}: not UTF-8 text: {exc.reason}") from None
        finally:
            if stream is not sys.stdin:
                stream.close()
        (item,) = classify_items(classifier, stories, [_plain_text_item(text)], utc_now())
        print(json.dumps(_output(item), ensure_ascii=False))
        return 0
    size = 1 if path == "-" else settings.classifier.batch_size  # stdin may be interactive: answer per line
    home = build_home_countries(settings)
    for raws in _batches((_raw_item(data, where) for where, data in read_json_lines(path)), size):
        for item in classify_items(classifier, stories, raws, utc_now(), home):
            print(json.dumps(_output(item), ensure_ascii=False), flush=True)
    return 0


def _labels(data: dict[str, Any], where: str, topics: set[str]) -> set[str]:
    labels = data.get("labels")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise UserInputError(f"{where}: field 'labels': expected a list of topic names")
    unknown = set(labels) - topics
    if unknown:
        raise UserInputError(f"{where}: field 'labels': unknown topic {sorted(unknown)[0]!r}")
    return set(labels)


def print_evaluation(result: Evaluation) -> None:
    print(f"{'topic':<24} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}   tp   fp   fn   tn")
    for name, m in result.topics.items():
        print(f"{name:<24} {m.precision:>9.3f} {m.recall:>7.3f} {m.f1:>7.3f} {m.support:>8}"
              f" {m.true_positives:>4} {m.false_positives:>4} {m.false_negatives:>4} {m.true_negatives:>4}")
    print(f"{'macro F1':<24} {'':>9} {'':>7} {result.macro_f1:>7.3f} {'':>8}   ({result.items} items)")


def _print_errors(where: str, item, labels: set[str], topics: list[str]) -> None:
    """One block per misclassified item: the wrong calls with score and evidence."""
    for topic in topics:
        predicted, wanted = topic in item.topics, topic in labels
        if predicted != wanted:
            kind = "FP" if predicted else "FN"
            print(f"{kind} {topic} score={item.scores.get(topic, 0.0):.3f} {where} id={item.id}")
            print(f"   title: {item.title[:160]}")
            print(f"   evidence: {', '.join(item.evidence.get(topic, [])) or '(none)'}")


def cmd_eval(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    path: str = args.file
    as_json: bool = args.json
    errors: bool = args.errors
    if path != "-" and not Path(path).is_file():
        raise UserInputError(f"{path}: no such file")
    classifier, stories = build_classifier(settings), StoryAssigner(window=settings.classifier.story_window)
    home, topics = build_home_countries(settings), list(settings.topics)
    pairs = []
    countries = [0, 0, 0, 0]  # items with country labels, true positives, false positives, false negatives
    rows = ((where, data, _raw_item(data, where), _labels(data, where, set(topics)))
            for where, data in read_json_lines(path))
    for labelled in _batches(rows, settings.classifier.batch_size):
        items = classify_items(classifier, stories, [raw for _, _, raw, _ in labelled], utc_now(), home)
        for (where, data, _, labels), item in zip(labelled, items):
            pairs.append((set(item.topics), labels))
            if isinstance(data.get("countries"), list):
                _count_countries(countries, set(item.countries), set(data["countries"]))
            if errors and not as_json:
                _print_errors(where, item, labels, topics)
    if not pairs:
        raise UserInputError(f"{'<stdin>' if path == '-' else path}: no labelled items (one JSON object per line)")
    result = evaluate(topics, pairs)
    country_report = _country_report(countries, settings)
    if as_json:
        print(json.dumps({**result.as_json(), **({"countries": country_report} if country_report else {})}))
    else:
        if errors:
            print()
        print_evaluation(result)
        if country_report:
            print(f"{'countries (micro)':<24} {country_report['precision']:>9.3f} {country_report['recall']:>7.3f}"
                  f" {country_report['f1']:>7.3f}   ({country_report['items']} items with country labels;"
                  f" {_home_note(country_report)})")
    return 0


def _count_countries(counts: list[int], predicted: set[str], wanted: set[str]) -> None:
    counts[0] += 1
    counts[1] += len(predicted & wanted)
    counts[2] += len(predicted - wanted)
    counts[3] += len(wanted - predicted)


def _country_report(counts: list[int], settings: Settings) -> dict[str, Any] | None:
    """Micro precision/recall of ``countries`` over the items whose rows carry a ``countries`` list,
    and where the feeds' home countries (counted for items that name no country) came from."""
    items, tp, fp, fn = counts
    if not items:
        return None
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    homes = sum(1 for feed in settings.feeds if feed.country)
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4),
            "items": items, "tp": tp, "fp": fp, "fn": fn,
            "home_countries": {"feeds": homes, "configuration": settings.source}}


def _home_note(report: dict[str, Any]) -> str:
    homes = report["home_countries"]
    if not homes["feeds"]:
        return f"no feed home countries in {homes['configuration']}"
    return f"home countries of {homes['feeds']} feeds from {homes['configuration']}"
