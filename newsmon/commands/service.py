"""Long-running commands: ``run`` (embedded all-in-one), ``produce``, ``consume STAGE``, and ``setup``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from typing import Any

from newsmon.app import Progress, build_loop, run_embedded, run_producer, start_metrics
from newsmon.console import ProgressLine
from pipeline.alerting.rules import require_secrets
from pipeline.loop import StopSignal
from pipeline.settings import Settings
from pipeline.transport.base import ALL_TOPICS
from pipeline.transport.registry import open_index, open_log
from producers.poller import PollReport

__all__ = ["install_stop_handlers", "cmd_run", "cmd_produce", "cmd_consume", "cmd_setup"]

logger = logging.getLogger(__name__)


def install_stop_handlers(stop: StopSignal) -> None:
    """SIGINT and SIGTERM ask the loops to finish the batch, flush, commit and exit."""
    def handler(signum: int, _frame: Any) -> None:
        if stop.is_set():  # a second Ctrl-C means now
            raise KeyboardInterrupt
        logger.info("event=stopping signal=%s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


def _describe(p: Progress) -> str:
    failed = f" ({p.feeds_failed} failed)" if p.feeds_failed else ""
    messages = f" ({p.messages} messages)" if p.messages != p.alerts else ""
    return (f"feeds {p.feeds} | polls {p.feeds_polled}{failed} | items polled {p.items_polled}"
            f" | classified {p.classified} | indexed {p.indexed} | alerts {p.alerts}{messages}"
            f" | dead letters {p.dead_letters}")


def _every_feed_failed(polled: int, failed: int) -> bool:
    """``--once`` exits 1 when it polled feeds and not one answered: nothing new can have come in."""
    if polled and failed == polled:
        print(f"newsmon: every feed failed ({failed} of {polled} polls); `newsmon feeds check` shows why",
              file=sys.stderr)
        return True
    return False


def cmd_run(settings: Settings, args: argparse.Namespace, progress_line: ProgressLine | None) -> int:
    once = args.once
    require_secrets(settings.rules)  # before anything starts: the alerter sends with them
    stop = StopSignal()
    install_stop_handlers(stop)
    last: list[str] = [""]

    def on_progress(progress: Progress) -> None:
        text = _describe(progress)
        if text == last[0]:
            return
        if progress_line is not None:
            progress_line.show(text)
        else:
            logger.info("event=progress feeds=%d polls=%d polls_failed=%d items_polled=%d classified=%d"
                        " indexed=%d alerts=%d messages=%d dead_letters=%d", progress.feeds, progress.feeds_polled,
                        progress.feeds_failed, progress.items_polled, progress.classified, progress.indexed,
                        progress.alerts, progress.messages, progress.dead_letters)
        last[0] = text

    logger.info("event=start mode=embedded feeds=%d rules=%d log=%s index=%s", len(settings.feeds),
                len(settings.rules), settings.log, settings.index)
    final = run_embedded(settings, stop, once=once, on_progress=on_progress)
    if progress_line is not None:
        progress_line.finish()
    print(_describe(final), file=sys.stderr if progress_line is None else sys.stdout)
    return 1 if once and _every_feed_failed(final.feeds_polled, final.feeds_failed) else 0


def cmd_produce(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    once = args.once
    stop = StopSignal()
    install_stop_handlers(stop)
    reports: list[PollReport] = []

    def on_report(report: PollReport) -> None:
        reports.append(report)
        logger.info("event=poll feeds=%d failed=%d items_seen=%d published=%d", report.feeds_polled,
                    report.feeds_failed, report.items_seen, report.items_published)

    run_producer(settings, stop, once=once, on_report=on_report)
    polled, failed = sum(r.feeds_polled for r in reports), sum(r.feeds_failed for r in reports)
    return 1 if once and _every_feed_failed(polled, failed) else 0


def cmd_consume(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    stage, until_idle = args.stage, args.until_idle
    if stage == "alerter":
        require_secrets(settings.rules)
    stop = StopSignal()
    install_stop_handlers(stop)
    metrics = start_metrics(settings, stop, (stage,))
    log = open_log(settings)
    log.ensure_topics(ALL_TOPICS)
    loop = build_loop(stage, settings, log, stop, metrics=metrics)
    try:
        stats = loop.run(until_idle=until_idle)
    finally:
        log.close()
    logger.info("event=stopped stage=%s processed=%d dead_letters=%d batches=%d", stage, stats.processed,
                stats.dead_lettered, stats.batches)
    return 0


def cmd_setup(settings: Settings, args: argparse.Namespace, progress: ProgressLine | None) -> int:
    kibana: str | None = args.kibana
    log = open_log(settings)
    log.ensure_topics(ALL_TOPICS)
    log.close()
    index = open_index(settings)
    try:
        ready = index.setup()  # server-side objects (Elasticsearch: template, index, alias); "" for none
        detail = f" ({ready})" if ready else ""
    finally:
        index.close()
    print(f"log ready: {settings.log} (topics: {', '.join(ALL_TOPICS)})")
    print(f"index ready: {settings.index}{detail}")
    if kibana:
        from newsmon.kibana import import_saved_objects

        print(import_saved_objects(kibana, settings.elasticsearch))
    return 0
