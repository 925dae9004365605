"""Set-Cookie lines through the proxy: the upstream's are kept, one line each.

Kong's rules: ``kong.response.add_header`` adds one more line and keeps the upstream's
lines of that name; ``kong.response.set_header`` replaces them.  Both hold whether the
plugin runs in access (merged when the upstream answers: the raw-head path, or the
multi-dict path when another plugin reads the response) or in header_filter, and for
the cookie the consistent-hashing balancer sets.  The responses are read as raw bytes,
so folded lines (``a=1, b=2``) would show.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

PLUGINS = Path(__file__).parent / "cookie_plugins"
WIRE_PLUGINS = Path(__file__).parent / "wire_plugins"
UPSTREAM_COOKIES = [b"up1=a; Path=/", b"up2=b; Expires=Wed, 21 Oct 2037 07:28:00 GMT"]
PLUGIN_COOKIE = b"plugin=1; Path=/"


async def _upstream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Answers every request with two Set-Cookie lines (one holding a comma)."""
    try:
        while True:
            await reader.readuntil(b"\r\n\r\n")
            cookies = b"".join(b"Set-Cookie: %b\r\n" % c for c in UPSTREAM_COOKIES)
            writer.write(b"HTTP/1.1 200 OK\r\n%bContent-Length: 2\r\n\r\nok" % cookies)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    writer.close()


def _route(name: str, mode: str, phase: str, *, log: bool = False) -> dict:
    plugins = [{"name": "cookie-jar", "config": {"mode": mode, "phase": phase}}]
    if log:  # a plugin that sees the response: the head is built from the multi-dict
        plugins.append({"name": "wire-log"})
    return {"name": name, "paths": [f"/{name}"], "plugins": plugins}


def _config(port: int) -> dict:
    routes = [
        {"name": "plain", "paths": ["/plain"]},
        _route("add-access", "add", "access"),
        _route("add-access-log", "add", "access", log=True),
        _route("set-access", "set", "access"),
        _route("set-access-log", "set", "access", log=True),
        _route("add-filter", "add", "header_filter"),
        _route("set-filter", "set", "header_filter"),
    ]
    return {
        "_format_version": "3.0",
        "services": [
            {"name": "up", "url": f"http://127.0.0.1:{port}", "routes": routes},
            {"name": "hashed", "host": "cookies", "routes": [{"name": "hash", "paths": ["/hash"]}]},
        ],
        "upstreams": [
            {
                "name": "cookies",
                "hash_on": "cookie",
                "hash_on_cookie": "sticky",
                "targets": [{"target": f"127.0.0.1:{port}"}],
            }
        ],
    }


@pytest.fixture
async def gw(make_gateway):
    server = await asyncio.start_server(_upstream, "127.0.0.1", 0)
    yield await make_gateway(_config(server.sockets[0].getsockname()[1]), plugins_dirs=[PLUGINS, WIRE_PLUGINS])
    server.close()


@pytest.fixture
async def gw_isolated(make_gateway):
    """cookie-jar in an isolated worker process: its journal carries set-versus-added."""
    server = await asyncio.start_server(_upstream, "127.0.0.1", 0)
    yield await make_gateway(
        _config(server.sockets[0].getsockname()[1]),
        plugins_dirs=[PLUGINS, WIRE_PLUGINS],
        plugin_trust={"cookie-jar": "isolated"},
    )
    server.close()


async def _set_cookie_lines(port: int, path: str) -> list[bytes]:
    """The raw ``Set-Cookie`` header lines of the response to ``GET path``."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET %b HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n" % path.encode())
    data = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    assert body == b"ok"
    return [
        line[len(b"Set-Cookie: ") :]
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"set-cookie:")
    ]


async def test_upstream_cookies_pass_as_separate_lines(gw):
    assert await _set_cookie_lines(gw.gateway.proxy_port, "/plain") == UPSTREAM_COOKIES


@pytest.mark.parametrize("route", ["/add-access", "/add-access-log", "/add-filter"])
async def test_add_header_keeps_the_upstreams_cookies(gw, route):
    lines = await _set_cookie_lines(gw.gateway.proxy_port, route)
    assert sorted(lines) == sorted([*UPSTREAM_COOKIES, PLUGIN_COOKIE])


@pytest.mark.parametrize("route", ["/set-access", "/set-access-log", "/set-filter"])
async def test_set_header_replaces_the_upstreams_cookies(gw, route):
    assert await _set_cookie_lines(gw.gateway.proxy_port, route) == [PLUGIN_COOKIE]


async def test_balancer_cookie_is_added_to_the_upstreams(gw):
    lines = await _set_cookie_lines(gw.gateway.proxy_port, "/hash")
    assert lines[: len(UPSTREAM_COOKIES)] == UPSTREAM_COOKIES
    assert len(lines) == 3 and lines[2].startswith(b"sticky=")


@pytest.mark.parametrize("route", ["/add-access", "/add-access-log", "/add-filter"])
async def test_an_isolated_plugins_add_header_keeps_the_upstreams_cookies(gw_isolated, route):
    lines = await _set_cookie_lines(gw_isolated.gateway.proxy_port, route)
    assert sorted(lines) == sorted([*UPSTREAM_COOKIES, PLUGIN_COOKIE])


@pytest.mark.parametrize("route", ["/set-access", "/set-filter"])
async def test_an_isolated_plugins_set_header_replaces_the_upstreams_cookies(gw_isolated, route):
    assert await _set_cookie_lines(gw_isolated.gateway.proxy_port, route) == [PLUGIN_COOKIE]
