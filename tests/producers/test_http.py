"""producers.http and producers.fetch against a local server that misbehaves on purpose."""

from __future__ import annotations

import time

import pytest

from pipeline.errors import RetryLater
from producers.fetch import FetchError, Validators, fetch_feed, fetch_page
from producers.http import ACCEPT_ENCODING, BROTLI, HttpLimits, http_get
from tests.faultserver import (
    FaultServer,
    chunked,
    close_mid_response,
    content,
    encoded,
    gzip_bomb,
    redirect,
    slow_drip,
    slow_headers,
    status,
)

FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        + b"".join(b"<item><title>Story %d about copper</title><link>https://e.example/%d</link></item>" % (i, i)
                   for i in range(50)) + b"</channel></rss>")
LIMITS = HttpLimits(connect_timeout=2, read_timeout=2, total_timeout=5, max_bytes=200_000, max_redirects=3,
                    user_agent="newsmon-test/1")


@pytest.fixture
def server():
    with FaultServer() as srv:
        yield srv


def test_conditional_get_sends_validators_and_returns_304(server):
    server.routes["/feed"] = content(FEED)
    first = fetch_feed(server.url("/feed"), Validators(), LIMITS)
    assert first.status == 200 and first.body == FEED and first.validators.etag
    second = fetch_feed(server.url("/feed"), first.validators, LIMITS)
    assert second.not_modified and second.validators == first.validators
    sent = server.requests[-1][1]
    assert sent["If-None-Match"] == first.validators.etag
    assert sent["User-Agent"] == "newsmon-test/1" and sent["Accept-Encoding"] == ACCEPT_ENCODING


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "raw-deflate"] + (["br"] if BROTLI else []))
def test_compressed_bodies_are_decoded(server, encoding):
    server.routes["/feed"] = encoded(FEED, encoding)
    assert http_get(server.url("/feed"), {}, LIMITS).body == FEED


def test_gzip_bomb_is_refused_without_inflating_it(server):
    server.routes["/bomb"] = gzip_bomb(64 * 1024 * 1024)
    with pytest.raises(FetchError, match="decompressed body larger than the 200000-byte cap"):
        http_get(server.url("/bomb"), {}, LIMITS)


@pytest.mark.skipif(not BROTLI, reason="brotli is not installed (pip install 'newsmon[brotli]')")
def test_brotli_bomb_is_refused(server):
    server.routes["/bomb"] = encoded(b"\0" * (32 * 1024 * 1024), "br")
    with pytest.raises(FetchError, match="compression bomb"):
        http_get(server.url("/bomb"), {}, LIMITS)


@pytest.mark.parametrize("route", [status(200, {"Content-Type": "text/xml"}, b"x" * 300_000), chunked(b"x" * 300_000)],
                         ids=["content-length", "chunked"])
def test_oversized_body_is_refused(server, route):
    server.routes["/big"] = route
    with pytest.raises(FetchError, match="larger than the 200000-byte cap"):
        http_get(server.url("/big"), {}, LIMITS)


def test_redirects_are_followed_and_a_permanent_first_hop_reported(server):
    server.routes.update({"/old": redirect("/middle", 301), "/middle": redirect("/feed", 302), "/feed": content(FEED)})
    result = fetch_feed(server.url("/old"), Validators(), LIMITS)
    assert result.url == server.url("/feed") and result.moved_to == server.url("/middle")


def test_redirect_loop_is_an_error(server):
    server.routes.update({"/a": redirect("/b"), "/b": redirect("/a")})
    with pytest.raises(FetchError, match="redirect loop"):
        http_get(server.url("/a"), {}, LIMITS)
    assert server.hits("/a") == 1 and server.hits("/b") == 1


def test_too_many_redirects(server):
    server.routes.update({f"/r{i}": redirect(f"/r{i + 1}") for i in range(10)})
    with pytest.raises(FetchError, match="more than 3 redirects"):
        http_get(server.url("/r0"), {}, LIMITS)


def test_redirect_to_another_scheme_is_refused(server):
    server.routes["/x"] = redirect("file:///etc/passwd")
    with pytest.raises(FetchError, match="non-http"):
        http_get(server.url("/x"), {}, LIMITS)


def test_read_timeout(server):
    server.routes["/stall"] = slow_drip(10, every=1.5)
    limits = HttpLimits(connect_timeout=1, read_timeout=0.5, total_timeout=10, max_bytes=1000)
    with pytest.raises(RetryLater, match="timed out"):
        http_get(server.url("/stall"), {}, limits)


@pytest.mark.parametrize("route", [slow_drip(1000, every=0.1), slow_headers(every=0.1)], ids=["body", "headers"])
def test_a_slow_drip_cannot_hold_a_fetch_past_the_total_timeout(server, route):
    server.routes["/drip"] = route
    limits = HttpLimits(connect_timeout=1, read_timeout=1, total_timeout=1.5, max_bytes=10_000)
    started = time.monotonic()
    with pytest.raises(RetryLater, match=r"total timeout of 1\.5s exceeded"):
        http_get(server.url("/drip"), {}, limits)
    assert time.monotonic() - started < 3


@pytest.mark.parametrize("route", [close_mid_response(FEED[:100], len(FEED)), chunked(FEED, 64, complete=False)],
                         ids=["content-length", "chunked"])
def test_connection_closed_mid_response(server, route):
    server.routes["/cut"] = route
    with pytest.raises(RetryLater, match="closed"):
        http_get(server.url("/cut"), {}, LIMITS)


def test_unreachable_is_retry_later():
    with pytest.raises(RetryLater, match="unreachable"):
        http_get("http://127.0.0.1:9/feed", {}, LIMITS)


@pytest.mark.parametrize("code, headers, error, retry_after", [
    (429, {"Retry-After": "120"}, RetryLater, 120.0),
    (503, {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}, RetryLater, "future"),
    (500, {}, RetryLater, None),
    (404, {}, FetchError, None),
    (410, {}, FetchError, None),
])
def test_statuses(server, code, headers, error, retry_after):
    server.routes["/s"] = status(code, headers)
    with pytest.raises(error, match=f"HTTP {code}") as info:
        fetch_feed(server.url("/s"), Validators(), LIMITS)
    if retry_after == "future":
        assert info.value.retry_after > 86400
    elif error is RetryLater:
        assert info.value.retry_after == retry_after


def test_unsupported_content_encoding(server):
    server.routes["/z"] = status(200, {"Content-Encoding": "zstd"}, b"....")
    with pytest.raises(FetchError, match="unsupported Content-Encoding 'zstd'"):
        http_get(server.url("/z"), {}, LIMITS)


def test_fetch_page_asks_for_html(server):
    server.routes["/article"] = content(b"<html><body><p>x</p></body></html>", "text/html")
    page = fetch_page(server.url("/article"), LIMITS)
    assert page.body.startswith(b"<html>") and "text/html" in server.requests[-1][1]["Accept"]


def test_a_proxy_setting_without_a_host_name_is_a_fetch_error_that_hides_the_value(monkeypatch):
    monkeypatch.setenv("http_proxy", "http://user:secret@:3128")
    monkeypatch.delenv("no_proxy", raising=False)
    with pytest.raises(FetchError, match="http proxy setting has no host name") as caught:
        http_get("http://feeds.example.test/rss", {}, LIMITS)
    assert "secret" not in str(caught.value)
