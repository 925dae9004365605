"""Tests for remote-auth-lua: a fake auth service, the plugin's answers, and no blocking."""

import asyncio
import logging
import time
from pathlib import Path

import pytest
from aiohttp import web

PLUGINS_DIR = Path(__file__).parent.parent


@pytest.fixture
async def auth_service():
    """Knows alice; /slow answers after 300 ms."""

    async def check(request):
        if request.path == "/slow":
            await asyncio.sleep(0.3)
        if request.headers.get("Authorization") == "Bearer alice":
            return web.json_response({"user": "alice"})
        return web.json_response({}, status=403)

    app = web.Application()
    app.router.add_get("/{tail:.*}", check)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


@pytest.fixture
async def gateway(make_gateway, echo_upstream, auth_service):
    def route(name, **config):
        return {
            "name": name,
            "paths": [f"/{name}"],
            "plugins": [{"name": "remote-auth-lua", "config": config}],
        }

    routes = [
        route("ok", url=auth_service + "/auth"),
        route("slow", url=auth_service + "/slow"),
        route("down", url="http://127.0.0.1:9/", retries=2, retry_delay=100),  # nothing listens on 9
        route("late", url=auth_service + "/slow", timeout=100, retries=1, retry_delay=0),
    ]
    config = {
        "_format_version": "3.0",
        "services": [{"name": "s", "url": echo_upstream.url, "routes": routes}],
    }
    return await make_gateway(config, plugins_dirs=[PLUGINS_DIR])


@pytest.mark.parametrize(
    ("path", "token", "status", "body"),
    [
        ("/ok", "Bearer mallory", 403, {"message": "Forbidden"}),
        ("/ok", None, 401, {"message": "Unauthorized"}),
        ("/down", "Bearer alice", 503, {"message": "Authentication service unavailable"}),
        ("/late", "Bearer alice", 503, {"message": "Authentication service unavailable"}),
    ],
)
async def test_refusals(gateway, http, path, token, status, body):
    async with http.get(gateway.url + path, headers={"Authorization": token} if token else {}) as resp:
        assert resp.status == status
        assert await resp.json() == body


async def test_the_upstream_learns_the_user(gateway, http):
    async with http.get(gateway.url + "/ok", headers={"Authorization": "Bearer alice"}) as resp:
        assert resp.status == 200
        echoed = await resp.json()
    assert echoed["headers"]["X-Authenticated-User"] == "alice"


@pytest.mark.parametrize(
    ("path", "error", "attempts"), [("/down", "connection refused", 3), ("/late", "timeout", 2)]
)
async def test_each_failed_attempt_is_logged(gateway, http, caplog, path, error, attempts):
    caplog.set_level(logging.WARNING, logger="moongate.plugin")
    async with http.get(gateway.url + path, headers={"Authorization": "Bearer alice"}) as resp:
        assert resp.status == 503
    logged = [r.getMessage() for r in caplog.records if r.name == "moongate.plugin"]
    assert logged == [
        f"[remote-auth-lua] auth service call {n} failed: {error}" for n in range(1, attempts + 1)
    ]


async def test_waiting_requests_do_not_block_each_other(gateway, http):
    async def one():
        async with http.get(gateway.url + "/slow", headers={"Authorization": "Bearer alice"}) as resp:
            return resp.status

    started = time.monotonic()
    assert await asyncio.gather(*(one() for _ in range(10))) == [200] * 10
    assert time.monotonic() - started < 1.5  # one after the other: 3 s
