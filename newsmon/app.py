"""Wiring: builds the stages from settings and runs them, all in one process or one per process.

This is the only module that knows every part; each part only knows its own Protocols.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from consumers.alert_store import AlertStore
from consumers.alerter import AlerterStage
from consumers.classifier import ClassifierStage, HomeCountries, StoryAssigner
from consumers.indexer import IndexerStage
from newsmon.web.server import Sources, WebServer, serve_web
from pipeline.alerting.rules import require_secrets
from pipeline.classify import Classifier, open_classifier
from pipeline.errors import NewsmonError, UserInputError
from pipeline.loop import ConsumeLoop, Stage, StopSignal
from pipeline.metrics import Metrics
from pipeline.settings import Settings
from pipeline.transport.base import ALL_TOPICS, TOPIC_CLASSIFIED, TOPIC_RAW, Log, LogProducer
from pipeline.transport.registry import open_index, open_log
from pipeline.transport.sqlite_feedback import FeedbackStore
from producers.health import HealthAlerts
from producers.poller import FeedPoller, PollReport
from producers.state import FeedStateStore

__all__ = ["STAGES", "INPUT_TOPIC", "Progress", "build_classifier", "build_loop", "start_metrics", "run_producer",
           "run_embedded", "web_sources", "start_web"]

logger = logging.getLogger(__name__)

STAGES = ("classifier", "indexer", "alerter")
INPUT_TOPIC = {"classifier": TOPIC_RAW, "indexer": TOPIC_CLASSIFIED, "alerter": TOPIC_CLASSIFIED}
_DRAIN_ORDER = ("classifier", "alerter", "indexer")  # alerts first: they are the time-critical output
_IDLE_TICK = 0.05  # seconds an idle embedded loop waits before looking for new records again
_FEED_CHECK_EVERY = 1.0  # at most this long between looks at which feeds are due


@dataclass
class Progress:
    """Running totals, shown on a terminal and logged otherwise."""

    feeds: int = 0  # configured
    feeds_polled: int = 0  # polls, several per feed over a long run
    feeds_failed: int = 0  # failed polls
    items_polled: int = 0
    classified: int = 0
    indexed: int = 0
    alerts: int = 0  # alerts raised (a story or a digest)
    messages: int = 0  # outbox rows queued for them: one per alert and action
    dead_letters: int = 0

    def add_poll(self, report: PollReport) -> None:
        self.feeds_polled += report.feeds_polled
        self.feeds_failed += report.feeds_failed
        self.items_polled += report.items_published


def build_classifier(settings: Settings) -> Classifier:
    """The configured classifier (``classifier.kind``); its module, and spaCy with it, is imported
    here, so only commands that classify load it."""
    return open_classifier(settings.topics, settings.classifier, settings.source)


def build_home_countries(settings: Settings) -> HomeCountries:
    """Each configured feed's home country, for items that name none."""
    return HomeCountries((feed.id, feed.source, feed.country) for feed in settings.feeds)


def build_story_assigner(settings: Settings) -> StoryAssigner:
    """Story ids shared by every classifier process through the state database."""
    from pipeline.nlp.story_store import SqliteStoryStore

    return StoryAssigner(SqliteStoryStore(settings.state_url), settings.classifier.story_window)


def _build_stage(name: str, settings: Settings, producer: LogProducer, metrics: Metrics | None) -> Stage:
    if name == "classifier":
        return ClassifierStage(build_classifier(settings), producer, build_story_assigner(settings),
                               home=build_home_countries(settings), max_body_chars=settings.producer.max_body_chars)
    if name == "indexer":
        return IndexerStage(open_index(settings), metrics=metrics, verdicts=FeedbackStore(settings.state_url))
    if name == "alerter":
        require_secrets(settings.rules)  # only the commands that send need the actions' secrets
        return AlerterStage(settings.rules, AlertStore(settings.state_url), verdicts=FeedbackStore(settings.state_url),
                            public_url=settings.web.public_url)
    raise UserInputError(f"unknown stage {name!r} (known: {', '.join(STAGES)})")


def build_loop(name: str, settings: Settings, log: Log, stop: StopSignal,
               poll_timeout: float | None = None, metrics: Metrics | None = None) -> ConsumeLoop:
    """A stage on its own consumer group (named after the stage), with its own producer for output and DLQ."""
    producer = log.producer()
    consumer_settings = settings.consumer
    if poll_timeout is not None:
        consumer_settings = replace(consumer_settings, poll_timeout=poll_timeout)
    return ConsumeLoop(_build_stage(name, settings, producer, metrics), log.consumer(name, [INPUT_TOPIC[name]]),
                       producer, consumer_settings, stop, metrics)


def start_metrics(settings: Settings, stop: StopSignal, stages: tuple[str, ...]) -> Metrics | None:
    """Serve Prometheus metrics when ``metrics_port`` is set, and sample the stages' lag every 15 s."""
    if not settings.metrics_port:
        return None
    metrics = Metrics()
    metrics.serve(settings.metrics_port, settings.metrics_host)
    if stages:
        threading.Thread(target=_sample_lag, args=(settings, stop, stages, metrics), daemon=True).start()
    return metrics


