"""The search page's HTTP server, for real on an ephemeral loopback port, spoken to with the stdlib."""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from newsmon.app import start_web
from newsmon.cli import main
from newsmon.web.server import SECURITY_HEADERS, is_loopback
from pipeline.errors import ConfigError
from tests.browser.site import CT_STORY, build_site


def get(server, path: str, headers: dict | None = None, method: str = "GET") -> tuple[int, dict, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("site")
    build_site(folder)
    return folder


@pytest.fixture
def server(site: Path):
    web = start_web(build_site_settings(site))
    yield web
    web.close()


def build_site_settings(folder: Path, token: str = ""):
    from pipeline.settings import settings_from_mapping

    env = {"NEWSMON_WEB_TOKEN": token} if token else {}
    return settings_from_mapping({"index": f"sqlite:///{folder / 'index.db'}", "state": f"sqlite:///{folder / 'state.db'}",
                                  "web": {"port": 0}}, "<test>", env)


def test_pages_and_static_files_carry_the_security_headers(server):
    for path, kind in (("/", "text/html"), ("/alerts", "text/html"), ("/feeds", "text/html"),
                       (f"/story/{CT_STORY}", "text/html"), ("/static/app.js", "text/javascript"),
                       ("/static/dom.js", "text/javascript"), ("/static/search.js", "text/javascript"),
                       ("/static/results.js", "text/javascript"), ("/static/pages.js", "text/javascript"),
                       ("/static/verdicts.js", "text/javascript"),
                       ("/static/app.css", "text/css"), ("/api/health", "application/json")):
        status, headers, _ = get(server, path)
        assert status == 200, path
        assert headers["Content-Type"].startswith(kind), path
        for name, value in SECURITY_HEADERS.items():
            assert headers[name] == value, (path, name)
    assert "default-src 'self'" in SECURITY_HEADERS["Content-Security-Policy"]


def test_the_page_is_one_static_shell_that_never_echoes_the_request(server):
    _, _, plain = get(server, "/")
    status, _, echoed = get(server, "/?q=%3Cscript%3Ealert(1)%3C/script%3E&topic=%22%3E%3Cimg%3E")
    assert status == 200 and echoed == plain
    assert b"alert(1)" not in echoed and b"<script>" not in echoed  # only <script src=...>
    assert b"<script type=\"module\" src=\"/static/app.js\"></script>" in plain


def test_api_answers_json(server):
    status, headers, body = get(server, "/api/health")
    health = json.loads(body)
    assert status == 200 and health["items"] == 12 and health["backend"] == "sqlite"
    assert headers["Cache-Control"] == "no-store"
    status, _, body = get(server, "/api/alerts?status=failed")
    assert status == 200 and [a["rule"] for a in json.loads(body)["alerts"]] == ["minerals"]
    status, _, body = get(server, f"/api/story/{CT_STORY}")
    assert status == 200 and len(json.loads(body)["items"]) == 3


def test_search_answers_stories(server):
    status, _, body = get(server, "/api/search?q=copper&limit=5")
    assert status == 200, body
    assert [s["story_id"] for s in json.loads(body)["stories"]][:1] == ["story-rekodiq"]


@pytest.mark.parametrize("path, status, message", [
    ("/api/search?q=AND%20(", 400, "invalid query"),
    ("/api/search?topic=sports", 400, "unknown topic"),
    ("/api/story/no-such-story", 404, "no items"),
    ("/api/nothing", 404, "no API route"),
])
def test_api_errors_are_json_with_a_message(server, path, status, message):
    got, headers, body = get(server, path)
    assert got == status and headers["Content-Type"].startswith("application/json")
    assert message in json.loads(body)["error"]


@pytest.mark.parametrize("path", ["/nothing", "/static/../server.py", "/static/missing.js", "/static/__init__.py",
                                  "/story/"])
def test_unknown_paths_are_404(server, path):
    assert get(server, path)[0] == 404


def test_reads_are_get_and_head_only(server):  # the one write, POST /api/label: test_label_api.py
    assert get(server, "/api/health", method="POST")[0] == 405
    status, _, body = get(server, "/", method="HEAD")
    assert status == 200 and body == b""


def test_requests_for_another_host_name_are_refused_without_a_token(server):
    status, _, body = get(server, "/api/health", headers={"Host": "attacker.example:8470"})
    assert status == 403 and "localhost" in json.loads(body)["error"]
    assert get(server, "/api/health", headers={"Host": f"localhost:{server.port}"})[0] == 200


def test_a_set_token_is_required_for_every_api_request(site: Path):
    web = start_web(build_site_settings(site, token="s3cret-token"))
    try:
        status, headers, _ = get(web, "/api/health")
        assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
        assert get(web, "/api/search", {"Authorization": "Bearer wrong"})[0] == 401
        assert get(web, "/api/health", {"Authorization": "Bearer s3cret-token"})[0] == 200
        assert get(web, "/")[0] == 200  # the shell holds no data
    finally:
        web.close()


def test_an_exposed_host_needs_a_token(site: Path):
    with pytest.raises(ConfigError, match="NEWSMON_WEB_TOKEN"):
        start_web(build_site_settings(site), host="0.0.0.0")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("")


def test_serve_refuses_an_exposed_host_in_one_line(site: Path, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.delenv("NEWSMON_WEB_TOKEN", raising=False)
    config = tmp_path / "newsmon.yaml"
    config.write_text(f"index: sqlite:///{site / 'index.db'}\nstate: sqlite:///{site / 'state.db'}\n")
    assert main(["serve", "-c", str(config), "--host", "0.0.0.0"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "web.host" in error and "NEWSMON_WEB_TOKEN" in error


def test_a_port_in_use_is_a_one_line_error_naming_it(site: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = build_site_settings(site)
        with pytest.raises(ConfigError, match=f"port {port} .*in use"):
            start_web(replace(settings, web=replace(settings.web, port=port)))
