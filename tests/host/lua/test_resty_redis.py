"""resty.redis: a Lua plugin counts requests in a real local Redis (tests/lua_plugins/.../redis-counter)."""

from __future__ import annotations

import asyncio
from typing import Any

import redis

from host.context import Context, use_context
from host.lua.driver import drive
from host.lua.runtime import LuaHost
from pdk.phases import Phase
from tests.conftest import free_port, service
from tests.host.lua.test_ngx_base import lua_gateway  # noqa: F401 - fixture
from tests.redis_server import redis_server, start_redis_server  # noqa: F401 - fixture


def _config(upstream: Any, **config: Any) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [{**service(upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "redis-counter", "config": config}],
    }


async def test_plugin_counts_in_redis(lua_gateway, echo_upstream, redis_server, http):  # noqa: F811
    gw = await lua_gateway(_config(echo_upstream, port=redis_server.port))
    seen = []
    for _ in range(3):
        async with http.get(gw.url + "/anything", headers={"X-Client": "c1"}) as resp:
            assert resp.status == 200
            echo = await resp.json()
            seen.append(
                (
                    {k.lower(): v for k, v in echo["headers"].items()}["x-count"],
                    resp.headers["X-Count"],
                    resp.headers["X-Stored"],
                    resp.headers["X-Expire"],
                    resp.headers["X-Reused"],
                )
            )
            assert resp.headers["X-Missing-Null"] == "true"  # a nil bulk reply is ngx.null
            assert resp.headers["X-Reply-Error"] == "ERR value is not an integer or out of range"
            assert resp.headers["X-Hash"] == "OK/yes"
    assert [s[:4] for s in seen] == [("1", "1", "1", "1"), ("2", "2", "2", "1"), ("3", "3", "3", "1")]
    assert seen[0][4] == "0"  # a fresh connection first, then the pooled one
    assert seen[1][4] != "0" and seen[2][4] != "0"
    client = redis.Redis(port=redis_server.port)
    assert client.get("count:c1") == b"3"
    assert 0 < client.ttl("count:c1") <= 60
    client.close()


async def test_selected_database_and_concurrency(lua_gateway, echo_upstream, redis_server, http):  # noqa: F811
    gw = await lua_gateway(_config(echo_upstream, port=redis_server.port, database=3))

    async def one() -> str:
        async with http.get(gw.url + "/", headers={"X-Client": "db3"}) as resp:
            assert resp.status == 200
            return resp.headers["X-Count"]

    counts = await asyncio.gather(*(one() for _ in range(20)))
    assert sorted(int(c) for c in counts) == list(range(1, 21))
    in_db3 = redis.Redis(port=redis_server.port, db=3)
    in_db0 = redis.Redis(port=redis_server.port, db=0)
    assert in_db3.get("count:db3") == b"20"
    assert in_db0.get("count:db3") is None
    in_db3.close()
    in_db0.close()


async def test_redis_down_gives_connection_refused(lua_gateway, echo_upstream, http):  # noqa: F811
    gw = await lua_gateway(_config(echo_upstream, port=free_port()))
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 503
        assert await resp.json() == {"message": "redis connect: connection refused"}


async def test_password(lua_gateway, echo_upstream, http):  # noqa: F811
    server = start_redis_server()
    try:
        redis.Redis(port=server.port).config_set("requirepass", "s3cret")
        good = await lua_gateway(_config(echo_upstream, port=server.port, password="s3cret"))
        async with http.get(good.url + "/", headers={"X-Client": "auth"}) as resp:
            assert resp.status == 200
            assert resp.headers["X-Count"] == "1"
        bad = await lua_gateway(_config(echo_upstream, port=server.port, password="wrong"))
        async with http.get(bad.url + "/") as resp:
            assert resp.status == 503
            message = (await resp.json())["message"]
        assert message.startswith("redis auth: WRONGPASS") or message.startswith("redis auth: ERR invalid")
    finally:
        server.stop()


async def test_replies_and_forgotten_connections(redis_server):  # noqa: F811
    host = LuaHost()
    fn = host.compile_in(
        "t",
        f"""
        local redis = require "resty.redis"
        local red = redis:new()
        assert(red:connect("127.0.0.1", {redis_server.port}))
        red:del("l")
        red:rpush("l", "a", "b", 3)
        local list = red:lrange("l", 0, -1)
        local missing = red:lrange("nope", 0, -1)
        local status = red:ping()
        local arr = red:eval("return {{1, false, 'x'}}", 0)
        local ok, err = red:no_such_command()
        local h = red:array_to_hash({{"k1", "v1", "k2", "v2"}})
        -- this connection is never given back: it must close with its request
        return list[1] .. list[2] .. list[3], #missing, status, arr[1], arr[2] == ngx.null, arr[3],
          ok, err, h.k2, red:get_reused_times()
        """,
    )
    ctx = Context()
    ctx.phase = Phase.access
    use_context(ctx)  # this async test's own context: nothing to reset afterwards
    results = await drive(host, host.H.new_request(), b"t", fn)
    assert results[:6] == (b"ab3", 0, b"PONG", 1, True, b"x")
    assert results[6] is False
    assert results[7].startswith(b"ERR unknown command")
    assert results[8:] == (b"v2", 0)
    conns = host.state["redis_connections"]
    assert len(conns.active) == 1
    await host.close()  # the worker stops: connections never given back are closed
    assert len(conns.active) == 0
