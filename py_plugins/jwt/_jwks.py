"""JWKS mode: the keys an identity provider publishes at ``jwks_uri``, cached per worker.

A document is fetched with aiohttp on first use and kept in an aiocache memory
cache for ``jwks_ttl`` seconds.  A token whose ``kid`` is not in the cached set
triggers one early refresh (key rotation), at most once per
:data:`MIN_REFRESH_INTERVAL` seconds per URI, so tokens with made-up kids cannot
make the gateway hammer the provider.  Concurrent fetches of one URI are merged.
State is per event loop (a worker has one; the tests start many).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
from aiocache import SimpleMemoryCache
from jwt.algorithms import get_default_algorithms
from jwt.exceptions import InvalidKeyError

__all__ = ["JwksError", "KeySet", "store", "MIN_REFRESH_INTERVAL", "FETCH_TIMEOUT"]

#: seconds between two refreshes caused by unknown kids (per URI)
MIN_REFRESH_INTERVAL = 10.0
#: seconds a JWKS fetch may take
FETCH_TIMEOUT = 5.0
_PYJWT = get_default_algorithms()


class JwksError(Exception):
    """The JWKS document could not be fetched or is not a JWK set."""


class KeySet:
    """The signing keys of one JWKS document, by ``kid``; keys are prepared per algorithm on use."""

    def __init__(self, document: Any) -> None:
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise JwksError("the JWKS document has no 'keys' array")
        self.jwks: dict[str | None, dict[str, Any]] = {}
        for jwk in keys:
            if isinstance(jwk, dict) and jwk.get("use", "sig") == "sig" and jwk.get("kty") != "oct":
                kid = jwk.get("kid")
                self.jwks[kid if isinstance(kid, str) else None] = jwk
        self._prepared: dict[tuple[str | None, str], Any] = {}

    def find(self, kid: Any) -> dict[str, Any] | None:
        """The JWK named ``kid``; a token without kid uses the only key of a one-key set."""
        if kid is None:
            return next(iter(self.jwks.values())) if len(self.jwks) == 1 else None
        return self.jwks.get(kid) if isinstance(kid, str) else None

    def key(self, jwk: dict[str, Any], alg: str) -> Any:
        """The prepared public key of ``jwk`` for ``alg``; ValueError if it cannot verify ``alg``."""
        cache_key = (jwk.get("kid"), alg)
        prepared = self._prepared.get(cache_key)
        if prepared is None:
            if jwk.get("alg") not in (None, alg):
                raise ValueError("the key is for another algorithm")
            try:
                prepared = _PYJWT[alg].from_jwk(jwk)
            except (InvalidKeyError, ValueError, TypeError, KeyError) as exc:
                raise ValueError(str(exc)) from exc
            self._prepared[cache_key] = prepared
        return prepared


class _Store:
    """One event loop's JWKS cache, HTTP session and refresh bookkeeping."""

    def __init__(self) -> None:
        self.cache = SimpleMemoryCache()
        self.locks: dict[str, asyncio.Lock] = {}
        self.forced_at: dict[str, float] = {}

    async def _fetch(self, uri: str, ttl: float) -> KeySet:
        # a session per fetch: fetches are rare (once per ttl, or a rotation), and nothing
        # stays open when the worker's loop ends
        timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT)
        try:
            async with (
                aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as session,
                session.get(uri, headers={"Accept": "application/json"}) as resp,
            ):
                if resp.status != 200:
                    raise JwksError(f"{uri} answered {resp.status}")
                document = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise JwksError(f"failed to fetch {uri}: {exc!r}") from exc
        keyset = KeySet(document)
        await self.cache.set(uri, keyset, ttl=ttl)
        return keyset

    async def keys(self, uri: str, ttl: float) -> KeySet:
        """The cached key set of ``uri``, fetched when absent or expired."""
        keyset = await self.cache.get(uri)
        if keyset is not None:
            return keyset  # type: ignore[no-any-return]
        lock = self.locks.setdefault(uri, asyncio.Lock())
        async with lock:
            keyset = await self.cache.get(uri)
            if keyset is None:
                keyset = await self._fetch(uri, ttl)
        return keyset  # type: ignore[no-any-return]

    async def refresh(self, uri: str, ttl: float, seen: KeySet) -> KeySet | None:
        """Fetch ``uri`` again for an unknown kid, unless one did in the last interval.

        ``seen`` is the set the caller looked in: when another request already
        replaced it, that newer set is returned without a fetch.
        """
        lock = self.locks.setdefault(uri, asyncio.Lock())
        async with lock:
            current = await self.cache.get(uri)
            if current is not None and current is not seen:
                return current  # type: ignore[no-any-return]
            now = time.monotonic()
            if now - self.forced_at.get(uri, -MIN_REFRESH_INTERVAL) < MIN_REFRESH_INTERVAL:
                return None
            self.forced_at[uri] = now
            return await self._fetch(uri, ttl)


_STORES: dict[asyncio.AbstractEventLoop, _Store] = {}


def store() -> _Store:
    """The running loop's store (stores of closed loops are dropped)."""
    loop = asyncio.get_running_loop()
    found = _STORES.get(loop)
    if found is None:
        for old in [other for other in _STORES if other.is_closed()]:
            del _STORES[old]
        found = _STORES[loop] = _Store()
    return found