def _sample_lag(settings: Settings, stop: StopSignal, stages: tuple[str, ...], metrics: Metrics) -> None:
    log = open_log(settings)  # its own connection: this runs in its own thread
    try:
        while not stop.is_set():
            for stage in stages:
                try:
                    metrics.record_lag(stage, log.lag(stage, INPUT_TOPIC[stage]))
                except NewsmonError as exc:
                    logger.warning("event=lag_sample_failed stage=%s error=%s", stage, exc)
            stop.wait(15.0)
    finally:
        log.close()


def web_sources(settings: Settings) -> Sources:
    """What the search page reads: the configured index, and the alert and feed state in the state
    database, each opened once per worker thread."""
    return Sources({"index": lambda: open_index(settings), "alerts": lambda: AlertStore(settings.state_url),
                    "feeds": lambda: FeedStateStore(settings.state_url)})


def start_web(settings: Settings, host: str | None = None, port: int | None = None) -> WebServer:
    """Serve the search page on the configured (or given) address, in a thread."""
    return serve_web(settings, web_sources(settings), host, port)


def _poll_due(poller: FeedPoller, settings: Settings, every_feed: bool, metrics: Metrics | None) -> PollReport | None:
    """Poll the feeds that are due (or every feed); None when none was due."""
    due = list(settings.feeds) if every_feed else poller.due()
    if not due:
        return None
    report = poller.poll(due)
    if metrics:
        metrics.feed_polls.labels("ok").inc(report.feeds_polled - report.feeds_failed)
        metrics.feed_polls.labels("error").inc(report.feeds_failed)
        metrics.items_published.inc(report.items_published)
    return report


def _poller(settings: Settings, log: Log) -> FeedPoller:
    """The feed poller; feeds turning broken or stale claim alerts for rules with ``feed_health: true``."""
    health = HealthAlerts(settings.rules, AlertStore(settings.state_url)) if any(
        r.feed_health for r in settings.rules) else None
    return FeedPoller(settings.feeds, FeedStateStore(settings.state_url), log.producer(), settings.producer,
                      health_hook=health)


def run_producer(settings: Settings, stop: StopSignal, *, once: bool,
                 on_report: Callable[[PollReport], None] | None = None) -> None:
    """Poll feeds into ``newsmon.raw`` until stopped (or every feed once)."""
    metrics = start_metrics(settings, stop, ())
    log = open_log(settings)
    log.ensure_topics(ALL_TOPICS)
    poller = _poller(settings, log)
    try:
        while not stop.is_set():
            report = _poll_due(poller, settings, once, metrics)
            if report and on_report:
                on_report(report)
            if once:
                return
            stop.wait(min(poller.seconds_until_due(), 5.0))
    finally:
        log.close()


def _stage_counts(loops: dict[str, ConsumeLoop], progress: Progress) -> None:
    progress.classified = loops["classifier"].stats.processed
    progress.indexed = loops["indexer"].stats.processed
    alerter = loops["alerter"].stage
    progress.alerts = alerter.alerts if isinstance(alerter, AlerterStage) else alerter.created
    progress.messages = alerter.created
    progress.dead_letters = sum(loop.stats.dead_lettered for loop in loops.values())


def _drain(loops: dict[str, ConsumeLoop], stop: StopSignal) -> int:
    """One batch per stage in turn until every stage is idle, so an item classified in one batch reaches
    the alerter before the classifier takes its next batch; returns the number of records handled."""
    handled = 0
    while not stop.is_set():
        sizes = [loop.run_once() for loop in loops.values()]
        handled += sum(sizes)
        if not any(sizes):
            break
    return handled


def run_embedded(settings: Settings, stop: StopSignal, *, once: bool,
                 on_progress: Callable[[Progress], None] = lambda p: None) -> Progress:
    """Every stage in one process: poll feeds when due, and pass new records through classifier, alerter
    and indexer; when idle, look for records (also from other processes) every ``_IDLE_TICK`` seconds.

    With ``once``: poll every feed once, drain every stage, return.
    """
    metrics = start_metrics(settings, stop, STAGES)
    web = start_web(settings) if settings.web.enabled and not once else None  # the search page
    log = open_log(settings)
    log.ensure_topics(ALL_TOPICS)
    poller = _poller(settings, log)
    loops = {name: build_loop(name, settings, log, stop, poll_timeout=0.0, metrics=metrics) for name in _DRAIN_ORDER}
    progress = Progress(feeds=len(settings.feeds))
    next_poll = 0.0
    try:
        while not stop.is_set():
            report = None
            if once or time.monotonic() >= next_poll:
                report = _poll_due(poller, settings, once, metrics)
                if report:
                    progress.add_poll(report)
                next_poll = time.monotonic() + min(poller.seconds_until_due(), _FEED_CHECK_EVERY)
            if _drain(loops, stop) or report:
                _stage_counts(loops, progress)
                on_progress(progress)
            if once:
                break
            stop.wait(_IDLE_TICK)
    finally:
        log.close()
        if web is not None:
            web.close()
    return progress
