"""The ``isolated`` trust level end to end: a gateway in the test's loop, plugins in workers.

A Lua plugin and a Python plugin run at ``isolated``; requests go through real sockets
to the echo upstream.  The tests check what the client and the upstream see (the
journal of each phase call applied in the gateway), and what happens when a worker
hangs, crashes (SIGSEGV), exits or writes garbage: the request gets the generic 500,
``kong_plugin_errors_total`` counts the reason, a new worker takes over and the next
request succeeds; the workers end with the gateway.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from host.config import load_data
from host.gateway import Gateway, build_registry
from host.isolated import IsolatedRuntime, python_isolation
from host.plugins.python_loader import discover_python_plugins
from host.settings import Settings
from tests.conftest import Upstream, service, wait_until
from tests.host.isolated._plugins import children, write_plugins

GENERIC = {"message": "An unexpected error occurred"}


class Running:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.url = f"http://127.0.0.1:{gateway.proxy_port}"

    def runtime(self, name: str) -> IsolatedRuntime:
        spec = self.gateway.registry.get(name)
        assert spec is not None
        return spec.extra["isolated"]  # type: ignore[no-any-return]

    async def errors(self, http: aiohttp.ClientSession, reason: str) -> float:
        async with http.get(f"http://127.0.0.1:{self.gateway.status_port}/metrics") as resp:
            text = await resp.text()
        total = 0.0
        for line in text.splitlines():
            if line.startswith("kong_plugin_errors_total{") and f'reason="{reason}"' in line:
                total += float(line.rsplit(" ", 1)[1])
        return total


async def start_gateway(tmp: Path, upstream: Upstream, **overrides: Any) -> Gateway:
    lua_dir, py_dir = write_plugins(tmp)
    settings = Settings(
        proxy_listen="127.0.0.1:0",
        status_listen="127.0.0.1:0",
        plugins_dirs=[str(lua_dir)],
        plugin_trust={"iso-lua": "isolated", "iso-py": "isolated"},
        plugin_breaker_threshold=0,
        **overrides,
    )
    registry = build_registry(settings)
    # what build_registry does once gateway.py passes the hook (see the report)
    specs, failures = discover_python_plugins(
        [str(py_dir)], bundled=False, isolate=python_isolation(settings)
    )
    assert not failures, failures
    for spec in specs:
        registry.add(spec)
    config = {
        "_format_version": "3.0",
        "services": [
            {
                **service(upstream),
                "routes": [
                    {
                        "name": "lua",
                        "paths": ["/lua"],
                        "plugins": [{"name": "iso-lua", "config": {"greeting": "hey"}}],
                    },
                    {"name": "py", "paths": ["/py"], "plugins": [{"name": "iso-py"}]},
                    {"name": "plain", "paths": ["/plain"]},
                ],
            }
        ],
    }
    gateway = Gateway(settings, registry, load_data(config, registry, source="test.yml"))
    await gateway.start()
    return gateway


@pytest.fixture
async def gw(tmp_path: Path, echo_upstream: Upstream) -> AsyncIterator[Running]:
    gateway = await start_gateway(tmp_path, echo_upstream)
    yield Running(gateway)
    await gateway.stop(grace=1.0)


async def get(http: aiohttp.ClientSession, url: str, **kwargs: Any) -> tuple[int, dict[str, str], Any]:
    async with http.get(url, **kwargs) as resp:
        body = await resp.read()
        try:
            data: Any = await resp.json(content_type=None)
        except ValueError:
            data = body
        return resp.status, dict(resp.headers), data


async def test_reads_and_writes_cross_the_boundary(gw: Running, http: aiohttp.ClientSession) -> None:
    status, headers, echo = await get(http, gw.url + "/lua", headers={"x-drop": "1", "user-agent": "ua/1"})
    assert status == 200
    sent = {k.lower(): v for k, v in echo["headers"].items()}
    assert sent["x-iso"] == "hey"  # kong.service.request.set_header
    assert "x-drop" not in sent  # clear_header
    assert headers["x-seen"] == "1"  # kong.ctx.shared, from access to header_filter
    assert headers["x-plugin-ctx"] == "access"  # kong.ctx.plugin
    status, headers, body = await get(http, gw.url + "/lua?do=exit")
    assert (status, body, headers["x-exit"]) == (418, {"message": "teapot"}, "1")
    status, _, echo = await get(http, gw.url + "/lua?do=path")
    assert echo["path"] == "/rewritten"


async def test_python_plugin_runs_in_its_worker(gw: Running, http: aiohttp.ClientSession) -> None:
    status, _, echo = await get(http, gw.url + "/py")
    assert status == 200
    tag, pid = {k.lower(): v for k, v in echo["headers"].items()}["x-py"].split(":")
    assert tag == "py"
    assert int(pid) in gw.runtime("iso-py").pids()
    assert int(pid) != os.getpid()


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


async def test_plugin_log_lines_reach_the_gateway_log(
    tmp_path: Path, echo_upstream: Upstream, http: aiohttp.ClientSession
) -> None:
    logger = logging.getLogger("moongate")
    handler, level = _Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)  # the workers log at the gateway's level
    try:
        gateway = await start_gateway(tmp_path, echo_upstream)
        try:
            await get(http, Running(gateway).url + "/lua?do=hello")
        finally:
            await gateway.stop(grace=1.0)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
    lines = [r for r in handler.records if "isolated access hello" in r.getMessage()]
    assert len(lines) == 1
    assert lines[0].plugin == "iso-lua"  # type: ignore[attr-defined]
    assert lines[0].phase == "access"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/lua?do=loop", "timeout"),
        ("/lua?do=sleep", "timeout"),
        ("/lua?do=segv", "crash"),
        ("/py?py=segv", "crash"),
        ("/py?py=ctypes", "crash"),
        ("/py?py=exit", "crash"),
        ("/py?py=garbage", "protocol"),
        ("/py?py=sleep", "timeout"),
        ("/py?py=bomb", "memory"),
        ("/lua?do=bomb", "memory"),
        ("/lua?do=error", "error"),
    ],
)
async def test_violations_fail_the_call_and_the_worker_is_replaced(
    gw: Running, http: aiohttp.ClientSession, path: str, reason: str
) -> None:
    name = "iso-lua" if path.startswith("/lua") else "iso-py"
    runtime = gw.runtime(name)
    await get(http, gw.url + path.split("?")[0])  # the pool is up
    before_pids, before = runtime.pids(), await gw.errors(http, reason)
    started = time.monotonic()
    status, _, body = await get(http, gw.url + path)
    assert time.monotonic() - started < 5.0
    assert status == 500
    assert {k: v for k, v in body.items() if k != "request_id"} == GENERIC
    assert await gw.errors(http, reason) == before + 1
    assert (await get(http, gw.url + "/plain"))[0] == 200  # other routes never noticed
    # the next request to the same plugin works (a new worker when the old one died)
    status, _, _ = await get(http, gw.url + path.split("?")[0])
    assert status == 200
    if reason != "error":
        assert runtime.pids() != before_pids
        assert not set(before_pids) & set(children(os.getpid()))


async def test_a_pool_spreads_calls_over_its_workers(tmp_path: Path, echo_upstream: Upstream) -> None:
    gateway = await start_gateway(tmp_path, echo_upstream, isolated_workers=2)
    try:
        run = Running(gateway)
        assert len(run.runtime("iso-py").pids()) == 2
        async with aiohttp.ClientSession() as http:
            replies = await asyncio.gather(*(get(http, run.url + "/py") for _ in range(20)))
        pids = {
            int({k.lower(): v for k, v in echo["headers"].items()}["x-py"].split(":")[1])
            for _, _, echo in replies
        }
        assert pids == set(run.runtime("iso-py").pids())
    finally:
        await gateway.stop(grace=1.0)


async def test_workers_stop_with_the_gateway(tmp_path: Path, echo_upstream: Upstream) -> None:
    gateway = await start_gateway(tmp_path, echo_upstream)
    pids = Running(gateway).runtime("iso-lua").pids() + Running(gateway).runtime("iso-py").pids()
    assert len(pids) == 2 and set(pids) <= set(children(os.getpid()))
    await gateway.stop(grace=1.0)
    await wait_until(lambda: not set(pids) & set(children(os.getpid())))


def test_a_plugin_that_fails_to_load_is_reported(tmp_path: Path) -> None:
    folder = tmp_path / "broken-iso"
    folder.mkdir()
    (folder / "schema.lua").write_text(
        'return { name = "broken-iso", fields = { { config = { type = "record", fields = {} } } } }'
    )
    (folder / "handler.lua").write_text("error('broken at load')")
    registry = build_registry(Settings(plugins_dirs=[str(tmp_path)], plugin_trust={"broken-iso": "isolated"}))
    assert "broken-iso" not in registry
    assert "broken at load" in registry.failures["broken-iso"]
    py = tmp_path / "py"
    py.mkdir()
    (py / "bad_iso.py").write_text("raise SystemExit('no')\n")
    specs, failures = discover_python_plugins(
        [str(py)], bundled=False, isolate=python_isolation(Settings(plugin_trust={"bad-iso": "isolated"}))
    )
    assert not specs
    assert "isolated worker" in failures["bad-iso"]
