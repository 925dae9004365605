"""The direct response paths against aiohttp's response, byte for byte.

A route without plugins sends the upstream's response straight from its raw head
(``/raw``, and ``/set`` whose plugin sets response headers in access); a route whose
plugin only logs builds the head from the multi-dict headers
and writes it itself (``/headers``); a route with a body_filter goes through aiohttp's
``StreamResponse`` (``/aiohttp``, the reference).  For each upstream response and
client request below all must answer the same: status line, headers in order
(volatile values masked), body, and whether the connection stays open.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from host.proxy.wire import raw_head

PLUGINS = Path(__file__).parent / "wire_plugins"
VOLATILE = {
    b"date",
    b"x-kong-upstream-latency",
    b"x-kong-proxy-latency",
    b"x-kong-request-id",
    b"x-kong-response-latency",
}

#: path -> the upstream's raw response (a body-less one closes nothing: keep-alive)
UPSTREAM = {
    "/length": b"HTTP/1.1 200 OK\r\nServer: up\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello",
    "/bare": b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\nX-A: 1\r\nx-a: 2\r\n\r\nok",
    "/chunked": b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
    "/empty-chunked": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "/no-content": b"HTTP/1.1 204 No Content\r\nX-B: b\r\n\r\n",
    "/not-modified": b'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 10\r\n\r\n',
    "/zero": b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
    "/odd-status": b"HTTP/1.1 599 Whatever\r\nContent-Length: 1\r\n\r\nx",
    "/via": b"HTTP/1.1 200 OK\r\nVia: 1.1 other\r\nContent-Length: 1\r\n\r\nv",
    "/latin1": b"HTTP/1.1 200 OK\r\nX-Name: caf\xe9\r\nContent-Length: 1\r\n\r\nl",
    "/named": b"HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: s\r\nContent-Length: 1\r\n\r\nn",
    "/close": b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nc",
}


async def _upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            path = head.split(b" ", 2)[1].decode()
            response = UPSTREAM[path.split("?")[0]]  # the route prefix is stripped
            writer.write(response)
            await writer.drain()
            if b"Connection: close" in response:
                break
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
        pass
    writer.close()


@pytest.fixture
async def gw(make_gateway):
    server = await asyncio.start_server(_upstream, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    config = {
        "_format_version": "3.0",
        "services": [
            {
                "name": "up",
                "url": f"http://127.0.0.1:{port}",
                "routes": [
                    {"name": "raw", "paths": ["/raw"]},
                    {"name": "headers", "paths": ["/headers"], "plugins": [{"name": "wire-log"}]},
                    {"name": "aiohttp", "paths": ["/aiohttp"], "plugins": [{"name": "wire-body"}]},
                    {"name": "set", "paths": ["/set"], "plugins": [{"name": "wire-set"}]},
                    {
                        "name": "set-aiohttp",
                        "paths": ["/set-aiohttp"],
                        "plugins": [{"name": "wire-set"}, {"name": "wire-body"}],
                    },
                ],
            }
        ],
    }
    yield await make_gateway(config, plugins_dirs=[PLUGINS])
    server.close()


def _parse(data: bytes, head_request: bool) -> tuple[bytes, list[tuple[bytes, bytes]], bytes]:
    head, _, rest = data.partition(b"\r\n\r\n")
    status, *lines = head.split(b"\r\n")
    headers = []
    for line in lines:
        name, _, value = line.partition(b": ")
        headers.append((name, b"-" if name.lower() in VOLATILE else value))
    names = {n.lower(): v for n, v in headers}
    if head_request or status.split(b" ")[1] in (b"204", b"304"):
        return status, headers, rest
    if names.get(b"transfer-encoding") == b"chunked":
        body = b""
        while True:
            size, _, rest = rest.partition(b"\r\n")
            n = int(size, 16)
            if n == 0:
                assert rest == b"\r\n"
                return status, headers, body
            body, rest = body + rest[:n], rest[n + 2 :]
    if b"content-length" in names:
        assert len(rest) == int(names[b"content-length"])
    return status, headers, rest


async def _read_response(reader: asyncio.StreamReader, head_request: bool) -> tuple[bytes, bool]:
    """One response, framed as a client frames it; and whether it ended with the connection."""
    data = await reader.readuntil(b"\r\n\r\n")
    status, headers, _ = _parse(data, head_request=True)
    names = {n.lower(): v for n, v in headers}
    if head_request or status.split(b" ")[1] in (b"204", b"304"):
        return data, False
    if b"content-length" in names:
        return data + await reader.readexactly(int(names[b"content-length"])), False
    if names.get(b"transfer-encoding") == b"chunked":
        while True:
            line = await reader.readuntil(b"\r\n")
            size = int(line, 16)
            data += line + await reader.readexactly(size + 2)
            if size == 0:
                return data, False
    return data + await reader.read(), True  # delimited by the end of the connection


async def _exchange(port: int, request: bytes, head_request: bool) -> tuple[bytes, bool]:
    """Send one request; the raw response and whether the gateway then closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    data, closed = await asyncio.wait_for(_read_response(reader, head_request), 5)
    if not closed:  # a second request is answered unless the gateway closed the connection
        try:
            writer.write(b"GET /raw/zero HTTP/1.1\r\nHost: gw\r\n\r\n")
            closed = not await asyncio.wait_for(reader.read(1), 5)
        except ConnectionError:
            closed = True
    writer.close()
    return data, closed


