"""Headers an earlier plugin set for the upstream are the request's headers for the
plugins after it, through every reader, as under nginx (compat-headers-writer, then
compat-headers-reader); and Kong's ``enabled_headers`` maps from Lua and Python."""

from __future__ import annotations

from typing import Any

from host.settings import Settings
from pdk import _settings, kong
from tests.conftest import TEST_PLUGINS, service
from tests.host.lua.test_ngx_base import lua_gateway  # noqa: F401 - fixture
from tests.host.lua.test_smoke import LUA_PLUGINS


def config(upstream: Any, *, writer: bool = True, host: str | None = None) -> dict[str, Any]:
    plugins: list[dict[str, Any]] = [{"name": "compat-headers-reader"}]
    if writer:
        plugins.append({"name": "compat-headers-writer", "config": {"host": host} if host else {}})
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": plugins,
    }


HEADERS = {"X-Api-Key": "k-1", "X-Tag": "client"}


async def read(gw: Any, http: Any) -> dict[str, Any]:
    async with http.get(gw.url + "/h", headers=HEADERS) as resp:
        assert resp.status == 200
        return await resp.json()


async def test_later_plugins_see_the_edits(lua_gateway, echo_upstream, http):  # noqa: F811
    got = await read(await lua_gateway(config(echo_upstream, host="backend.example")), http)
    assert got["get_header"] == {"consumer": "c-42", "tag": "client", "key": "nil", "host": "backend.example"}
    assert got["get_headers"] == {"consumer": "c-42", "tag": "client,added", "key": "nil"}
    assert got["ngx_get_headers"] == {"consumer": "c-42", "tag": "client,added", "key": "nil"}
    assert got["ngx_var"] == {"consumer": "c-42", "tag": "client, added", "key": "nil"}


async def test_python_plugins_see_lua_edits(make_gateway, echo_upstream, http):
    cfg = config(echo_upstream)
    cfg["plugins"] = [{"name": "compat-headers-writer"}, {"name": "header-view"}]
    gw = await make_gateway(cfg, plugins_dirs=[LUA_PLUGINS, TEST_PLUGINS])
    try:
        got = await read(gw, http)
    finally:
        await gw.gateway.registry.lua.close()
    assert got == {
        "get_header": {"consumer": "c-42", "key": None},
        "get_headers": {"consumer": "c-42", "tag": ["client", "added"]},
        "enabled_via": True,
    }


async def test_without_edits_the_client_headers(lua_gateway, echo_upstream, http):  # noqa: F811
    got = await read(await lua_gateway(config(echo_upstream, writer=False)), http)
    assert got["get_header"]["key"] == "k-1" and got["get_header"]["consumer"] == "nil"
    assert got["get_header"]["host"].startswith("127.0.0.1:")
    assert got["get_headers"] == {"consumer": "nil", "tag": "client", "key": "k-1"}
    assert got["ngx_var"] == {"consumer": "nil", "tag": "client", "key": "k-1"}


async def test_enabled_headers_from_lua(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(config(echo_upstream, writer=False))
    assert (await read(gw, http))["enabled_headers"] == {
        "via": True,  # server_tokens (a default) turns on Via and Server
        "server": True,
        "latency": True,  # latency_tokens
        "upstream_status": False,
        "request_id_upstream": True,
    }
    gw = await lua_gateway(
        config(echo_upstream, writer=False), headers=["X-Kong-Upstream-Status"], headers_upstream=["off"]
    )
    assert (await read(gw, http))["enabled_headers"] == {
        "via": False,
        "server": False,
        "latency": False,
        "upstream_status": True,
        "request_id_upstream": False,
    }


def test_enabled_headers_from_python() -> None:
    previous = _settings._default  # noqa: SLF001 - restored as it was
    try:
        _settings.set_default_settings(
            Settings(headers=["off", "via"], headers_upstream=["X-Kong-Request-Id"])
        )
        assert not any(kong.configuration.enabled_headers.values())  # "off" first: all off
        assert kong.configuration.enabled_headers_upstream == {"X-Kong-Request-Id": True}
        _settings.set_default_settings(Settings(headers=["latency_tokens", "Via"]))
        enabled = kong.configuration["enabled_headers"]
        assert enabled["Via"] and enabled["X-Kong-Admin-Latency"] and enabled["latency_tokens"]
        assert not enabled["Server"] and not enabled["server_tokens"]
    finally:
        _settings.set_default_settings(previous)
