"""A real ``redis-server`` for the suite's tests, as a reusable pytest fixture.

Import the fixture into a test module (``from tests.redis_server import redis_server``)
and use it as an argument.  It is our pytest plugin's server (``host.testing.redis``:
a free port, no persistence, ready when it answers ``PING``), with one addition for a
fresh machine: ``redis-server`` is installed with ``apt-get`` when it is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import pytest

from host.testing.redis import RedisServer
from host.testing.redis import start_redis_server as _start

__all__ = ["RedisServer", "redis_server", "start_redis_server", "ensure_redis_server"]


def ensure_redis_server() -> str:
    """The path of ``redis-server``, installing the Debian package when it is missing."""
    path = shutil.which("redis-server")
    if path:
        return path
    install = ["apt-get", "install", "-y", "--no-install-recommends", "redis-server"]
    if subprocess.run(install, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, check=False)
        subprocess.run(install, capture_output=True, check=False)
    path = shutil.which("redis-server")
    if not path:
        raise RuntimeError("redis-server is not installed and could not be installed with apt-get")
    return path


def start_redis_server(timeout: float = 10.0) -> RedisServer:
    """Start a throw-away server on a free port (installing it first when missing)."""
    return _start(ensure_redis_server(), timeout)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server for the test session (data is not persisted)."""
    server = start_redis_server()
    try:
        yield server
    finally:
        server.stop()
