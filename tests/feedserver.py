"""A local HTTP server for tests: serves feed files with ETag/304, counts requests, and records
webhook POSTs. Runs in a background thread on 127.0.0.1 and an ephemeral port."""

from __future__ import annotations

import hashlib
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

__all__ = ["FeedServer"]

_TYPES = {".xml": "application/rss+xml; charset=utf-8", ".json": "application/feed+json", ".atom": "application/atom+xml"}


@dataclass
class FeedServer:
    files: dict[str, Path] = field(default_factory=dict)  # URL path -> file
    requests: list[tuple[str, str, int]] = field(default_factory=list)  # (method, path, status)
    posts: list[tuple[str, dict, dict]] = field(default_factory=list)  # (path, headers, json body)
    post_statuses: list[int] = field(default_factory=list)  # statuses to answer POSTs with, in order

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def statuses(self, path: str) -> list[int]:
        return [status for method, p, status in self.requests if p == path and method == "GET"]

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
                with server.lock:
                    server.requests.append((self.command, self.path, status))
                self.send_response(status)
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                path = server.files.get(self.path)
                if path is None:
                    return self._reply(404, b"not found")
                body = path.read_bytes()
                etag = '"' + hashlib.sha1(body).hexdigest() + '"'
                if self.headers.get("If-None-Match") == etag:
                    return self._reply(304, headers={"ETag": etag})
                self._reply(200, body, {"ETag": etag, "Content-Type": _TYPES.get(path.suffix, "application/xml")})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                with server.lock:
                    status = server.post_statuses.pop(0) if server.post_statuses else 200
                    if status == 200:
                        server.posts.append((self.path, dict(self.headers), json.loads(body)))
                self._reply(status, b"{}", {"Content-Type": "application/json"})

        return Handler
