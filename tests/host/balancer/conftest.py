"""Fixtures for the balancer tests: small real upstreams that say who answered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp import web

from host.balancer.health import close_health
from tests.conftest import GatewayFactory, RunningGateway


class Server:
    """An upstream on 127.0.0.1 answering ``{"port": <its port>}`` (``/download``: its port
    then a body streamed over one second); ``status``, ``delay``
    and ``health_status`` (the answer to ``/health``) can be changed while it runs."""

    def __init__(self) -> None:
        self.status = 200
        self.health_status = 200
        self.delay = 0.0
        self.hits = 0
        self.probes = 0
        self.runner: web.AppRunner | None = None
        self.port = 0

    async def _handle(self, request: web.Request) -> web.Response:
        if request.path == "/health":
            self.probes += 1
            return web.json_response({"port": self.port}, status=self.health_status)
        self.hits += 1
        if request.path == "/download":  # the head at once, then a body that takes 1 s
            return await self._download(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.json_response({"port": self.port}, status=self.status)

    async def _download(self, request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        await resp.write(b"%d\n" % self.port)
        for _ in range(10):
            await asyncio.sleep(0.1)
            await resp.write(b"." * 100)
        await resp.write_eof()
        return resp

    async def start(self, port: int = 0) -> Server:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", port)
        await site.start()
        self.port = self.runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"


ServerFactory = Callable[[int], Awaitable[list[Server]]]


@pytest.fixture
async def servers() -> AsyncIterator[ServerFactory]:
    """``await servers(n)`` -> n running upstreams, stopped at the end of the test."""
    started: list[Server] = []

    async def factory(n: int) -> list[Server]:
        made = [await Server().start() for _ in range(n)]
        started.extend(made)
        return made

    yield factory
    for server in started:
        await server.stop()


@pytest.fixture
async def gateway(make_gateway: GatewayFactory) -> AsyncIterator[GatewayFactory]:
    """``make_gateway`` whose health checkers are stopped at the end of the test."""
    made: list[RunningGateway] = []

    async def factory(config: dict[str, Any], **kw: Any) -> RunningGateway:
        gw = await make_gateway(config, **kw)
        made.append(gw)
        return gw

    yield factory
    for gw in made:
        await close_health(gw.gateway.registry)


def upstream_config(servers: list[Server], retries: int = 5, **upstream: Any) -> dict[str, Any]:
    """A service ``svc`` on route ``/`` balanced over ``servers`` by upstream ``pool``."""
    return {
        "_format_version": "3.0",
        "services": [
            {"name": "svc", "host": "pool", "retries": retries, "routes": [{"name": "r", "paths": ["/"]}]}
        ],
        "upstreams": [
            {"name": "pool", **upstream, "targets": [{"target": s.target} for s in servers]},
        ],
    }
