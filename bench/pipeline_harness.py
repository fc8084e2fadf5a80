"""Helpers of bench/bench_pipeline.py (not a benchmark itself: run.py runs only ``bench_*.py``).

The services (Kafka, Elasticsearch) and their clean slate, the benchmark's items, the stage
processes, and what the benchmark watches while they run: searchable documents, classified records
and CPU time per process.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from elasticsearch import Elasticsearch, NotFoundError

from pipeline.item import FeedRef, RawItem, format_time, utc_now
from pipeline.settings import Settings
from pipeline.transport.base import ALL_TOPICS, TOPIC_CLASSIFIED, TOPIC_RAW
from pipeline.transport.registry import open_log

REPO = Path(__file__).resolve().parents[1]
SERVICES = REPO / "deploy" / "local" / "services.sh"
RUN_DIR = Path(os.environ.get("NEWSMON_RUN_DIR", "/tmp/newsmon-services"))
CORPUS = Path(os.environ.get("NEWSMON_SHARED", REPO.parent / "shared")) / "corpora/real-news/items.jsonl"
STAGE_GROUPS = ("classifier", "indexer", "alerter")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


# --- services --------------------------------------------------------------------------------------

def kafka_reachable(bootstrap: str) -> bool:
    host, _, port = bootstrap.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except OSError:
        return False


@contextmanager
def kafka_broker(bootstrap: str) -> Iterator[None]:
    """The local broker: started with services.sh only when nothing answers, and then stopped again."""
    started = not kafka_reachable(bootstrap)
    if started:
        subprocess.run([str(SERVICES), "up", "kafka"], check=True, capture_output=True)
    try:
        yield
    finally:
        if started:
            subprocess.run([str(SERVICES), "down", "kafka"], capture_output=True)


@contextmanager
def exclusive_broker() -> Iterator[None]:
    """The integration tests' broker lock: newsmon's topic and group names are fixed, so sessions on
    one broker (tests, bench_alerts, this benchmark) take turns."""
    RUN_DIR.mkdir(parents=True, exist_ok=True)
    with (RUN_DIR / "kafka-integration-tests.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def clean_kafka(bootstrap: str) -> None:
    """Delete the newsmon topics and the stage groups (with their offsets); wait until they are gone."""
    from kafka import KafkaAdminClient  # the benchmark's own clean-up; newsmon itself goes through its adapter

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        present = [t for t in admin.list_topics() if t in ALL_TOPICS]
        if present:
            admin.delete_topics(present)
        try:
            admin.delete_groups(list(STAGE_GROUPS))
        except Exception as exc:  # groups that do not exist: nothing to delete
            print(f"  kafka clean-up: {type(exc).__name__}: {exc}", file=sys.stderr)
        deadline = time.monotonic() + 30
        while set(admin.list_topics()) & set(ALL_TOPICS) and time.monotonic() < deadline:
            time.sleep(0.3)
    finally:
        admin.close()


def partition_count(bootstrap: str, topic: str) -> int:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        (described,) = admin.describe_topics([topic])
        return len(described["partitions"])
    finally:
        admin.close()


def stop_elasticsearch() -> None:
    """Stop the local node (only when this benchmark started it: bench_elasticsearch.node() says so)."""
    subprocess.run([str(SERVICES), "down", "elasticsearch"], capture_output=True)


def drop_index(client: Elasticsearch, alias: str) -> None:
    """Delete the alias' monthly indices and its template."""
    names = list(client.indices.get(index=f"{alias}-*", allow_no_indices=True, ignore_unavailable=True).body)
    if names:
        client.indices.delete(index=",".join(names))
    with suppress(NotFoundError):
        client.indices.delete_index_template(name=alias)


def service_pids() -> dict[str, int]:
    """Kafka's and Elasticsearch's pids from services.sh's pid files (those running)."""
    found = {}
    for name, path in (("Kafka", RUN_DIR / "kafka" / "kafka.pid"),
                       ("Elasticsearch", RUN_DIR / "elasticsearch" / "elasticsearch.pid")):
        try:
            pid = int(path.read_text().strip())
            os.kill(pid, 0)
            found[name] = pid
        except (OSError, ValueError):
            continue
    return found


# --- items -----------------------------------------------------------------------------------------

def corpus_rows() -> list[dict]:
    """The real-news corpus, read at run time (never copied into the repository)."""
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def unique_items(rows: Sequence[dict], count: int, prefix: str) -> list[RawItem]:
    """``count`` title+summary items cycling through ``rows``, each with its own id and URL (so no
    stage takes one for another); copies of one corpus item have the same text. Published within
    the last hour, as a live stream is (the corpus' own dates span 125 months, and the indexer
    creates each month's index on first use)."""
    now = utc_now()
    items = []
    for n in range(count):
        row = rows[n % len(rows)]
        items.append(RawItem(id=f"{prefix}-{n:06d}", url=f"https://bench.example/{prefix}/{n}", guid="",
                             source=row["source"], feed=FeedRef("bench", ""), title=row["title"],
                             summary=row.get("summary") or "", published=format_time(now - timedelta(minutes=n % 60)),
                             fetched_at=format_time(now)))
    return items


