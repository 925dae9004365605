"""A real ``redis-server`` for tests, as a reusable pytest fixture.

Import the fixture into a test module (``from tests.redis_server import redis_server``)
and use it as an argument: it starts ``redis-server`` on a free port without
persistence (``--save '' --appendonly no``), installs it with ``apt-get`` when it is
missing, waits until it answers ``PING`` and stops it when the session ends.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

__all__ = ["RedisServer", "redis_server", "start_redis_server", "ensure_redis_server"]


@dataclass
class RedisServer:
    """A running server: ``host``, ``port`` and ``url`` (``redis://host:port``)."""

    host: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}"

    def command(self, *args: str) -> bytes:
        """Send one command (inline protocol) and return the raw reply line(s)."""
        with socket.create_connection((self.host, self.port), timeout=5) as sock:
            sock.sendall(" ".join(args).encode() + b"\r\n")
            return sock.recv(65536)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis_server(timeout: float = 10.0) -> RedisServer:
    """Start a throw-away server on a free port and wait until it answers PING."""
    binary = ensure_redis_server()
    port = _free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = RedisServer("127.0.0.1", port, process)
    deadline = time.monotonic() + timeout
    while True:
        try:
            if server.command("PING").startswith(b"+PONG"):
                return server
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"redis-server did not start on port {port}")
        time.sleep(0.02)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A redis-server for the test session (data is not persisted)."""
    server = start_redis_server()
    try:
        yield server
    finally:
        server.stop()
