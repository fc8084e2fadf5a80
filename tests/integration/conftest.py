"""Fixtures for the integration tests: a real Kafka broker, a clean slate per test, and helpers to
run the real ``newsmon`` command line against it.

The broker is ``NEWSMON_KAFKA_BOOTSTRAP`` when set (it must be a disposable broker: the tests delete
and recreate the ``newsmon.*`` topics), else the local one from ``deploy/local/services.sh up kafka``
(idempotent; stopped again at the end if this session started it). Without Java the tests skip
with the reason, except when ``CI`` is set: then that is a failure. A session holds a file lock on
the broker, so two test runs on one machine (several engineers, one broker) take turns.

newsmon's topic and group names are fixed (``newsmon.raw``, group ``classifier``, ...), so unique
prefixes cannot separate the tests. Instead every test starts from a clean slate: the ``kafka``
fixture deletes the newsmon topics and the stage groups (with their committed offsets) and waits
until they are gone; the test then creates the topics afresh. Deleting and recreating takes well
under a second in KRaft mode, against about 7 s for a fresh broker.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipeline.settings import Settings, load_settings
from pipeline.transport.base import ALL_TOPICS, TOPIC_RAW, PartitionLag, Record
from pipeline.transport.kafka_log import KafkaLog
from tests.factories import make_raw
from tests.waiting import wait_until  # the integration tests import it from here

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "deploy" / "local" / "services.sh"
STAGE_GROUPS = ("classifier", "indexer", "alerter", "newsmon-dlq-replay")


def _local_bootstrap() -> str:
    return f"127.0.0.1:{os.environ.get('NEWSMON_KAFKA_PORT', '19092')}"


def _services(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([str(SERVICES), *args], capture_output=True, text=True, timeout=timeout)


def _java_missing() -> bool:
    java_home = os.environ.get("NEWSMON_KAFKA_JAVA_HOME")
    return not (Path(java_home, "bin", "java").exists() if java_home else shutil.which("java"))


@contextmanager
def _exclusive_broker(timeout: float = 900) -> Iterator[None]:
    """Serialise test sessions on one broker: they delete and recreate the same topics and groups."""
    run_dir = Path(os.environ.get("NEWSMON_RUN_DIR", "/tmp/newsmon-services"))
    run_dir.mkdir(parents=True, exist_ok=True)
    with (run_dir / "kafka-integration-tests.lock").open("w") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.fail(f"another test session held the Kafka test lock for {timeout:g}s", pytrace=False)
                time.sleep(1)
        yield


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """host:port of a running broker for the whole session (held exclusively by this session)."""
    external = os.environ.get("NEWSMON_KAFKA_BOOTSTRAP")
    if not external and _java_missing():
        reason = ("Kafka integration tests need Java (none on PATH; set NEWSMON_KAFKA_JAVA_HOME,"
                  " or NEWSMON_KAFKA_BOOTSTRAP for a running broker)")
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run them, a skip is a failure", pytrace=False)
        pytest.skip(reason)
    with _exclusive_broker():
        if external:
            yield external
            return
        was_running = _services("status", "kafka").returncode == 0
        started = _services("up", "kafka")
        if started.returncode != 0:
            pytest.fail(f"deploy/local/services.sh up kafka failed:\n{started.stdout}{started.stderr}", pytrace=False)
        yield _local_bootstrap()
        if not was_running:
            _services("down", "kafka")


@dataclass
class Proc:
    """A background ``newsmon`` process whose stderr goes to a file."""

    popen: subprocess.Popen
    stderr_path: Path

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        return self.popen.wait(timeout)


@dataclass
class KafkaEnv:
    """One test's view of the broker: writes configs, runs the CLI, inspects topics and groups."""

    bootstrap: str
    tmp: Path
    procs: list[Proc]

    @property
    def url(self) -> str:
        return f"kafka://{self.bootstrap}"

    def write_config(self, name: str = "newsmon.yaml", extra: str = "", **kafka: object) -> Path:
        """A config on this broker; ``kafka`` keys override the test defaults (6 partitions, short timeouts)."""
        options = {"partitions": 6, "session_timeout": "6s", "request_timeout": "10s", **kafka}
        config = self.tmp / name
        config.write_text(f"""
log: {self.url}
index: sqlite:///{self.tmp}/index.db
state: sqlite:///{self.tmp}/state.db
kafka: {json.dumps(options)}
consumer: {{poll_timeout: 1s, backoff_initial: 0.2s, backoff_max: 2s}}
{extra}
""")
        return config

    def settings(self, config: Path) -> Settings:
        return load_settings(config)

    def log(self, config: Path) -> KafkaLog:
        return KafkaLog(self.url, self.settings(config))

    def newsmon(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "newsmon.cli", *args], cwd=self.tmp, capture_output=True,
                              text=True, timeout=timeout)

    def start(self, name: str, *args: str) -> Proc:
        stderr_path = self.tmp / f"{name}.stderr"
        popen = subprocess.Popen([sys.executable, "-m", "newsmon.cli", *args], cwd=self.tmp,
                                 stdout=subprocess.DEVNULL, stderr=stderr_path.open("w"))
        proc = Proc(popen, stderr_path)
        self.procs.append(proc)
        return proc

    def lag(self, config: Path, group: str, topic: str) -> list[PartitionLag]:
        log = self.log(config)
        try:
            return log.lag(group, topic)
        finally:
            log.close()

    def read(self, config: Path, topic: str, limit: int = 100_000) -> list[Record]:
        log = self.log(config)
        try:
            return log.read_from_start(topic, limit)
        finally:
            log.close()

    def publish(self, config: Path, records: Sequence[tuple[str, str, bytes]]) -> None:
        """Create the topics and publish (topic, key, value) records through the adapter."""
        log = self.log(config)
        try:
            log.ensure_topics(ALL_TOPICS)
            producer = log.producer()
            for topic, key, value in records:
                producer.publish(topic, key, value)
            producer.flush()
        finally:
            log.close()