def prefill(settings: Settings, items: Sequence[RawItem]) -> float:
    """Create the topics and publish every item to ``newsmon.raw``; returns the seconds it took."""
    start = time.monotonic()
    log = open_log(settings)
    try:
        log.ensure_topics(ALL_TOPICS)
        producer = log.producer()
        for item in items:
            producer.publish(TOPIC_RAW, item.id, item.to_json())
        producer.flush()
    finally:
        log.close()
    return time.monotonic() - start


def classified_timestamps(settings: Settings, limit: int) -> list[float]:
    """When each record on ``newsmon.classified`` was published (the classifier's send time), sorted."""
    log = open_log(settings)
    try:
        return sorted(record.timestamp for record in log.read_from_start(TOPIC_CLASSIFIED, limit))
    finally:
        log.close()


# --- stage processes and what they use ---------------------------------------------------------------

@dataclass
class StageProcesses:
    """``newsmon consume STAGE`` processes, each logging to its own file in ``workdir``."""

    workdir: Path
    config: Path
    env: dict[str, str]
    running: dict[str, subprocess.Popen] = field(default_factory=dict)

    def start(self, stage: str, copies: int) -> None:
        for copy in range(1, copies + 1):
            name = f"{stage}-{copy}"
            stderr = (self.workdir / f"{name}.log").open("w")
            self.running[name] = subprocess.Popen(
                [sys.executable, "-m", "newsmon.cli", "consume", stage, "-c", str(self.config)],
                cwd=self.workdir, env={**os.environ, **self.env}, stdout=subprocess.DEVNULL, stderr=stderr)

    def exited(self) -> dict[str, int]:
        """The processes that already exited, with their exit codes."""
        return {name: p.returncode for name, p in self.running.items() if p.poll() is not None}

    def stop(self, timeout: float = 60) -> dict[str, int]:
        """SIGINT (finish the batch, commit, exit), then SIGKILL after ``timeout``; the exit codes."""
        for process in self.running.values():
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        codes = {}
        for name, process in self.running.items():
            try:
                codes[name] = process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[name] = process.wait()
        return codes

    def log_tail(self, name: str, lines: int = 5) -> str:
        text = (self.workdir / f"{name}.log").read_text(errors="replace").strip().splitlines()
        return " / ".join(text[-lines:])

    def problems(self) -> list[str]:
        """Warning and error lines the processes logged (retries, dead letters, rebalances lost)."""
        found = []
        for name in self.running:
            for line in (self.workdir / f"{name}.log").read_text(errors="replace").splitlines():
                if "blocking the event loop" in line:  # kafka-python on a busy CPU: counted apart
                    continue
                if "level=warning" in line or "level=error" in line or "Traceback" in line:
                    found.append(f"{name}: {line[:300]}")
        return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def machine_busy_seconds() -> float:
    """CPU seconds every core spent outside idle and iowait since boot (all processes, other people's too)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(values) - values[3] - values[4]) / TICKS_PER_SECOND


@dataclass(frozen=True)
class Sample:
    """One look at the pipeline: when, how many documents were searchable, CPU seconds so far."""

    at: float  # time.time()
    searchable: int
    cpu: dict[str, float]  # process name (classifier-1, Kafka, ...) -> CPU seconds
    machine: float  # machine_busy_seconds()


def searchable(client: Elasticsearch, alias: str) -> int:
    """Documents searchable through the alias after a refresh (0 before the indexer created it)."""
    try:
        client.indices.refresh(index=alias)
        return int(client.count(index=alias)["count"])
    except NotFoundError:
        return 0


def sample(client: Elasticsearch, alias: str, pids: dict[str, int]) -> Sample:
    """Timed after the count returned, so a slow refresh makes the time late rather than early."""
    cpu = {name: cpu_seconds(pid) for name, pid in pids.items()}
    found = searchable(client, alias)
    return Sample(time.time(), found, cpu, machine_busy_seconds())


def cores_used(first: Sample, last: Sample) -> dict[str, float]:
    """CPU used between two samples, in cores, per process and for the whole machine (``machine``)."""
    seconds = max(1e-9, last.at - first.at)
    used = {name: (last.cpu[name] - first.cpu.get(name, 0.0)) / seconds for name in last.cpu}
    used["machine"] = (last.machine - first.machine) / seconds
    return used


def story_count(client: Elasticsearch, alias: str) -> int:
    """Distinct ``story_id`` values among the documents (exact below 40,000)."""
    answer = client.search(index=alias, size=0, aggs={"stories": {"cardinality": {
        "field": "story_id", "precision_threshold": 40000}}})
    return int(answer["aggregations"]["stories"]["value"])
