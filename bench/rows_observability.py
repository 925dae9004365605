"""Benchmark rows of the observability and caching plugins, to compare with ``moongate``:
``proxy-cache-hit`` (every request after the first is a hit from the memory store: the
upstream is not called) and ``prometheus`` (global, every toggle on: status codes,
latencies, bandwidth, plus the runner's ``kong_plugin_latency_ms``)."""

from __future__ import annotations

from typing import Any

from bench.rowspec import RowSpec

__all__ = ["ROWS"]


def _config(
    up_port: int, route_plugins: list[dict[str, Any]], plugins: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "_format_version": "3.0",
        "services": [
            {
                "name": "bench",
                "url": f"http://127.0.0.1:{up_port}",
                "routes": [{"name": "bench", "paths": ["/"], "plugins": route_plugins}],
            }
        ],
        "plugins": plugins,
    }


def proxy_cache_hit(up_port: int, **_: Any) -> dict[str, Any]:
    """One route with proxy-cache (memory); the upstream answers text/plain, which is cached."""
    return _config(
        up_port, [{"name": "proxy-cache", "config": {"strategy": "memory", "cache_ttl": 3600}}], []
    )


def prometheus(up_port: int, **_: Any) -> dict[str, Any]:
    """The prometheus plugin, global, with every per-request metric on."""
    conf = {
        "status_code_metrics": True,
        "latency_metrics": True,
        "bandwidth_metrics": True,
        "per_consumer": True,
    }
    return _config(up_port, [], [{"name": "prometheus", "config": conf}])


ROWS = [
    RowSpec("proxy-cache-hit", "moongate, proxy-cache hits (memory)", proxy_cache_hit),
    RowSpec("prometheus", "moongate, prometheus (all metrics)", prometheus),
]
