"""A gateway SIGKILLed in the middle of a stream of Admin API writes loses no acknowledged write."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import sys
from pathlib import Path

import aiohttp

from tests.conftest import free_port


async def _start(prefix: Path, admin_port: int) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "host.cli", "start", "--database", "sqlite", "--workers", "1",
        "--admin-listen", f"127.0.0.1:{admin_port}", "--proxy-listen", f"127.0.0.1:{free_port()}",
        "--status-listen", "off", "-p", str(prefix),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "KONG_PLUGINS": "off"},
    )  # fmt: skip
    url = f"http://127.0.0.1:{admin_port}/"
    async with aiohttp.ClientSession() as http:
        for _ in range(300):
            try:
                async with http.get(url) as resp:
                    if resp.status == 200:
                        return proc
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    proc.kill()
    raise AssertionError("gateway did not start")


async def test_sigkill_during_writes_keeps_every_acknowledged_write(tmp_path) -> None:
    prefix = tmp_path / "prefix"
    port = free_port()
    proc = await _start(prefix, port)
    acked: list[str] = []
    stop = asyncio.Event()

    async def writer(worker: int) -> None:
        async with aiohttp.ClientSession() as http:
            n = 0
            while not stop.is_set():
                name = f"w{worker}-{n}"
                n += 1
                try:
                    async with http.post(
                        f"http://127.0.0.1:{port}/consumers", json={"username": name}
                    ) as resp:
                        if resp.status == 201:
                            acked.append(name)
                except (TimeoutError, aiohttp.ClientError):
                    return

    writers = [asyncio.create_task(writer(i)) for i in range(3)]
    while len(acked) < 20:
        await asyncio.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # in the middle of the stream
    await proc.wait()
    stop.set()
    await asyncio.gather(*writers)

    db = sqlite3.connect(prefix / "moongate.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    proc = await _start(prefix, port)
    try:
        url = f"http://127.0.0.1:{port}/consumers?size=1000"
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            names = {c["username"] for c in (await resp.json())["data"]}
        assert set(acked) <= names, sorted(set(acked) - names)
        print(f"{len(acked)} acknowledged writes before SIGKILL, {len(names)} stored")
    finally:
        proc.terminate()
        await proc.wait()
