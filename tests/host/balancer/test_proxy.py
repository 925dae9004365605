"""Balancing through a real gateway and real upstreams: what a client sees."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import aiohttp

from host.balancer.health import health_report
from host.config import load_data
from tests.conftest import GatewayFactory, RunningGateway, wait_until
from tests.host.balancer.conftest import ServerFactory, upstream_config


async def ports(http: aiohttp.ClientSession, gw: RunningGateway, n: int, **kw: Any) -> Counter[int]:
    seen: Counter[int] = Counter()
    for _ in range(n):
        async with http.get(gw.url + "/x", **kw) as resp:
            assert resp.status == 200, await resp.text()
            seen[(await resp.json())["port"]] += 1
    return seen


def report(gw: RunningGateway) -> dict[str, str]:
    body = health_report(gw.gateway.snapshot, "pool")
    assert body is not None
    return {item["target"]: item["health"] for item in body["data"]}


async def test_round_robin_spreads_over_every_target(
    gateway: GatewayFactory, servers: ServerFactory, http: aiohttp.ClientSession
) -> None:
    ups = await servers(3)
    gw = await gateway(upstream_config(ups))
    assert sorted((await ports(http, gw, 30)).values()) == [10, 10, 10]


async def test_no_usable_target_is_kongs_503(
    gateway: GatewayFactory, servers: ServerFactory, http: aiohttp.ClientSession
) -> None:
    ups = await servers(1)
    config = upstream_config(ups)
    config["upstreams"][0]["targets"][0]["weight"] = 0
    gw = await gateway(config)
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 503
        assert (await resp.json())["message"] == "failure to get a peer from the ring-balancer"


async def test_retries_move_on_and_passive_checks_take_the_dead_target_out(
    gateway: GatewayFactory, servers: ServerFactory, http: aiohttp.ClientSession
) -> None:
    ups = await servers(3)
    passive = {"passive": {"unhealthy": {"tcp_failures": 2}}}
    gw = await gateway(upstream_config(ups, healthchecks=passive))
    dead = ups[0]
    await dead.stop()
    seen = await ports(http, gw, 30)  # every request answered: retries skip the refused target
    assert set(seen) == {ups[1].port, ups[2].port}
    assert report(gw)[dead.target] == "UNHEALTHY"
    await dead.start(dead.port)  # passive checks alone never bring it back (as in Kong)
    assert set(await ports(http, gw, 12)) == {ups[1].port, ups[2].port}
    assert dead.hits == 0


async def test_passive_http_statuses_and_the_health_report(
    gateway: GatewayFactory, servers: ServerFactory, http: aiohttp.ClientSession
) -> None:
    ups = await servers(2)
    passive = {"passive": {"unhealthy": {"http_failures": 2}}}
    gw = await gateway(upstream_config(ups, healthchecks=passive))
    ups[0].status = 500
    statuses = Counter()
    for _ in range(12):
        async with http.get(gw.url + "/") as resp:
            statuses[resp.status] += 1  # a 500 is an answer: not retried
    assert statuses[500] == 2 and statuses[200] == 10
    assert report(gw) == {ups[0].target: "UNHEALTHY", ups[1].target: "HEALTHY"}


async def test_the_circuit_breaker_opens_probes_and_closes(
    gateway: GatewayFactory, servers: ServerFactory, http: aiohttp.ClientSession
) -> None:
    ups = await servers(2)
    gw = await gateway(upstream_config(ups, circuit_breaker={"failures": 2, "cooldown": 0.3}))
    flaky = ups[0]
    await flaky.stop()
    assert set(await ports(http, gw, 10)) == {ups[1].port}
    state = next(a.state for a in gw.gateway.snapshot.balancers["pool"].addresses if a.port == flaky.port)
    assert state.breaker == "open"
    body = health_report(gw.gateway.snapshot, "pool")
    assert body["data"][0]["data"]["addresses"][0]["circuit_breaker"] == "open"  # type: ignore[index]
    await flaky.start(flaky.port)
    await asyncio.sleep(0.35)  # cool-down over: the next request that reaches it probes it
    seen = await ports(http, gw, 10)
    assert state.breaker == "closed"
    assert seen[flaky.port] >= 3


async def test_least_connections_sends_less_to_a_slow_target(
    gateway: GatewayFactory, servers: ServerFactory, http: aiohttp.ClientSession
) -> None:
    ups = await servers(3)
    ups[0].delay = 0.3
    gw = await gateway(upstream_config(ups, algorithm="least-connections"))

    deadline = asyncio.get_running_loop().time() + 1.2

    async def worker() -> None:  # steady load: 6 requests in flight at any time
        while asyncio.get_running_loop().time() < deadline:
            async with http.get(gw.url + "/") as resp:
                assert resp.status == 200

    await asyncio.gather(*(worker() for _ in range(6)))
    assert ups[0].hits * 3 < ups[1].hits and ups[0].hits * 3 < ups[2].hits


async def test_least_connections_counts_a_download_until_its_body_is_sent(
    gateway: GatewayFactory, servers: ServerFactory, http: aiohttp.ClientSession
) -> None:
    ups = await servers(3)
    gw = await gateway(upstream_config(ups, algorithm="least-connections"))
    async with http.get(gw.url + "/download") as download:
        assert download.status == 200
        busy = int(await download.content.readline())  # the head and first chunk are here
        during = await ports(http, gw, 12)  # one at a time while the body still streams
        assert busy not in during  # its connection is still counted: the others win
        assert len(during) == 2  # the two others share them
        assert len(await download.read()) == 1000
    addresses = gw.gateway.snapshot.balancers["pool"].addresses
    await wait_until(lambda: all(a.state.inflight == 0 for a in addresses))
    after = await ports(http, gw, 12)
    assert after[busy] == 4  # back in the rotation once the body was sent


async def test_cookie_hashing_sets_a_cookie_and_sticks(
    gateway: GatewayFactory, servers: ServerFactory, http: aiohttp.ClientSession
) -> None:
    ups = await servers(3)
    gw = await gateway(upstream_config(ups, hash_on="cookie", hash_on_cookie="lb"))
    async with http.get(gw.url + "/") as resp:
        cookie = resp.headers["Set-Cookie"]
        first = (await resp.json())["port"]
    assert cookie.endswith("; Path=/; Same-Site=Lax; HttpOnly")
    value = cookie.split(";")[0]
    seen = await ports(http, gw, 10, headers={"Cookie": value})
    assert set(seen) == {first}


async def test_health_survives_a_reload(
    gateway: GatewayFactory, servers: ServerFactory, http: aiohttp.ClientSession
) -> None:
    ups = await servers(3)
    passive = {"passive": {"unhealthy": {"tcp_failures": 1}}}
    gw = await gateway(upstream_config(ups[:2], healthchecks=passive))
    await ups[0].stop()
    await ports(http, gw, 6)
    assert report(gw)[ups[0].target] == "UNHEALTHY"
    config = upstream_config(ups, healthchecks=passive)  # one more target
    await gw.gateway.apply(load_data(config, gw.gateway.registry, source="t.yml"))
    assert report(gw) == {ups[0].target: "UNHEALTHY", ups[1].target: "HEALTHY", ups[2].target: "HEALTHY"}
    await ups[0].start(ups[0].port)
    assert set(await ports(http, gw, 12)) == {ups[1].port, ups[2].port}  # still out: no active checks


async def test_active_checks_bring_a_target_back(
    gateway: GatewayFactory, servers: ServerFactory, http: aiohttp.ClientSession
) -> None:
    ups = await servers(2)
    checks = {
        "active": {
            "http_path": "/health",
            "healthy": {"interval": 0.05, "successes": 1},
            "unhealthy": {"interval": 0.05, "tcp_failures": 1, "http_failures": 1},
        }
    }
    gw = await gateway(upstream_config(ups, healthchecks=checks))
    ups[0].health_status = 503
    await wait_until(lambda: report(gw)[ups[0].target] == "UNHEALTHY")
    assert set(await ports(http, gw, 6)) == {ups[1].port}
    ups[0].health_status = 200
    await wait_until(lambda: report(gw)[ups[0].target] == "HEALTHY")
    assert set(await ports(http, gw, 6)) == {ups[0].port, ups[1].port}
