"""Benchmark of the whole pipeline on Kafka + Elasticsearch: items per second from ``newsmon.raw`` to
searchable, with one and with two processes per stage, against the classifier stage's own rate on
the same items in the same run.

Items: NEWSMON_BENCH_PIPELINE_ITEMS (default 6000) title+summary items cycling through the
real-news corpus ($NEWSMON_SHARED/corpora/real-news, read at run time), each with its own id and
URL, so no stage takes one for another; copies of one corpus item have the same text, so the
classifier puts them in one story (the figures say how many stories). They are published within the
last hour, as a live stream is: the corpus' own dates span 125 months, and the indexer would create
a monthly index for each on first use (about half a second each on this node), measuring a backfill.

Each mode starts from a clean slate: newsmon's topic and group names are fixed, so the benchmark
holds the integration tests' broker lock, deletes the newsmon topics and stage groups, creates the
topics (6 partitions), pre-fills ``newsmon.raw`` with every item, and only then starts the stage
processes (``newsmon consume classifier|indexer|alerter``, one or two of each) on a temporary
configuration: a fresh Elasticsearch alias per mode with 0 replicas, a fresh state database, one
alert rule (counterterrorism items, a webhook to a receiver in this process).

The clock runs from the first classified record (the earliest publish time on
``newsmon.classified``; the items published with it are left out of the count, their
classification came before) to the first poll (every 0.5 s: refresh, then count on the alias)
that finds every item searchable. Start-up (process start to the first classified record: loading
spaCy and the model, joining the group, judging the first batch) is reported apart.

Baselines, in this process on the corpus' title+summary items, each the best of NEWSMON_BENCH_ROUNDS
passes after a warm-up, before and after the two modes (the ratios are to their means): the
classifier's full enrichment alone (``bench_classifier``'s measurement: ``classify_many``), and the
classifier stage's own work without the log (``classify_items``: the same judgement, story
clustering on a SQLite story store of its own, the classified items built), what the stage does
for each batch once it has the records. The goal, reported and not asserted: one process per stage
reaches at least 80% of the stage's own work, i.e. the log, index and alerting add at most a fifth.
Kafka, Elasticsearch, the stage processes and this benchmark share the machine's cores (with
whatever else runs), so the CPU each used in the window is shown (from /proc), and the classifier's
items per CPU-second are compared with the stage's own work's (the CPU time of its timed passes):
that ratio is newsmon's own overhead around the stage's work (decoding, JSON, the Kafka client,
commits) without the other processes' share of the cores.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from bench_classifier import _rate, _texts
from bench_elasticsearch import node
from elasticsearch import Elasticsearch
from pipeline_harness import (
    STAGE_GROUPS,
    Sample,
    StageProcesses,
    classified_timestamps,
    clean_kafka,
    cores_used,
    corpus_rows,
    drop_index,
    exclusive_broker,
    kafka_broker,
    partition_count,
    prefill,
    sample,
    service_pids,
    stop_elasticsearch,
    story_count,
    unique_items,
)

from consumers.classifier import StoryAssigner, classify_items
from newsmon.app import build_classifier
from pipeline.classify import Classifier
from pipeline.item import RawItem, utc_now
from pipeline.nlp.story_store import SqliteStoryStore
from pipeline.settings import load_settings
from pipeline.transport.base import TOPIC_RAW
from tests.receiver import WebhookReceiver

ITEMS = int(os.environ.get("NEWSMON_BENCH_PIPELINE_ITEMS", "6000"))
TIMEOUT = float(os.environ.get("NEWSMON_BENCH_PIPELINE_TIMEOUT", "150"))  # seconds per mode, from process start
KAFKA = os.environ.get("NEWSMON_BENCH_KAFKA", "127.0.0.1:19092")
PARTITIONS = 6
POLL_SECONDS = 0.5
FIRST_BATCH_SPREAD = 0.2  # records published this close to the first one count as its batch

__all__ = ["run"]


@dataclass
class Baseline:
    """The classifier stage's own work in this process (``classify_items`` with a SQLite story store),
    and the classifier's judgement alone (``classify_many``), on the corpus' title+summary items."""

    texts: list[tuple[str, str]]
    raws: list[RawItem]
    classifier: Classifier = field(repr=False)
    rates: list[float] = field(default_factory=list)  # the stage's work, items/s, one per measurement
    cpu_rates: list[float] = field(default_factory=list)  # items per CPU-second, one per measurement
    judge_rates: list[float] = field(default_factory=list)  # classify_many alone, items/s

    @classmethod
    def load(cls, rows: list[dict]) -> Baseline:
        short, _, _ = _texts()
        return cls(short, unique_items(rows, len(rows), "baseline"), build_classifier(load_settings(None, {})))

    def measure(self) -> None:
        """Both measurements (best of the rounds after a warm-up), the stage's with each pass's CPU time."""
        cpu_per_pass: list[float] = []

        def stage_work() -> None:
            with tempfile.TemporaryDirectory(prefix="newsmon-bench-") as tmp:
                stories = StoryAssigner(SqliteStoryStore(f"sqlite:///{tmp}/stories.db"))
                cpu_start = time.process_time()
                classify_items(self.classifier, stories, self.raws, utc_now())
                cpu_per_pass.append(time.process_time() - cpu_start)

        self.judge_rates.append(_rate(len(self.texts), lambda: self.classifier.classify_many(self.texts)))
        self.rates.append(_rate(len(self.raws), stage_work))
        self.cpu_rates.append(len(self.raws) / min(cpu_per_pass[1:]))  # the warm-up pass left out

    @property
    def rate(self) -> float:
        return statistics.mean(self.rates)

    @property
    def cpu_rate(self) -> float:
        return statistics.mean(self.cpu_rates)

    @property
    def judge_rate(self) -> float:
        return statistics.mean(self.judge_rates)


def stage_environment(workdir: Path, es_url: str, alias: str) -> dict[str, str]:
    """The overrides the stage processes (and this process) read the configuration with."""
    return {"NEWSMON_LOG": f"kafka://{KAFKA}", "NEWSMON_INDEX": es_url, "NEWSMON_STATE": f"sqlite:///{workdir}/state.db",
            "NEWSMON_KAFKA_PARTITIONS": str(PARTITIONS), "NEWSMON_ELASTICSEARCH_ALIAS": alias,
            "NEWSMON_ELASTICSEARCH_REPLICAS": "0", "NEWSMON_LOG_LEVEL": "info"}


def write_config(workdir: Path, hook_url: str) -> Path:
    config = workdir / "newsmon.yaml"
    config.write_text(f"""
