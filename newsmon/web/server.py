"""The search page's HTTP server: the JSON API and the static page, on the standard library.

:class:`WebApp` answers one request (method, path, query string, headers) with a :class:`Response`
and knows nothing of sockets; :class:`WebServer` runs it in a ``ThreadingHTTPServer`` on its own
thread. Index, alert store and feed state are opened once per worker thread of a small pool
(:class:`Sources`), since SQLite connections stay in the thread that opened them.

Security for a local tool: every response carries a strict Content-Security-Policy; with no token
the server binds to loopback only and answers only requests addressed to a loopback name (no DNS
rebinding); a non-loopback host needs ``NEWSMON_WEB_TOKEN``, and then every ``/api`` request needs
``Authorization: Bearer <token>`` (also on loopback when the token is set). The one write,
``POST /api/label`` (an analyst's verdict), is also refused from another web site
(:mod:`newsmon.web.csrf`) and limited to :data:`newsmon.web.verdicts.MAX_BODY` bytes.
"""

from __future__ import annotations

import contextlib
import errno
import hmac
import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from newsmon.web import api, csrf, verdicts
from pipeline.errors import ConfigError, NewsmonError, RetryLater, UserInputError
from pipeline.settings import Settings
from pipeline.transport.sqlite_feedback import FeedbackStore
from producers.health import assess

__all__ = ["STATIC_DIR", "SECURITY_HEADERS", "Response", "Sources", "WebApp", "WebServer", "is_loopback",
           "serve_web"]

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
_STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".html": "text/html; charset=utf-8", ".svg": "image/svg+xml"}
_PAGES = ("/", "/alerts", "/feeds")
_LABEL = "/api/label"
_READ_METHODS = "GET, HEAD"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none';"
                               " frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str
    headers: Mapping[str, str] = field(default_factory=dict)


def _json(status: int, value: Any, **headers: str) -> Response:
    body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, "application/json; charset=utf-8", {"Cache-Control": "no-store", **headers})


def _error(status: int, message: str, **headers: str) -> Response:
    return _json(status, {"error": message, "status": status}, **headers)


class _Opened(threading.local):
    values: dict[str, Any]

    def __init__(self) -> None:
        self.values = {}


class Sources:
    """The index, alert store and feed-state store, opened lazily once per worker thread."""

    def __init__(self, openers: Mapping[str, Callable[[], Any]], workers: int = 4) -> None:
        self._openers = dict(openers)
        self._local = _Opened()
        self._opened: list[Any] = []
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="newsmon-web")

    def provide(self, name: str, opener: Callable[[], Any]) -> None:
        """Open ``name`` with ``opener`` too, unless the sources were given one for it already."""
        self._openers.setdefault(name, opener)

    def _get(self, name: str) -> Any:
        values = self._local.values
        if name not in values:
            values[name] = self._openers[name]()
            self._opened.append(values[name])
        return values[name]

    def run(self, work: Callable[[Callable[[str], Any]], Any]) -> Any:
        """Run ``work(get)`` on a worker thread, where ``get(name)`` is that thread's open source."""
        return self._pool.submit(work, self._get).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        for source in self._opened:
            with contextlib.suppress(Exception):  # a SQLite connection refuses to close from another thread
                source.close()


