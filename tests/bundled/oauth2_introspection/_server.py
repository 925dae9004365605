"""A real RFC 7662 introspection endpoint for the tests: known tokens, counted calls, delays."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiohttp import web

CLIENT_AUTH = "Basic Z2F0ZXdheTpzM2NyZXQ="  # gateway:s3cret


class IntrospectionServer:
    """POST /introspect answers ``tokens[token]`` (or ``{"active": false}``) to the right client."""

    def __init__(self) -> None:
        self.tokens: dict[str, dict[str, Any]] = {}
        self.calls = 0
        self.delay = 0.0
        self.status = 200
        self.raw: bytes | None = None
        self.requests: list[tuple[dict[str, str], dict[str, str]]] = []
        self.runner: web.AppRunner | None = None
        self.url = ""

    async def _introspect(self, request: web.Request) -> web.Response:
        self.calls += 1
        form = dict(await request.post())
        self.requests.append((dict(request.headers), {k: str(v) for k, v in form.items()}))
        if self.delay:
            await asyncio.sleep(self.delay)
        if request.headers.get("Authorization") != CLIENT_AUTH:
            return web.json_response({"error": "invalid_client"}, status=401)
        if self.raw is not None:
            return web.Response(body=self.raw, status=self.status, content_type="application/json")
        result = self.tokens.get(str(form.get("token")), {"active": False})
        return web.json_response(result, status=self.status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/introspect", self._introspect)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/introspect"


@pytest.fixture
async def idp():
    server = IntrospectionServer()
    await server.start()
    yield server
    await server.runner.cleanup()
