"""Issue 7, point 7: kill one of three upstream processes under load, then bring it back.

Three ``moongate demo-upstream`` processes sit behind one upstream of a real gateway;
eight clients keep a bounded load (about 15 s).  One upstream is killed with SIGKILL
and later restarted on the same port.  Retries hide the failed tries (GET is
idempotent), passive checks take the dead target out, active checks bring it back.
The numbers are printed for the issue note (``pytest -s``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

from host.balancer.health import close_health, health_report
from tests.conftest import GatewayFactory, free_port

ROOT = Path(__file__).resolve().parents[3]
WORKERS = 8
PAUSE = 0.01  # between two requests of one client: bounded load
KILL_AT, RESTART_AT, END_AT = 4.0, 8.0, 15.0


def spawn(port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "host.cli", "demo-upstream", "--listen", f"127.0.0.1:{port}"]
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


async def wait_listening(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def config(ports: list[int]) -> dict[str, Any]:
    healthchecks = {
        "active": {
            "http_path": "/health",
            "timeout": 1,
            "healthy": {"interval": 0.5, "successes": 2},
            "unhealthy": {"interval": 0.5, "tcp_failures": 2, "timeouts": 2, "http_failures": 2},
        },
        "passive": {"unhealthy": {"tcp_failures": 2, "timeouts": 2}},
    }
    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": "svc",
                "host": "pool",
                "retries": 3,
                "connect_timeout": 1000,
                "routes": [{"name": "r", "paths": ["/"]}],
            }
        ],
        "upstreams": [
            {
                "name": "pool",
                "healthchecks": healthchecks,
                "targets": [{"target": f"127.0.0.1:{p}"} for p in ports],
            }
        ],
    }


async def test_kill_and_restore_one_of_three_upstreams(make_gateway: GatewayFactory) -> None:
    ports = [free_port() for _ in range(3)]
    procs = [spawn(p) for p in ports]
    gw = None
    try:
        for p in ports:
            await wait_listening(p)
        gw = await make_gateway(config(ports))
        await _scenario(gw, procs, ports)
    finally:
        if gw is not None:
            await close_health(gw.gateway.registry)
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
            proc.wait()


async def _scenario(gw: Any, procs: list[subprocess.Popen[bytes]], ports: list[int]) -> None:
    victim = f"127.0.0.1:{ports[0]}"
    start = time.monotonic()
    stats: dict[str, Any] = {"ok": 0, "errors": [], "pids": {}}

    def health() -> str:
        body = health_report(gw.gateway.snapshot, "pool")
        return next(i["health"] for i in body["data"] if i["target"] == victim)  # type: ignore[index]

    async def client(session: aiohttp.ClientSession) -> None:
        while time.monotonic() - start < END_AT:
            try:
                async with session.get(gw.url + "/anything") as resp:
                    body = await resp.json()
                    if resp.status != 200:
                        stats["errors"].append((round(time.monotonic() - start, 2), resp.status))
                    else:
                        stats["ok"] += 1
                        stats["pids"][body["upstream_pid"]] = time.monotonic() - start
            except (aiohttp.ClientError, ValueError) as exc:
                stats["errors"].append((round(time.monotonic() - start, 2), repr(exc)))
            await asyncio.sleep(PAUSE)

    async def operator() -> dict[str, float]:
        times: dict[str, float] = {}
        await asyncio.sleep(KILL_AT)
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait()
        killed = time.monotonic()
        while health() != "UNHEALTHY":
            await asyncio.sleep(0.01)
        times["out_of_rotation_s"] = time.monotonic() - killed
        await asyncio.sleep(max(0.0, start + RESTART_AT - time.monotonic()))
        restarted = time.monotonic()
        procs[0] = spawn(ports[0])
        await wait_listening(ports[0])
        listening = time.monotonic()
        times["process_start_s"] = listening - restarted
        while health() != "HEALTHY":
            await asyncio.sleep(0.01)
        times["back_after_listening_s"] = time.monotonic() - listening
        times["back_after_restart_s"] = time.monotonic() - restarted
        times["new_pid"] = procs[0].pid
        return times

    async with aiohttp.ClientSession() as session:
        results = await asyncio.gather(operator(), *(client(session) for _ in range(WORKERS)))
    times = results[0]
    new_pid_seen = times["new_pid"] in stats["pids"]
    print(
        f"\nfault test: {stats['ok']} requests answered, {len(stats['errors'])} client-visible errors "
        f"{stats['errors'][:5]}; dead target out of rotation {times['out_of_rotation_s']:.3f} s after "
        f"SIGKILL; restarted process listening after {times['process_start_s']:.2f} s, back in "
        f"rotation {times['back_after_listening_s']:.2f} s later ({times['back_after_restart_s']:.2f} s "
        f"after the restart); restarted upstream served traffic again: {new_pid_seen}"
    )
    assert stats["errors"] == []
    assert stats["ok"] > 500
    # passive: two refused tries (or active: two failed probes, 0.5 s apart)
    assert times["out_of_rotation_s"] < 2.0
    # two successful probes 0.5 s apart, plus a probe interval of slack
    assert times["back_after_listening_s"] < 3.0
    assert new_pid_seen
    assert os.getpid() not in stats["pids"]
