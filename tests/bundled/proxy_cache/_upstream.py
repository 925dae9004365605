"""A counting upstream for cache tests: every request is counted per path.

Query arguments shape the response: ``ct`` (Content-Type, default ``text/plain``),
``cc`` (Cache-Control), ``status`` (default 200), ``delay`` (ms before answering),
``expires`` (seconds from now, as an ``Expires`` header).  The body is
``<path> #<count>`` so a test sees which upstream response it got.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from email.utils import formatdate

import pytest
from aiohttp import web


class CountingUpstream:
    """A running counting upstream: ``url``, ``hits`` (per path) and ``total``."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.url = ""
        self.runner: web.AppRunner | None = None

    @property
    def total(self) -> int:
        return sum(self.hits.values())

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits[request.path] += 1
        count = self.hits[request.path]
        query = request.query
        if "delay" in query:
            await asyncio.sleep(int(query["delay"]) / 1000)
        headers = {"Content-Type": query.get("ct", "text/plain"), "X-Count": str(count)}
        if "cc" in query:
            headers["Cache-Control"] = query["cc"]
        if "expires" in query:
            headers["Expires"] = formatdate(time.time() + int(query["expires"]), usegmt=True)
        status = int(query.get("status", "200"))
        return web.Response(status=status, body=f"{request.path} #{count}".encode(), headers=headers)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"


@pytest.fixture
async def counting_upstream() -> AsyncIterator[CountingUpstream]:
    upstream = CountingUpstream()
    await upstream.start()
    yield upstream
    assert upstream.runner is not None
    await upstream.runner.cleanup()
