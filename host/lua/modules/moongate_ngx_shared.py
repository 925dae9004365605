"""Python half of ``moongate.ngx_shared``: the wall clock its expiry times are measured with.

The dictionaries themselves are pure Lua (``host/lua/lua/modules/moongate.ngx_shared.lua``):
they live in the worker's Lua runtime, so, unlike nginx's shared memory zones, they are
not shared between worker processes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

__all__ = ["backing", "DEFAULT_SIZES", "DEFAULT_SIZE"]

_M = 1024 * 1024
#: the lua_shared_dict zones Kong's nginx template declares, with their sizes (bytes)
DEFAULT_SIZES: dict[str, int] = {
    "kong": 5 * _M,
    "kong_locks": 8 * _M,
    "kong_healthchecks": 5 * _M,
    "kong_cluster_events": 5 * _M,
    "kong_rate_limiting_counters": 12 * _M,
    "kong_core_db_cache": 128 * _M,
    "kong_core_db_cache_miss": 12 * _M,
    "kong_db_cache": 128 * _M,
    "kong_db_cache_miss": 12 * _M,
    "kong_secrets": 5 * _M,
    "kong_dns_cache": 5 * _M,
    "prometheus_metrics": 5 * _M,
}
#: the size of a dictionary created on first use under any other name
DEFAULT_SIZE = 5 * _M


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    sizes = {name.encode(): size for name, size in DEFAULT_SIZES.items()}

    def zones() -> Any:
        return host.runtime.table_from(sizes)

    def default_size() -> int:
        return DEFAULT_SIZE

    return {"now": time.time, "zones": zones, "default_size": default_size}
