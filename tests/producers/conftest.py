"""Fixtures the poller tests share: a local HTTP server that misbehaves on request, and a state file."""

import pytest

from tests.faultserver import FaultServer


@pytest.fixture
def server():
    with FaultServer() as srv:
        yield srv


@pytest.fixture
def db(tmp_path):
    return f"sqlite:///{tmp_path}/state.db"
