"""kong.client.authenticate / get_consumer from Lua, and header tables crossing as pairs.

Entity tables from kong.db and load_consumer cross as references (host/lua/entity_refs.py):
these tests check what plugins see is the same as when the tables crossed whole.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

from tests.conftest import TEST_PLUGINS, service

LUA_PLUGINS = Path(__file__).resolve().parents[2] / "lua_plugins"
ALICE = "5a1f7c57-3a1e-4a6b-9b55-0000000000a1"


def _config(echo_upstream: object, plugins: list[dict[str, object]]) -> dict[str, object]:
    return {
        "_format_version": "3.0",
        "services": [{**service(echo_upstream), "routes": [{"paths": ["/"]}]}],
        "consumers": [
            {
                "id": ALICE,
                "username": "alice",
                "custom_id": "c-1",
                "tags": ["gold", "eu"],
                "keyauth_credentials": [{"key": "k-alice"}],
            }
        ],
        "plugins": plugins,
    }


async def _gateway(make_gateway, echo_upstream, plugins):
    return await make_gateway(_config(echo_upstream, plugins), plugins_dirs=[LUA_PLUGINS, TEST_PLUGINS])


async def test_python_plugins_see_the_consumer_a_lua_plugin_authenticated(make_gateway, echo_upstream, http):
    gw = await _gateway(make_gateway, echo_upstream, [{"name": "auth-refs"}, {"name": "consumer-probe"}])
    for _ in range(2):  # the second request: entities come from the Lua side's indexes
        async with http.get(gw.url + "/", headers={"X-Key": "k-alice"}) as resp:
            assert resp.status == 200
            consumer = json.loads(resp.headers["X-Py-Consumer"])
            assert consumer["id"] == ALICE
            assert consumer["username"] == "alice"
            assert consumer["custom_id"] == "c-1"
            assert consumer["tags"] == ["gold", "eu"]
            assert resp.headers["X-Py-Credential"] == "k-alice"
            assert resp.headers["X-Same-Table"] == "true"
            assert resp.headers["X-Same-Credential"] == "true"
            assert resp.headers["X-Lua-Consumer"] == "alice"


async def test_a_lua_log_handler_serializes_the_authenticated_consumer(
    make_gateway, echo_upstream, http, caplog
):
    caplog.set_level(logging.INFO)
    gw = await _gateway(make_gateway, echo_upstream, [{"name": "auth-refs"}])
    async with http.get(gw.url + "/", headers={"X-Key": "k-alice"}) as resp:
        assert resp.status == 200
    for _ in range(100):  # the log phase runs once the response is out
        if "serialized consumer=" in caplog.text:
            break
        await asyncio.sleep(0.01)
    assert f"serialized consumer=alice entity={ALICE} route_path=/ tags=gold,eu" in caplog.text


async def test_a_table_changed_before_authenticate_is_what_everyone_sees(make_gateway, echo_upstream, http):
    gw = await _gateway(
        make_gateway,
        echo_upstream,
        [{"name": "auth-refs", "config": {"change": True}}, {"name": "consumer-probe"}],
    )
    async with http.get(gw.url + "/", headers={"X-Key": "k-alice"}) as resp:
        assert resp.status == 200
        assert json.loads(resp.headers["X-Py-Consumer"])["username"] == "alice-changed"
        assert resp.headers["X-Lua-Consumer"] == "alice-changed"
    # the configuration's own consumer is untouched
    async with http.get(gw.url + "/", headers={"X-Key": "k-alice"}) as resp:
        assert (
            json.loads(resp.headers["X-Py-Consumer"])["username"] == "alice-changed"
        )  # changed again, not twice
    assert gw.gateway.snapshot.consumer_by_id(ALICE)["username"] == "alice"


async def test_lua_get_consumer_follows_a_later_python_authentication(make_gateway, echo_upstream, http):
    gw = await _gateway(make_gateway, echo_upstream, [{"name": "auth-refs"}, {"name": "consumer-probe"}])
    async with http.get(gw.url + "/", headers={"X-Key": "k-alice", "X-Reauth": "1"}) as resp:
        assert resp.status == 200
        assert json.loads(resp.headers["X-Py-Consumer"])["username"] == "py-user"
        assert resp.headers["X-Py-Credential"] == "none"
        assert resp.headers["X-Lua-Consumer"] == "py-user"


async def test_authenticate_with_a_string_is_an_error_at_the_plugins_line(make_gateway, echo_upstream, http):
    gw = await _gateway(make_gateway, echo_upstream, [{"name": "auth-refs", "config": {"bad": True}}])
    async with http.get(gw.url + "/") as resp:
        body = await resp.json()
        assert resp.status == 500
        assert body["ok"] is False
        assert body["message"].endswith("consumer must be a table or nil")
        assert "auth-refs/handler.lua:" in body["message"]


async def _pre_function(make_gateway, echo_upstream, access: str):
    """A gateway whose one route runs ``access`` (Lua) in pre-function."""
    return await make_gateway(
        {
            "_format_version": "3.0",
            "services": [{**service(echo_upstream), "routes": [{"paths": ["/"]}]}],
            "plugins": [{"name": "pre-function", "config": {"access": [access]}}],
        },
        plugins_dirs=[],
    )


async def test_lua_header_tables_keep_repeated_headers_and_ignore_case(make_gateway, echo_upstream, http):
    gw = await _pre_function(
        make_gateway,
        echo_upstream,
        "local h = kong.request.get_headers() "
        "kong.response.exit(200, { multi = h['X-Multi'], under = h.x_single, n = #h['x-multi'], lower = h['x-single'] })",
    )
    headers = [("X-Multi", "a"), ("X-Multi", "b"), ("X-Single", "s")]
    async with http.get(gw.url + "/", headers=headers) as resp:
        assert resp.status == 200
        assert await resp.json() == {"multi": ["a", "b"], "under": "s", "n": 2, "lower": "s"}


async def test_an_empty_header_table_is_an_empty_table(make_gateway, echo_upstream):
    gw = await _pre_function(
        make_gateway,
        echo_upstream,
        "local h = kong.request.get_headers() local n = 0 for _ in pairs(h) do n = n + 1 end "
        "kong.response.exit(200, { kind = type(h), n = n, missing = h['x-none'] == nil })",
    )
    # HTTP/1.0 allows a request without a single header line
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.gateway.proxy_port)
    writer.write(b"GET / HTTP/1.0\r\n\r\n")
    await writer.drain()
    raw = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200") or head.startswith(b"HTTP/1.1 200")
    assert json.loads(body) == {"kind": "table", "n": 0, "missing": True}
