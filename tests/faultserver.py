"""A local HTTP server for producer tests whose routes misbehave on purpose: slow drips, redirect
loops, oversized and compressed bodies, connections closed mid-response, 429s. Runs on 127.0.0.1
(or another loopback address) and an ephemeral port, records every request, and tracks how many
requests per route are in flight at once. Complements :mod:`tests.feedserver`."""

from __future__ import annotations

import gzip
import hashlib
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["FaultServer", "Handler", "content", "status", "redirect", "slow_drip", "slow_headers",
           "close_mid_response", "gzip_bomb", "encoded", "chunked", "slow"]

Handler = Callable[[BaseHTTPRequestHandler], None]


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


@dataclass
class FaultServer:
    routes: dict[str, Handler] = field(default_factory=dict)
    host: str = "127.0.0.1"
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (path, headers)
    in_flight: Counter = field(default_factory=Counter)
    max_in_flight: int = 0

    def __post_init__(self) -> None:
        self.lock = threading.Lock()
        self.httpd = _Server((self.host, 0), self._handler())
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def base(self) -> str:
        return f"http://{self.host}:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def __enter__(self) -> FaultServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)

    def _handler(self):
        server = self

        class RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                with server.lock:
                    server.requests.append((self.path, dict(self.headers)))
                    server.in_flight[self.server] += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight[self.server])
                try:
                    route = server.routes.get(self.path)
                    if route is None:
                        return status(404)(self)
                    route(self)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                finally:
                    with server.lock:
                        server.in_flight[self.server] -= 1
                    self.close_connection = True

        return RequestHandler


def _send(handler: BaseHTTPRequestHandler, code: int, body: bytes, headers: dict[str, str] | None = None) -> None:
    handler.send_response(code)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.send_header("Connection", "close")
    handler.end_headers()
    handler.wfile.write(body)


def content(get_body: Callable[[], bytes] | bytes, content_type: str = "application/rss+xml; charset=utf-8",
            headers: dict[str, str] | None = None) -> Handler:
    """200 with the body (or what ``get_body()`` returns now) and an ETag; 304 when it matches."""
    def handle(handler: BaseHTTPRequestHandler) -> None:
        body = get_body() if callable(get_body) else get_body
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        if handler.headers.get("If-None-Match") == etag:
            return _send(handler, 304, b"", {"ETag": etag})
        _send(handler, 200, body, {"ETag": etag, "Content-Type": content_type, **(headers or {})})
    return handle


def status(code: int, headers: dict[str, str] | None = None, body: bytes = b"") -> Handler:
    return lambda handler: _send(handler, code, body, headers)


def redirect(location: str, code: int = 302) -> Handler:
    return status(code, {"Location": location})


def slow(inner: Handler, seconds: float) -> Handler:
    """``inner`` after a pause (to measure concurrency)."""
    def handle(handler: BaseHTTPRequestHandler) -> None:
        time.sleep(seconds)
        inner(handler)
    return handle


def slow_drip(total: int, every: float) -> Handler:
    """Headers at once, then one byte every ``every`` seconds (each read well within a read timeout)."""
    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(total))
        handler.end_headers()
        for _ in range(total):
            handler.wfile.write(b" ")
            handler.wfile.flush()
            time.sleep(every)
    return handle


def slow_headers(every: float, count: int = 200) -> Handler:
    """The status line, then one header line every ``every`` seconds: the body never starts."""
    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for index in range(count):
            handler.wfile.write(f"X-Drip-{index}: x\r\n".encode())
            handler.wfile.flush()
            time.sleep(every)
    return handle


def close_mid_response(body: bytes, declared: int) -> Handler:
    """Promises ``declared`` bytes, sends ``body`` (fewer), closes the connection."""
    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(declared))
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()
        handler.close_connection = True
    return handle


def chunked(body: bytes, chunk: int = 64 * 1024, complete: bool = True) -> Handler:
    """Transfer-Encoding: chunked, no Content-Length; ``complete=False`` stops without the last chunk."""
    def handle(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        for start in range(0, len(body), chunk):
            part = body[start:start + chunk]
            handler.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
        if complete:
            handler.wfile.write(b"0\r\n\r\n")
        handler.wfile.flush()
    return handle


def encoded(body: bytes, encoding: str, content_type: str = "application/rss+xml; charset=utf-8") -> Handler:
    """The body compressed with ``encoding``: gzip, deflate (zlib), raw-deflate (sent as deflate) or br."""
    if encoding == "gzip":
        data = gzip.compress(body)
    elif encoding == "deflate":
        data = zlib.compress(body)
    elif encoding == "raw-deflate":
        squeezer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
        data, encoding = squeezer.compress(body) + squeezer.flush(), "deflate"
    else:
        import brotli
        data = brotli.compress(body, quality=4)
    return status(200, {"Content-Type": content_type, "Content-Encoding": encoding}, data)


def gzip_bomb(decompressed: int) -> Handler:
    """A small gzip body that inflates to ``decompressed`` bytes of zeros."""
    squeezer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1024 * 1024)
    parts = [squeezer.compress(block) for _ in range(decompressed // len(block))]
    data = b"".join(parts) + squeezer.flush()
    return status(200, {"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}, data)
