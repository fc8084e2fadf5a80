"""Benchmark of the windowed and new-term rule kinds: how soon a spike alerts, what they cost per item.

1. **Spike latency on Kafka** (NEWSMON_BENCH_KAFKA, default 127.0.0.1:19092): two ``newsmon consume
   alerter`` processes on one configuration (one state database), one spike rule with a webhook to a
   receiver in this process. Classified items go straight to ``newsmon.classified`` (6 partitions,
   keyed by item id), each its own story (bench_alerts' ``_distinct_items``). A trial takes a country
   code no earlier trial used, so its key has no history and fires on the third story: two items,
   0.3 s for them to be counted, then the crossing item, whose publish time is taken when the
   producer's flush returned; latency = the alert's arrival at the receiver minus that. Up to
   NEWSMON_BENCH_SPIKE_TRIALS (100) trials, one after another, for at most NEWSMON_BENCH_SPIKE_SECONDS
   (60). An alert id received twice is a duplicate. Takes the integration tests' broker lock and
   deletes the newsmon topics and groups first: never point it at a broker that matters.
2. **Rule evaluation per item**, in process: the real-news corpus (re-dated within the last hour,
   classified once up front, not timed) through ``AlerterStage.handle`` (decode, match every rule,
   record each match in its SQLite transaction: item rules' claims, the kinds' window counts, spike
   and frequency judgements, terms) on a fresh state database in a temporary directory, for 1 item
   rule, 100 item rules, and 100 rules of mixed kinds. Delivery (``flush``) is not timed.
"""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import statistics
import string
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_alerts import KAFKA, _clean_kafka, _distinct_items, _kafka_up, _start
from pipeline_harness import CORPUS, corpus_rows, unique_items

from consumers.alert_store import AlertStore
from consumers.alerter import AlerterStage
from consumers.classifier import StoryAssigner, classify_items
from pipeline.alerting.kinds import KEY_FIELDS
from pipeline.alerting.rules import RuleSpec, parse_rules
from pipeline.item import ClassifiedItem, utc_now
from pipeline.settings import Settings, load_settings
from pipeline.transport.base import ALL_TOPICS, TOPIC_CLASSIFIED, LogProducer, Record
from pipeline.transport.registry import open_log
from pipeline.transport.sqlite_feedback import FeedbackStore
from tests.receiver import WebhookReceiver

TRIALS = int(os.environ.get("NEWSMON_BENCH_SPIKE_TRIALS", "100"))
TRIAL_SECONDS = float(os.environ.get("NEWSMON_BENCH_SPIKE_SECONDS", "60"))
MIN_STORIES = 3
POLL_TIMEOUT = "1s"  # the alerters' consumer.poll_timeout (newsmon's default)
SETTLE = 0.3  # seconds between a trial's first items and its crossing item
SPIKE_RULE = (f"{{name: bench-spike, kind: spike, topics: [counterterrorism], window: 1h, min_stories: {MIN_STORIES},"
              " ratio: 2, group_by: countries, actions: [{type: webhook, url: '%s'}]}")


