"""The upstream request head, built in one pass, against the multi-dict reference.

The proxy writes the upstream head straight from the client's headers (or from
``ctx.upstream_headers`` when a plugin edited them).  These tests pin that pass to
the plain definition: copy the headers, drop hop-by-hop ones, set each forwarded
header on a ``CIMultiDict`` (in place at its first occurrence, else appended).
"""

from __future__ import annotations

import itertools

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from host.context import Context
from host.proxy.headers import (
    HOP_BY_HOP,
    build_request_head,
    upstream_header_lines,
    upstream_request_headers,
)
from host.settings import Settings


def _reference_copy(client: CIMultiDictProxy[str]) -> CIMultiDict[str]:
    headers: CIMultiDict[str] = CIMultiDict(client)
    named = set()
    for value in client.getall("Connection", ()):
        for tok in value.split(","):
            tok = tok.strip().lower()
            if tok and tok not in ("close", "keep-alive", "upgrade"):
                named.add(tok)
    for name in HOP_BY_HOP:
        if name in headers:
            del headers[name]
    for name in named:
        headers.popall(name, None)
    te = client.get("TE")
    if te and "trailers" in te.lower():
        headers["TE"] = "trailers"
    return headers


def _reference_head(ctx: Context, headers: CIMultiDict[str]) -> bytes:
    client, settings = ctx.headers, ctx.settings
    assert settings is not None
    trusted = settings.is_trusted(ctx.peer_ip)
    xff = client.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{xff}, {ctx.peer_ip}" if xff else ctx.client_ip
    headers["X-Forwarded-Proto"] = (trusted and client.get("X-Forwarded-Proto")) or ctx.scheme
    headers["X-Forwarded-Host"] = (trusted and client.get("X-Forwarded-Host")) or ctx.host
    headers["X-Forwarded-Port"] = (trusted and client.get("X-Forwarded-Port")) or str(ctx.port)
    headers["X-Forwarded-Path"] = (trusted and client.get("X-Forwarded-Path")) or ctx.raw_path
    prefix = (trusted and client.get("X-Forwarded-Prefix")) or ctx.stripped_prefix
    if prefix:
        headers["X-Forwarded-Prefix"] = prefix
    else:
        headers.popall("X-Forwarded-Prefix", None)
    headers["X-Real-IP"] = ctx.client_ip
    via = client.get("Via")
    headers["Via"] = f"{via}, 1.1 {settings.server_token}" if via else f"1.1 {settings.server_token}"
    if "x-kong-request-id" in settings.headers_upstream:
        headers["X-Kong-Request-Id"] = ctx.request_id
    lines = ["GET /t HTTP/1.1\r\nHost: up.test\r\n"]
    lines += [f"{n}: {v}\r\n" for n, v in headers.items() if n.lower() != "host"]
    lines.append("Connection: keep-alive\r\n\r\n")
    return "".join(lines).encode("utf-8", "surrogateescape")


def _ctx(pairs: list[tuple[str, str]], *, trusted: bool, prefix: str | None, request_id: bool) -> Context:
    settings = Settings(trusted_ips=["10.0.0.0/8"] if trusted else [])
    if not request_id:
        settings.headers_upstream = []
    ctx = Context(settings=settings)
    ctx.headers = CIMultiDictProxy(CIMultiDict(pairs))
    ctx.request_id = "ab" * 16
    ctx.peer_ip = "10.0.0.7"
    ctx.client_ip = "203.0.113.5"
    ctx.host, ctx.port, ctx.raw_path, ctx.stripped_prefix = "gw.test", 8000, "/p/t", prefix
    return ctx


CLIENT_HEADERS = [
    [("Host", "gw.test")],
    [("Host", "gw.test"), ("Accept", "*/*"), ("User-Agent", "wrk"), ("accept", "text/html")],
    [("Host", "gw.test"), ("X-Forwarded-For", "198.51.100.1"), ("Via", "1.0 edge"), ("A", "1")],
    [("x-forwarded-proto", "https"), ("B", "2"), ("X-Forwarded-Host", "evil"), ("X-FORWARDED-PROTO", "x")],
    [("X-Forwarded-Prefix", "/pre"), ("X-Forwarded-Port", "443"), ("X-Forwarded-Path", "/orig")],
    [("Connection", "keep-alive, X-Secret"), ("X-Secret", "1"), ("Keep-Alive", "5"), ("C", "3")],
    [("TE", "trailers, deflate"), ("Transfer-Encoding", "chunked"), ("Content-Length", "3"), ("D", "4")],
    [("X-Kong-Request-Id", "from-client"), ("X-Real-IP", "1.2.3.4"), ("Upgrade", "h2c"), ("Expect", "x")],
    [("Proxy-Connection", "close"), ("Trailer", "X"), ("Proxy", "p"), ("E", "é")],
]


@pytest.mark.parametrize(
    ("pairs", "trusted", "prefix", "request_id"),
    list(itertools.product(CLIENT_HEADERS, (False, True), (None, "/p"), (True, False))),
)
def test_head_from_client_headers_matches_the_multidict_definition(pairs, trusted, prefix, request_id):
    ctx = _ctx(pairs, trusted=trusted, prefix=prefix, request_id=request_id)
    expected = _reference_head(ctx, _reference_copy(ctx.headers))
    head = build_request_head("GET", "/t", "up.test", upstream_header_lines(ctx, None), "")
    assert head == expected


@pytest.mark.parametrize("pairs", CLIENT_HEADERS)
@pytest.mark.parametrize("trusted", [False, True])
def test_head_from_edited_headers_matches_the_multidict_definition(pairs, trusted):
    ctx = _ctx(pairs, trusted=trusted, prefix="/p", request_id=True)
    edited = ctx.upstream_headers  # made on first use, as a plugin's first edit does
    assert list(edited.items()) == list(_reference_copy(ctx.headers).items())
    edited["X-Added"] = "yes"
    edited["Host"] = "ignored.test"
    edited.add("Via", "plugin")
    expected = _reference_head(ctx, edited.copy())
    head = build_request_head("GET", "/t", "up.test", upstream_header_lines(ctx, edited), "")
    assert head == expected


def test_upstream_headers_are_made_once_and_settable():
    ctx = _ctx(
        [("Host", "gw.test"), ("Connection", "close"), ("X-A", "1")],
        trusted=False,
        prefix=None,
        request_id=True,
    )
    assert ctx.upstream_headers_edited is None
    first = ctx.upstream_headers
    assert ctx.upstream_headers is first and ctx.upstream_headers_edited is first
    assert list(first.items()) == [("X-A", "1")]
    replacement: CIMultiDict[str] = CIMultiDict(X="y")
    ctx.upstream_headers = replacement
    assert ctx.upstream_headers is replacement
    assert list(upstream_request_headers(ctx.headers).items()) == [("X-A", "1")]


def test_framing_line_is_written_before_the_blank_line():
    ctx = _ctx([("Host", "gw.test")], trusted=False, prefix=None, request_id=False)
    head = build_request_head(
        "POST", "/u?q=1", "up.test:81", upstream_header_lines(ctx, None), "Content-Length: 3\r\n"
    )
    assert head.startswith(b"POST /u?q=1 HTTP/1.1\r\nHost: up.test:81\r\nX-Forwarded-For: 203.0.113.5\r\n")
    assert head.endswith(b"Connection: keep-alive\r\nContent-Length: 3\r\n\r\n")
