"""``POST /api/label`` over real HTTP: verdicts recorded and the documents rewritten as ``newsmon label``
does, and every refusal (token, content type, another site's origin, bad fields, unknown ids, size,
method) answered with its status and a one-line message, with nothing written."""

from __future__ import annotations

import http.client
import json
import socket
from pathlib import Path

import pytest

from newsmon import cli
from newsmon.app import start_web
from pipeline.query import parse_query
from pipeline.transport.base import SearchFilters
from pipeline.transport.sqlite_feedback import FeedbackStore
from pipeline.transport.sqlite_index import SqliteIndex
from tests.browser.site import CT_STORY, build_site

CT, MIN = "counterterrorism", "minerals_cooperation"
CT_ITEMS = ["item-01", "item-02", "item-03"]


def request(server, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), json.loads(response.read() or b"null")
    finally:
        connection.close()


def post(server, value, headers: dict | None = None, content_type: str | None = "application/json"):
    sent = {"Content-Type": content_type} if content_type else {}
    raw = value if isinstance(value, bytes) else json.dumps(value).encode()
    return request(server, "POST", "/api/label", raw, {**sent, **(headers or {})})


def verdicts_in(folder: Path) -> list:
    store = FeedbackStore(f"sqlite:///{folder / 'state.db'}")
    try:
        return store.history()
    finally:
        store.close()


def docs_with_feedback(folder: Path) -> dict[str, dict]:
    index = SqliteIndex(f"sqlite:///{folder / 'index.db'}")
    try:
        hits = index.search(parse_query(""), SearchFilters(), limit=100).hits
        return {hit.doc["id"]: hit.doc["feedback"] for hit in hits if "feedback" in hit.doc}
    finally:
        index.close()


def nothing_written(folder: Path) -> bool:
    return verdicts_in(folder) == [] and docs_with_feedback(folder) == {}


@pytest.fixture
def site(tmp_path: Path):
    """A server of its own on a fresh site (the tests here write), and its folder."""
    web = start_web(build_site(tmp_path, hostile=False))
    yield web, tmp_path
    web.close()


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """One server for the refusals, which write nothing."""
    folder = tmp_path_factory.mktemp("refusals")
    web = start_web(build_site(folder, hostile=False))
    yield web, folder
    web.close()


# -- recording ------------------------------------------------------------------------------------

def test_a_story_verdict_lands_on_every_item_and_is_searchable(site):
    web, folder = site
    status, _, answer = post(web, {"story_id": CT_STORY, "topic": CT, "verdict": "no", "who": "ana"})
    assert status == 200, answer
    assert sorted(i["id"] for i in answer["items"]) == CT_ITEMS
    assert all(i["feedback"] == {CT: "no"} and i["feedback_by"] == {CT: "ana"} for i in answer["items"])
    _, _, story = request(web, "GET", f"/api/story/{CT_STORY}")
    assert [(i["feedback"], i["feedback_by"]) for i in story["items"]] == [({CT: "no"}, {CT: "ana"})] * 3
    _, _, found = request(web, "GET", "/api/search?q=feedback.counterterrorism:no")
    assert [s["story_id"] for s in found["stories"]] == [CT_STORY]
    assert found["stories"][0]["item"]["feedback_by"] == {CT: "ana"}
    assert found["facets"]["feedback"] == [["counterterrorism:no", 3]]
    assert sorted((v.item_id, v.topic, v.verdict, v.who) for v in verdicts_in(folder)) == [
        (item, CT, "no", "ana") for item in CT_ITEMS]


def test_the_documents_are_written_exactly_as_newsmon_label_writes_them(site, tmp_path_factory, capsys):
    web, folder = site
    assert post(web, {"story_id": CT_STORY, "topic": CT, "verdict": "no"})[0] == 200
    other = tmp_path_factory.mktemp("cli")
    settings_file = other / "newsmon.yaml"
    build_site(other, hostile=False)
    settings_file.write_text(f"index: sqlite:///{other / 'index.db'}\nstate: sqlite:///{other / 'state.db'}\n")
    assert cli.main(["label", "--story", CT_STORY, "--topic", f"{CT}=no", "-c", str(settings_file)]) == 0
    capsys.readouterr()
    web_index, cli_index = (SqliteIndex(f"sqlite:///{f / 'index.db'}") for f in (folder, other))
    try:
        for item in CT_ITEMS:
            by_web, by_cli = web_index.get(item), cli_index.get(item)
            assert by_web is not None and by_web["feedback"] == {CT: "no"}
            strip = ("@timestamp", "published", "fetched_at", "classified_at", "indexed_at")  # two builds
            assert {k: v for k, v in by_web.items() if k not in strip} == {k: v for k, v in by_cli.items()
                                                                           if k not in strip}
    finally:
        web_index.close()
        cli_index.close()
    assert [v.who for v in verdicts_in(folder)] == ["web"] * 3  # the default name


def test_an_item_verdict_on_another_topic_then_a_withdrawal(site):
    web, folder = site
    status, _, answer = post(web, {"item_id": "item-09", "topic": MIN, "verdict": "yes"})
    assert status == 200 and answer["items"] == [{"id": "item-09", "story_id": "story-09", "feedback": {MIN: "yes"},
                                                  "feedback_by": {MIN: "web"}}]
    assert docs_with_feedback(folder) == {"item-09": {MIN: "yes"}}
    status, _, answer = post(web, {"item_id": "item-09", "topic": MIN, "verdict": None})
    assert status == 200 and answer["items"][0]["feedback"] == {}
    assert docs_with_feedback(folder) == {}
    assert [v.verdict for v in verdicts_in(folder)] == [None, "yes"]  # newest first


