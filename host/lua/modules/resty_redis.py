"""Python half of ``resty.redis``: the I/O operations over :mod:`._redis_client`.

The Lua side (``host/lua/lua/modules/resty.redis.lua``) turns ``red:incrby(k, 1)`` into
``H.io("resty.redis.cmd", id, {"incrby", k, "1"}, timeout)``; replies come back as
lua-resty-redis returns them: a bulk string as a string, a nil bulk or array as
``ngx.null``, an integer as a number, a status as its text, an array as a table, and an
error reply as ``false, "ERR ..."`` (``{false, "ERR ..."}`` inside arrays and pipelines).
Connection failures give ``nil, err`` with OpenResty's wording.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from host.lua.io_ops import io_op
from host.lua.modules._redis_client import RedisClientError, RedisConnections, error_reply, is_error_reply

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context
    from host.lua.runtime import LuaHost

__all__ = ["backing", "connections_of"]

_STATE_KEY = "redis_connections"


def connections_of(host: LuaHost) -> RedisConnections:
    """The runtime's connections (created, and registered for closing, on first use)."""
    return host.resource(_STATE_KEY, RedisConnections, "close_all")


def _text(value: Any) -> str:
    return value.decode("utf-8", "surrogateescape") if value.__class__ is bytes else str(value)


def _seconds(ms: Any) -> float | None:
    return ms / 1000 if isinstance(ms, int | float) and ms > 0 else None


def _array(table: Any) -> list[Any]:
    return [table[i] for i in range(1, len(table) + 1)]


def _value(host: LuaHost, reply: Any) -> Any:
    if reply is None:
        return host.null
    if is_error_reply(reply):
        return host.runtime.table_from([False, error_reply(reply).encode()])
    if isinstance(reply, list):
        return host.runtime.table_from([_value(host, item) for item in reply])
    if isinstance(reply, str):
        return reply.encode("utf-8", "surrogateescape")
    return reply


def _result(host: LuaHost, reply: Any) -> tuple[Any, ...]:
    if is_error_reply(reply):
        return False, error_reply(reply).encode()
    return (_value(host, reply),)


def _failed(exc: RedisClientError) -> tuple[None, bytes]:
    return None, str(exc).encode()


@io_op("resty.redis.connect")
async def connect(
    host: LuaHost,
    ctx: Context,
    address: bytes,
    port: Any,
    pool: bytes,
    ssl: Any,
    ssl_verify: Any,
    timeout: Any,
) -> tuple[Any, ...]:
    options = {"ssl": bool(ssl), "ssl_verify": bool(ssl_verify), "timeout": _seconds(timeout)}
    try:
        cid = await connections_of(host).connect(_text(address), int(port), _text(pool), options, ctx)
    except RedisClientError as exc:
        return _failed(exc)
    return (cid,)


@io_op("resty.redis.cmd")
async def command(
    host: LuaHost, ctx: Context, cid: Any, args: Any, timeout: Any, replies: Any = 1
) -> tuple[Any, ...]:
    try:
        results = await connections_of(host).command(int(cid), _array(args), _seconds(timeout), int(replies))
    except RedisClientError as exc:
        return _failed(exc)
    if len(results) == 1:
        return _result(host, results[0])
    return (host.runtime.table_from([_value(host, r) for r in results]),)


@io_op("resty.redis.pipeline")
async def pipeline(host: LuaHost, ctx: Context, cid: Any, commands: Any, timeout: Any) -> tuple[Any, ...]:
    try:
        results = await connections_of(host).pipeline(
            int(cid), [_array(args) for args in _array(commands)], _seconds(timeout)
        )
    except RedisClientError as exc:
        return _failed(exc)
    return (host.runtime.table_from([_value(host, r) for r in results]),)


@io_op("resty.redis.read")
async def read(host: LuaHost, ctx: Context, cid: Any, timeout: Any) -> tuple[Any, ...]:
    try:
        return _result(host, await connections_of(host).read(int(cid), _seconds(timeout)))
    except RedisClientError as exc:
        return _failed(exc)


@io_op("resty.redis.close")
async def close(host: LuaHost, ctx: Context, cid: Any) -> tuple[Any, ...]:
    try:
        await connections_of(host).close(int(cid))
    except RedisClientError as exc:
        return _failed(exc)
    return (1,)


def backing(host: LuaHost) -> dict[str, Any]:
    def keepalive(cid: Any, max_idle_ms: Any = None, pool_size: Any = None) -> Any:
        idle = None if max_idle_ms is None else max_idle_ms / 1000
        try:
            connections_of(host).keepalive(int(cid), idle, int(pool_size) if pool_size else None)
        except RedisClientError as exc:
            return _failed(exc)
        return 1

    def reused_times(cid: Any) -> Any:
        try:
            return connections_of(host).reused_times(int(cid))
        except RedisClientError as exc:
            return _failed(exc)

    return {"keepalive": keepalive, "reused_times": reused_times}
