"""A throw-away ``redis-server`` for a plugin's tests (the ``redis_server`` fixture).

It runs the ``redis-server`` found on ``PATH`` on a free port of 127.0.0.1, without
persistence (``--save '' --appendonly no``), waits until it answers ``PING``, and is
stopped at the end of the test session.  Plugins with a Redis policy (rate-limiting,
proxy-cache) point their ``redis`` config at ``redis_server.host``/``port``.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from dataclasses import dataclass

__all__ = ["RedisServer", "start_redis_server"]


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
        """Send one command (inline protocol, e.g. ``command("FLUSHALL")``) and return
        the raw reply."""
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


def start_redis_server(binary: str | None = None, timeout: float = 10.0) -> RedisServer:
    """Start ``binary`` (default: ``redis-server`` on ``PATH``) on a free port and wait
    until it answers ``PING``; ``RuntimeError`` when it is missing or does not start."""
    binary = binary or shutil.which("redis-server")
    if not binary:
        raise RuntimeError("redis-server is not on PATH: install it (e.g. apt-get install redis-server)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
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
