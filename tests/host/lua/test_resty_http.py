"""resty.http: a Lua plugin calls a real local HTTP service (tests/lua_plugins/.../http-caller)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from host.lua.driver import drive
from host.lua.runtime import LuaHost
from pdk.phases import Phase
from tests.conftest import free_port, service
from tests.host.lua.test_ngx_base import in_phase, lua_gateway  # noqa: F401 - fixtures


class Service:
    """The service the plugin asks: records what it received."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.url = ""

    async def check(self, request: web.Request) -> web.Response:
        body = await request.text()
        who = request.query.get("who", "")
        self.seen.append(
            {
                "method": request.method,
                "who": who,
                "body": body,
                "multi": request.headers.getall("X-Multi", []),
                "ua": request.headers.get("User-Agent"),
                "accept_encoding": request.headers.get("Accept-Encoding"),
            }
        )
        if who == "mallory":
            return web.Response(status=403, text="go away, mallory")
        headers = [("X-Multi", "a"), ("X-Multi", "b")]
        return web.Response(text=f"welcome {who} ({body})", headers=headers, reason="Fine")

    async def slow(self, request: web.Request) -> web.Response:
        await asyncio.sleep(1)
        return web.Response(text="late")


@pytest.fixture
async def answering() -> AsyncIterator[Service]:
    svc = Service()
    app = web.Application()
    app.router.add_route("*", "/check", svc.check)
    app.router.add_route("*", "/slow", svc.slow)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    svc.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield svc
    await runner.cleanup()


def _config(upstream: Any, **config: Any) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "http-caller", "config": config}],
    }


async def test_plugin_uses_the_services_answer(lua_gateway, echo_upstream, answering, http):  # noqa: F811
    gw = await lua_gateway(_config(echo_upstream, url=answering.url + "/check"))
    async with http.get(gw.url + "/anything", headers={"X-Who": "alice"}) as resp:
        assert resp.status == 200
        echo = await resp.json()
        assert resp.headers["X-Answer-Type"] == "text/plain; charset=utf-8"  # looked up case-insensitively
        assert resp.headers["X-Answer-Reason"] == "Fine"
        assert resp.headers["X-Answer-Multi"] == "a,b"
    sent = {k.lower(): v for k, v in echo["headers"].items()}
    assert sent["x-answer"] == "welcome alice (hello from alice)"
    assert sent["x-answer-status"] == "200"
    assert answering.seen == [
        {
            "method": "POST",
            "who": "alice",
            "body": "hello from alice",
            "multi": ["1", "2"],
            "ua": "lua-resty-http/0.17.2 (Lua) ngx_lua/10026",
            "accept_encoding": None,  # nothing added behind the plugin's back
        }
    ]


async def test_the_service_can_deny(lua_gateway, echo_upstream, answering, http):  # noqa: F811
    gw = await lua_gateway(_config(echo_upstream, url=answering.url + "/check"))
    async with http.get(gw.url + "/", headers={"X-Who": "mallory"}) as resp:
        assert resp.status == 403
        assert await resp.json() == {"message": "go away, mallory"}


async def test_timeout_gives_timeout(lua_gateway, echo_upstream, answering, http):  # noqa: F811
    gw = await lua_gateway(_config(echo_upstream, url=answering.url + "/slow", timeout=100))
    started = time.perf_counter()
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 502
        assert await resp.json() == {"message": "service said: timeout"}
    assert time.perf_counter() - started < 0.9


async def test_connection_refused(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(_config(echo_upstream, url=f"http://127.0.0.1:{free_port()}/check"))
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 502
        assert await resp.json() == {"message": "service said: connection refused"}


async def test_streamed_interface(lua_gateway, echo_upstream, answering, http):  # noqa: F811
    config = _config(echo_upstream, url=answering.url + "/check", streamed=True, method="PUT")
    gw = await lua_gateway(config)
    async with http.get(gw.url + "/anything", headers={"X-Who": "bob"}) as resp:
        assert resp.status == 200
        echo = await resp.json()
        chunks = int(resp.headers["X-Answer-Chunks"])
    sent = {k.lower(): v for k, v in echo["headers"].items()}
    assert sent["x-answer"] == "welcome bob (streamed:bob)"
    assert chunks == len(sent["x-answer"]) // 4 + 1  # read 4 bytes at a time
    assert answering.seen[0]["method"] == "PUT"


async def test_uri_parsing_errors_and_session_lifetime(answering, in_phase):  # noqa: F811
    host = LuaHost()
    in_phase(Phase.access)
    fn = host.compile_in(
        "t",
        f"""
        local http = require "resty.http"
        local httpc = http.new()
        local p = httpc:parse_uri("https://example.com/a/b?x=1")
        local q = httpc:parse_uri("http://[::1]:8080", false)
        local _, bad = httpc:request_uri("ftp://example.com/")
        local _, closed = http.new():request({{ path = "/" }})
        local _, nobody = httpc:request_uri("{answering.url}/check", {{ method = "POST" }})
        local res = assert(httpc:request_uri("{answering.url}/check?who=x", {{ method = "HEAD" }}))
        return p[1], p[2], p[3], p[4], q[2], q[3], q[4], bad, closed, nobody, res.status, res.body
        """,
    )
    results = await drive(host, host.H.new_request(), b"t", fn)
    assert results == (
        b"https",
        b"example.com",
        443,
        b"/a/b?x=1",
        b"[::1]",
        8080,
        b"/",
        b"bad uri: ftp://example.com/",
        b"closed",
        b"Request body is nil but POST method expects a body. "
        b'Use an empty string "" if you want to send an empty body.',
        200,
        b"",
    )
    client = host.state["http_client"]
    session = client._session
    assert session is not None and not session.closed
    await host.close()
    assert session.closed


def test_cosockets_are_disabled_in_the_log_phase(in_phase):  # noqa: F811
    host = LuaHost()
    in_phase(Phase.log)
    fn = host.compile_in(
        "t",
        """
        local httpc = require("resty.http").new()
        return select(2, pcall(httpc.request_uri, httpc, "http://127.0.0.1:1/"))
        """,
    )
    assert fn().endswith(b"API disabled in the context of log_by_lua*")
