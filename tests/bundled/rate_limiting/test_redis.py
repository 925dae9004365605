"""rate-limiting with `policy: redis` against a real redis-server: one limit shared exactly
by several gateways (in this process and as separate `moongate start` processes), one
round trip per request, and `fault_tolerant`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.bundled.rate_limiting._util import away_from_edge, config, statuses
from tests.conftest import free_port

REPO = Path(__file__).resolve().parents[3]


def redis_config(upstream: Any, server: Any, **extra: Any) -> dict[str, Any]:
    conf = {"minute": 10, "policy": "redis", "redis": {"host": server.host, "port": server.port}, **extra}
    return config(upstream, conf)


def command_calls(server: Any, name: str) -> int:
    stats = server.command("INFO", "commandstats").decode()
    for line in stats.splitlines():
        if line.startswith(f"cmdstat_{name}:"):
            return int(line.split("calls=")[1].split(",")[0])
    return 0


async def test_two_gateways_share_one_limit_exactly(make_gateway, echo_upstream, redis_server, http):
    redis_server.command("FLUSHALL")
    await away_from_edge(60)
    cfg = redis_config(echo_upstream, redis_server)
    gateways = [await make_gateway(cfg, plugins_dirs=[]) for _ in range(2)]
    results = []
    for i in range(20):
        async with http.get(gateways[i % 2].url + "/a") as resp:
            results.append(resp.status)
            if resp.status == 200:
                assert resp.headers["X-RateLimit-Remaining-Minute"] == str(9 - i)
    assert results == [200] * 10 + [429] * 10


async def test_concurrent_burst_lets_exactly_the_limit_through(
    make_gateway, echo_upstream, redis_server, http
):
    redis_server.command("FLUSHALL")
    await away_from_edge(60)
    cfg = redis_config(echo_upstream, redis_server)
    gateways = [await make_gateway(cfg, plugins_dirs=[]) for _ in range(2)]

    async def one(i: int) -> int:
        async with http.get(gateways[i % 2].url + "/a") as resp:
            return resp.status

    results = await asyncio.gather(*(one(i) for i in range(40)))
    assert results.count(200) == 10 and results.count(429) == 30


async def test_one_round_trip_per_request(make_gateway, echo_upstream, redis_server, http):
    redis_server.command("FLUSHALL")
    await away_from_edge(60)
    cfg = redis_config(echo_upstream, redis_server, second=10, hour=100, day=100)
    gw = await make_gateway(cfg, plugins_dirs=[])
    assert await statuses(http, gw.url + "/a", 1) == [200]  # loads the script, opens the connection
    redis_server.command("CONFIG", "RESETSTAT")
    assert await statuses(http, gw.url + "/a", 5) == [200] * 5
    # four windows, five requests: five commands (the counting runs inside Redis)
    assert command_calls(redis_server, "evalsha") == 5
    assert command_calls(redis_server, "eval") == 0
    assert command_calls(redis_server, "select") == 0 and command_calls(redis_server, "auth") == 0


async def test_fault_tolerant_passes_without_headers(make_gateway, echo_upstream, http):
    cfg = config(
        echo_upstream,
        {"minute": 1, "policy": "redis", "redis": {"host": "127.0.0.1", "port": free_port(), "timeout": 500}},
    )
    gw = await make_gateway(cfg, plugins_dirs=[])
    for _ in range(3):
        async with http.get(gw.url + "/a") as resp:
            assert resp.status == 200
            assert "X-RateLimit-Limit-Minute" not in resp.headers


async def test_not_fault_tolerant_answers_500(make_gateway, echo_upstream, http):
    cfg = config(
        echo_upstream,
        {
            "minute": 1,
            "policy": "redis",
            "fault_tolerant": False,
            "redis": {"host": "127.0.0.1", "port": free_port(), "timeout": 500},
        },
    )
    gw = await make_gateway(cfg, plugins_dirs=[])
    async with http.get(gw.url + "/a") as resp:
        assert resp.status == 500
        assert (await resp.json())["message"] == "An unexpected error occurred"


async def _start(
    tmp_path: Path, name: str, cfg: dict[str, Any], http: aiohttp.ClientSession
) -> tuple[Any, str]:
    conf_file = tmp_path / f"{name}.yml"
    conf_file.write_text(yaml.safe_dump(cfg))
    proxy, status = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KONG_", "MOONGATE_"))}
    with (tmp_path / f"{name}.log").open("w") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "host.cli",
            "start",
            "-c",
            str(conf_file),
            "--proxy-listen",
            f"127.0.0.1:{proxy}",
            "--status-listen",
            f"127.0.0.1:{status}",
            cwd=REPO,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while loop.time() < deadline:
        assert proc.returncode is None, (tmp_path / f"{name}.log").read_text()
        try:
            async with http.get(f"http://127.0.0.1:{status}/status/ready") as resp:
                if resp.status == 200:
                    return proc, f"http://127.0.0.1:{proxy}"
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    proc.kill()
    raise AssertionError("gateway not ready:\n" + (tmp_path / f"{name}.log").read_text())


async def test_two_gateway_processes_share_one_limit(tmp_path, echo_upstream, redis_server, http):
    redis_server.command("FLUSHALL")
    cfg = redis_config(echo_upstream, redis_server)
    procs = []
    try:
        for name in ("gw1", "gw2"):
            procs.append(await _start(tmp_path, name, cfg, http))
        await away_from_edge(60, margin=5)
        results = []
        for i in range(20):
            async with http.get(procs[i % 2][1] + "/a") as resp:
                results.append(resp.status)
        assert results == [200] * 10 + [429] * 10
    finally:
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
