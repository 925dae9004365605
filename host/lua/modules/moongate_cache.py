"""Python half of ``moongate.cache`` (``kong.cache``): the clock, waiting for a loader, purging.

The cache itself is Lua (``host/lua/lua/modules/moongate.cache.lua``): Lua values cannot
live in Python caches.  Python provides:

* ``now`` (``time.time``) for expiry times;
* the ``cache_wait`` I/O operation: a coroutine that misses a key another coroutine is
  already loading waits here (``H.io("cache_wait", token, timeout)``) until the loader
  calls ``wake(token)``, then reads the cache again, so concurrent misses of one key run
  the loader once (mlcache does this with a lock);
* the cache is emptied when a request arrives with a different configuration (the
  Lua side compares ``H.snapshot_key()`` of ``moongate.db``), as Kong purges its cache
  when DB-less Kong loads a new configuration;
* :func:`purge_lua_cache`, for the gateway to call when it applies a configuration.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from host.lua.io_ops import io_op

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context
    from host.lua.runtime import LuaHost

__all__ = ["backing", "purge_lua_cache", "cache_ttls"]

_WAITERS = "cache_waiters"


def cache_ttls(settings: Any) -> tuple[float, float]:
    """(ttl, neg_ttl) as Kong computes them: 0 (never expire) in DB-less mode."""
    if settings is None or getattr(settings, "database", "off") == "off":
        return 0, 0
    ttl = getattr(settings, "db_cache_ttl", 0) or 0
    neg_ttl = getattr(settings, "db_cache_neg_ttl", None)
    return ttl, ttl if neg_ttl is None else neg_ttl


def purge_lua_cache(host: LuaHost) -> None:
    """Empty ``kong.cache`` of ``host`` (call when a new configuration is applied)."""
    cache = host.require("moongate.cache")
    cache[b"purge"](cache)


@io_op("cache_wait")
async def cache_wait(host: LuaHost, ctx: Context, token: Any, timeout: Any) -> tuple[Any, ...]:
    """Wait until the loader of ``token`` finished (True), or ``timeout`` seconds (nil, "timeout")."""
    future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    host.state.setdefault(_WAITERS, {}).setdefault(token, []).append(future)
    try:
        await asyncio.wait_for(future, float(timeout))
    except TimeoutError:
        return (None, b"timeout")
    finally:
        waiters = host.state[_WAITERS].get(token)
        if waiters is not None and future in waiters:
            waiters.remove(future)
            if not waiters:
                del host.state[_WAITERS][token]
    return (True,)


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    waiting: dict[Any, list[asyncio.Future[bool]]] = host.state.setdefault(_WAITERS, {})
    ttl, neg_ttl = cache_ttls(host.settings)

    def wake(token: Any) -> None:
        for future in waiting.pop(token, ()):
            if not future.done():
                future.set_result(True)

    def defaults() -> tuple[float, float]:
        return ttl, neg_ttl

    return {"now": time.time, "wake": wake, "defaults": defaults}
