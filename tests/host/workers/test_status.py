"""``GET /status`` of one worker: Kong's fields, units, connection counters, the plugins block."""

from __future__ import annotations

import asyncio
import os

from tests.conftest import service


def _config(upstream) -> dict:
    return {
        "_format_version": "3.0",
        "services": [
            {
                **service(upstream),
                "routes": [
                    {"name": "fast", "paths": ["/fast"]},
                    {
                        "name": "slow",
                        "paths": ["/slow"],
                        "plugins": [{"name": "sleeper", "config": {"seconds": 1.0}}],
                    },
                ],
            }
        ],
    }


async def _status(http, gw, query: str = "") -> dict:
    async with http.get(f"{gw.status_url}/status{query}") as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def test_status_has_kongs_fields(make_gateway, echo_upstream, http):
    gw = await make_gateway(_config(echo_upstream))
    body = await _status(http, gw)
    assert body["database"] == {"reachable": True}
    assert list(body["server"]) == [
        "connections_accepted",
        "connections_active",
        "connections_handled",
        "connections_reading",
        "connections_writing",
        "connections_waiting",
        "total_requests",
    ]
    assert body["configuration_hash"] == gw.gateway.snapshot.hash
    (vm,) = body["memory"]["workers_lua_vms"]
    assert vm["pid"] == os.getpid()
    number, unit = vm["http_allocated_gc"].split()
    assert unit == "MiB" and float(number) > 0 and len(number.split(".")[1]) == 2
    assert body["memory"]["lua_shared_dicts"]["kong"] == {
        "allocated_slabs": "0.00 MiB",
        "capacity": "5.00 MiB",
    }
    assert body["workers"] == [
        {
            "pid": os.getpid(),
            "worker_id": 0,
            "configuration_hash": gw.gateway.snapshot.hash,
            "total_requests": body["server"]["total_requests"],
            "connections_active": body["server"]["connections_active"],
        }
    ]
    assert {"loaded", "failed", "init_worker_errors", "breakers"} <= set(body["plugins"])
    assert "sleeper" in body["plugins"]["loaded"]


async def test_memory_units_and_scale(make_gateway, echo_upstream, http):
    gw = await make_gateway(_config(echo_upstream))
    in_bytes = await _status(http, gw, "?unit=b")
    assert in_bytes["memory"]["lua_shared_dicts"]["kong"]["capacity"] == 5 * 1024 * 1024
    assert isinstance(in_bytes["memory"]["workers_lua_vms"][0]["http_allocated_gc"], int)
    kib = await _status(http, gw, "?unit=k&scale=1")
    assert kib["memory"]["lua_shared_dicts"]["kong"]["capacity"] == "5120.0 KiB"
    gib = await _status(http, gw, "?unit=G&scale=3")
    assert gib["memory"]["lua_shared_dicts"]["kong_db_cache"]["capacity"] == "0.125 GiB"
    for query, message in [
        ("?unit=x", "invalid unit 'x' (expected 'b/B', 'k/K', 'm/M', or 'g/G')"),
        ("?scale=many", "invalid scale 'many': expected a number"),
    ]:
        async with http.get(f"{gw.status_url}/status{query}") as resp:
            assert (resp.status, await resp.json()) == (400, {"message": message})


async def test_connection_counters_follow_the_proxy_connections(make_gateway, echo_upstream, http):
    gw = await make_gateway(_config(echo_upstream), plugins_dirs=None)
    before = (await _status(http, gw))["server"]

    # one idle keep-alive connection (waiting), one connection with a request in flight (writing)
    reader, writer = await asyncio.open_connection("127.0.0.1", gw.gateway.proxy_port)
    writer.write(b"GET /fast HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    slow = asyncio.ensure_future(http.get(gw.url + "/slow"))
    for _ in range(100):
        now = (await _status(http, gw))["server"]
        if now["connections_writing"] == 1:
            break
        await asyncio.sleep(0.02)
    assert now["connections_accepted"] - before["connections_accepted"] == 2
    assert now["connections_handled"] == now["connections_accepted"]
    assert (now["connections_active"], now["connections_writing"], now["connections_waiting"]) == (2, 1, 1)
    assert now["total_requests"] - before["total_requests"] == 2

    async with await slow as resp:
        assert resp.status == 200
    writer.close()
    await writer.wait_closed()
    for _ in range(100):
        after = (await _status(http, gw))["server"]
        if after["connections_active"] == 1:  # the aiohttp session keeps its connection open
            break
        await asyncio.sleep(0.02)
    assert (after["connections_active"], after["connections_writing"], after["connections_waiting"]) == (
        1,
        0,
        1,
    )
