"""rate-limiting with `policy: redis` against a real redis-server: one limit shared exactly
by several gateways (in this process and as separate `moongate start` processes), one
round trip per request, and `fault_tolerant`."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.bundled.rate_limiting._util import away_from_edge, config, statuses
from tests.conftest import free_port


def redis_config(upstream: Any, server: Any, **extra: Any) -> dict[str, Any]:
    conf = {"minute": 10, "policy": "redis", "redis": {"host": server.host, "port": server.port}, **extra}
    return config(upstream, conf)


def command_calls(server: Any, name: str) -> int:
    stats = server.command("INFO", "commandstats").decode()
    for line in stats.splitlines():
        if line.startswith(f"cmdstat_{name}:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


async def test_two_gateways_share_one_limit_exactly(gateway, mock_upstream, redis_server):
    redis_server.command("FLUSHALL")
    await away_from_edge(60)
    cfg = redis_config(mock_upstream, redis_server)
    gateways = [await gateway.start(cfg, plugins_dirs=[]) for _ in range(2)]
    results = []
    for i in range(20):
        resp = await gateways[i % 2].get("/a")
        results.append(resp.status)
        if resp.status == 200:
            assert resp.headers["X-RateLimit-Remaining-Minute"] == str(9 - i)
    assert results == [200] * 10 + [429] * 10


async def test_concurrent_burst_lets_exactly_the_limit_through(gateway, mock_upstream, redis_server):
    redis_server.command("FLUSHALL")
    await away_from_edge(60)
    cfg = redis_config(mock_upstream, redis_server)
    gateways = [await gateway.start(cfg, plugins_dirs=[]) for _ in range(2)]

    async def one(i: int) -> int:
        return (await gateways[i % 2].get("/a")).status

    results = await asyncio.gather(*(one(i) for i in range(40)))
    assert results.count(200) == 10 and results.count(429) == 30


async def test_one_round_trip_per_request(gateway, mock_upstream, redis_server):
    redis_server.command("FLUSHALL")
    await away_from_edge(60)
    cfg = redis_config(mock_upstream, redis_server, second=10, hour=100, day=100)
    gw = await gateway.start(cfg, plugins_dirs=[])
    assert await statuses(gw, "/a", 1) == [200]  # loads the script, opens the connection
    redis_server.command("CONFIG", "RESETSTAT")
    assert await statuses(gw, "/a", 5) == [200] * 5
    # four windows, five requests: five commands (the counting runs inside Redis)
    assert command_calls(redis_server, "evalsha") == 5
    assert command_calls(redis_server, "eval") == 0
    assert command_calls(redis_server, "select") == 0 and command_calls(redis_server, "auth") == 0


async def test_fault_tolerant_passes_without_headers(gateway, mock_upstream):
    cfg = config(
        mock_upstream,
        {"minute": 1, "policy": "redis", "redis": {"host": "127.0.0.1", "port": free_port(), "timeout": 500}},
    )
    gw = await gateway.start(cfg, plugins_dirs=[])
    for _ in range(3):
        resp = await gw.get("/a")
        assert resp.status == 200
        assert "X-RateLimit-Limit-Minute" not in resp.headers


async def test_not_fault_tolerant_answers_500(gateway, mock_upstream):
    cfg = config(
        mock_upstream,
        {
            "minute": 1,
            "policy": "redis",
            "fault_tolerant": False,
            "redis": {"host": "127.0.0.1", "port": free_port(), "timeout": 500},
        },
    )
    gw = await gateway.start(cfg, plugins_dirs=[])
    resp = await gw.get("/a")
    assert resp.status == 500
    assert resp.json()["message"] == "An unexpected error occurred"


async def test_two_gateway_processes_share_one_limit(gateway, mock_upstream, redis_server):
    redis_server.command("FLUSHALL")
    cfg = redis_config(mock_upstream, redis_server)
    procs = [await gateway.spawn(cfg, plugins_dirs=[]) for _ in ("gw1", "gw2")]
    await away_from_edge(60, margin=5)
    results = []
    for i in range(20):
        resp = await procs[i % 2].get("/a")
        results.append(resp.status)
    assert results == [200] * 10 + [429] * 10
