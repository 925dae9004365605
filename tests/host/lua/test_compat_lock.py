"""``resty.lock`` through the compat-lock plugin (tests/lua_plugins/kong/plugins/
compat-lock): concurrent requests enter the critical section one at a time, waiting
without blocking the worker, and a short timeout gives up."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.conftest import service
from tests.host.lua.test_ngx_base import lua_gateway  # noqa: F401 - fixture


def config(upstream: Any, **conf: Any) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "compat-lock", "config": conf}],
    }


async def fetch(http: Any, url: str) -> dict[str, str]:
    async with http.get(url) as resp:
        assert resp.status == 200
        return {k.lower(): v for k, v in (await resp.json())["headers"].items()}


async def test_requests_take_turns(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(config(echo_upstream, hold=0.1))
    started = time.monotonic()
    results = await asyncio.gather(*(fetch(http, gw.url + "/") for _ in range(4)))
    elapsed = time.monotonic() - started
    assert [r["x-lock"] for r in results] == ["ok"] * 4
    assert {r["x-overlap"] for r in results} == {"no"}
    assert {r["x-again"] for r in results} == {"locked"}
    assert {r["x-unlocked"] for r in results} == {"unlocked"}
    assert elapsed >= 0.4  # one after the other


async def test_a_short_timeout_gives_up(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(config(echo_upstream, hold=0.5, timeout=0.05))
    first = asyncio.ensure_future(fetch(http, gw.url + "/"))
    await asyncio.sleep(0.15)
    second = await fetch(http, gw.url + "/")
    assert second["x-lock"] == "timeout"
    assert (await first)["x-lock"] == "ok"
