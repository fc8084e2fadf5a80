"""Fixtures for the Elasticsearch integration tests: a real node for the session, a fresh alias per test.

The node is ``NEWSMON_ES_URL`` when set (tests create and delete their own ``t<hex>-items-*``
indices and templates there), else the local one from ``deploy/local/services.sh up elasticsearch``
(idempotent; stopped again at the end if this session started it). Elasticsearch 9 needs Java 21+,
found the way ``deploy/local/elasticsearch.sh`` finds it; without one the tests skip with the
reason, except when ``CI`` is set: then that is a failure.

Test modules import the fixtures they use: ``from tests.integration.es_fixtures import es, es_url``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from elasticsearch import Elasticsearch

from pipeline.settings import Settings, load_settings
from pipeline.transport.elasticsearch_index import ElasticsearchIndex

__all__ = ["es_url", "es", "EsEnv", "java21_home", "services", "LOCAL_ES_URL"]

REPO = Path(__file__).resolve().parents[2]
SERVICES = REPO / "deploy" / "local" / "services.sh"
LOCAL_ES_URL = f"http://127.0.0.1:{os.environ.get('NEWSMON_ES_PORT', '19200')}"


def services(*args: str, timeout: float = 300, keep_data: bool = False) -> subprocess.CompletedProcess:
    env = {**os.environ, "NEWSMON_KEEP_DATA": "1"} if keep_data else None
    return subprocess.run([str(SERVICES), *args], capture_output=True, text=True, timeout=timeout, env=env)


def _java_major(home: Path) -> int:
    try:
        found = re.search(r'^JAVA_VERSION="(\d+)', (home / "release").read_text(), re.MULTILINE)
    except OSError:
        return 0
    return int(found.group(1)) if found else 0


def java21_home() -> Path | None:
    """A JDK >= 21 with javac, as deploy/local/elasticsearch.sh chooses it (env first, then /usr/lib/jvm)."""
    for name in ("NEWSMON_ES_JAVA_HOME", "ES_JAVA_HOME"):
        if os.environ.get(name):
            home = Path(os.environ[name])
            return home if (home / "bin" / "javac").exists() and _java_major(home) >= 21 else None
    jvm = Path("/usr/lib/jvm")
    candidates = [p for p in jvm.glob("*") if (p / "bin" / "javac").exists() and _java_major(p) >= 21] if jvm.is_dir() else []
    return max(candidates, key=_java_major, default=None)


def _answers(url: str) -> bool:
    with Elasticsearch(url, request_timeout=5, max_retries=0) as client:
        try:
            return bool(client.ping())
        except Exception:
            return False


@pytest.fixture(scope="session")
def es_url() -> Iterator[str]:
    """The URL of a running Elasticsearch node for the whole session."""
    external = os.environ.get("NEWSMON_ES_URL")
    if external:
        yield external
        return
    if java21_home() is None:
        reason = ("Elasticsearch integration tests need a JDK 21+ under /usr/lib/jvm (or NEWSMON_ES_JAVA_HOME),"
                  " or NEWSMON_ES_URL")
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run them, a skip is a failure", pytrace=False)
        pytest.skip(reason)
    if _answers(LOCAL_ES_URL):  # running, whoever started it: use it, leave it running
        yield LOCAL_ES_URL
        return
    was_running = services("status", "elasticsearch").returncode == 0
    started = services("up", "elasticsearch")
    if started.returncode != 0:
        pytest.fail(f"deploy/local/services.sh up elasticsearch failed:\n{started.stdout}{started.stderr}",
                    pytrace=False)
    yield LOCAL_ES_URL
    if not was_running:
        services("down", "elasticsearch")


@dataclass
class EsEnv:
    """One test's slice of the node: its own alias (so its own template and monthly indices)."""

    url: str
    alias: str
    tmp: Path

    @property
    def local(self) -> bool:
        """True when the node is the local one run by deploy/local/services.sh (its pid file in place),
        which a test may stop and start."""
        return (self.url == LOCAL_ES_URL and not os.environ.get("NEWSMON_ES_URL")
                and services("status", "elasticsearch").returncode == 0)

    def yaml(self) -> str:
        """The index part of a configuration file."""
        return (f"index: {self.url}\nelasticsearch: {{alias: {self.alias}, replicas: 0, request_timeout: 10s,"
                f" bulk_backoff_initial: 0.2s, bulk_backoff_max: 1s}}\n")

    def settings(self, **env: str) -> Settings:
        variables = {"NEWSMON_INDEX": self.url, "NEWSMON_ELASTICSEARCH_ALIAS": self.alias,
                     "NEWSMON_ELASTICSEARCH_REPLICAS": "0", "NEWSMON_ELASTICSEARCH_BULK_BACKOFF_INITIAL": "0.2s",
                     "NEWSMON_ELASTICSEARCH_BULK_BACKOFF_MAX": "1s", **env}
        return load_settings(None, variables)

    def index(self, **env: str) -> ElasticsearchIndex:
        return ElasticsearchIndex(self.url, self.settings(**env))

    def client(self) -> Elasticsearch:
        return Elasticsearch(self.url, request_timeout=30)

    def refresh(self) -> None:
        with self.client() as client:
            client.indices.refresh(index=f"{self.alias}-*", ignore_unavailable=True, allow_no_indices=True)

    def newsmon(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "newsmon.cli", *args], cwd=self.tmp, capture_output=True,
                              text=True, timeout=timeout)


@pytest.fixture
def es(es_url: str, tmp_path: Path) -> Iterator[EsEnv]:
    env = EsEnv(es_url, f"t{uuid.uuid4().hex[:10]}-items", tmp_path)
    yield env
    try:
        with env.client() as client:
            names = list(client.indices.get(index=f"{env.alias}-*", allow_no_indices=True).body)
            if names:  # by name: a real cluster may refuse wildcard deletes
                client.indices.delete(index=",".join(names))
            client.options(ignore_status=404).indices.delete_index_template(name=env.alias)
    except Exception:  # the node may be down after a failed outage test; the next session starts fresh
        pass
