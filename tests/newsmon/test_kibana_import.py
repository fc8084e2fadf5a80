"""``newsmon setup --kibana URL``: the saved objects go to Kibana's import API as it expects them, and
an unreachable Kibana or a failed import is reported in one line."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from newsmon.kibana import SAVED_OBJECTS, import_saved_objects
from pipeline.errors import ConfigError, NewsmonError
from pipeline.settings import ElasticsearchSettings


class FakeKibana:
    """Answers POST /api/saved_objects/_import like Kibana, recording what it received."""

    def __init__(self, answer: dict, status: int = 200) -> None:
        self.requests: list[tuple[str, dict, bytes]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                reply = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_the_saved_objects_are_imported_with_overwrite_and_the_xsrf_header():
    kibana = FakeKibana({"success": True, "successCount": 11, "errors": []})
    try:
        line = import_saved_objects(kibana.url, ElasticsearchSettings(api_key="abc"))
    finally:
        kibana.close()
    assert line == f"kibana ready: {kibana.url} (11 imported, 0 failed)"
    (path, headers, body), = kibana.requests
    assert path == "/api/saved_objects/_import?overwrite=true"
    assert headers["kbn-xsrf"] == "true" and headers["authorization"] == "ApiKey abc"
    assert headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="file"; filename="saved-objects.ndjson"' in body and SAVED_OBJECTS.read_bytes() in body


def test_a_failed_import_names_the_first_object():
    kibana = FakeKibana({"success": False, "successCount": 10, "errors": [
        {"id": "newsmon-dashboard", "type": "dashboard", "error": {"type": "missing_references"}}]})
    try:
        with pytest.raises(NewsmonError, match="10 imported, 1 failed; first: dashboard newsmon-dashboard"):
            import_saved_objects(kibana.url, ElasticsearchSettings())
    finally:
        kibana.close()


def test_an_unreachable_kibana_is_a_one_line_config_error():
    with pytest.raises(ConfigError, match=r"cannot reach Kibana at http://127\.0\.0\.1:1"):
        import_saved_objects("http://127.0.0.1:1", ElasticsearchSettings())
    with pytest.raises(ConfigError, match="expected an http"):
        import_saved_objects("kibana:5601", ElasticsearchSettings())
