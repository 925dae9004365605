"""kong.pdk.private.rate_limiting: headers kept in ngx.ctx in access, set in header_filter."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import service

LUA_PLUGINS = Path(__file__).resolve().parents[2] / "lua_plugins"


async def test_stored_headers_are_set_on_the_response(make_gateway, echo_upstream, http):
    gw = await make_gateway(
        {
            "_format_version": "3.0",
            "services": [{**service(echo_upstream), "routes": [{"paths": ["/"]}]}],
            "plugins": [{"name": "rl-headers", "config": {"limit": 10}}],
        },
        plugins_dirs=[LUA_PLUGINS],
    )
    async with http.get(gw.url + "/") as resp:
        body = await resp.json()
        assert resp.headers["X-RateLimit-Limit-Minute"] == "10"
        assert resp.headers["X-RateLimit-Remaining-Minute"] == "9"
    sent = {k.lower(): v for k, v in body["headers"].items()}
    assert sent["x-stored"] == "10"
    assert sent["x-bad-value"].endswith(
        "arg #3 `value` for function `store_response_header` must be a string or a number, got table"
    )
