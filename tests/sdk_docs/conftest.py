"""Fixtures for the guide's tests: a log collector standing in for a log endpoint."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web


class Collector:
    """An HTTP endpoint that records the JSON bodies POSTed to it, optionally answering late."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.delay = 0.0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        entry = await request.json()
        await asyncio.sleep(self.delay)
        self.entries.append(entry)
        return web.Response(text="ok")

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.entries) < count:
            if loop.time() > deadline:
                raise AssertionError(f"expected {count} log entries, got {len(self.entries)}")
            await asyncio.sleep(0.01)
        return self.entries


@pytest.fixture
async def collector() -> AsyncIterator[Collector]:
    collector = Collector()
    app = web.Application()
    app.router.add_post("/", collector.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    collector.url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    yield collector
    await runner.cleanup()
