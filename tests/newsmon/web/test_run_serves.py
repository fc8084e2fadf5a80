"""``newsmon run`` serves the search page while it runs, and stops serving when it stops."""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from dataclasses import replace

import pytest

from newsmon.app import run_embedded
from pipeline.errors import ConfigError
from pipeline.loop import StopSignal
from pipeline.settings import load_settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def health(port: int) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, ConnectionError):
        return None


def settings_for(tmp_path, port: int, enabled: bool = True):
    settings = replace(load_settings(None, {}), log=f"sqlite:///{tmp_path}/log.db",
                       index=f"sqlite:///{tmp_path}/index.db")
    return replace(settings, web=replace(settings.web, port=port, enabled=enabled))


def test_run_serves_the_page_until_stopped(tmp_path):
    port = free_port()
    stop = StopSignal()
    runner = threading.Thread(target=run_embedded, args=(settings_for(tmp_path, port), stop), kwargs={"once": False})
    runner.start()
    try:
        deadline = time.monotonic() + 60
        while (answer := health(port)) is None and time.monotonic() < deadline and runner.is_alive():
            time.sleep(0.2)
        assert answer is not None and answer["items"] == 0
    finally:
        stop.set()
        runner.join(timeout=30)
    assert not runner.is_alive()
    assert health(port) is None


def test_run_stops_at_once_when_the_port_is_taken(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=str(port)):
            run_embedded(settings_for(tmp_path, port), StopSignal(), once=False)
