"""A Lua plugin through real requests: the first end-to-end check of the Lua host."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import service

LUA_PLUGINS = Path(__file__).resolve().parents[2] / "lua_plugins"


async def test_lua_plugin_reads_and_sets_headers(make_gateway, echo_upstream, http):
    gw = await make_gateway(
        {
            "_format_version": "3.0",
            "services": [{**service(echo_upstream), "routes": [{"paths": ["/"]}]}],
            "plugins": [{"name": "header-echo", "config": {"tag": "t1"}}],
        },
        plugins_dirs=[LUA_PLUGINS],
    )
    async with http.get(gw.url + "/anything", headers={"X-Hello": "world"}) as resp:
        body = await resp.json()
        assert resp.status == 200
        assert resp.headers["X-Echo"] == "world"
        assert {k.lower(): v for k, v in body["headers"].items()}["x-from-lua"] == "t1"
    async with http.get(gw.url + "/", headers={"X-Deny": "yes"}) as resp:
        assert resp.status == 403
        assert await resp.json() == {"message": "denied by t1"}