def test_the_page_s_own_origin_is_accepted(site):
    web, _ = site
    for host in (f"127.0.0.1:{web.port}", f"localhost:{web.port}"):
        status, _, answer = post(web, {"item_id": "item-06", "topic": CT, "verdict": "yes"},
                                 {"Host": host, "Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"})
        assert status == 200, answer


# -- the token --------------------------------------------------------------------------------------

def test_with_a_token_a_write_needs_it(tmp_path: Path):
    web = start_web(build_site(tmp_path, token="tok-9", hostile=False))
    try:
        body = {"story_id": CT_STORY, "topic": CT, "verdict": "no"}
        status, headers, answer = post(web, body)
        assert status == 401 and headers["WWW-Authenticate"] == "Bearer" and "token" in answer["error"]
        assert post(web, body, {"Authorization": "Bearer wrong"})[0] == 401
        assert nothing_written(tmp_path)
        status, _, answer = post(web, body, {"Authorization": "Bearer tok-9"})
        assert status == 200 and len(answer["items"]) == 3
        assert len(docs_with_feedback(tmp_path)) == 3
    finally:
        web.close()


# -- refusals -------------------------------------------------------------------------------------

GOOD = {"story_id": CT_STORY, "topic": CT, "verdict": "no"}


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonp"])
def test_a_write_that_is_not_json_is_refused(shared, content_type):
    web, folder = shared
    status, _, answer = post(web, GOOD, content_type=content_type)
    assert status == 415 and answer["error"].startswith("Content-Type: expected application/json")
    assert nothing_written(folder)


@pytest.mark.parametrize("headers", [
    {"Origin": "http://attacker.example"}, {"Origin": "null"}, {"Origin": "http://127.0.0.1:1"},
    {"Origin": "https://127.0.0.1"}, {"Sec-Fetch-Site": "cross-site"},
])
def test_a_write_from_another_site_is_refused(shared, headers):
    web, folder = shared
    status, _, answer = post(web, GOOD, headers)
    assert status == 403 and "another web site" in answer["error"]
    assert nothing_written(folder)


@pytest.mark.parametrize("body, status, named", [
    ({"story_id": CT_STORY, "topic": CT, "verdict": "maybe"}, 400, "verdict:"),
    ({"story_id": CT_STORY, "topic": CT}, 400, "verdict:"),
    ({"story_id": CT_STORY, "topic": CT, "verdict": True}, 400, "verdict:"),
    ({"story_id": CT_STORY, "topic": "sports", "verdict": "no"}, 400, "topic:"),
    ({"story_id": CT_STORY, "verdict": "no"}, 400, "topic:"),
    ({"topic": CT, "verdict": "no"}, 400, "item_id:"),
    ({"item_id": "item-01", "story_id": CT_STORY, "topic": CT, "verdict": "no"}, 400, "item_id:"),
    ({"item_id": 7, "topic": CT, "verdict": "no"}, 400, "item_id:"),
    ({**GOOD, "who": "x" * 65}, 400, "who:"),
    ({**GOOD, "who": "ana\nbo"}, 400, "who:"),
    ({**GOOD, "extra": 1}, 400, "extra:"),
    (b"{not json", 400, "body:"),
    (b"[1, 2]", 400, "body:"),
    (b"\xff\xfe", 400, "body:"),
    ({"item_id": "no-such-item", "topic": CT, "verdict": "no"}, 404, "item_id:"),
    ({"story_id": "no-such-story", "topic": CT, "verdict": "no"}, 404, "story_id:"),
])
def test_bad_fields_are_named_and_write_nothing(shared, body, status, named):
    web, folder = shared
    got, _, answer = post(web, body)
    assert got == status and answer["error"].startswith(named) and "\n" not in answer["error"]
    assert nothing_written(folder)


def test_a_body_over_16_kb_is_refused_unread(shared):
    web, folder = shared
    status, _, answer = post(web, {**GOOD, "who": "a", "pad": "x" * 17000})
    assert status == 413 and answer["error"].startswith("body: at most 16384 bytes")
    assert nothing_written(folder)


def test_a_body_without_a_length_is_refused(shared):
    web, folder = shared
    body = json.dumps(GOOD).encode()
    request = (b"POST /api/label HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n" + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
    with socket.create_connection(("127.0.0.1", web.port), timeout=10) as sock:
        sock.sendall(request)  # in one write: the server may answer and close before reading the body
        answer = sock.makefile("rb").readline()
    assert answer.split()[1] == b"411", answer
    assert nothing_written(folder)


def test_other_methods_and_routes_are_not_allowed(shared):
    web, folder = shared
    for method, path, allowed in [("GET", "/api/label", "POST"), ("HEAD", "/api/label", "POST"),
                                  ("PUT", "/api/label", "GET, HEAD"), ("DELETE", "/api/label", "GET, HEAD"),
                                  ("POST", "/api/search", "GET, HEAD"), ("POST", "/", "GET, HEAD"),
                                  ("POST", "/api/label/x", "GET, HEAD")]:
        connection = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
        try:
            connection.request(method, path, json.dumps(GOOD).encode(), {"Content-Type": "application/json"})
            response = connection.getresponse()
            assert (response.status, response.getheader("Allow")) == (405, allowed), (method, path)
        finally:
            connection.close()
    assert nothing_written(folder)


def test_a_write_addressed_to_another_host_name_is_refused(shared):
    web, folder = shared
    status, _, answer = post(web, GOOD, {"Host": "attacker.example", "Origin": "http://attacker.example"})
    assert status == 403 and "localhost" in answer["error"]
    assert nothing_written(folder)
