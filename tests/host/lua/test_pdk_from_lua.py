"""Every PDK function called from Lua, through real requests (tests/lua_plugins/.../pdk-tour)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from host.lua.bridge import _namespace_functions
from pdk import NAMESPACES
from tests.conftest import service

LUA_PLUGINS = Path(__file__).resolve().parents[2] / "lua_plugins"
TOUR = LUA_PLUGINS / "kong" / "plugins" / "pdk-tour"


def config(upstream, *plugins, **route):
    return {
        "_format_version": "3.0",
        "services": [
            {
                **service(upstream),
                "routes": [
                    {"name": "tour", "paths": ["~/v(?<version>\\d+)/(\\w+)", "/"], "strip_path": False, **route}
                ],
            }
        ],
        "consumers": [{"username": "alice", "custom_id": "a-1"}],
        "plugins": list(plugins) or [{"name": "pdk-tour"}],
    }


@pytest.fixture
async def tour(make_gateway, echo_upstream):
    return await make_gateway(config(echo_upstream), plugins_dirs=[LUA_PLUGINS])


def test_every_pdk_function_is_called_by_a_lua_test_plugin():
    sources = "".join(p.read_text() for p in LUA_PLUGINS.rglob("*.lua"))
    missing = []
    for public_name, module_name in NAMESPACES:
        if public_name == "ctx":
            continue
        for fname in _namespace_functions(public_name, module_name):
            if fname in {"trace", "inspect", "deprecation", "crit", "alert", "emerg", "warn", "err"}:
                continue  # log levels: one wrapper for all, exercised in tests/host/lua/test_bridge.py
            if not re.search(rf"kong\.{re.escape(public_name)}\.{fname}\(", sources):
                missing.append(f"kong.{public_name}.{fname}")
    assert missing == []


async def test_request_getters(tour, http):
    url = tour.url + "/v2/items?a=1&flag&m=x&m=y"
    headers = {"X-Tour": "request", "X-Custom-Thing": "c", "Content-Type": "application/json"}
    headers_multi = [("X-Multi", "1"), ("X-Multi", "2")]
    async with http.post(url, headers=list(headers.items()) + headers_multi, data=b'{"field": "v"}') as resp:
        assert resp.status == 200
        got = await resp.json()
    port = int(tour.url.rsplit(":", 1)[1])
    assert got == {
        "scheme": "http",
        "host": "127.0.0.1",
        "port": port,
        "forwarded_scheme": "http",
        "forwarded_host": "127.0.0.1",
        "forwarded_port": port,
        "forwarded_path": "/v2/items",
        "forwarded_prefix": "none",
        "http_version": 1.1,
        "method": "POST",
        "path": "/v2/items",
        "raw_path": "/v2/items",
        "path_with_query": "/v2/items?a=1&flag&m=x&m=y",
        "raw_query": "a=1&flag&m=x&m=y",
        "query_arg": "1",
        "flag_arg": True,
        "query_multi": ["x", "y"],
        "header": "request",
        "header_underscore": "c",
        "headers_lookup": "c",
        "headers_multi": ["1", "2"],
        "raw_body": '{"field": "v"}',
        "body_field": "v",
        "body_err": "none",
        "body_mime": "application/json",
        "start_time_ms": True,
        "captures_named": "2",
        "captures_whole": "/v2/items",
        "captures_unnamed": "items",
    }


async def test_client_router_node_and_friends(tour, http):
    async with http.get(tour.url + "/", headers={"X-Tour": "misc"}) as resp:
        assert resp.status == 200
        assert resp.headers["X-Exit"] == "yes"
        got = await resp.json()
    assert got["client_ip"] == "127.0.0.1" and got["client_forwarded_ip"] == "127.0.0.1"
    assert got["client_port"] == "number" and got["client_forwarded_port"] == "number"
    assert got["protocol"] == "http"
    assert got["consumer"] is True and got["credential"] is True
    assert got["node_id"] == 36 and got["hostname"] == "string" and got["memory"] == "table"
    assert got["subsystem"] == "http" and got["total_requests"] == "number"
    assert re.fullmatch(r"[0-9a-f-]{36}", got["plugin_id"])
    assert got["route_name"] == "tour" and got["service_name"] == "echo"
    assert got["version"] == "3.10.0" and got["version_num"] == 31000
    assert got["conf_proxy_listen"] == "table"
    assert got["merged"] == 2 and got["new_table"] == "table" and got["cleared"] is True
    assert got["trusted"] is False  # trusted_ips is empty by default


async def test_load_consumer_and_authenticate(tour, http):
    async with http.get(tour.url + "/", headers={"X-Tour": "consumer"}) as resp:
        assert await resp.json() == {"username": "alice", "credential": "cred-1", "same_id": True}


async def test_error_and_misuse(tour, http):
    async with http.get(tour.url + "/", headers={"X-Tour": "error", "Accept": "application/json"}) as resp:
        assert resp.status == 451
        assert (await resp.json())["message"] == "Unavailable for tour reasons"
    for mode in ("bad-arg", "phase-error"):
        async with http.get(tour.url + "/", headers={"X-Tour": mode}) as resp:
            assert resp.status == 500
            assert (await resp.json())["message"] == "An unexpected error occurred"


async def test_code_after_exit_does_not_run(tour, http):
    async with http.get(tour.url + "/", headers={"X-Tour": "after-exit"}) as resp:
        assert resp.status == 202
        assert await resp.text() == "short"
        assert resp.headers["X-Source"] == "exit"


async def test_service_request_setters_and_response_filters(tour, http):
    headers = {"X-Tour": "upstream", "X-Remove-Me": "bye"}
    async with http.get(tour.url + "/orig?z=9", headers=headers) as resp:
        assert resp.status == 201
        assert resp.headers["X-Source"] == "service"
        assert resp.headers["X-Service-Status"] == "200"
        assert resp.headers["X-Service-Header"] == "echo"
        assert resp.headers["X-Service-Headers"].startswith("application/json")
        assert resp.headers["X-Status"] == "200"
        assert resp.headers.getall("X-Add") == ["1", "2"]
        assert resp.headers["X-Get"] == "yes" and resp.headers["X-Get-All"] == "yes"
        assert "X-Clear" not in resp.headers
        text = await resp.text()
    assert re.fullmatch(r"wrapped:\d+", text)


async def test_service_request_setters_reach_the_upstream(make_gateway, echo_upstream, http):
    # without the body_filter rewrite: a second plugin would be needed, so read the echo directly
    gw = await make_gateway(config(echo_upstream), plugins_dirs=[LUA_PLUGINS])
    async with http.get(gw.url + "/orig", headers={"X-Tour": "raw-body"}) as resp:
        echoed = await resp.json()
    assert echoed["body"] == "raw!"


async def test_set_upstream_unknown_returns_nil_err(tour, http):
    async with http.get(tour.url + "/", headers={"X-Tour": "upstream-entity"}) as resp:
        assert await resp.json() == {"ok": False, "err": "could not find an Upstream named 'no-such-upstream'"}


async def test_set_target(tour, http, echo_upstream):
    headers = {"X-Tour": "target", "X-Port": str(echo_upstream.port)}
    async with http.get(tour.url + "/x", headers=headers) as resp:
        assert resp.status == 201
        assert resp.headers["X-Service-Header"] == "echo"


async def test_response_phase_from_lua(make_gateway, echo_upstream, http):
    gw = await make_gateway(config(echo_upstream, {"name": "pdk-tour-buffered"}), plugins_dirs=[LUA_PLUGINS])
    async with http.put(gw.url + "/x") as resp:
        assert resp.status == 200
        assert int(resp.headers["X-Raw-Length"]) > 10
        assert resp.headers["X-Mime"] == "application/json"
        assert await resp.json() == {"method": "PUT", "upstream_status": 200}