def raw_records(count: int, prefix: str = "item") -> list[tuple[str, str, bytes]]:
    """``count`` valid newsmon.raw records keyed by their item id."""
    out = []
    for i in range(count):
        item = make_raw(id=f"{prefix}-{i:05d}", url=f"https://example.test/{prefix}/{i}", guid=f"{prefix}-{i}",
                        title=f"Militants attack checkpoint {i} near Quetta", summary=f"Report number {i}.")
        out.append((TOPIC_RAW, item.id, item.to_json()))
    return out


def _delete_everything(bootstrap: str) -> None:
    from kafka import KafkaAdminClient  # only the clean-up talks to Kafka directly

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, bootstrap_timeout_ms=10_000)
    try:
        present = [t for t in admin.list_topics() if t in ALL_TOPICS]
        if present:
            admin.delete_topics(present, raise_errors=False)
        wait_until(lambda: not set(admin.list_topics()) & set(ALL_TOPICS), 30, "newsmon topics to be deleted")
        wait_until(lambda: _groups_deleted(admin), 30, "stage consumer groups to empty and be deleted", 1.0)
    finally:
        admin.close()


def _groups_deleted(admin) -> bool:
    """True when no stage group is left (a group with live members, e.g. a killed one, is retried;
    so is a fresh broker whose group coordinator is not available yet)."""
    from kafka.errors import KafkaError

    try:
        results = admin.delete_groups(list(STAGE_GROUPS))
    except KafkaError as exc:
        if getattr(exc, "retriable", False):
            return False
        raise
    return all(result in ("OK", "GroupIdNotFoundError") for result in results.values())


@pytest.fixture
def kafka(kafka_bootstrap: str, tmp_path: Path) -> Iterator[KafkaEnv]:
    """A clean slate (no newsmon topics, no stage groups) and a helper; stops its processes afterwards."""
    _delete_everything(kafka_bootstrap)
    env = KafkaEnv(kafka_bootstrap, tmp_path, [])
    yield env
    for proc in env.procs:
        if proc.popen.poll() is None:
            proc.popen.kill()
            proc.popen.wait(30)


def stopped_line(stderr: str) -> dict[str, str]:
    """The ``event=stopped`` line of ``newsmon consume`` as a dict (empty when absent)."""
    for line in stderr.splitlines():
        if "event=stopped" in line:
            return dict(part.split("=", 1) for part in line.split() if "=" in part)
    return {}


def dump(value: object) -> str:
    return json.dumps(value, default=str, indent=1)
