"""Calling the introspection endpoint: one HTTP session and one result cache per worker loop.

* **Session.**  One ``aiohttp.ClientSession`` per (event loop, ``keepalive``), so
  connections to the endpoint are reused; ``keepalive`` is the idle lifetime of a
  pooled connection (0: a connection per call).  The session is closed when its loop
  shuts down: an async generator holds it open, and ``loop.shutdown_asyncgens()``
  (run by ``asyncio.run``/``uvloop.run`` and pytest-asyncio) finalizes it.
* **Cache.**  Active results live in an aiocache memory cache for ``ttl`` seconds,
  never beyond the token's ``exp``; inactive ones are not cached (a revoked or
  mistyped token is asked about again, and cannot fill the memory).  Keys are a
  SHA-256 of the endpoint, the client credentials and the token, so tokens are
  not kept in the clear as keys.
* **Merging.**  Concurrent requests with the same token share one call.
* **Failures** raise :class:`IntrospectionError` with ``unavailable`` set when the
  endpoint could not be reached in time (the handler answers 503) or cleared when it
  answered something that is not an RFC 7662 result (500).  Messages never contain
  the token nor the client credentials.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson
from aiocache import SimpleMemoryCache

__all__ = ["IntrospectionError", "introspect", "cache_key", "calls"]


class IntrospectionError(Exception):
    """The endpoint could not answer (``unavailable``) or answered nonsense."""

    def __init__(self, message: str, unavailable: bool) -> None:
        super().__init__(message)
        self.unavailable = unavailable


class _LoopState:
    """What one event loop owns: sessions by keepalive, the cache, calls in flight."""

    def __init__(self) -> None:
        self.sessions: dict[int, tuple[aiohttp.ClientSession, AsyncIterator[None]]] = {}
        self.cache = SimpleMemoryCache()
        self.inflight: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.calls = 0  # introspection requests sent (for operators and tests)


_STATES: dict[asyncio.AbstractEventLoop, _LoopState] = {}


def _state() -> _LoopState:
    loop = asyncio.get_running_loop()
    state = _STATES.get(loop)
    if state is None:
        for old in [other for other in _STATES if other.is_closed()]:
            del _STATES[old]
        state = _STATES[loop] = _LoopState()
    return state


async def _holder(session: aiohttp.ClientSession) -> AsyncIterator[None]:
    """Suspended until the loop shuts its async generators down; then closes ``session``."""
    try:
        yield
    finally:
        await session.close()


async def _session(state: _LoopState, keepalive_ms: int) -> aiohttp.ClientSession:
    found = state.sessions.get(keepalive_ms)
    if found is not None and not found[0].closed:
        return found[0]
    if keepalive_ms > 0:
        connector = aiohttp.TCPConnector(keepalive_timeout=keepalive_ms / 1000)
    else:
        connector = aiohttp.TCPConnector(force_close=True)
    session = aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar())
    holder = _holder(session)
    await holder.__anext__()  # registers it with the loop's shutdown_asyncgens
    state.sessions[keepalive_ms] = (session, holder)
    return session


async def close_sessions() -> None:
    """Close this loop's sessions and their connections (the gateway stops)."""
    state = _STATES.get(asyncio.get_running_loop())
    if state is None:
        return
    sessions, state.sessions = state.sessions, {}
    for _, holder in sessions.values():
        await holder.aclose()  # its ``finally`` closes the session


def cache_key(conf: dict[str, Any], token: str, request_tag: str) -> str:
    """The cache key of ``token`` under this endpoint and client (and request, if sent)."""
    parts = (conf["introspection_url"], conf["authorization_value"], conf.get("token_type_hint") or "")
    material = "\n".join((*parts, request_tag, token))
    return hashlib.sha256(material.encode("utf-8", "surrogateescape")).hexdigest()


async def _call(conf: dict[str, Any], token: str, headers: dict[str, str]) -> dict[str, Any]:
    state = _state()
    session = await _session(state, conf["keepalive"])
    form = {"token": token}
    if conf.get("token_type_hint"):
        form["token_type_hint"] = conf["token_type_hint"]
    sent = {**conf["custom_introspection_headers"], **headers, "Authorization": conf["authorization_value"]}
    sent.setdefault("Accept", "application/json")
    timeout = aiohttp.ClientTimeout(total=conf["timeout"] / 1000)
    state.calls += 1
    url = conf["introspection_url"]
    try:
        async with session.post(url, data=form, headers=sent, timeout=timeout) as resp:
            status = resp.status
            body = await resp.read()
    except TimeoutError as exc:
        raise IntrospectionError(f"{url}: timed out after {conf['timeout']} ms", True) from exc
    except aiohttp.ClientError as exc:
        raise IntrospectionError(f"{url}: {exc.__class__.__name__}: {exc}", True) from exc
    if status != 200:
        raise IntrospectionError(f"{url}: answered {status}", status in (502, 503, 504))
    try:
        result = orjson.loads(body)
    except ValueError as exc:
        raise IntrospectionError(f"{url}: the answer is not JSON", False) from exc
    if not isinstance(result, dict) or not isinstance(result.get("active"), bool):
        raise IntrospectionError(f"{url}: the answer has no boolean 'active'", False)
    return result


def _ttl(conf: dict[str, Any], result: dict[str, Any]) -> float | None:
    """Seconds to cache ``result``: ``ttl`` (0: unbounded) capped by its ``exp``; None: do not cache."""
    ttl: float = conf["ttl"]
    exp = result.get("exp")
    if isinstance(exp, int | float) and not isinstance(exp, bool):
        left = exp - time.time()
        if left <= 0:
            return None
        ttl = min(ttl, left) if ttl > 0 else left
    return ttl


async def introspect(
    conf: dict[str, Any], token: str, headers: dict[str, str], request_tag: str
) -> dict[str, Any]:
    """The introspection result of ``token``: from the cache, a call in flight, or a new call."""
    state = _state()
    key = cache_key(conf, token, request_tag)
    cached = await state.cache.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    pending = state.inflight.get(key)
    if pending is not None:
        return await asyncio.shield(pending)
    future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
    state.inflight[key] = future
    try:
        result = await _call(conf, token, headers)
    except BaseException as exc:
        if isinstance(exc, Exception):
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
        else:
            future.cancel()
        raise
    finally:
        del state.inflight[key]
    if result["active"]:
        ttl = _ttl(conf, result)
        if ttl is not None:
            await state.cache.set(key, result, ttl=ttl or None)
    future.set_result(result)
    return result


def calls() -> int:
    """Introspection requests this loop's worker sent so far."""
    return _state().calls
