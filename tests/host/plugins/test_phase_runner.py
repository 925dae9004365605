"""Python plugins across all phases, through real requests (test plugins in tests/plugins/)."""

from __future__ import annotations

import asyncio
import logging
import sys

import aiohttp
import pytest

from tests.conftest import service


def tracer_module():
    return sys.modules["moongate_plugins.tracer"]


@pytest.fixture
async def gw(make_gateway, echo_upstream):
    config = {
        "_format_version": "3.0",
        "services": [
            {
                **service(echo_upstream),
                "routes": [
                    {
                        "name": "main",
                        "paths": ["/main"],
                        "plugins": [{"name": "tagger", "config": {"tag": "route"}}],
                    },
                    {"name": "svc-only", "paths": ["/svc"]},
                    {"name": "exit", "paths": ["/exit"], "plugins": [{"name": "exiter"}]},
                    {"name": "crash", "paths": ["/crash"], "plugins": [{"name": "crasher"}]},
                    {
                        "name": "crash-hf",
                        "paths": ["/crash-hf"],
                        "plugins": [{"name": "crasher", "config": {"phase": "header_filter"}}],
                    },
                    {
                        "name": "crash-log",
                        "paths": ["/crash-log"],
                        "plugins": [{"name": "crasher", "config": {"phase": "log"}}],
                    },
                    {
                        "name": "sleep",
                        "paths": ["/sleep"],
                        "plugins": [{"name": "sleeper", "config": {"seconds": 0.3}}],
                    },
                    {"name": "upper", "paths": ["/upper"], "plugins": [{"name": "upper-body"}]},
                    {"name": "buffered", "paths": ["/buffered"], "plugins": [{"name": "buffered"}]},
                    {
                        "name": "shared",
                        "paths": ["/shared"],
                        "plugins": [{"name": "shared-writer"}, {"name": "shared-reader"}],
                    },
                ],
                "plugins": [{"name": "tagger", "config": {"tag": "service"}}],
            }
        ],
        "consumers": [
            {"username": "alice", "plugins": [{"name": "tagger", "config": {"tag": "consumer-alice"}}]},
            {"username": "bob"},
        ],
        "plugins": [
            {"name": "tracer"},
            {"name": "auth-header"},
            {"name": "tagger", "config": {"tag": "global"}},
        ],
    }
    return await make_gateway(config)


async def test_phases_run_in_order_and_log_after_response(gw, http):
    async with http.get(gw.url + "/main", headers={"X-Test-Id": "t1"}) as resp:
        assert resp.status == 200
        phases_at_headers = resp.headers["X-Tracer-Phases"]
        data = await resp.json()
    assert data["headers"]["X-Tracer"] == "tracer"
    assert data["headers"]["X-Prefix-Seen"] == "/main"  # the stripped prefix is known during access
    assert phases_at_headers == "rewrite,access,header_filter"
    for _ in range(100):
        if "log" in tracer_module().SEEN.get("t1", []):
            break
        await asyncio.sleep(0.01)
    assert tracer_module().SEEN["t1"] == ["rewrite", "access", "header_filter", "body_filter", "log"]


async def test_init_worker_and_configure_called(gw):
    worker = tracer_module().WORKER
    assert worker[0] == "init_worker"
    assert "configure:1" in worker


async def test_priority_order_interleaves_plugins(gw, http):
    async with http.get(gw.url + "/shared", headers={"X-Consumer": "bob"}) as resp:
        order = resp.headers["X-Order"].split(",")
    # tracer 100000 > shared-writer 2000 > auth-header 1250 > shared-reader 1000 > tagger 900
    assert order == ["tracer", "shared-writer", "auth-header", "shared-reader", "tagger"]


async def test_ctx_shared_handoff(gw, http):
    async with http.get(gw.url + "/shared/x") as resp:
        data = await resp.json()
        assert resp.headers["X-Shared-Seen"] == "yes"
    assert data["headers"]["X-From-Writer"] == "/shared/x"


@pytest.mark.parametrize(
    ("path", "consumer", "tag"),
    [
        ("/main", None, "route"),  # route beats service and global
        ("/svc", None, "service"),  # service beats global
        ("/main", "alice", "consumer-alice"),  # consumer beats route (route+consumer would beat it)
        ("/svc", "alice", "consumer-alice"),
        ("/main", "bob", "route"),  # bob has no consumer config
    ],
)
async def test_config_precedence(gw, http, path, consumer, tag):
    headers = {"X-Consumer": consumer} if consumer else {}
    async with http.get(gw.url + path, headers=headers) as resp:
        assert resp.status == 200
        assert resp.headers["X-Tag"] == tag


