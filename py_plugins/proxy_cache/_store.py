"""Where proxy-cache keeps responses (aiocache), and the coalescing of concurrent misses.

``memory``: an aiocache ``SimpleMemoryCache`` per ``memory.dictionary_name``, in this
worker process (Kong's shared dict is per node; ours is per worker, so N workers hold up
to N copies).  ``redis``: an aiocache ``RedisCache`` per distinct connection record,
shared by every worker and gateway using that Redis.  Entries are dicts (Kong's shape:
``status``, ``headers``, ``body``, ``body_len``, ``timestamp``, ``ttl``, ``version``,
``req_body``); in Redis they are JSON with the body in base64, under the
``kong_proxy_cache:`` namespace.

Coalescing (:class:`Inflight`): the first request that misses a key becomes its
leader and goes upstream; the requests that miss the same key while it is in flight
wait for it, then read the stored entry.  Within one worker process.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
from typing import Any

from aiocache import RedisCache, SimpleMemoryCache
from aiocache.serializers import BaseSerializer

__all__ = ["CACHE_VERSION", "NOT_FOUND", "Store", "store_for", "Inflight", "INFLIGHT", "close_stores"]

#: the entry format; an entry of another version is purged (Kong's CACHE_VERSION)
CACHE_VERSION = 1
#: Kong's error for a key that is not in the store
NOT_FOUND = "request object not in cache"
_REDIS_NAMESPACE = "kong_proxy_cache"


class _EntrySerializer(BaseSerializer):
    """JSON for Redis, with the response and request bodies in base64."""

    DEFAULT_ENCODING = "utf-8"

    def dumps(self, value: Any) -> str:
        data = dict(value)
        for name in ("body", "req_body"):
            if isinstance(data.get(name), bytes):
                data[name] = base64.b64encode(data[name]).decode()
        return json.dumps(data, separators=(",", ":"))

    def loads(self, value: str | None) -> Any:
        if value is None:
            return None
        data = json.loads(value)
        for name in ("body", "req_body"):
            if isinstance(data.get(name), str):
                data[name] = base64.b64decode(data[name])
        return data


class Store:
    """One backing store: ``fetch``/``store``/``purge``/``flush`` with Kong's semantics."""

    def __init__(self, cache: Any, name: str) -> None:
        self.cache = cache
        self.name = name

    async def fetch(self, key: str) -> dict[str, Any] | None:
        """The entry for ``key``, or ``None`` (Kong: "request object not in cache")."""
        value = await self.cache.get(key)
        return value if isinstance(value, dict) else None

    async def store(self, key: str, entry: dict[str, Any], ttl: float) -> None:
        await self.cache.set(key, entry, ttl=max(int(ttl), 1) if ttl else None)

    async def purge(self, key: str) -> bool:
        """Remove ``key``; whether it was there."""
        return bool(await self.cache.delete(key))

    async def flush(self) -> None:
        """Remove every entry of this store."""
        if isinstance(self.cache, RedisCache):
            await self.cache.clear(namespace=_REDIS_NAMESPACE)
        else:
            await self.cache.clear()

    async def close(self) -> None:
        await self.cache.close()


_STORES: dict[tuple[Any, ...], Store] = {}


def _redis_identity(opts: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(
        opts.get(k) for k in ("host", "port", "database", "username", "password", "ssl", "ssl_verify")
    )


def _redis_store(opts: dict[str, Any]) -> Store:
    timeout = (opts.get("timeout") or 2000) / 1000
    pool_kwargs: dict[str, Any] = {"socket_timeout": timeout}
    if opts.get("username"):
        pool_kwargs["username"] = opts["username"]
    if opts.get("ssl"):
        pool_kwargs["ssl_cert_reqs"] = ssl.CERT_REQUIRED if opts.get("ssl_verify") else ssl.CERT_NONE
        pool_kwargs["ssl_check_hostname"] = bool(opts.get("ssl_verify"))
    cache = RedisCache(
        serializer=_EntrySerializer(),
        namespace=_REDIS_NAMESPACE,
        timeout=timeout,
        endpoint=opts.get("host") or "127.0.0.1",
        port=opts.get("port") or 6379,
        db=opts.get("database") or 0,
        password=opts.get("password") or None,
        create_connection_timeout=timeout,
        ssl=bool(opts.get("ssl")),
        connection_pool_kwargs=pool_kwargs,
    )
    return Store(cache, f"redis://{opts.get('host')}:{opts.get('port')}/{opts.get('database') or 0}")


def store_for(conf: dict[str, Any]) -> Store:
    """The store a configuration uses (one object per distinct store, in this process)."""
    if conf.get("strategy") == "redis":
        opts = conf.get("redis") or {}
        ident: tuple[Any, ...] = ("redis", *_redis_identity(opts))
        store = _STORES.get(ident)
        if store is None:
            store = _STORES[ident] = _redis_store(opts)
        return store
    name = (conf.get("memory") or {}).get("dictionary_name") or "kong_db_cache"
    ident = ("memory", name)
    store = _STORES.get(ident)
    if store is None:
        # timeout=0: no per-call timeout task around an in-memory dict access
        store = _STORES[ident] = Store(SimpleMemoryCache(timeout=0), f"memory:{name}")
    return store


async def close_stores() -> None:
    """Close the Redis connections (and forget every store); for shutdown and tests."""
    stores = list(_STORES.values())
    _STORES.clear()
    for store in stores:
        try:
            await store.close()
        except Exception:  # noqa: BLE001 - best effort at shutdown
            pass


class Inflight:
    """The keys some request is fetching from the upstream right now, in this process."""

    def __init__(self) -> None:
        self._waiting: dict[tuple[str, str], asyncio.Future[None]] = {}

    def lead(self, store: Store, key: str) -> asyncio.Future[None] | None:
        """Become the leader for ``key`` (returns ``None``), or get the leader's future to wait on."""
        ident = (store.name, key)
        fut = self._waiting.get(ident)
        if fut is not None and not fut.done():
            return fut
        self._waiting[ident] = asyncio.get_running_loop().create_future()
        return None

    def release(self, store: Store, key: str) -> None:
        """The leader is done (stored, or found the response not cacheable): wake the waiters."""
        fut = self._waiting.pop((store.name, key), None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    def __len__(self) -> int:
        return len(self._waiting)


INFLIGHT = Inflight()
