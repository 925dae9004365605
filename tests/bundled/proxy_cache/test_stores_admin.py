"""proxy-cache: the redis strategy, the Admin API endpoints and the doc.md example."""

from __future__ import annotations

from typing import Any

from host.testing import MockUpstream
from py_plugins.proxy_cache._store import close_stores
from tests.bundled.docs import example_config
from tests.bundled.proxy_cache import test_proxy_cache
from tests.bundled.proxy_cache.test_proxy_cache import cache_config, get
from tests.redis_server import RedisServer

counter = test_proxy_cache.counter  # the fixture: mock_upstream answering as the counting upstream


def redis_config(upstream: MockUpstream, server: RedisServer, **extra: Any) -> dict[str, Any]:
    return cache_config(
        upstream, strategy="redis", redis={"host": server.host, "port": server.port, "database": 3}, **extra
    )


async def test_redis_is_shared_between_gateways(gateway, mock_upstream, counter, redis_server):
    redis_server.command("SELECT", "3")
    one = await gateway.start(redis_config(mock_upstream, redis_server))
    two = await gateway.start(redis_config(mock_upstream, redis_server))
    _, headers, _ = await get(one, "/shared?ct=application/json")
    assert headers["X-Cache-Status"] == "Miss"
    await close_stores()  # the second gateway opens its own connections
    status, headers, body = await get(two, "/shared?ct=application/json")
    assert (status, headers["X-Cache-Status"], body) == (200, "Hit", b"/shared #1")
    assert headers["Content-Type"] == "application/json"
    assert counter.hits["/shared"] == 1


async def test_redis_entry_expires_with_storage_ttl(gateway, mock_upstream, counter, redis_server):
    gw = await gateway.start(redis_config(mock_upstream, redis_server, storage_ttl=7))
    _, headers, _ = await get(gw, "/ttl")
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


async def test_redis_down_passes_requests(gateway, mock_upstream, counter):
    config = cache_config(
        mock_upstream, strategy="redis", redis={"host": "127.0.0.1", "port": 9, "timeout": 200}
    )
    gw = await gateway.start(config)
    for _ in range(2):
        status, _, _ = await get(gw, "/down")
        assert status == 200
    assert counter.hits["/down"] == 2


async def test_admin_api_get_and_purge(gateway, mock_upstream, counter):
    gw = await gateway.start(cache_config(mock_upstream), admin=True)
    _, headers, _ = await get(gw, "/adm")
    key = headers["X-Cache-Key"]
    plugin_id = next(i.id for i in gw.gateway.snapshot.plugins.instances if i.name == "proxy-cache")
    resp = await gw.admin("GET", f"/proxy-cache/{key}")
    assert resp.status == 200
    entry = resp.json()
    assert entry["status"] == 200 and entry["body"] == "/adm #1" and entry["body_len"] == 7
    assert entry["headers"]["Content-Type"] == "text/plain" and entry["version"] == 1
    resp = await gw.admin("GET", f"/proxy-cache/{plugin_id}/caches/{key}")
    assert resp.status == 200
    resp = await gw.admin("GET", f"/proxy-cache/nope/caches/{key}")
    assert resp.status == 404
    resp = await gw.admin("DELETE", f"/proxy-cache/{key}")
    assert resp.status == 204
    resp = await gw.admin("DELETE", f"/proxy-cache/{key}")
    assert resp.status == 404
    resp = await gw.admin("GET", f"/proxy-cache/{key}")
    assert resp.status == 404
    assert (await get(gw, "/adm"))[1]["X-Cache-Status"] == "Miss"
    await get(gw, "/adm2")
    resp = await gw.admin("DELETE", "/proxy-cache")
    assert resp.status == 204
    assert (await get(gw, "/adm"))[1]["X-Cache-Status"] == "Miss"
    assert (await get(gw, "/adm2"))[1]["X-Cache-Status"] == "Miss"
    _, headers, _ = await get(gw, "/adm3")
    resp = await gw.admin("DELETE", f"/proxy-cache/{plugin_id}/caches/{headers['X-Cache-Key']}")
    assert resp.status == 204
    assert (await get(gw, "/adm3"))[1]["X-Cache-Status"] == "Miss"


async def test_admin_flush_of_redis(gateway, mock_upstream, counter, redis_server):
    gw = await gateway.start(redis_config(mock_upstream, redis_server), admin=True)
    await get(gw, "/f")
    resp = await gw.admin("DELETE", "/proxy-cache")
    assert resp.status == 204
    assert (await get(gw, "/f"))[1]["X-Cache-Status"] == "Miss"


async def test_doc_example(gateway, mock_upstream):
    gw = await gateway.start(example_config("proxy-cache", mock_upstream.url))
    _, first, body = await get(gw, "/demo?page=1", headers={"Accept-Language": "en"})
    assert first["X-Cache-Status"] == "Miss"
    _, again, cached = await get(gw, "/demo?page=1&utm=x", headers={"Accept-Language": "en"})
    assert (again["X-Cache-Status"], again["X-Cache-Key"], cached) == ("Hit", first["X-Cache-Key"], body)
    assert "Age" in again
    _, other, _ = await get(gw, "/demo?page=1", headers={"Accept-Language": "fr"})
    assert other["X-Cache-Status"] == "Miss"