async def test_exit_short_circuits_access_but_filters_and_log_run(gw, http, echo_upstream):
    async with http.get(gw.url + "/exit", headers={"X-Exit": "1", "X-Test-Id": "t-exit"}) as resp:
        assert resp.status == 403
        assert resp.headers["Content-Type"] == "application/json; charset=utf-8"
        assert resp.headers["X-Exited-By"] == "exiter"
        assert "X-Tag" not in resp.headers  # tagger (900) runs after exiter (1500): skipped
        assert resp.headers["X-Tracer-Phases"] == "rewrite,access,header_filter"
        body = await resp.json()
    assert body == {"message": "stopped by exiter"}
    for _ in range(100):
        if "log" in tracer_module().SEEN.get("t-exit", []):
            break
        await asyncio.sleep(0.01)
    assert "log" in tracer_module().SEEN["t-exit"]


async def test_exit_consumer_required(make_gateway, echo_upstream, http):
    config = {
        "_format_version": "3.0",
        "services": [{**service(echo_upstream), "routes": [{"paths": ["/"]}]}],
        "plugins": [{"name": "auth-header", "config": {"required": True}}],
    }
    gw = await make_gateway(config)
    async with http.get(gw.url + "/") as resp:
        assert resp.status == 401
        assert resp.headers["WWW-Authenticate"] == "Consumer"
        assert await resp.json() == {"message": "No consumer"}


async def test_plugin_error_gives_500_logged_and_worker_keeps_serving(gw, caplog):
    caplog.set_level(logging.ERROR, logger="moongate.plugins")

    async def hammer(session: aiohttp.ClientSession, n: int) -> list[int]:
        out = []
        for _ in range(n):
            async with session.get(gw.url + "/main") as r:
                await r.read()
                out.append(r.status)
        return out

    async with aiohttp.ClientSession() as session:
        good = asyncio.create_task(hammer(session, 60))
        statuses = []
        for _ in range(20):
            async with session.get(gw.url + "/crash") as resp:
                statuses.append(resp.status)
                body = await resp.json()
                assert "crasher exploded" not in await resp.text()
                if resp.status == 500:
                    assert body["message"] == "An unexpected error occurred"
        assert await good == [200] * 60
    # the 5th violation in 10 s opens the instance's breaker (fail-closed: 503 from then on)
    assert statuses == [500] * 5 + [503] * 15
    lines = [r for r in caplog.records if "crasher" in r.getMessage()]
    assert lines
    msg = lines[0].getMessage()
    assert "plugin 'crasher' failed in phase 'access'" in msg
    assert "route crash" in msg
    assert lines[0].request_id and len(lines[0].request_id) == 32


async def test_header_filter_error_gives_500(gw, http):
    async with http.get(gw.url + "/crash-hf") as resp:
        assert resp.status == 500
        assert (await resp.json())["message"] == "An unexpected error occurred"


async def test_log_phase_error_does_not_affect_client(gw, http, caplog):
    caplog.set_level(logging.ERROR, logger="moongate.plugins")
    async with http.get(gw.url + "/crash-log", headers={"X-Test-Id": "t-crash-log"}) as resp:
        assert resp.status == 200
    for _ in range(100):
        if any("failed in phase 'log'" in r.getMessage() for r in caplog.records):
            break
        await asyncio.sleep(0.01)
    assert any("failed in phase 'log'" in r.getMessage() for r in caplog.records)
    # tracer's log handler (higher priority) still ran
    assert "log" in tracer_module().SEEN["t-crash-log"]


async def test_async_access_does_not_block_other_requests(gw):
    loop = asyncio.get_running_loop()
    async with aiohttp.ClientSession() as session:

        async def one(path: str) -> tuple[int, float]:
            t0 = loop.time()
            async with session.get(gw.url + path) as r:
                await r.read()
                return r.status, loop.time() - t0

        t0 = loop.time()
        results = await asyncio.gather(*(one("/sleep") for _ in range(20)), one("/main"))
        total = loop.time() - t0
    assert all(status == 200 for status, _ in results)
    assert total < 1.0  # 20 × 0.3 s handlers overlap
    assert results[-1][1] < 0.25  # the request to /main was not held up behind the sleepers


async def test_body_filter_rewrites_body(gw, http):
    async with http.get(gw.url + "/upper/abc") as resp:
        text = await resp.text()
    assert '"PATH": "/ABC"' in text


async def test_response_phase_buffers_and_changes_status(gw, http):
    async with http.get(gw.url + "/buffered/status/201") as resp:
        assert resp.status == 202
        length = int(resp.headers["X-Upstream-Body-Length"])
        assert length == len(await resp.read())


async def test_no_route_runs_global_filters_only(gw, http):
    async with http.get(gw.url + "/nope", headers={"X-Test-Id": "t404"}) as resp:
        assert resp.status == 404
        assert resp.headers["X-Tracer-Phases"] == "rewrite,header_filter"
