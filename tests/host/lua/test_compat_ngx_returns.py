"""How many values ``ngx.req.*`` return (tests/lua_plugins/kong/plugins/compat-ngx-returns):
OpenResty's counts, so ``cjson.decode(ngx.req.get_body_data())`` gets one argument."""

from __future__ import annotations

from typing import Any

from tests.conftest import service
from tests.host.lua.test_ngx_base import lua_gateway  # noqa: F401 - fixture


async def test_each_function_returns_openresty_count(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(
        {
            "_format_version": "3.0",
            "services": [{**service(echo_upstream), "routes": [{"paths": ["/"]}]}],
            "plugins": [{"name": "compat-ngx-returns"}],
        }
    )
    async with http.post(gw.url + "/r?a=1&b=2&c=3", data=b'{"name": "moon"}') as resp:
        assert resp.status == 200
        got: dict[str, Any] = await resp.json()
    assert got["body"] == {"name": "moon"}  # cjson.decode(ngx.req.get_body_data()) worked
    assert got["truncated"] == "truncated"  # the second value is there when there is one
    one = ("get_body_data", "get_method", "http_version", "start_time", "raw_header", "is_internal")
    one += ("get_uri_args", "get_post_args", "get_headers", "resp_get_headers")
    none = ("set_header", "clear_header", "set_method", "set_uri_args", "set_uri", "set_body_data")
    assert got["counts"] == {
        **dict.fromkeys(one, 1),
        "get_uri_args_truncated": 2,
        **dict.fromkeys(none, 0),
    }
