"""Moongate's pytest plugin (entry point ``pytest11``): fixtures for testing plugins.

- ``mock_upstream``: a started :class:`~host.testing.harness.MockUpstream`;
- ``gateway``: a :class:`~host.testing.harness.GatewayHarness` (``await gateway.start(...)``
  in the test's event loop, ``await gateway.spawn(...)`` as a ``moongate start`` process)
  finding plugins in the ``moongate_plugins_dirs`` ini option (default: the rootdir,
  which holds a Lua plugin's ``kong/plugins/<name>/`` or a Python plugin's package;
  installed Python plugins are found through their entry points anyway);
- ``fake_kong``: ``fake_kong(method=..., path=..., headers=..., ...)`` -> a
  :class:`~host.testing.fake_kong.FakeKong`;
- ``redis_server``: a :class:`~host.testing.redis.RedisServer` (``redis-server`` from
  ``PATH``, one per test session).

The gateway fixtures are async: run them with pytest-asyncio (``asyncio_mode = auto``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from host.testing.fake_kong import FakeKong
from host.testing.harness import GatewayHarness, MockUpstream
from host.testing.redis import RedisServer, start_redis_server


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "moongate_plugins_dirs",
        "plugin directories the gateway fixture loads (default: the rootdir)",
        type="paths",
        default=[],
    )


@pytest.fixture
async def mock_upstream() -> AsyncIterator[MockUpstream]:
    """A real echo upstream on 127.0.0.1 that records the requests it gets."""
    upstream = await MockUpstream().start()
    yield upstream
    await upstream.stop()


@pytest.fixture
async def gateway(
    request: pytest.FixtureRequest, mock_upstream: MockUpstream
) -> AsyncIterator[GatewayHarness]:
    """``await gateway.start(plugins=[{"name": ..., "config": {...}}])`` -> a running gateway."""
    dirs = [str(p) for p in request.config.getini("moongate_plugins_dirs")] or [str(request.config.rootpath)]
    harness = GatewayHarness(mock_upstream, dirs)
    yield harness
    await harness.stop()


@pytest.fixture
def fake_kong() -> Callable[..., FakeKong]:
    """``fake_kong(**request)`` -> a request with the real PDK, for one handler's unit test."""

    def make(**request: Any) -> FakeKong:
        return FakeKong(**request)

    return make


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A throw-away ``redis-server`` for the session (``host``, ``port``, ``url``,
    ``command("FLUSHALL")``); it keeps no data on disk."""
    server = start_redis_server()
    try:
        yield server
    finally:
        server.stop()
