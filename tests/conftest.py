"""Fixtures shared by the test suite: a real echo upstream and real gateways on real sockets."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from host.config import load_data
from host.demo_upstream import make_app
from host.gateway import Gateway, build_registry
from host.settings import Settings

TEST_PLUGINS = Path(__file__).parent / "plugins"


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """Commands run in-process (click's CliRunner) call setup_logging, which sends the
    ``moongate`` loggers to stderr only: put logging back after each test, so that the
    next tests' caplog sees the records again."""
    loggers = [logging.getLogger(name) for name in ("moongate", "aiohttp")]
    saved = [(lg.handlers[:], lg.level, lg.propagate) for lg in loggers]
    yield
    for lg, (handlers, level, propagate) in zip(loggers, saved, strict=True):
        lg.handlers[:] = handlers
        lg.setLevel(level)
        lg.propagate = propagate


class Upstream:
    """A running echo upstream (see host/demo_upstream.py)."""

    def __init__(self, runner: web.AppRunner, port: int) -> None:
        self.runner = runner
        self.port = port
        self.url = f"http://127.0.0.1:{port}"


@pytest.fixture
async def echo_upstream() -> AsyncIterator[Upstream]:
    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield Upstream(runner, port)
    await runner.cleanup()


class RunningGateway:
    """A Gateway started in the test's event loop, listening on an ephemeral port."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.url = f"http://127.0.0.1:{gateway.proxy_port}"
        self.status_url = f"http://127.0.0.1:{gateway.status_port}" if gateway.status_port else None


GatewayFactory = Callable[..., Awaitable[RunningGateway]]


@pytest.fixture
async def make_gateway() -> AsyncIterator[GatewayFactory]:
    """``await make_gateway(config_dict, plugins_dirs=[...], **settings)`` -> RunningGateway."""
    started: list[Gateway] = []

    async def factory(
        config: dict[str, Any], *, plugins_dirs: list[str | Path] | None = None, **overrides: Any
    ) -> RunningGateway:
        dirs = [str(TEST_PLUGINS)] if plugins_dirs is None else [str(d) for d in plugins_dirs]
        settings = Settings(
            **{
                "proxy_listen": "127.0.0.1:0",
                "status_listen": "127.0.0.1:0",
                "admin_listen": "off",
                "plugins_dirs": dirs,
                **overrides,
            }
        )
        registry = build_registry(settings)
        cfg = load_data(config, registry, source="test.yml")
        gateway = Gateway(settings, registry, cfg)
        await gateway.start()
        started.append(gateway)
        return RunningGateway(gateway)

    yield factory
    for gw in started:
        await gw.stop(grace=1.0)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A client session that does not follow redirects or decompress (sees what the gateway sent)."""
    async with aiohttp.ClientSession(auto_decompress=False) as session:
        yield session


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def service(upstream: Upstream, name: str = "echo", path: str = "", **fields: Any) -> dict[str, Any]:
    """A service entity pointing at the echo upstream."""
    return {"name": name, "url": upstream.url + path, **fields}


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)
