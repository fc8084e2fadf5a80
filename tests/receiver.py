"""A local webhook receiver for alert tests: records every POST with its raw body, answers from a
script (status codes, or a stall longer than the client's timeout), and verifies signatures the
way docs/configuration.md tells a receiver to. Runs in a background thread on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Stall", "Delivery", "WebhookReceiver", "verify_signature"]


@dataclass(frozen=True)
class Stall:
    """Answer only after ``seconds`` (longer than the client's timeout), then with ``status``."""

    seconds: float
    status: int = 504


@dataclass(frozen=True)
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    received_at: float  # time.time() when the request body had been read

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


def verify_signature(secret: bytes, header: str, body: bytes, tolerance: float = 300.0) -> bool:
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret, fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"]) and abs(time.time() - int(fields["t"])) <= tolerance


@dataclass
class WebhookReceiver:
    script: list[int | Stall] = field(default_factory=list)  # answers to POSTs in order, then 200
    delay: float = 0.0  # seconds every answer takes (a slow receiver)
    requests: list[Delivery] = field(default_factory=list)
    port: int = 0  # 0: any free port

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self) -> WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def accepted(self, path: str | None = None) -> list[Delivery]:
        with self.lock:
            return [d for d in self.requests if d.accepted and (path is None or d.path == path)]

    def _next(self) -> int | Stall:
        with self.lock:
            return self.script.pop(0) if self.script else 200

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                received = time.time()
                answer = receiver._next()
                status = answer.status if isinstance(answer, Stall) else answer
                time.sleep(answer.seconds if isinstance(answer, Stall) else receiver.delay)
                with receiver.lock:
                    receiver.requests.append(Delivery(self.path, dict(self.headers), body, status, received))
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                except OSError:
                    pass  # the client gave up waiting

        return Handler
