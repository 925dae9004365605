"""Benchmark rows of the log plugins, to compare with ``moongate``: ``http-log`` (global,
every request's entry posted to a local receiver, one entry per POST: Kong's default
``max_batch_size`` of 1), ``http-log-batch`` (the same with batches of 100) and
``typical-stack`` (one route with correlation-id, key-auth, rate-limiting local,
prometheus and http-log, batched, as a production route would have them).

The receiver is a tiny aiohttp server (``python -m bench.rows_logging PORT``) on the
load generator's core, answering 200 to everything.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path
from typing import Any

from bench.rowspec import RowSpec

__all__ = ["ROWS"]

RECEIVER_CORE = "1"  # the load generator's core: the gateway keeps its own
ROOT = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_receiver(procs: Any, **_: Any) -> dict[str, Any]:
    """The log receiver, ready when it accepts connections."""
    port = _free_port()
    procs.start([sys.executable, "-m", "bench.rows_logging", str(port)], RECEIVER_CORE, cwd=str(ROOT))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return {"log_port": port}
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"log receiver did not start on port {port}")


def _config(up_port: int, route_plugins: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": "bench",
                "url": f"http://127.0.0.1:{up_port}",
                "routes": [{"name": "bench", "paths": ["/"], "plugins": route_plugins}],
            }
        ],
        **extra,
    }


def _http_log(log_port: int, batch: int) -> dict[str, Any]:
    return {
        "name": "http-log",
        "config": {
            "http_endpoint": f"http://127.0.0.1:{log_port}/logs",
            "queue": {"max_batch_size": batch, "max_coalescing_delay": 0.2},
        },
    }


def http_log(up_port: int, log_port: int, **_: Any) -> dict[str, Any]:
    """http-log on the route, one entry per POST (Kong's default)."""
    return _config(up_port, [_http_log(log_port, 1)])


def http_log_batch(up_port: int, log_port: int, **_: Any) -> dict[str, Any]:
    """http-log on the route, batches of up to 100 entries."""
    return _config(up_port, [_http_log(log_port, 100)])


def typical_stack(up_port: int, log_port: int, **_: Any) -> dict[str, Any]:
    """correlation-id + key-auth + rate-limiting (local) + prometheus + http-log on one route."""
    plugins = [
        {"name": "correlation-id", "config": {"generator": "uuid#counter", "echo_downstream": True}},
        {"name": "key-auth", "config": {}},
        {"name": "rate-limiting", "config": {"second": 1000000, "policy": "local"}},
        {"name": "prometheus", "config": {"status_code_metrics": True, "latency_metrics": True}},
        _http_log(log_port, 100),
    ]
    return _config(
        up_port,
        plugins,
        consumers=[{"username": "bench", "keyauth_credentials": [{"key": "k1"}]}],
    )


ROWS = [
    RowSpec("http-log", "moongate, http-log", http_log, setup=start_receiver),
    RowSpec("http-log-batch", "moongate, http-log batch 100", http_log_batch, setup=start_receiver),
    RowSpec(
        "typical-stack",
        "moongate, typical stack (5 plugins)",
        typical_stack,
        headers=["apikey: k1"],
        setup=start_receiver,
    ),
]


def _serve(port: int) -> None:
    from aiohttp import web

    async def accept(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(text="ok")

    app = web.Application(client_max_size=64 << 20)
    app.router.add_route("*", "/{tail:.*}", accept)
    web.run_app(app, host="127.0.0.1", port=port, access_log=None, print=None)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