REQUESTS = {
    "get-1.1": "GET {path} HTTP/1.1\r\nHost: gw\r\n\r\n",
    "get-1.1-close": "GET {path} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n",
    "get-1.0": "GET {path} HTTP/1.0\r\nHost: gw\r\n\r\n",
    "get-1.0-keep-alive": "GET {path} HTTP/1.0\r\nHost: gw\r\nConnection: keep-alive\r\n\r\n",
    "head-1.1": "HEAD {path} HTTP/1.1\r\nHost: gw\r\n\r\n",
}


@pytest.mark.parametrize(
    ("route", "reference_route"),
    [("/raw", "/aiohttp"), ("/headers", "/aiohttp"), ("/set", "/set-aiohttp")],
)
async def test_direct_paths_answer_like_aiohttp(gw, route, reference_route):
    port = gw.gateway.proxy_port
    mismatches = []
    for path in sorted(UPSTREAM):
        for kind, template in REQUESTS.items():
            head_request = kind.startswith("head")
            direct = await _exchange(port, template.format(path=route + path).encode(), head_request)
            if kind == "get-1.0-keep-alive" and "chunked" in path:
                # an HTTP/1.0 body without a length ends with the connection: the direct
                # paths close it (aiohttp's response keeps it open: the client would hang)
                assert direct[1], (path, kind)
                continue
            reference = await _exchange(
                port, template.format(path=reference_route + path).encode(), head_request
            )
            if (
                _parse(direct[0], head_request) != _parse(reference[0], head_request)
                or direct[1] != reference[1]
            ):
                mismatches.append((path, kind, direct, reference))
    assert mismatches == []


class _Request:
    """What raw_head reads of aiohttp's request."""

    version = (1, 1)
    keep_alive = True
    method = "GET"


class _Upstream:
    def __init__(self, status: int, headers: list[tuple[bytes, bytes]]) -> None:
        self.status = status
        self.raw_headers = headers


@pytest.mark.parametrize(
    ("headers", "handled"),
    [
        ([(b"Content-Length", b"1")], True),
        ([(b"Via", b"1.1 x")], False),  # merged in place with Kong's Via: the general path
        ([(b"X-Kong-Request-Id", b"abc")], False),
        ([(b"Trailer", b"X-T")], False),
        ([(b"Connection", b"X-Named")], False),
        ([(b"X-Name", b"caf\xe9")], False),  # the general path re-encodes non-ASCII bytes
        ([(b"Content-Length", b"x1")], False),
    ],
)
async def test_raw_head_leaves_unusual_heads_to_the_general_path(gw, headers, handled):
    from host.context import Context
    from host.settings import Settings

    ctx = Context(settings=Settings())
    result = raw_head(ctx, _Request(), _Upstream(200, headers))  # type: ignore[arg-type]
    assert (result is not None) == handled


@pytest.mark.parametrize(
    ("preset", "handled"),
    [
        ({"X-Plugin": "1"}, True),
        ({"X-Plugin": "a\r\nInjected: yes"}, False),  # refused on the general path
        ({"Server": "mine"}, False),  # Kong's Server rules: the general path
        ({"Content-Length": "3"}, False),  # the framing: the general path
    ],
)
async def test_raw_head_takes_headers_set_in_access(gw, preset, handled):
    from multidict import CIMultiDict

    from host.context import Context
    from host.settings import Settings

    ctx = Context(settings=Settings())
    ctx.response_headers = CIMultiDict(preset)
    upstream = _Upstream(200, [(b"Content-Length", b"1"), (b"x-plugin", b"upstream")])
    result = raw_head(ctx, _Request(), upstream)  # type: ignore[arg-type]
    assert (result is not None) == handled
    if handled:
        assert result is not None
        head = result[0]
        assert b"x-plugin: upstream" not in head and b"X-Plugin: 1\r\n" in head


async def test_each_route_takes_the_path_it_is_meant_to(gw, monkeypatch):
    import host.proxy.wire as wire

    written: list[bytes] = []
    original = wire._write

    async def spy(request, upstream, head, no_body, chunked):  # type: ignore[no-untyped-def]
        written.append(head)
        return await original(request, upstream, head, no_body, chunked)

    monkeypatch.setattr(wire, "_write", spy)
    port = gw.gateway.proxy_port
    for route, direct in (("/raw", True), ("/headers", True), ("/set", True), ("/aiohttp", False)):
        written.clear()
        await _exchange(
            port, f"GET {route}/length HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n".encode(), False
        )
        assert bool(written) == direct, route
