"""``moongate start --workers 2``: a supervisor, two workers on one port, restarts, reload, drain."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from tests.host.workers._process import Gateway, probe_config

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def gateways(tmp_path) -> AsyncIterator:
    """``gateways(config, *args, env=...)`` -> a started Gateway process; killed at the end."""
    started: list[Gateway] = []

    async def start(config: str, *args: str, env: dict[str, str] | None = None) -> Gateway:
        folder = tmp_path / f"gw{len(started)}"
        folder.mkdir()
        gateway = Gateway(folder, config, *args, env=env)
        started.append(gateway)
        await gateway.wait_started()
        return gateway

    yield start
    for gateway in started:
        gateway.kill()


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    """A new connection per request: the kernel picks a worker for each."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        yield session


@pytest.fixture
async def slow_upstream() -> AsyncIterator:
    """An upstream whose ``/slow?s=N`` answers after N seconds; ``.arrived`` counts requests in."""
    state = {"arrived": 0}

    async def handle(request: web.Request) -> web.Response:
        state["arrived"] += 1
        await asyncio.sleep(float(request.query.get("s", "0")))
        return web.Response(text="done")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)  # a stuck request ends the test
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state["url"] = f"http://127.0.0.1:{runner.addresses[0][1]}"
    yield state
    await runner.cleanup()


async def _pids_answering(gw: Gateway, client: aiohttp.ClientSession, n: int = 60) -> set[int]:
    pids = set()
    for _ in range(n):
        async with client.get(gw.url + "/") as resp:
            assert resp.status == 200
            pids.add(int(resp.headers["X-Worker-Pid"]))
    return pids


def _gone(pid: int) -> bool:
    """Dead or a zombie (its sockets closed), so the kernel sends it no more connections."""
    try:
        state = next(
            ln for ln in Path(f"/proc/{pid}/status").read_text().splitlines() if ln.startswith("State:")
        )
    except (FileNotFoundError, ProcessLookupError):  # reaped meanwhile
        return True
    return "Z" in state.split()[1]


async def test_two_workers_share_the_port_and_the_status(gateways, client, echo_upstream):
    gw = await gateways(probe_config(echo_upstream.url, "v1"), "--workers", "2")
    started = next(r for r in gw.records() if r["msg"] == "moongate started")
    assert started["pid"] == gw.proc.pid and started["proxy_port"] == gw.port
    workers = set(started["workers"])
    assert len(workers) == 2 and gw.proc.pid not in workers
    assert int((gw.prefix / "moongate.pid").read_text()) == gw.proc.pid

    assert await _pids_answering(gw, client) == workers  # SO_REUSEPORT: both take connections
    async with client.get(gw.url + "/") as resp:  # the workers' PROMETHEUS_MULTIPROC_DIR
        assert resp.headers["X-Multiproc-Dir"] == str((gw.prefix / "metrics").resolve())

    await asyncio.sleep(1.5)  # every worker has published its counters since
    status = await gw.status(client)
    assert {vm["pid"] for vm in status["memory"]["workers_lua_vms"]} == workers
    assert {w["pid"] for w in status["workers"]} == workers
    assert status["server"]["total_requests"] == sum(w["total_requests"] for w in status["workers"]) >= 61
    assert all(w["total_requests"] > 0 for w in status["workers"])


async def test_a_killed_worker_is_restarted_and_the_port_keeps_answering(gateways, client, echo_upstream):
    gw = await gateways(probe_config(echo_upstream.url, "v1"), "--workers", "2")
    workers = set(next(r for r in gw.records() if r["msg"] == "moongate started")["workers"])
    victim = min(workers)
    os.kill(victim, signal.SIGKILL)
    for _ in range(200):
        if _gone(victim):
            break
        await asyncio.sleep(0.01)
    assert await _pids_answering(gw, client, 30) <= workers - {victim}  # the survivor answers

    for _ in range(200):  # the replacement comes up
        status = await gw.status(client)
        pids = {w["pid"] for w in status["workers"]}
        if len(pids) == 2 and victim not in pids:
            break
        await asyncio.sleep(0.05)
    assert len(pids) == 2 and victim not in pids
    restarted = [r for r in gw.records() if r["msg"].endswith("was killed by SIGKILL: restarting it")]
    assert [(r["logger"], r["level"], r["pid"]) for r in restarted] == [
        ("moongate.supervisor", "error", victim)
    ]
    replacement = (pids - workers).pop()
    for _ in range(100):
        if replacement in await _pids_answering(gw, client, 20):
            break
    else:
        raise AssertionError("the restarted worker takes no connections")
    assert gw.proc.poll() is None


