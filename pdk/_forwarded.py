"""The forwarded request values (``X-Forwarded-*``), honoured only from trusted peers.

Kong's ``kong.request.get_forwarded_*`` read these headers only when the direct
peer is in ``trusted_ips``; otherwise they fall back to what this hop received.
"""

from __future__ import annotations

from typing import Any

from pdk._settings import settings_of

__all__ = ["host", "path", "port", "prefix", "scheme", "trusted"]


def trusted(ctx: Any) -> bool:
    """Whether the direct peer may set forwarded headers."""
    return settings_of(ctx).is_trusted(ctx.peer_ip)


def _strip_userinfo(value: str) -> str:
    return value.partition("@")[2] if "@" in value else value


def _valid_port(value: str | None) -> int | None:
    if value and value.isdigit() and 1 <= int(value) <= 65535:
        return int(value)
    return None


def scheme(ctx: Any) -> str:
    if trusted(ctx):
        value = ctx.headers.get("X-Forwarded-Proto")
        if value:
            return value.lower()
    return ctx.scheme


def host(ctx: Any) -> str:
    if trusted(ctx):
        value = ctx.headers.get("X-Forwarded-Host")
        if value is not None:
            return _strip_userinfo(value).partition(":")[0].lower()
    return ctx.host


def port(ctx: Any) -> int:
    if trusted(ctx):
        headers = ctx.headers
        found = _valid_port(headers.get("X-Forwarded-Port"))
        if found is not None:
            return found
        value = headers.get("X-Forwarded-Host")
        if value is not None:
            _, colon, rest = _strip_userinfo(value).partition(":")
            found = _valid_port(rest) if colon else None
            if found is not None:
                return found
    return ctx.port


def path(ctx: Any) -> str:
    if trusted(ctx):
        value = ctx.headers.get("X-Forwarded-Path")
        if value is not None:
            return value
    return ctx.path


def prefix(ctx: Any) -> str | None:
    if trusted(ctx):
        value = ctx.headers.get("X-Forwarded-Prefix")
        if value is not None:
            return value
    stripped = ctx.stripped_prefix
    return stripped if stripped and stripped != "/" else None
