"""LuaSocket's client modules (``socket``, ``socket.http``, ``ssl.https``, ``ltn12``) as
plugins written for Kong use them: tests/lua_plugins/kong/plugins/compat-fetch calls a
real local HTTP server from a handler, without blocking the worker."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from host.lua.runtime import LuaHost
from tests.conftest import service
from tests.host.lua.test_ngx_base import lua_gateway  # noqa: F401 - fixture


class Documents:
    """A local server: a JSON document, a redirect to it, a slow one; counts requests."""

    def __init__(self) -> None:
        self.hits = 0
        self.url = ""

    async def doc(self, request: web.Request) -> web.Response:
        self.hits += 1
        body = await request.text()
        payload = {"method": request.method, "body": body, "headers": {"X-From": request.headers.get("X-From")}}
        return web.json_response(payload)

    async def moved(self, request: web.Request) -> web.Response:
        raise web.HTTPFound("/doc")

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(0.3)
        return web.json_response({"method": "slow", "body": ""})


@pytest.fixture
async def documents() -> AsyncIterator[Documents]:
    docs = Documents()
    app = web.Application()
    app.router.add_route("*", "/doc", docs.doc)
    app.router.add_get("/moved", docs.moved)
    app.router.add_get("/slow", docs.slow)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    docs.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield docs
    await runner.cleanup()


def config(upstream: Any, **conf: Any) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "compat-fetch", "config": conf}],
    }


async def test_simple_form_follows_redirects_and_is_cached(lua_gateway, echo_upstream, documents, http):  # noqa: F811
    gw = await lua_gateway(config(echo_upstream, url=documents.url + "/moved"))
    for _ in range(2):
        async with http.get(gw.url + "/x") as resp:
            assert resp.status == 200
            assert resp.headers["X-Fetch-Code"] == "200"
            assert resp.headers["X-Fetch-Type"] == "application/json; charset=utf-8"
            assert resp.headers["X-Fetch-Method"] == "GET"
    assert documents.hits == 1  # the loader ran once: kong.cache kept the document


async def test_generic_form_posts_a_source_into_a_sink(lua_gateway, echo_upstream, documents, http):  # noqa: F811
    gw = await lua_gateway(config(echo_upstream, url=documents.url + "/doc", generic=True, pause=0.05))
    async with http.get(gw.url + "/x") as resp:
        assert resp.status == 200
        assert resp.headers["X-Fetch-Method"] == "POST"
        assert resp.headers["X-Fetch-Body"] == "ping"
        assert resp.headers["X-Fetch-From"] == "lua"
        assert resp.headers["X-Fetch-Status"] == "HTTP/1.1 200 OK"
        assert resp.headers["X-Fetch-Waited"] == "true"  # socket.sleep and socket.gettime


async def test_https_module_and_connection_errors(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(config(echo_upstream, url="http://127.0.0.1:1/doc", secure=True))
    async with http.get(gw.url + "/x") as resp:
        assert resp.status == 502
        body = await resp.json()
        assert body["message"].startswith("fetch failed: ")
        assert "refused" in body["message"] or "connect" in body["message"]


async def test_requests_do_not_block_the_worker(lua_gateway, echo_upstream, documents, http):  # noqa: F811
    """Ten requests each waiting 0.3 s on the service finish together, not one after another."""
    confs = [{"name": "compat-fetch", "route": f"r{i}", "config": {"url": f"{documents.url}/slow?n={i}"}}
             for i in range(10)]
    gw = await lua_gateway({
        "_format_version": "3.0",
        "services": [{**service(echo_upstream), "routes": [{"name": f"r{i}", "paths": [f"/r{i}"]} for i in range(10)]}],
        "plugins": confs,
    })

    async def one(i: int) -> int:
        async with http.get(f"{gw.url}/r{i}") as resp:
            assert resp.headers["X-Fetch-Method"] == "slow"
            return resp.status

    started = time.monotonic()
    assert await asyncio.gather(*(one(i) for i in range(10))) == [200] * 10
    assert time.monotonic() - started < 2.0


def test_ltn12_sources_sinks_filters_and_pumps() -> None:
    host = LuaHost()
    fn = host.compile_in("t", """
      local ltn12 = require 'ltn12'
      ltn12.BLOCKSIZE = 3
      local t = {}
      local upper = function(chunk) return chunk and chunk:upper() or nil end
      assert(ltn12.pump.all(ltn12.source.chain(ltn12.source.string('hello world'), upper),
                            (ltn12.sink.table(t))))
      local cat = {}
      ltn12.pump.all(ltn12.source.cat(ltn12.source.string('ab'), ltn12.source.empty(),
                                      ltn12.source.string('cd')), (ltn12.sink.table(cat)))
      local out = {}
      local snk = ltn12.sink.chain(upper, (ltn12.sink.table(out)))
      snk('x') snk('') snk('y') snk(nil)
      local ok, err = ltn12.pump.all(ltn12.source.error('boom'), ltn12.sink.null())
      local rew = ltn12.source.rewind(ltn12.source.string('z'))
      rew('back')
      return table.concat(t), #t, table.concat(cat), table.concat(out), ok, err, rew(), rew(), rew()
    """)
    assert fn() == (b"HELLO WORLD", 4, b"abcd", b"XY", None, b"boom", b"back", b"z", None)


def test_socket_protect_and_try() -> None:
    host = LuaHost()
    fn = host.compile_in("t", """
      local socket = require 'socket'
      local closed = false
      local f = socket.protect(function(x)
        local try = socket.newtry(function() closed = true end)
        try(x, 'failed on purpose')
        return 'fine', x
      end)
      local a, b = f(false)
      local c, d = f(7)
      return a, b, closed, c, d, socket.skip(1, 'a', 'b', 'c'), socket._VERSION
    """)
    assert fn() == (None, b"failed on purpose", True, b"fine", 7, b"b", b"LuaSocket 3.0.0")