async def test_sigterm_lets_a_slow_request_finish_then_exits(gateways, client, slow_upstream):
    gw = await gateways(probe_config(slow_upstream["url"], "v1"), "--workers", "2")
    slow = asyncio.ensure_future(client.get(gw.url + "/slow?s=2"))
    for _ in range(200):
        if slow_upstream["arrived"]:
            break
        await asyncio.sleep(0.01)
    assert slow_upstream["arrived"] == 1
    gw.signal(signal.SIGTERM)

    async with await slow as resp:  # in flight during SIGTERM: completes
        assert (resp.status, await resp.text()) == (200, "done")
    assert await gw.wait_exit(15) == 0
    with pytest.raises(aiohttp.ClientConnectionError):  # nobody accepts any more
        await client.get(gw.url + "/")
    msgs = [r["msg"] for r in gw.records()]
    assert msgs.index("moongate stopping: draining 2 worker(s)") < msgs.index("moongate stopped")
    assert not (gw.prefix / "moongate.pid").exists()


async def test_the_shutdown_timeout_bounds_the_drain(gateways, client, slow_upstream):
    env = {"KONG_NGINX_MAIN_WORKER_SHUTDOWN_TIMEOUT": "1s"}
    gw = await gateways(probe_config(slow_upstream["url"], "v1"), "--workers", "2", env=env)
    stuck = asyncio.ensure_future(client.get(gw.url + "/slow?s=60"))
    for _ in range(200):
        if slow_upstream["arrived"]:
            break
        await asyncio.sleep(0.01)
    loop = asyncio.get_running_loop()
    began = loop.time()
    gw.signal(signal.SIGTERM)
    assert await gw.wait_exit(15) == 0
    assert loop.time() - began < 6  # 1 s of grace, not the upstream's 60 s
    with pytest.raises(aiohttp.ClientError):  # cut off at the deadline
        async with await stuck as resp:
            await resp.read()


async def test_sighup_reaches_every_worker_and_a_bad_file_is_refused_once(gateways, client, echo_upstream):
    gw = await gateways(probe_config(echo_upstream.url, "v1"), "--workers", "2")
    first = (await gw.status(client))["configuration_hash"]

    gw.config_file.write_text(probe_config(echo_upstream.url, "v2"))
    gw.signal(signal.SIGHUP)
    for _ in range(200):
        hashes = {w["configuration_hash"] for w in (await gw.status(client))["workers"]}
        if len(hashes) == 1 and first not in hashes:
            break
        await asyncio.sleep(0.05)
    assert len(hashes) == 1 and first not in hashes, hashes
    for _ in range(20):
        async with client.get(gw.url + "/") as resp:
            # configure ran again in every worker (once at start, once for the reload)
            assert (resp.headers["X-Config"], resp.headers["X-Configured"]) == ("v2", "2")

    gw.config_file.write_text(probe_config(echo_upstream.url, "v3").replace("tag: v3", "tag: 3"))
    gw.signal(signal.SIGHUP)
    for _ in range(200):
        if any(r["msg"].startswith("reload of ") for r in gw.records()):
            break
        await asyncio.sleep(0.05)
    refused = [(r["logger"], r["msg"]) for r in gw.records() if "refused" in r["msg"]]
    assert refused == [  # once, by the supervisor: the workers were not asked
        (
            "moongate.supervisor",
            "reload refused: kong.yml: plugins[0] (name=worker-probe): config.tag: expected a string",
        ),
        (
            "moongate.supervisor",
            f"reload of {gw.config_file} refused (1 error(s)): the running configuration keeps serving",
        ),
    ]
    async with client.get(gw.url + "/") as resp:
        assert resp.headers["X-Config"] == "v2"
    assert {w["configuration_hash"] for w in (await gw.status(client))["workers"]} == hashes


async def test_port_zero_is_refused_with_several_workers(tmp_path, echo_upstream):
    import subprocess

    from tests.host.workers._process import CLI, ENV, REPO

    (tmp_path / "kong.yml").write_text(probe_config(echo_upstream.url, "v1"))
    result = subprocess.run(
        [*CLI, "start", "-c", str(tmp_path / "kong.yml"), "-p", str(tmp_path / "p"), "--workers", "2"]
        + ["--proxy-listen", "127.0.0.1:0", "--status-listen", "off"]
        + ["--plugins-dir", str(Path(__file__).parent / "plugins")],
        cwd=REPO,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == "moongate: 2 workers need fixed ports: a listener has port 0"
