"""rate-limiting's counting (policies.lua) at chosen instants: fixed and sliding windows,
in the worker's shared dict and in a real Redis."""

from __future__ import annotations

from typing import Any

import pytest

from host.context import Context, reset_context, use_context
from host.gateway import build_registry
from host.lua.driver import drive
from host.settings import Settings
from pdk.phases import Phase

# 2026-01-01T00:00:00Z in ms: a minute (and hour, day, month, year) boundary
T0 = 1767225600000

CHECK = """
local policies = require "kong.plugins.rate-limiting.policies"
local conf, identifier, now_ms = ...
local periods = {}
for _, p in ipairs({ "second", "minute", "hour", "day", "month", "year" }) do
  if conf[p] then periods[#periods + 1] = { name = p, limit = conf[p] } end
end
local used, blocked = policies[conf.policy].check(conf, identifier, periods, now_ms)
if not used then return nil, blocked end
local parts = {}
for i = 1, #used do parts[i] = string.format("%.2f", used[i]) end
return table.concat(parts, ","), blocked
"""


@pytest.fixture
def checker():
    """``await check(conf, identifier, now_ms)`` -> (usage before, blocked) or (None, err)."""
    host = build_registry(Settings(plugins_dirs=[])).lua
    fn = host.compile_in("rate-limiting", CHECK, "=check")
    ctx = Context()
    ctx.phase = Phase.access
    token = use_context(ctx)

    async def check(conf: dict[str, Any], identifier: str, now_ms: int) -> tuple[Any, Any]:
        conf = {"route_id": "r1", "service_id": "s1", "strategy": "fixed_window", **conf}
        used, blocked = await drive(
            host, host.H.new_request(), b"rate-limiting", fn, host.to_lua(conf), identifier.encode(), now_ms
        )
        return (used.decode() if used is not None else None), blocked

    yield check
    reset_context(token)  # a sync fixture: the context must not outlive the test


def redis_conf(server: Any, **redis: Any) -> dict[str, Any]:
    return {
        "policy": "redis",
        "redis": {
            "host": server.host,
            "port": server.port,
            "timeout": 2000,
            "database": 0,
            "ssl": False,
            "ssl_verify": False,
            **redis,
        },
    }


async def _fixed(check, base: dict[str, Any]) -> None:
    conf = {**base, "minute": 2, "hour": 3}
    assert await check(conf, "a", T0 + 1000) == ("0.00,0.00", False)
    assert await check(conf, "a", T0 + 2000) == ("1.00,1.00", False)
    # the minute is exhausted: refused, and a refused request is not counted
    assert await check(conf, "a", T0 + 3000) == ("2.00,2.00", True)
    assert await check(conf, "a", T0 + 59999) == ("2.00,2.00", True)
    # another client has its own counters
    assert await check(conf, "b", T0 + 3000) == ("0.00,0.00", False)
    # the next minute starts from zero, the hour goes on: 3 reached after this one
    assert await check(conf, "a", T0 + 60000) == ("0.00,2.00", False)
    assert await check(conf, "a", T0 + 61000) == ("1.00,3.00", True)


async def _sliding(check, base: dict[str, Any]) -> None:
    conf = {**base, "minute": 4, "strategy": "sliding_window"}
    for i in range(4):  # a burst at the end of a minute
        assert (await check(conf, "a", T0 + 59000 + i))[1] is False
    assert (await check(conf, "a", T0 + 59500))[1] is True
    # just after the edge the previous minute still weighs almost fully: a fixed window
    # would allow 4 more requests here, the sliding one only what the decay freed (one)
    assert await check(conf, "a", T0 + 60000 + 600) == ("3.96", False)
    assert await check(conf, "a", T0 + 60000 + 700) == ("4.95", True)
    # half way through the next minute half of the burst is forgotten
    assert await check(conf, "a", T0 + 90000) == ("3.00", False)
    assert await check(conf, "a", T0 + 90000) == ("4.00", True)


async def test_local_fixed_windows(checker):
    await _fixed(checker, {"policy": "local"})


async def test_local_sliding_window(checker):
    await _sliding(checker, {"policy": "local"})


async def test_redis_fixed_windows(checker, redis_server):
    redis_server.command("FLUSHALL")
    await _fixed(checker, redis_conf(redis_server))
    # Kong's key names, with the window's start and an expiry of one window
    key = f"ratelimit:r1:s1:a:{T0 + 60000}:minute"
    assert redis_server.command("GET", key) == b"$1\r\n1\r\n"
    assert 0 < int(redis_server.command("TTL", key)[1:]) <= 60


async def test_redis_sliding_window(checker, redis_server):
    redis_server.command("FLUSHALL")
    await _sliding(checker, redis_conf(redis_server))


async def test_redis_database_and_password(checker, redis_server):
    redis_server.command("FLUSHALL")
    conf = {**redis_conf(redis_server, database=3), "minute": 5}
    assert await checker(conf, "a", T0) == ("0.00", False)
    assert redis_server.command("SELECT", "3").startswith(b"+OK")
    # the counter went to database 3, not 0
    assert redis_server.command("DBSIZE") == b":0\r\n"
    conf = {**redis_conf(redis_server, password="secret"), "minute": 5}
    used, err = await checker(conf, "a", T0)
    assert used is None and b"failed to auth Redis" in err


async def test_redis_down_is_an_error(checker):
    from tests.conftest import free_port

    conf = {
        "policy": "redis",
        "minute": 5,
        "redis": {"host": "127.0.0.1", "port": free_port(), "timeout": 500, "database": 0},
    }
    used, err = await checker(conf, "a", T0)
    assert used is None and err == b"failed to connect to Redis: connection refused"