class AlertReceiver:
    """When the first alert of each key arrived; any later delivery of an alert id is a duplicate."""

    def __init__(self) -> None:
        self.hook = WebhookReceiver().__enter__()
        self.first: dict[str, tuple[float, int]] = {}  # key -> arrival (time.time()), stories counted
        self.ids: set[str] = set()
        self.duplicates = 0
        self._seen = 0

    def read(self) -> None:
        deliveries = self.hook.accepted()
        for delivery in deliveries[self._seen:]:
            payload = delivery.json()
            if payload["id"] in self.ids:
                self.duplicates += 1
                continue
            self.ids.add(payload["id"])
            self.first.setdefault(payload["key"], (delivery.received_at, payload["count"]))
        self._seen = len(deliveries)

    def wait_for(self, key: str, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while True:
            self.read()
            if key in self.first or time.monotonic() >= deadline:
                return self.first[key][0] if key in self.first else None
            time.sleep(0.005)


def _spike_config(tmp: Path, url: str) -> Path:
    config = tmp / "newsmon.yaml"
    config.write_text(f"log: kafka://{KAFKA}\nindex: sqlite:///{tmp}/index.db\nstate: sqlite:///{tmp}/state.db\n"
                      f"kafka: {{partitions: 6}}\nconsumer: {{poll_timeout: {POLL_TIMEOUT}}}\n"
                      f"rules:\n  - {SPIKE_RULE % url}\n")
    return config


def _trial(producer: LogProducer, receiver: AlertReceiver, items: list[ClassifiedItem], timeout: float) -> float | None:
    """Publish a trial's items (the last one crosses); the latency of its alert, None if none came."""
    *first, crossing = items
    for item in first:
        producer.publish(TOPIC_CLASSIFIED, item.id, item.to_json())
    producer.flush()
    time.sleep(SETTLE)
    producer.publish(TOPIC_CLASSIFIED, crossing.id, crossing.to_json())
    producer.flush()
    sent = time.time()
    arrived = receiver.wait_for(crossing.countries[0], timeout)
    return None if arrived is None else arrived - sent


def _group_members(group: str) -> int:
    """Members of a settled consumer group (0 while it rebalances)."""
    from kafka import KafkaAdminClient  # the benchmark's own look; newsmon itself goes through its adapter

    admin = KafkaAdminClient(bootstrap_servers=KAFKA)
    try:
        described = admin.describe_groups([group])[group]
        return len(described["members"]) if described["group_state"] == "Stable" else 0
    finally:
        admin.close()


def _run_trials(config: Path, receiver: AlertReceiver) -> tuple[list[float], int, float]:
    """Warm up (both alerters in the group, one alert through), then time the trials: (latencies,
    trials without an alert, start-up seconds)."""
    started = time.monotonic()
    pool = iter(cast(list[ClassifiedItem], _distinct_items("spike", (TRIALS + 1) * MIN_STORIES, True)))
    keys = ("".join(pair) for pair in itertools.product(string.ascii_uppercase, repeat=2))  # a country code each
    batches = ([replace(next(pool), countries=(key,)) for _ in range(MIN_STORIES)] for key in keys)
    log = open_log(load_settings(config, {}))
    try:
        producer = log.producer()
        deadline = time.monotonic() + 90
        while _group_members("alerter") < 2:
            if time.monotonic() > deadline:
                raise RuntimeError("the two alerters did not settle in one consumer group within 90 s")
            time.sleep(0.2)
        if _trial(producer, receiver, next(batches), 60) is None:
            raise RuntimeError("the warm-up alert never arrived (see the alerter logs in the work directory)")
        startup, stop = time.monotonic() - started, time.monotonic() + TRIAL_SECONDS
        latencies: list[float] = []
        missing = 0
        for _ in range(TRIALS):
            if time.monotonic() >= stop:
                break
            latency = _trial(producer, receiver, next(batches), 10)
            if latency is None:
                missing += 1
            else:
                latencies.append(latency)
        return latencies, missing, startup
    finally:
        log.close()


def _spike_latency() -> dict[str, Any] | str:
    if not _kafka_up():
        return f"no Kafka broker answers on {KAFKA} (start one with `deploy/local/services.sh up kafka`)"
    receiver = AlertReceiver()
    with _clean_kafka(), tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        config = _spike_config(tmp, f"{receiver.hook.base}/hook")
        log = open_log(load_settings(config, {}))
        log.ensure_topics(ALL_TOPICS)
        log.close()
        processes = [_start(tmp, config, "consume", "alerter") for _ in range(2)]
        try:
            latencies, missing, startup = _run_trials(config, receiver)
        finally:
            for process in processes:
                process.send_signal(signal.SIGINT)
            for process in processes:
                process.wait(60)
            receiver.read()  # a duplicate arriving late counts too
            receiver.hook.__exit__(None, None, None)
    latencies.sort()
    if not latencies:
        raise RuntimeError("no trial's alert arrived")
    return {"n": len(latencies), "missing": missing, "startup": startup, "p50": statistics.median(latencies),
            "p99": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], "max": latencies[-1],
            "duplicates": receiver.duplicates, "early": sum(n != MIN_STORIES for _, n in receiver.first.values())}


_QUERIES = ("*", "attack OR blast OR bombing", "terrorism AND Pakistan", '"Reko Diq" OR copper OR lithium',
            "title:(Taliban OR TTP)", "miner* -topics:counterterrorism", "Balochistan OR Khyber OR Waziristan",
            "source:Dawn* OR source:Geo*", "scores.counterterrorism:>=0.6", "@timestamp:>now-24h AND (China OR CPEC)")
_FILTERS: tuple[dict[str, Any], ...] = (
    {}, {"topics": ["counterterrorism"]}, {"topics": ["minerals_cooperation"], "min_score": 0.3},
    {"countries": ["PK"]}, {"countries": ["AF", "PK"], "topics": ["counterterrorism"]},
    {"entities": {"groups": ["Tehreek-e-Taliban Pakistan", "Baloch Liberation Army"]}}, {"countries": ["US"]},
)
_WINDOWS = ("30m", "1h", "6h", "1d")
_MIX = (("item", 40), ("spike", 25), ("frequency", 15), ("flatline", 10), ("new_term", 10))


