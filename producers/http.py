"""A small HTTP/1.1 GET client with the limits a poller that runs for months needs.

- Timeouts: ``connect_timeout`` bounds the TCP (and TLS) connect, ``read_timeout`` each read, and
  ``total_timeout`` the whole exchange, redirects included: a watchdog shuts the socket down at
  the deadline, so a server that drips a byte a second cannot hold a fetch forever.
- Redirects: followed up to ``max_redirects``; a redirect back to a URL already visited is a loop.
- Size: a body larger than ``max_bytes`` is refused, before and after decompression, so a gzip
  (or brotli) bomb never grows past the cap in memory.
- Encodings: gzip and deflate always; br when the optional ``brotli`` package is installed
  (``pip install 'newsmon[brotli]'``).

Errors: :class:`~pipeline.errors.RetryLater` for what may go away (unreachable, timeouts, a
connection closed mid-response), :class:`FetchError` for what will not by itself (too large, a
redirect loop, an undecodable body). The caller decides what an HTTP status means.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
import time
import urllib.request
import zlib
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from pipeline.errors import PermanentError, RetryLater

__all__ = ["HttpLimits", "HttpResponse", "FetchError", "ACCEPT_ENCODING", "BROTLI", "http_get"]

try:  # optional: advertised only when a decompressor with an output limit is available
    import brotli as _brotli

    _brotli.Decompressor().process(b"", output_buffer_limit=1)
    BROTLI = True
except Exception:  # ImportError, or a build without output_buffer_limit
    _brotli = None
    BROTLI = False

#: The Accept-Encoding header sent with every request.
ACCEPT_ENCODING = "gzip, deflate, br" if BROTLI else "gzip, deflate"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_SSL_CONTEXT = ssl.create_default_context()


class FetchError(PermanentError):
    """Retrying right away will not help: too large, a redirect loop, 404/410, an undecodable body."""


@dataclass(frozen=True)
class HttpLimits:
    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = "newsmon"


@dataclass(frozen=True)
class HttpResponse:
    status: int
    url: str  # after redirects
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    body: bytes = b""  # content-encoding undone; empty unless 2xx
    redirects: tuple[tuple[int, str], ...] = ()  # (status, target) per hop followed


class _Decoder(Protocol):
    def feed(self, chunk: bytes) -> bytes: ...


def http_get(url: str, headers: dict[str, str], limits: HttpLimits) -> HttpResponse:
    """GET ``url``, following redirects; any final status is returned, only 2xx bodies are read."""
    deadline = time.monotonic() + limits.total_timeout
    visited, current = [url], url
    hops: list[tuple[int, str]] = []
    while True:
        response = _get_once(current, headers, limits, deadline)
        location = response.headers.get("location")
        if response.status not in _REDIRECTS or not location:
            return HttpResponse(response.status, current, response.headers, response.body, tuple(hops))
        target = _redirect_target(current, location, url)
        if target in visited:
            raise FetchError(f"{url}: redirect loop ({' -> '.join([*visited, target])})")
        if len(hops) >= limits.max_redirects:
            raise FetchError(f"{url}: more than {limits.max_redirects} redirects")
        hops.append((response.status, target))
        visited.append(target)
        current = target


def _redirect_target(current: str, location: str, origin: str) -> str:
    try:
        target = urljoin(current, location.strip())
        parts = urlsplit(target)
    except ValueError:
        raise FetchError(f"{origin}: malformed redirect Location {location[:100]!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"{origin}: redirect to a non-http(s) URL {target[:100]!r}")
    return target.split("#", 1)[0]


class _Watchdog:
    """Shuts a connection's socket down at the deadline, which ends any read blocked on it."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self.fired = False
        self._connection = connection
        self._timer = threading.Timer(max(0.0, seconds), self._fire)
        self._timer.daemon = True
        self._timer.start()

    def _fire(self) -> None:
        self.fired = True
        sock = self._connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()


