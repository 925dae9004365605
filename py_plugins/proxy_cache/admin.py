"""The Admin API endpoints of proxy-cache (Kong's ``kong/plugins/proxy-cache/api.lua``).

``routes(gateway)`` returns aiohttp route definitions for the Admin API to mount:

* ``DELETE /proxy-cache``: flush the store of every proxy-cache configuration; 204.
* ``GET /proxy-cache/{cache_key}``: the entry from the first store that has it; 200 with
  the entry as JSON (``status``, ``headers``, ``body``, ``body_len``, ``timestamp``,
  ``ttl``, ``version``, ``req_body``), else 404.
* ``DELETE /proxy-cache/{cache_key}``: purge it from the first store that has it; 204,
  else 404.
* ``GET``/``DELETE /proxy-cache/{plugin_id}/caches/{cache_key}``: the same in the store
  of one configuration; 404 when the plugin or the entry does not exist.

``gateway`` is anything with a ``snapshot`` attribute (the running config): the stores
of the configurations in the snapshot at the time of the call are used.  The memory
store is per worker process: with several workers each one purges its own.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from aiohttp import web

from py_plugins.proxy_cache._store import Store, store_for

__all__ = ["routes"]

_NOT_FOUND = {"message": "Not found"}


def _stores(gateway: Any) -> Iterator[Store]:
    """The distinct stores of the proxy-cache configurations, in config order."""
    seen: set[int] = set()
    for inst in gateway.snapshot.plugins.instances:
        if inst.name != "proxy-cache":
            continue
        store = store_for(inst.conf)
        if id(store) not in seen:
            seen.add(id(store))
            yield store


def _store_of(gateway: Any, plugin_id: str) -> Store | None:
    for inst in gateway.snapshot.plugins.instances:
        if inst.name == "proxy-cache" and inst.id == plugin_id:
            return store_for(inst.conf)
    return None


def _text(value: Any) -> Any:
    """A body for JSON: text as it is, other bytes in base64 (prefixed ``base64:``)."""
    if not isinstance(value, bytes):
        return value
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(value).decode()


def _entry_json(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "body": _text(entry.get("body")), "req_body": _text(entry.get("req_body"))}


def _error(exc: Exception) -> web.Response:
    return web.json_response({"message": str(exc)}, status=500)


def routes(gateway: Any) -> list[web.RouteDef]:
    """The proxy-cache endpoints over ``gateway``'s running configuration."""

    async def flush_all(request: web.Request) -> web.StreamResponse:
        for store in _stores(gateway):
            try:
                await store.flush()
            except Exception as exc:  # noqa: BLE001 - reported to the caller
                return _error(exc)
        return web.Response(status=204)

    async def get_entry(request: web.Request) -> web.StreamResponse:
        key = request.match_info["cache_key"]
        for store in _stores(gateway):
            try:
                entry = await store.fetch(key)
            except Exception as exc:  # noqa: BLE001
                return _error(exc)
            if entry is not None:
                return web.json_response(_entry_json(entry))
        return web.json_response(_NOT_FOUND, status=404)

    async def delete_entry(request: web.Request) -> web.StreamResponse:
        key = request.match_info["cache_key"]
        for store in _stores(gateway):
            try:
                if await store.purge(key):
                    return web.Response(status=204)
            except Exception as exc:  # noqa: BLE001
                return _error(exc)
        return web.json_response(_NOT_FOUND, status=404)

    async def plugin_entry(request: web.Request) -> web.StreamResponse:
        store = _store_of(gateway, request.match_info["plugin_id"])
        if store is None:
            return web.json_response(_NOT_FOUND, status=404)
        key = request.match_info["cache_key"]
        try:
            if request.method == "DELETE":
                found = await store.purge(key)
                return web.Response(status=204) if found else web.json_response(_NOT_FOUND, status=404)
            entry = await store.fetch(key)
        except Exception as exc:  # noqa: BLE001
            return _error(exc)
        if entry is None:
            return web.json_response(_NOT_FOUND, status=404)
        return web.json_response(_entry_json(entry))

    return [
        web.delete("/proxy-cache", flush_all),
        web.get("/proxy-cache/{cache_key}", get_entry, allow_head=False),
        web.delete("/proxy-cache/{cache_key}", delete_entry),
        web.get("/proxy-cache/{plugin_id}/caches/{cache_key}", plugin_entry, allow_head=False),
        web.delete("/proxy-cache/{plugin_id}/caches/{cache_key}", plugin_entry),
    ]