def _rule(kind: str, n: int) -> dict[str, Any]:
    """The n-th rule of a kind: queries, filters, windows and key fields in turn."""
    rule: dict[str, Any] = {"name": f"{kind}-{n}", "query": _QUERIES[n % len(_QUERIES)],
                            **_FILTERS[(n // 2) % len(_FILTERS)]}
    if kind == "new_term":
        return {**rule, "kind": kind, "field": KEY_FIELDS[n % len(KEY_FIELDS)], "lookback": "30d"}
    if kind == "item":
        return rule
    rule.update(kind=kind, window=_WINDOWS[n % len(_WINDOWS)], min_stories=2 + n % 4)
    if kind != "flatline":
        rule["group_by"] = KEY_FIELDS[n % len(KEY_FIELDS)]
    if kind == "spike":
        rule["ratio"] = 2 + n % 3
    return rule


def _rule_sets(topics: set[str]) -> dict[str, tuple[RuleSpec, ...]]:
    mixed = [_rule(kind, n) for kind, count in _MIX for n in range(count)]
    return {"1 item rule": parse_rules([_rule("item", 1)], "bench", {}, topics),
            "100 item rules": parse_rules([_rule("item", n) for n in range(100)], "bench", {}, topics),
            "100 rules, mixed kinds": parse_rules(mixed, "bench", {}, topics)}


def _classified_corpus(settings: Settings) -> list[ClassifiedItem]:
    """The corpus as classified items, published within the last hour (as a live stream)."""
    from newsmon.app import build_classifier

    raws = unique_items(rows := corpus_rows(), len(rows), "kinds")
    return classify_items(build_classifier(settings), StoryAssigner(), raws, utc_now())


def _evaluate(rules: tuple[RuleSpec, ...], records: list[Record]) -> dict[str, float]:
    """µs per item through ``AlerterStage.handle`` on a fresh state database; matches and alerts per item."""
    with tempfile.TemporaryDirectory(prefix="newsmon-bench-") as tmp:
        url = f"sqlite:///{tmp}/state.db"
        store, verdicts = AlertStore(url), FeedbackStore(url)
        stage = AlerterStage(rules, store, verdicts=verdicts)
        try:
            start = time.perf_counter()
            for record in records:
                stage.handle(record)
            elapsed = time.perf_counter() - start
        finally:
            store.close()
            verdicts.close()
        with closing(sqlite3.connect(f"{tmp}/state.db")) as db:
            matches = db.execute("SELECT COUNT(*) FROM alert_matches").fetchone()[0]
    return {"us": elapsed / len(records) * 1e6, "matches": matches / len(records),
            "alerts": stage.alerts / len(records)}


def _rule_cost() -> dict[str, dict[str, float]] | str:
    if not CORPUS.is_file():
        return f"the real-news corpus is not at {CORPUS}"
    settings = load_settings(None, {})
    items = _classified_corpus(settings)
    records = [Record(TOPIC_CLASSIFIED, 0, n, item.id, item.to_json(), time.time()) for n, item in enumerate(items)]
    sets = _rule_sets(set(settings.topics))
    return {name: _evaluate(rules, records) | {"items": len(records)} for name, rules in sets.items()}


def _attempt(measure: Callable[[], Any]) -> tuple[Any, float]:
    """The measurement's result (or why it failed, as a string) and the seconds it took."""
    started = time.monotonic()
    try:
        result = measure()
    except Exception as exc:  # report, do not hide: a failed measurement is a finding
        result = f"failed: {type(exc).__name__}: {exc}"
    return result, time.monotonic() - started


def _latency_lines() -> list[str]:
    result, seconds = _attempt(_spike_latency)
    if isinstance(result, str):
        return [f"Spike latency on Kafka: not measured: {result}"]
    early = [f"{result['early']} alerts counted more or fewer than {MIN_STORIES} stories."] if result["early"] else []
    return [f"Spike latency on Kafka, two `consume alerter` processes (`poll_timeout: {POLL_TIMEOUT}`), one spike rule"
            f" (`window: 1h, min_stories: {MIN_STORIES}, ratio: 2, group_by: countries`): from the crossing item"
            " published to `newsmon.classified` (flush returned) to its webhook received, a fresh key per trial."
            " Goal: p99 < 2 s on Kafka.", *early, "",
            "| trials | p50 ms | p99 ms | max ms | duplicate alerts | trials without an alert | start-up s | total s |",
            "|---|---|---|---|---|---|---|---|",
            f"| {result['n']} | {result['p50'] * 1000:.0f} | {result['p99'] * 1000:.0f} | {result['max'] * 1000:.0f}"
            f" | {result['duplicates']} | {result['missing']} | {result['startup']:.1f} | {seconds:.0f} |"]


def _cost_lines() -> list[str]:
    result, seconds = _attempt(_rule_cost)
    if isinstance(result, str):
        return [f"Rule evaluation per item: not measured: {result}"]
    base = result["1 item rule"]["us"]
    lines = [f"Rule evaluation per item: {result['1 item rule']['items']:.0f} real-news items (classified"
             " beforehand, not timed) through `AlerterStage.handle` on a fresh SQLite state database, one process;"
             f" mixed = 40 item, 25 spike, 15 frequency, 10 flatline, 10 new_term rules ({seconds:.0f} s in all).", "",
             "| rules | µs per item | vs 1 item rule | matches per item | alerts queued per item |",
             "|---|---|---|---|---|"]
    for name, figures in result.items():
        lines.append(f"| {name} | {figures['us']:,.0f} | {figures['us'] / base:.1f}× | {figures['matches']:.1f}"
                     f" | {figures['alerts']:.2f} |")
    return lines


def run() -> list[str]:
    """Markdown lines for bench/RESULTS.md."""
    print("  bench_rule_kinds: spike latency on Kafka ...", file=sys.stderr)
    latency = _latency_lines()
    print("  bench_rule_kinds: rule evaluation per item ...", file=sys.stderr)
    return ["## Rule kinds", "", *latency, "", *_cost_lines()]


if __name__ == "__main__":
    print("\n".join(run()))