def _connection(url: str, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    """A connection for ``url`` (through the environment's proxy, if any) and the request target."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"{url}: not an http(s) URL")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host, port = parts.hostname, parts.port
    https = parts.scheme == "https"
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(host):
        proxy_parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        proxy_host = proxy_parts.hostname
        if not proxy_host:  # e.g. http_proxy=http://:3128; the value is not shown, it may hold a password
            raise FetchError(f"{url}: the environment's {parts.scheme} proxy setting has no host name")
        connection = http.client.HTTPConnection(proxy_host, proxy_parts.port or 80, timeout=timeout)
        if not https:
            return connection, url.split("#", 1)[0]
        connection = http.client.HTTPSConnection(proxy_host, proxy_parts.port or 80, timeout=timeout,
                                                 context=_SSL_CONTEXT)
        connection.set_tunnel(host, port or 443)
        return connection, target
    if https:
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=_SSL_CONTEXT), target
    return http.client.HTTPConnection(host, port, timeout=timeout), target


def _get_once(url: str, headers: dict[str, str], limits: HttpLimits, deadline: float) -> HttpResponse:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise RetryLater(f"{url}: total timeout of {limits.total_timeout:g}s exceeded")
    connection, target = _connection(url, min(limits.connect_timeout, remaining))
    watchdog = _Watchdog(connection, remaining)
    try:
        connection.connect()
        connection.sock.settimeout(limits.read_timeout)
        connection.putrequest("GET", target, skip_accept_encoding=True)
        for name, value in {"User-Agent": limits.user_agent, "Accept-Encoding": ACCEPT_ENCODING, **headers}.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        found = {name.lower(): value for name, value in response.getheaders()}
        body = _read_body(response, url, found, limits, deadline) if 200 <= response.status < 300 else b""
        if watchdog.fired:
            raise RetryLater(f"{url}: total timeout of {limits.total_timeout:g}s exceeded")
        return HttpResponse(response.status, url, found, body)
    except (RetryLater, FetchError):
        if watchdog.fired:  # the shut socket looked like the server closing it
            raise RetryLater(f"{url}: total timeout of {limits.total_timeout:g}s exceeded") from None
        raise
    except Exception as exc:  # socket, TLS and protocol errors, and a socket shut by the watchdog
        raise _network_error(url, exc, watchdog.fired, limits) from None
    finally:
        watchdog.cancel()
        connection.close()


def _network_error(url: str, exc: Exception, deadline_passed: bool, limits: HttpLimits) -> RetryLater:
    if deadline_passed:
        return RetryLater(f"{url}: total timeout of {limits.total_timeout:g}s exceeded")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return RetryLater(f"{url}: timed out (connect {limits.connect_timeout:g}s, read {limits.read_timeout:g}s)")
    if isinstance(exc, http.client.IncompleteRead):
        return RetryLater(f"{url}: connection closed mid-response")
    if isinstance(exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)):
        return RetryLater(f"{url}: connection closed by the server: {exc or type(exc).__name__}")
    if isinstance(exc, (OSError, http.client.HTTPException, ssl.SSLError, ValueError)):
        reason = " ".join(str(exc).split()) or type(exc).__name__
        return RetryLater(f"{url}: unreachable: {reason}")
    raise exc


def _read_body(response: http.client.HTTPResponse, url: str, headers: dict[str, str], limits: HttpLimits,
               deadline: float) -> bytes:
    """The body, content-encoding undone, refusing anything over ``max_bytes`` as it streams in."""
    declared = headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise FetchError(f"{url}: response of {declared} bytes is larger than the {limits.max_bytes}-byte cap")
    decoder = _decoder(headers.get("content-encoding", ""), limits.max_bytes, url)
    received, parts = 0, []
    while True:
        chunk = response.read1(_CHUNK)
        if not chunk:
            break
        received += len(chunk)
        if received > limits.max_bytes:
            raise FetchError(f"{url}: response larger than the {limits.max_bytes}-byte cap")
        parts.append(decoder.feed(chunk))
        if time.monotonic() > deadline:
            raise RetryLater(f"{url}: total timeout of {limits.total_timeout:g}s exceeded")
    if response.length:  # Content-Length promised more than arrived
        raise RetryLater(f"{url}: connection closed mid-response ({received} of {declared} bytes)")
    return b"".join(parts)


def _decoder(encoding: str, limit: int, url: str) -> _Decoder:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return _Identity()
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _Zlib(encoding, limit, url)
    if encoding == "br" and BROTLI:
        return _Brotli(limit, url)
    raise FetchError(f"{url}: unsupported Content-Encoding {encoding!r}")


class _Identity:
    def feed(self, chunk: bytes) -> bytes:
        return chunk


class _Capped:
    """Counts decompressed bytes against the cap."""

    def __init__(self, limit: int, url: str) -> None:
        self.limit, self.left, self.url = limit, limit, url

    def _count(self, out: bytes) -> bytes:
        self.left -= len(out)
        if self.left < 0:
            raise FetchError(f"{self.url}: decompressed body larger than the {self.limit}-byte cap (compression bomb?)")
        return out


class _Zlib(_Capped):
    def __init__(self, encoding: str, limit: int, url: str) -> None:
        super().__init__(limit, url)
        self.encoding = encoding
        self.inflater: zlib._Decompress | None = None

    def feed(self, chunk: bytes) -> bytes:
        if self.inflater is None:  # "deflate" is zlib-wrapped by the RFC, raw in practice: sniff it
            wbits = 16 + zlib.MAX_WBITS if "gzip" in self.encoding else (
                zlib.MAX_WBITS if _zlib_header(chunk) else -zlib.MAX_WBITS)
            self.inflater = zlib.decompressobj(wbits)
        try:
            return self._count(self.inflater.decompress(chunk, self.left + 1))
        except zlib.error as exc:
            raise FetchError(f"{self.url}: corrupt {self.encoding} body: {exc}") from None


def _zlib_header(chunk: bytes) -> bool:
    return len(chunk) >= 2 and chunk[0] & 0x0F == 8 and (chunk[0] << 8 | chunk[1]) % 31 == 0


class _Brotli(_Capped):
    def __init__(self, limit: int, url: str) -> None:
        super().__init__(limit, url)
        self.decompressor = _brotli.Decompressor()

    def feed(self, chunk: bytes) -> bytes:
        try:
            out = self._count(self.decompressor.process(chunk, output_buffer_limit=self.left + 1))
            while not self.decompressor.can_accept_more_data():  # output held back by the limit
                out += self._count(self.decompressor.process(b"", output_buffer_limit=self.left + 1))
            return out
        except _brotli.error as exc:
            raise FetchError(f"{self.url}: corrupt br body: {exc}") from None
