"""The ``consistent-hashing`` algorithm and the request value it hashes.

The ring follows Kong's Ketama-style continuum: ``slots`` positions (at least 1000,
as Kong clamps it), each address owning ``floor(weight / total * targets * 160)``
of them (at least one), placed by hashing ``"host:port i"``; addresses are placed in
sorted order so that collisions resolve the same way in every worker.  A request's
value is hashed to a position and the ring is walked downwards (wrapping) to the
first usable address; retries walk on past the addresses already tried.  Adding a
fourth target to three equal ones moves about a quarter of the keys: the others keep
their positions.

The value comes from ``hash_on``, then ``hash_fallback`` when the first gives nothing
(Kong's ``get_value_to_hash``): the consumer's id (else the credential's), the client
IP, a header (repeated values joined with ``", "``), a cookie (generated and set on
the response when missing), the normalized path, a query argument (values sorted and
joined with ``,``, a bare flag counting as ``true``) or a capture of the route's regex
path.  Nothing at all hashes ``""``.
"""

from __future__ import annotations

import bisect
import uuid
from typing import Any
from urllib.parse import unquote_plus
from zlib import crc32

from host.balancer import Address, Balancer
from host.balancer.state import Checks

__all__ = ["ConsistentHashing", "hash_value", "ring_index"]

_POINTS_PER_TARGET = 160
_MIN_SLOTS = 1000
_EXTRA_KEY = "balancer_hash_index"


def _hash32(value: str) -> int:
    """CRC-32 (C speed) through MurmurHash3's 32-bit finalizer, for avalanche: the same
    in every worker and process, unlike ``hash()``."""
    h = crc32(value.encode())
    h = ((h ^ (h >> 16)) * 0x85EBCA6B) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * 0xC2B2AE35) & 0xFFFFFFFF
    return h ^ (h >> 16)


def ring_index(value: str, slots: int) -> int:
    """The ring position of a value."""
    return _hash32(value) % slots


class ConsistentHashing(Balancer):
    """A ring of ``slots`` positions over the upstream's addresses."""

    def __init__(self, upstream: dict[str, Any], addresses: list[Address], checks: Checks) -> None:
        super().__init__(upstream, addresses, checks)
        slots = int(upstream.get("slots") or 10000)
        self.slots = slots if slots >= _MIN_SLOTS else _MIN_SLOTS
        self.hashed = True
        ring: dict[int, Address] = {}
        live = sorted(self.addresses, key=lambda a: (a.host, a.port))
        total = self.total_weight
        for a in live:
            entries = max(1, int(a.weight / total * len(live) * _POINTS_PER_TARGET))
            i = 1
            while entries and len(ring) < self.slots:
                index = ring_index(f"{a.host}:{a.port} {i}", self.slots)
                if index not in ring:
                    ring[index] = a
                    entries -= 1
                i += 1
        self._positions = sorted(ring)
        self._owners = [ring[p] for p in self._positions]

    def pick(self, ctx: Any, tried: set[tuple[str, int]]) -> Address | None:
        owners = self._owners
        if not owners or (self.checks.threshold and not self._healthy_enough()):
            return None
        extra = ctx.extra
        index = extra.get(_EXTRA_KEY)
        if index is None:  # once per request: retries walk on from the same place
            index = extra[_EXTRA_KEY] = ring_index(hash_value(self.upstream, ctx), self.slots)
        i = bisect.bisect_right(self._positions, index) - 1
        again = None
        n = len(owners)
        for k in range(n):
            a = owners[(i - k) % n]
            if a.state.up:
                if a.hp not in tried:
                    return a
                if again is None:
                    again = a
            elif a.hp not in tried and a.state.half_open():
                return a
        return again


def hash_value(upstream: dict[str, Any], ctx: Any) -> str:
    """The request's value to hash for this upstream (``""`` when there is none)."""
    hash_on = upstream.get("hash_on") or "none"
    fields = ("hash_on_header", "hash_on_query_arg", "hash_on_uri_capture")
    for _ in range(2):
        if hash_on == "none":
            return ""
        value = _value_of(hash_on, upstream, ctx, *fields)
        if value is not None:
            return value
        hash_on = upstream.get("hash_fallback") or "none"
        fields = ("hash_fallback_header", "hash_fallback_query_arg", "hash_fallback_uri_capture")
    return ""


def _value_of(
    hash_on: str, upstream: dict[str, Any], ctx: Any, header_field: str, arg_field: str, capture_field: str
) -> str | None:
    if hash_on == "consumer":
        for entity in (ctx.consumer, ctx.credential):
            if entity and entity.get("id"):
                return str(entity["id"])
        return None
    if hash_on == "ip":
        return ctx.client_ip or None
    if hash_on == "header":
        values = ctx.headers.getall(upstream.get(header_field) or "", ())
        return ", ".join(values) if values else None
    if hash_on == "cookie":
        return _cookie_value(upstream, ctx)
    if hash_on == "path":
        return ctx.path
    if hash_on == "query_arg":
        return _query_arg(ctx.raw_query, upstream.get(arg_field) or "")
    if hash_on == "uri_capture":
        name = upstream.get(capture_field) or ""
        captures = ctx.uri_captures
        if name.isdigit():
            unnamed = captures.get("unnamed") or []
            index = int(name)
            return unnamed[index] if index < len(unnamed) else None
        return (captures.get("named") or {}).get(name)
    return None


def _cookie_value(upstream: dict[str, Any], ctx: Any) -> str:
    name = upstream.get("hash_on_cookie") or ""
    for header in ctx.headers.getall("Cookie", ()):
        for part in header.split(";"):
            key, sep, value = part.strip().partition("=")
            if sep and key == name:
                return value
    # missing: Kong makes one up and sets it on the response
    value = str(uuid.uuid4())
    path = upstream.get("hash_on_cookie_path") or "/"
    ctx.response_headers.add("Set-Cookie", f"{name}={value}; Path={path}; Same-Site=Lax; HttpOnly")
    return value


def _query_arg(raw_query: str, name: str) -> str | None:
    values: list[str] = []
    for part in raw_query.split("&"):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if unquote_plus(key) == name:
            values.append(unquote_plus(value) if sep else "true")
    if not values:
        return None
    return values[0] if len(values) == 1 else ",".join(sorted(values))
