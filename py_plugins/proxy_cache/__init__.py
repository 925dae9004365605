"""proxy-cache: cache upstream responses and serve them without calling the upstream.

Kong's proxy-cache (``kong/plugins/proxy-cache/handler.lua``), in Python over aiocache.

* ``access``: a request whose method is in ``request_method`` (and, with
  ``cache_control``, that does not say ``no-store``/``no-cache`` nor carries
  ``Authorization``) gets a cache key (:mod:`._key`).  A fresh entry is a **Hit**: the
  stored response is sent with ``kong.response.exit`` and the upstream is not called.
  Otherwise the request goes upstream as a **Miss** (or **Refresh** for a stale entry);
  concurrent misses of one key wait for the first one (:class:`._store.Inflight`) and
  are then served from what it stored.  Other requests are a **Bypass**.
* ``header_filter``: the upstream's response is cacheable when its status is in
  ``response_code``, its Content-Type matches ``content_type`` and (with
  ``cache_control``) ``Cache-Control`` allows it; otherwise **Bypass**.
* ``body_filter``: the chunks are copied as they stream to the client and the entry is
  stored at the end (TTL: ``storage_ttl``, else the resource's TTL with
  ``cache_control``, else ``cache_ttl``).
* ``log``: a request that led a key and did not store (an upstream error, a client
  that went away) wakes its waiters.

``X-Cache-Status``, ``X-Cache-Key`` and ``Age`` are sent as ``response_headers`` says,
or always when the request has a ``Kong-Debug`` header.  The purge endpoints of the
Admin API are in :mod:`.admin`.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from typing import Any

from host.context import current_context
from host.version import KONG_COMPAT_VERSION
from py_plugins.proxy_cache._key import (
    build_cache_key,
    content_type_matches,
    parse_directives,
    parse_mime,
    request_uri,
    resource_ttl,
)
from py_plugins.proxy_cache._schema import SCHEMA
from py_plugins.proxy_cache._store import CACHE_VERSION, INFLIGHT, Store, close_stores, store_for
from py_plugins.proxy_cache.admin import routes as ADMIN_ROUTES  # the Admin API mounts them

__all__ = ["NAME", "PRIORITY", "VERSION", "SCHEMA", "Plugin", "ADMIN_ROUTES", "shutdown"]

NAME = "proxy-cache"
PRIORITY = 100
VERSION = KONG_COMPAT_VERSION

log = logging.getLogger("moongate.plugins.proxy-cache")

#: not restored from an entry on a hit: hop-by-hop, framing, and this transaction's own
_NOT_RESTORED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "age",
        "x-cache-status",
        "x-cache-key",
        "x-kong-upstream-latency",
        "x-kong-proxy-latency",
        "x-kong-request-id",
    }
)

#: stores of HEAD responses in flight (kept referenced until done)
_TASKS: set[asyncio.Task[None]] = set()
_prepared: dict[int, tuple[dict[str, Any], Store, list[Any], frozenset[str], frozenset[int]]] = {}


def _prepared_conf(conf: dict[str, Any]) -> tuple[Store, list[Any], frozenset[str], frozenset[int]]:
    """Per configuration, made once: its store, parsed content types, methods, codes."""
    entry = _prepared.get(id(conf))
    if entry is None or entry[0] is not conf:
        types = [parse_mime(t) for t in conf["content_type"]]
        entry = (
            conf,
            store_for(conf),
            types,
            frozenset(conf["request_method"]),
            frozenset(conf["response_code"]),
        )
        _prepared[id(conf)] = entry
    return entry[1], entry[2], entry[3], entry[4]


def _show(kong: Any, conf: dict[str, Any], header: str) -> bool:
    return bool(conf["response_headers"].get(header)) or kong.request.get_header("Kong-Debug") is not None


def _set_header(kong: Any, conf: dict[str, Any], header: str, value: str) -> None:
    if _show(kong, conf, header):
        kong.response.set_header(header, value)


def _overwritable(name: str) -> bool:
    lower = name.lower()
    return lower not in _NOT_RESTORED and "ratelimit-remaining" not in lower


class Plugin:
    """The handlers; per-request state lives in ``kong.ctx.plugin``."""

    async def access(self, kong: Any, conf: dict[str, Any]) -> None:
        store, _, methods, _ = _prepared_conf(conf)
        method = kong.request.get_method()
        cc: dict[str, Any] = {}
        if conf["cache_control"]:
            cc = parse_directives(kong.request.get_headers().get("cache-control"))
        if method not in methods or (
            conf["cache_control"]
            and (cc.get("no-store") or cc.get("no-cache") or kong.request.get_header("Authorization"))
        ):
            _set_header(kong, conf, "X-Cache-Status", "Bypass")
            return
        ctx = current_context()
        consumer = kong.client.get_consumer()
        route = kong.router.get_route()
        uri = request_uri(method, ctx.request_uri, ctx.http_version, conf["ignore_uri_case"])
        headers = kong.request.get_headers() if conf.get("vary_headers") else {}
        key = build_cache_key(
            consumer and consumer.get("id"),
            route and route.get("id"),
            method,
            uri,
            kong.request.get_query(),
            headers,
            conf,
        )
        _set_header(kong, conf, "X-Cache-Key", key)
        state = kong.ctx.plugin
        try:
            entry = await store.fetch(key)
        except Exception as exc:  # noqa: BLE001 - a store failure never fails the request
            kong.log.err("failed to fetch ", key, ": ", exc)
            return
        if entry is None:
            if conf["cache_control"] and cc.get("only-if-cached"):
                kong.response.exit(504)
            entry = await self._coalesce(kong, ctx, store, key)
            if entry is None:
                return self._signal(kong, conf, state, store, key, "Miss")
        if entry.get("version") != CACHE_VERSION:
            kong.log.notice("cache format mismatch, purging ", key)
            await store.purge(key)
            return self._signal(kong, conf, state, store, key, "Bypass", lead=False)
        age = time.time() - entry["timestamp"]
        if conf["cache_control"]:
            max_age, max_stale, min_fresh = cc.get("max-age"), cc.get("max-stale"), cc.get("min-fresh")
            if (
                (_number(max_age) and age > max_age)
                or (_number(max_stale) and age - entry["ttl"] > max_stale)
                or (_number(min_fresh) and entry["ttl"] - age < min_fresh)
            ):
                return self._signal(kong, conf, state, store, key, "Refresh")
        elif age > conf["cache_ttl"]:
            return self._signal(kong, conf, state, store, key, "Refresh")
        self._serve(kong, conf, key, entry, age)

    async def _coalesce(self, kong: Any, ctx: Any, store: Store, key: str) -> dict[str, Any] | None:
        """Wait for the request already fetching ``key``, then read what it stored (or ``None``:
        this request leads, or the leader stored nothing)."""
        leader = INFLIGHT.lead(store, key)
        if leader is None:
            kong.ctx.plugin["leader"] = True
            return None
        budget = (ctx.connect_timeout + ctx.write_timeout + ctx.read_timeout) / 1000
        try:
            await asyncio.wait_for(asyncio.shield(leader), budget)
        except TimeoutError:
            return None
        try:
            return await store.fetch(key)
        except Exception as exc:  # noqa: BLE001
            kong.log.err("failed to fetch ", key, ": ", exc)
            return None

    def _signal(
        self,
        kong: Any,
        conf: dict[str, Any],
        state: dict[str, Any],
        store: Store,
        key: str,
        status: str,
        lead: bool = True,
    ) -> None:
        """Go upstream and try to store the response (Kong's ``signal_cache_req``)."""
        if lead and not state.get("leader") and status == "Refresh" and INFLIGHT.lead(store, key) is None:
            state["leader"] = True
        state["proxy_cache"] = {"key": key, "store": store, "req_body": kong.request.get_raw_body()}
        _set_header(kong, conf, "X-Cache-Status", status)

    def _serve(self, kong: Any, conf: dict[str, Any], key: str, entry: dict[str, Any], age: float) -> None:
        """A hit: the stored response, sent without calling the upstream."""
        headers = {k: v for k, v in entry["headers"].items() if _overwritable(k)}
        if _show(kong, conf, "age"):
            headers["Age"] = str(math.floor(age))
        if _show(kong, conf, "X-Cache-Status"):
            headers["X-Cache-Status"] = "Hit"
        if _show(kong, conf, "X-Cache-Key"):
            headers["X-Cache-Key"] = key
        kong.ctx.shared["proxy_cache_hit"] = {"res": entry, "req": {"body": entry.get("req_body")}}
        kong.response.exit(entry["status"], entry["body"], headers)

    def header_filter(self, kong: Any, conf: dict[str, Any]) -> None:
        state = kong.ctx.plugin
        pending = state.get("proxy_cache")
        if pending is None:
            return
        _, types, _, codes = _prepared_conf(conf)
        ctx = current_context()
        out = ctx.response_headers
        cc = parse_directives(out.getall("Cache-Control", None)) if conf["cache_control"] else {}
        content_type = out.get("Content-Type")
        cacheable = (
            ctx.status in codes
            and bool(content_type)
            and content_type_matches(content_type, types)
            and not (
                conf["cache_control"] and (cc.get("private") or cc.get("no-store") or cc.get("no-cache"))
            )
            and not (conf["cache_control"] and resource_ttl(cc, out.get("Expires")) <= 0)
        )
        if not cacheable:
            _set_header(kong, conf, "X-Cache-Status", "Bypass")
            state["proxy_cache"] = None
            self._release(state, pending)
            return
        stored: dict[str, Any] = {}
        for name, value in out.items():
            previous = stored.get(name)
            if previous is None:
                stored[name] = value
            elif isinstance(previous, list):
                previous.append(value)
            else:
                stored[name] = [previous, value]
        pending["headers"] = stored
        pending["ttl"] = resource_ttl(cc, out.get("Expires")) if conf["cache_control"] else conf["cache_ttl"]
        pending["chunks"] = []

    async def body_filter(self, kong: Any, conf: dict[str, Any]) -> None:
        state = kong.ctx.plugin
        pending = state.get("proxy_cache")
        if pending is None or "chunks" not in pending:
            return
        ctx = current_context()
        chunk = ctx.body_chunk
        if chunk:
            pending["chunks"].append(chunk)
        if not ctx.body_eof:
            return
        state["proxy_cache"] = None
        await self._store(kong, conf, ctx, state, pending)

    async def _store(
        self, kong: Any, conf: dict[str, Any], ctx: Any, state: dict[str, Any], pending: dict[str, Any]
    ) -> None:
        """Store the response that went to the client, then wake the waiters."""
        body = b"".join(pending["chunks"])
        entry = {
            "status": ctx.status,
            "headers": pending["headers"],
            "body": body,
            "body_len": len(body),
            "timestamp": time.time(),
            "ttl": pending["ttl"],
            "version": CACHE_VERSION,
            "req_body": pending["req_body"],
        }
        ttl = conf.get("storage_ttl") or (pending["ttl"] if conf["cache_control"] else conf["cache_ttl"])
        try:
            await pending["store"].store(pending["key"], entry, ttl)
        except Exception as exc:  # noqa: BLE001 - the client already has the response
            kong.log.err("failed to store ", pending["key"], ": ", exc)
        finally:
            self._release(state, pending)

    def log(self, kong: Any, conf: dict[str, Any]) -> None:
        state = kong.ctx.plugin
        pending = state.get("proxy_cache")
        if pending is None:
            return
        ctx = current_context()
        if ctx.method == "HEAD" and "chunks" in pending and ctx.headers_sent:
            # no body went through body_filter: store the head now (in a task: log never waits)
            state["proxy_cache"] = None
            task = asyncio.ensure_future(self._store(kong, conf, ctx, state, pending))
            _TASKS.add(task)
            task.add_done_callback(_TASKS.discard)
            return
        self._release(state, pending)

    @staticmethod
    def _release(state: dict[str, Any], pending: dict[str, Any]) -> None:
        if state.pop("leader", None):
            INFLIGHT.release(pending["store"], pending["key"])


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


async def shutdown() -> None:
    """Host hook, the gateway stops: close the stores' Redis connections."""
    await close_stores()
