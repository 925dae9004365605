"""Fixtures of the proxy-cache tests: the counting upstream, a redis-server, empty stores."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from py_plugins.proxy_cache._store import close_stores
from tests.bundled.proxy_cache._upstream import counting_upstream  # noqa: F401 - fixture
from tests.redis_server import redis_server  # noqa: F401 - fixture


@pytest.fixture(autouse=True)
async def fresh_stores() -> AsyncIterator[None]:
    """Stores are per process: each test starts with empty ones."""
    await close_stores()
    yield
    await close_stores()