log: kafka://{KAFKA}
consumer: {{poll_timeout: 1s}}
rules:
  - {{name: bench-ct, query: '*', topics: [counterterrorism], actions: [{{type: webhook, url: '{hook_url}'}}]}}
""")
    return config


def watch(client: Elasticsearch, alias: str, stages: StageProcesses, started: float) -> list[Sample]:
    """Samples every POLL_SECONDS (a poll that takes longer delays the next) until every item is
    searchable, a stage exits, or the time is up."""
    samples: list[Sample] = []
    while True:
        pids = {name: p.pid for name, p in stages.running.items()} | service_pids() | {"bench": os.getpid()}
        polled = time.time()
        samples.append(sample(client, alias, pids))
        if samples[-1].searchable >= ITEMS or stages.exited() or time.time() - started > TIMEOUT:
            return samples
        time.sleep(max(0.0, polled + POLL_SECONDS - time.time()))


def window_figures(samples: list[Sample], published: list[float], started: float) -> dict:
    """Rates and times from the samples and the classified records' publish times. CPU is counted from
    the last sample before the first classified record to the sample that found every item."""
    first, done = published[0], samples[-1]
    in_first_batch = sum(1 for t in published if t <= first + FIRST_BATCH_SPREAD)
    window = done.at - first
    at_first = max((s for s in samples if s.at <= first), key=lambda s: s.at, default=samples[0])
    cores = cores_used(at_first, done)
    classifier_cpu = sum(v for k, v in cores.items() if k.startswith("classifier-")) * (done.at - at_first.at)
    return {
        "rate": (done.searchable - in_first_batch) / window, "window": window, "startup": first - started,
        "classified": len(published), "cpu_rate": (done.searchable - in_first_batch) / max(1e-9, classifier_cpu),
        "tail": done.at - published[-1], "cores": cores,
        "poll": statistics.median(b.at - a.at for a, b in pairwise(samples)) if len(samples) > 1 else 0.0,
    }


def measure_mode(copies: int, rows: list[dict], es_url: str) -> dict:
    """One mode on a clean broker and a fresh alias: pre-fill, start the stages, watch, clean up."""
    alias = f"bench-pipeline-{uuid.uuid4().hex[:8]}"
    client = Elasticsearch(es_url, request_timeout=60)
    with tempfile.TemporaryDirectory() as tmp_name, WebhookReceiver() as hook, exclusive_broker():
        workdir = Path(tmp_name)
        env = stage_environment(workdir, es_url, alias)
        config = write_config(workdir, f"{hook.base}/hook")
        settings = load_settings(config, env)
        clean_kafka(KAFKA)
        stages = StageProcesses(workdir, config, env)
        try:
            prefill_seconds = prefill(settings, unique_items(rows, ITEMS, f"p{copies}-{alias[-8:]}"))
            partitions = partition_count(KAFKA, TOPIC_RAW)
            load_before = os.getloadavg()[0]
            started = time.time()
            for stage in STAGE_GROUPS:
                stages.start(stage, copies)
            samples = watch(client, alias, stages, started)
            exited = stages.exited()
            load_after = os.getloadavg()[0]
            published = classified_timestamps(settings, 3 * ITEMS)
            stories = story_count(client, alias)
            codes = stages.stop()
            alerts = len(hook.accepted())
        finally:
            stages.stop()
            drop_index(client, alias)
            clean_kafka(KAFKA)
        tails = {name: stages.log_tail(name) for name in exited}
        problems = stages.problems()
    result = {"copies": copies, "searchable": samples[-1].searchable, "prefill": prefill_seconds,
              "partitions": partitions, "load": (load_before, load_after), "stories": stories, "alerts": alerts,
              "exit_codes": codes, "exited_early": tails, "problems": problems}
    if published:
        result.update(window_figures(samples, published, started))
    return result


def cpu_line(result: dict) -> str:
    cores = result["cores"]
    stages = {stage: sum(v for k, v in cores.items() if k.startswith(f"{stage}-")) for stage in STAGE_GROUPS}
    named = {**stages, "Kafka": cores.get("Kafka", 0.0), "Elasticsearch": cores.get("Elasticsearch", 0.0),
             "this benchmark": cores.get("bench", 0.0)}
    rest = cores["machine"] - sum(named.values())
    parts = ", ".join(f"{name} {value:.2f}" for name, value in named.items())
    return (f"- {result['copies']} per stage, CPU during the window in cores (of {os.cpu_count()}): {parts};"
            " everything else on"
            f" the machine {max(0.0, rest):.2f}; the whole machine {cores['machine']:.2f}.")


def result_row(result: dict, baseline: Baseline) -> str:
    if "rate" not in result:
        why = result.get("failed", "nothing was classified")
        return f"| {result['copies']} per stage | not measured: {why} | | | | | | | |"
    complete = "" if result["searchable"] >= ITEMS else f" (only {result['searchable']} of {ITEMS} searchable)"
    load_before, load_after = result["load"]
    rate, cpu_rate = result["rate"], result["cpu_rate"]
    return (f"| {result['copies']} per stage{complete} | **{rate:.0f}** | {rate / baseline.rate:.0%}"
            f" | {rate / baseline.judge_rate:.0%}"
            f" | {cpu_rate:.0f} ({cpu_rate / baseline.cpu_rate:.0%}) | {result['window']:.1f}"
            f" | {result['startup']:.1f} | {result['tail']:.1f} | {load_before:.1f} / {load_after:.1f} |")


def notes(results: list[dict]) -> list[str]:
    lines = []
    for result in results:
        if "failed" in result:
            continue
        if "rate" in result:
            lines.append(cpu_line(result))
        lines.append(f"- {result['copies']} per stage: `newsmon.raw` had {result['partitions']} partitions; pre-fill"
                     f" {result['prefill']:.1f} s; {result.get('classified', 0)} records on `newsmon.classified` for"
                     f" {ITEMS} items; {result['stories']} stories (copies of a corpus item share one);"
                     f" {result['alerts']} alerts received by the end; a poll every {result.get('poll', 0):.2f} s"
                     f" (median); exit codes {', '.join(f'{k} {v}' for k, v in result['exit_codes'].items())}.")
        for name, tail in result["exited_early"].items():
            lines.append(f"  - {name} exited before the end: {tail}")
        if result["problems"]:
            shown = "; ".join(result["problems"][:3])
            lines.append(f"  - {len(result['problems'])} warning/error lines in the stage logs, first: {shown}")
    return lines


def measure_all(rows: list[dict], es_url: str) -> tuple[Baseline, list[dict]]:
    """The baseline before and after the two modes, so a load that changes meanwhile shows."""
    baseline = Baseline.load(rows)
    baseline.measure()
    results = []
    for copies in (1, 2):
        print(f"  bench_pipeline: {copies} process(es) per stage ...", file=sys.stderr)
        try:
            results.append(measure_mode(copies, rows, es_url))
        except Exception as exc:  # report, do not hide: a mode that failed is a finding
            results.append({"copies": copies, "failed": f"{type(exc).__name__}: {exc}"})
    baseline.measure()
    return baseline, results


def run() -> list[str]:
    """Markdown lines for bench/RESULTS.md."""
    started = time.monotonic()
    rows = corpus_rows()
    es_url, es_started = node()
    try:
        version = Elasticsearch(es_url).info()["version"]["number"]
        with kafka_broker(KAFKA):
            baseline, results = measure_all(rows, es_url)
    finally:
        if es_started:
            stop_elasticsearch()
    one = results[0].get("rate", 0.0) / baseline.rate
    before, after = baseline.rates
    judge_before, judge_after = baseline.judge_rates
    return [
        "## Pipeline end to end (Kafka + Elasticsearch)", "",
        f"{ITEMS} title+summary items ({len(rows)} real-news items, each copied with its own id and URL, published"
        f" within the last hour) pre-filled into `newsmon.raw` ({PARTITIONS} partitions), then `newsmon consume"
        " classifier`, `indexer` and `alerter` started (one rule: counterterrorism items to a webhook in the"
        f" benchmark), on Kafka at {KAFKA} and Elasticsearch {version} (single node, 512 MB heap, 0 replicas,"
        " a fresh alias per mode). items/s from the first classified record to the first poll (refresh + count"
        f" on the alias, every {POLL_SECONDS:g} s) that finds all {ITEMS} searchable; the first classified batch"
        " is left out of the count. Start-up (process start to the first classified record: spaCy and the model"
        " loaded, group joined, first batch judged) is not in the rate. Kafka, Elasticsearch, the stages and"
        f" the benchmark share the machine's {os.cpu_count()} cores, with whatever else ran meanwhile (load"
        " average in the table, CPU per process below); items per CPU-second of the classifier process(es)"
        " leave that contention out.",
        "",
        "| processes per stage | items/s, raw → searchable | vs the stage's own work | vs the judgement alone"
        " | classifier items per CPU-second (vs the stage's own work) | window s | start-up s"
        " | last classified → all searchable, s | load avg 1 min before / after |",
        "|---|---|---|---|---|---|---|---|---|",
        *(result_row(result, baseline) for result in results),
        f"| the classifier stage's own work without the log, one process: `classify_items` (judgement, stories on"
        f" SQLite, classified items; before / after the modes: {before:.0f} / {after:.0f} items/s)"
        f" | {baseline.rate:.0f} | 100% | {baseline.rate / baseline.judge_rate:.0%}"
        f" | {baseline.cpu_rate:.0f} (100%) | | | | |",
        f"| the judgement alone: full enrichment, `classify_many` on the same texts (before / after:"
        f" {judge_before:.0f} / {judge_after:.0f} items/s) | {baseline.judge_rate:.0f} | | 100% | | | | | |",
        "",
        f"Goal: one process per stage ≥ 80% of the classifier stage's own work: {'met' if one >= 0.8 else 'not met'}"
        f" ({one:.0%}). Whole benchmark {time.monotonic() - started:.0f} s.", "",
        *notes(results),
    ]


if __name__ == "__main__":
    print("\n".join(run()))
