"""proxy-cache: the redis strategy, the Admin API endpoints and the doc.md example."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from py_plugins.proxy_cache import admin
from py_plugins.proxy_cache._store import close_stores
from tests.bundled.docs import example_config
from tests.bundled.proxy_cache._upstream import CountingUpstream
from tests.bundled.proxy_cache.test_proxy_cache import cache_config, get
from tests.redis_server import RedisServer


async def admin_app(gateway: Any) -> AsyncIterator[str]:
    app = web.Application()
    app.add_routes(admin.routes(gateway))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def redis_config(upstream: CountingUpstream, server: RedisServer, **extra: Any) -> dict[str, Any]:
    return cache_config(
        upstream, strategy="redis", redis={"host": server.host, "port": server.port, "database": 3}, **extra
    )


async def test_redis_is_shared_between_gateways(make_gateway, counting_upstream, redis_server, http):
    redis_server.command("SELECT", "3")
    one = await make_gateway(redis_config(counting_upstream, redis_server))
    two = await make_gateway(redis_config(counting_upstream, redis_server))
    _, headers, _ = await get(http, one.url + "/shared?ct=application/json")
    assert headers["X-Cache-Status"] == "Miss"
    await close_stores()  # the second gateway opens its own connections
    status, headers, body = await get(http, two.url + "/shared?ct=application/json")
    assert (status, headers["X-Cache-Status"], body) == (200, "Hit", b"/shared #1")
    assert headers["Content-Type"] == "application/json"
    assert counting_upstream.hits["/shared"] == 1


async def test_redis_entry_expires_with_storage_ttl(make_gateway, counting_upstream, redis_server, http):
    gw = await make_gateway(redis_config(counting_upstream, redis_server, storage_ttl=7))
    _, headers, _ = await get(http, gw.url + "/ttl")
    key = headers["X-Cache-Key"]
    reply = redis_server.command("TTL", f"kong_proxy_cache:{key}")  # database 0: not there
    assert reply.startswith(b":-2")
    import redis.asyncio as aioredis

    client = aioredis.Redis(host=redis_server.host, port=redis_server.port, db=3)
    try:
        ttl = await client.ttl(f"kong_proxy_cache:{key}")
    finally:
        await client.aclose()
    assert 5 <= ttl <= 7


async def test_redis_down_passes_requests(make_gateway, counting_upstream, http):
    config = cache_config(
        counting_upstream, strategy="redis", redis={"host": "127.0.0.1", "port": 9, "timeout": 200}
    )
    gw = await make_gateway(config)
    for _ in range(2):
        status, _, _ = await get(http, gw.url + "/down")
        assert status == 200
    assert counting_upstream.hits["/down"] == 2


async def test_admin_api_get_and_purge(make_gateway, counting_upstream, http):
    gw = await make_gateway(cache_config(counting_upstream))
    _, headers, _ = await get(http, gw.url + "/adm")
    key = headers["X-Cache-Key"]
    plugin_id = next(i.id for i in gw.gateway.snapshot.plugins.instances if i.name == "proxy-cache")
    async for base in admin_app(gw.gateway):
        async with http.get(f"{base}/proxy-cache/{key}") as resp:
            assert resp.status == 200
            entry = await resp.json()
        assert entry["status"] == 200 and entry["body"] == "/adm #1" and entry["body_len"] == 7
        assert entry["headers"]["Content-Type"] == "text/plain" and entry["version"] == 1
        async with http.get(f"{base}/proxy-cache/{plugin_id}/caches/{key}") as resp:
            assert resp.status == 200
        async with http.get(f"{base}/proxy-cache/nope/caches/{key}") as resp:
            assert resp.status == 404
        async with http.delete(f"{base}/proxy-cache/{key}") as resp:
            assert resp.status == 204
        async with http.delete(f"{base}/proxy-cache/{key}") as resp:
            assert resp.status == 404
        async with http.get(f"{base}/proxy-cache/{key}") as resp:
            assert resp.status == 404
        assert (await get(http, gw.url + "/adm"))[1]["X-Cache-Status"] == "Miss"
        await get(http, gw.url + "/adm2")
        async with http.delete(f"{base}/proxy-cache") as resp:
            assert resp.status == 204
        assert (await get(http, gw.url + "/adm"))[1]["X-Cache-Status"] == "Miss"
        assert (await get(http, gw.url + "/adm2"))[1]["X-Cache-Status"] == "Miss"
        _, headers, _ = await get(http, gw.url + "/adm3")
        async with http.delete(f"{base}/proxy-cache/{plugin_id}/caches/{headers['X-Cache-Key']}") as resp:
            assert resp.status == 204
        assert (await get(http, gw.url + "/adm3"))[1]["X-Cache-Status"] == "Miss"


async def test_admin_flush_of_redis(make_gateway, counting_upstream, redis_server, http):
    gw = await make_gateway(redis_config(counting_upstream, redis_server))
    await get(http, gw.url + "/f")
    async for base in admin_app(gw.gateway):
        async with http.delete(f"{base}/proxy-cache") as resp:
            assert resp.status == 204
    assert (await get(http, gw.url + "/f"))[1]["X-Cache-Status"] == "Miss"


async def test_doc_example(make_gateway, echo_upstream, http):
    gw = await make_gateway(example_config("proxy-cache", echo_upstream.url))
    _, first, body = await get(http, gw.url + "/demo?page=1", headers={"Accept-Language": "en"})
    assert first["X-Cache-Status"] == "Miss"
    _, again, cached = await get(http, gw.url + "/demo?page=1&utm=x", headers={"Accept-Language": "en"})
    assert (again["X-Cache-Status"], again["X-Cache-Key"], cached) == ("Hit", first["X-Cache-Key"], body)
    assert "Age" in again
    _, other, _ = await get(http, gw.url + "/demo?page=1", headers={"Accept-Language": "fr"})
    assert other["X-Cache-Status"] == "Miss"
