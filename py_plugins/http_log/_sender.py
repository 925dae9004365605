"""Delivering a batch of http-log entries: one HTTP request per batch.

One ``aiohttp.ClientSession`` per (event loop, keepalive), so connections to the log
server are reused for ``keepalive`` milliseconds (0: a new connection per request).
The sessions are closed when the gateway stops (:func:`close_sessions`, from the
plugin's ``shutdown`` host hook), or else when their loop shuts down: an async
generator holds each, and the loop's ``shutdown_asyncgens()`` finalizes it.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from yarl import URL

__all__ = ["send", "payload", "close_sessions"]

_SESSIONS: dict[tuple[asyncio.AbstractEventLoop, float], tuple[aiohttp.ClientSession, Any]] = {}
_URLS: dict[str, tuple[str, str | None]] = {}


class DeliveryError(Exception):
    """The log server could not be reached, or did not accept the entries."""


async def _holder(session: aiohttp.ClientSession) -> AsyncIterator[None]:
    try:
        yield
    finally:
        await session.close()


async def _session(keepalive_ms: float) -> aiohttp.ClientSession:
    loop = asyncio.get_running_loop()
    key = (loop, keepalive_ms)
    found = _SESSIONS.get(key)
    if found is not None and not found[0].closed:
        return found[0]
    for old in [k for k in _SESSIONS if k[0].is_closed()]:
        del _SESSIONS[old]
    if keepalive_ms > 0:
        connector = aiohttp.TCPConnector(keepalive_timeout=keepalive_ms / 1000, ssl=False)
    else:
        connector = aiohttp.TCPConnector(force_close=True, ssl=False)
    session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
    holder = _holder(session)
    await holder.__anext__()
    _SESSIONS[key] = (session, holder)
    return session


async def close_sessions() -> None:
    """Close this loop's sessions and their connections (the next send opens a new one)."""
    loop = asyncio.get_running_loop()
    for key in [k for k in _SESSIONS if k[0] is loop]:
        _, holder = _SESSIONS.pop(key)
        await holder.aclose()  # its ``finally`` closes the session


def _target(endpoint: str) -> tuple[str, str | None]:
    """(URL without user info, ``Basic ...`` value or None), cached per endpoint."""
    found = _URLS.get(endpoint)
    if found is None:
        url = URL(endpoint, encoded=True)
        authorization = None
        if url.raw_user is not None:
            userinfo = url.raw_user if url.raw_password is None else f"{url.raw_user}:{url.raw_password}"
            authorization = "Basic " + base64.b64encode(userinfo.encode()).decode()
            url = url.with_user(None)
        found = _URLS[endpoint] = (str(url), authorization)
    return found


def payload(batch_size: int, entries: list[bytes]) -> bytes:
    """One JSON object when batches hold one entry (Kong), else a JSON array."""
    if batch_size == 1:
        return entries[0]
    return b"[" + b",".join(entries) + b"]"


async def send(conf: dict[str, Any], entries: list[bytes]) -> None:
    """POST (or ``method``) ``entries``; raises :class:`DeliveryError` on failure."""
    url, authorization = _target(conf["http_endpoint"])
    headers = {"Content-Type": conf["content_type"]}
    if authorization is not None:
        headers["Authorization"] = authorization
    for name, value in (conf.get("headers") or {}).items():
        if not any(name.lower() == taken.lower() for taken in headers):
            headers[name] = value
    session = await _session(conf["keepalive"])
    timeout = aiohttp.ClientTimeout(total=conf["timeout"] / 1000)
    host = f"{URL(url).host}:{URL(url).port}"
    try:
        async with session.request(
            conf["method"],
            url,
            data=payload(conf["queue"]["max_batch_size"], entries),
            headers=headers,
            timeout=timeout,
        ) as resp:
            body = await resp.read()
            status = resp.status
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        raise DeliveryError(f"failed request to {host}: {exc or type(exc).__name__}") from None
    if status >= 300:
        text = body[:512].decode("utf-8", "replace")
        raise DeliveryError(f"request to {host} returned status code {status} and body {text}")
