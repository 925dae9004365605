"""Benchmark rows of the traffic-control plugins: rate-limiting with the local policy
and with the redis policy (a redis-server started for the row), limits high enough that
every request passes, so the rows measure the counting, to compare with ``moongate``."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

from bench.rowspec import RowSpec

__all__ = ["ROWS"]

REDIS_CORE = "1"  # the load generator's core: the gateway keeps its own


def _config(up_port: int, plugin_config: dict[str, Any]) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": "bench",
                "url": f"http://127.0.0.1:{up_port}",
                "routes": [
                    {
                        "name": "bench",
                        "paths": ["/"],
                        "plugins": [{"name": "rate-limiting", "config": plugin_config}],
                    }
                ],
            }
        ],
    }


def rate_limiting_local(up_port: int, **_: Any) -> dict[str, Any]:
    """rate-limiting, policy local, per IP, second and hour windows."""
    return _config(up_port, {"second": 10**9, "hour": 10**12, "limit_by": "ip", "policy": "local"})


def rate_limiting_redis(up_port: int, redis_port: int, **_: Any) -> dict[str, Any]:
    """rate-limiting, policy redis, per IP, second and hour windows (one EVALSHA per request)."""
    return _config(
        up_port,
        {
            "second": 10**9,
            "hour": 10**12,
            "limit_by": "ip",
            "policy": "redis",
            "redis": {"host": "127.0.0.1", "port": redis_port},
        },
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_redis(procs: Any, tmp: Path, **_: Any) -> dict[str, Any]:
    """A throw-away redis-server (no persistence), ready when it answers PING."""
    port = _free_port()
    cmd = [
        "redis-server",
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp),
    ]
    procs.start(cmd, REDIS_CORE)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(64).startswith(b"+PONG"):
                    return {"redis_port": port}
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"redis-server did not start on port {port}")


ROWS = [
    RowSpec("traffic-rate-limiting-local", "moongate, rate-limiting (local)", rate_limiting_local),
    RowSpec(
        "traffic-rate-limiting-redis",
        "moongate, rate-limiting (redis)",
        rate_limiting_redis,
        setup=start_redis,
    ),
]