class WebApp:
    """Routes one request to the static page or the JSON API."""

    def __init__(self, settings: Settings, sources: Sources, token: str = "", check_host: bool = True,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.sources = sources
        self.token = token
        self.check_host = check_host and not token
        self.clock = clock

    def handle(self, method: str, target: str, headers: Mapping[str, str],
               read_body: Callable[[int], bytes] | None = None) -> Response:
        """Answer one request; ``headers`` by their lower-case names, ``read_body(n)`` reads n bytes
        of the body (only a write that passed every check is read)."""
        if method not in ("GET", "HEAD", "POST"):
            return _error(405, f"method {method} not allowed", Allow=_READ_METHODS)
        if self.check_host and not _loopback_host(headers.get("host", "")):
            return _error(403, "this server answers only requests addressed to localhost")
        parts = urlsplit(target)
        path = parts.path
        if (path == _LABEL) != (method == "POST"):
            allowed = "POST" if path == _LABEL else _READ_METHODS
            return _error(405, f"method {method} not allowed on {path[:80]}", Allow=allowed)
        if path.startswith("/api/"):
            if self.token and not self._authorised(headers.get("authorization", "")):
                return _error(401, "an access token is needed: open the page with ?token=… or send"
                              " Authorization: Bearer <token>", **{"WWW-Authenticate": "Bearer"})
            if method == "POST":
                return self._label(headers, read_body)
            return self._api(path[len("/api/"):], parse_qs(parts.query, keep_blank_values=True))
        if path in _PAGES or (path.startswith("/story/") and len(path) > len("/story/")):
            return self._static("index.html")
        if path.startswith("/static/"):
            return self._static(path[len("/static/"):])
        return Response(404, b"not found\n", "text/plain; charset=utf-8")

    def _authorised(self, header: str) -> bool:
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(value.strip().encode(), self.token.encode())

    def _static(self, name: str) -> Response:
        path = STATIC_DIR / name
        if "/" in name or name.startswith(".") or path.suffix not in _STATIC_TYPES or not path.is_file():
            return Response(404, b"not found\n", "text/plain; charset=utf-8")
        return Response(200, path.read_bytes(), _STATIC_TYPES[path.suffix], {"Cache-Control": "no-cache"})

    def _label(self, headers: Mapping[str, str], read_body: Callable[[int], bytes] | None) -> Response:
        """``POST /api/label``: refused from another site, over-long or malformed before anything is written."""
        refused = csrf.refusal(headers, check_origin=not self.token)
        if refused:
            return _error(*refused)
        if "transfer-encoding" in headers or not headers.get("content-length", "").strip().isdigit():
            return _error(411, "Content-Length: needed, as a number of bytes")
        length = int(headers["content-length"])
        if length > verdicts.MAX_BODY:
            return _error(413, f"body: at most {verdicts.MAX_BODY} bytes, got {length}")
        raw = read_body(length) if read_body and length else b""
        topics = list(self.settings.topics)
        return self._api("label", {}, lambda get: verdicts.label(get("index"), get("feedback"),
                                                                 verdicts.parse_label(raw, topics)))

    def _api(self, route: str, params: Mapping[str, list[str]],
             work: Callable[[Callable[[str], Any]], Any] | None = None) -> Response:
        work = work or (lambda get: self._answer(route, params, get))
        try:
            return _json(200, self.sources.run(work))
        except (api.NotFound, verdicts.NotFound) as exc:
            return _error(404, str(exc))
        except UserInputError as exc:
            return _error(400, str(exc))
        except RetryLater as exc:
            return _error(503, f"temporarily unavailable: {exc}", **{"Retry-After": "5"})
        except NewsmonError as exc:
            return _error(500, str(exc))
        except Exception:
            logger.exception("event=web_error route=%s", route)
            return _error(500, "internal error (see the server log)")

    def _answer(self, route: str, params: Mapping[str, list[str]], get: Callable[[str], Any]) -> Any:
        now = datetime.fromtimestamp(self.clock(), UTC)
        topics = list(self.settings.topics)

        def feedback() -> Any:  # the feedback store, opened only when an item shown has verdicts
            return get("feedback")

        if route == "search":
            return api.search(get("index"), api.parse_search(params, now, topics), now, topics, feedback)
        if route.startswith("story/"):
            return api.story(get("index"), unquote(route[len("story/"):]), now, feedback)
        if route == "alerts":
            return api.alerts(get("alerts"), params)
        if route == "feeds":
            return self._feeds(get("feeds"))
        if route == "health":
            backend = "sqlite" if self.settings.index.startswith("sqlite:") else "elasticsearch"
            return api.health(get("index"), topics, self.settings.web.refresh_seconds, backend)
        raise api.NotFound(f"no API route /api/{route[:80]}")

    def _feeds(self, store: Any) -> Any:
        specs = self.settings.feeds
        states = store.get_many([(f.id, f.url) for f in specs])
        return api.feeds(specs, states, lambda state, now: assess(state, now, self.settings.producer), self.clock())


def _loopback_host(host_header: str) -> bool:
    host = host_header.strip().lower()
    if host.startswith("["):
        host = host[1:host.find("]")] if "]" in host else host
    else:
        host = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return host in _LOOPBACK_NAMES


def _handler(app: WebApp) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "newsmon"
        sys_version = ""
        timeout = 30  # seconds a client may take to send its request

        def _read(self, length: int) -> bytes:
            self._body_read = length
            return self.rfile.read(length)

        def _reply(self) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            self._body_read = 0
            response = app.handle(self.command, self.path, headers, self._read)
            self.send_response(response.status)
            for name, value in {**SECURITY_HEADERS, **response.headers}.items():
                self.send_header(name, value)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
            self._drain(headers.get("content-length", ""))

        def _drain(self, length: str) -> None:
            """Read what is left of a refused body (up to 1 MiB), so that closing the connection
            does not reset it before the client has read the answer."""
            unread = int(length) - self._body_read if length.strip().isdigit() else 0
            if 0 < unread <= 1 << 20:
                with contextlib.suppress(OSError):
                    self.wfile.flush()
                    self.rfile.read(unread)

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _reply

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("event=web_request %s", format % args)

    return Handler


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


class WebServer:
    """The app on a ``ThreadingHTTPServer`` in a daemon thread; :meth:`close` stops it."""

    def __init__(self, app: WebApp, host: str, port: int) -> None:
        self.app = app
        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        try:
            self._server = server_class((host.strip("[]"), port), _handler(app))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise ConfigError(f"web.port: port {port} on {host} is in use (choose another with --port,"
                                  " web.port or NEWSMON_WEB_PORT)") from None
            raise ConfigError(f"web.host: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
        self._server.daemon_threads = True
        self.host, self.port = host.strip("[]"), self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.1,), name="newsmon-web", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        self.app.sources.close()


def serve_web(settings: Settings, sources: Sources, host: str | None = None, port: int | None = None) -> WebServer:
    """Check the security settings, open the index once (a wrong URL fails here), start serving;
    :func:`newsmon.app.start_web` gives it the real sources.

    Raises ConfigError when the host is not loopback and ``NEWSMON_WEB_TOKEN`` is unset, when the
    index cannot be opened, or when the port is taken; the sources are closed then."""
    host = settings.web.host if host is None else host
    port = settings.web.port if port is None else port
    try:
        if not is_loopback(host) and not settings.web.token:
            raise ConfigError(f"web.host: {host} is not a loopback address: set NEWSMON_WEB_TOKEN in the environment"
                              " to require an access token, or serve on 127.0.0.1")
        sources.provide("feedback", lambda: FeedbackStore(settings.state_url))
        sources.run(lambda get: get("index"))
        server = WebServer(WebApp(settings, sources, token=settings.web.token), host, port)
    except BaseException:
        sources.close()
        raise
    logger.info("event=web_started url=%s token=%s", server.url, "required" if settings.web.token else "off")
    return server
