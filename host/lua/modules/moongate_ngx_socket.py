"""Python half of ``moongate.ngx_socket``: ``ngx.socket.tcp``/``udp`` (see :mod:`._cosockets`).

Operations that wait (connect, handshake, send, receive) are I/O operations the Lua side
yields for; the others (close, setkeepalive, getreusedtimes, udp send) are plain backing
functions.  Each returns lua-nginx-module's values: the result, or ``nil, err`` (and
``partial`` for reads).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from host.lua.io_ops import io_op
from host.lua.modules._cosockets import CosocketError, Cosockets

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context
    from host.lua.runtime import LuaHost

__all__ = ["backing", "sockets_of"]

_STATE_KEY = "cosockets"


def sockets_of(host: LuaHost) -> Cosockets:
    """The runtime's sockets (closed with the runtime)."""
    return host.resource(_STATE_KEY, Cosockets, "close_all")


def _text(value: Any) -> str:
    return value.decode("utf-8", "surrogateescape") if value.__class__ is bytes else str(value)


def _seconds(ms: Any) -> float | None:
    return ms / 1000 if isinstance(ms, int | float) and ms > 0 else None


def _failed(exc: CosocketError, with_partial: bool = False) -> tuple[Any, ...]:
    return (None, str(exc).encode(), exc.partial) if with_partial else (None, str(exc).encode())


@io_op("ngx.socket.tcp.connect")
async def connect(
    host: LuaHost, ctx: Context, address: bytes, port: Any, pool: bytes, timeout: Any
) -> tuple[Any, ...]:
    try:
        sid = await sockets_of(host).connect(
            _text(address), int(port) if port is not None else None, _text(pool), _seconds(timeout), ctx
        )
    except CosocketError as exc:
        return _failed(exc)
    return (sid,)


@io_op("ngx.socket.tcp.sslhandshake")
async def sslhandshake(
    host: LuaHost, ctx: Context, sid: Any, server_name: Any, verify: Any, timeout: Any
) -> tuple[Any, ...]:
    try:
        await sockets_of(host).sslhandshake(
            int(sid), _text(server_name) if server_name else None, bool(verify), _seconds(timeout)
        )
    except CosocketError as exc:
        return _failed(exc)
    return (True,)


@io_op("ngx.socket.tcp.send")
async def send(host: LuaHost, ctx: Context, sid: Any, data: bytes, timeout: Any) -> tuple[Any, ...]:
    try:
        return (await sockets_of(host).send(int(sid), data, _seconds(timeout)),)
    except CosocketError as exc:
        return _failed(exc)


@io_op("ngx.socket.tcp.receive")
async def receive(host: LuaHost, ctx: Context, sid: Any, pattern: Any, timeout: Any) -> tuple[Any, ...]:
    how = int(pattern) if isinstance(pattern, int | float) else pattern
    try:
        return (await sockets_of(host).receive(int(sid), how, _seconds(timeout)),)
    except CosocketError as exc:
        return _failed(exc, with_partial=True)


@io_op("ngx.socket.tcp.receiveany")
async def receiveany(host: LuaHost, ctx: Context, sid: Any, size: Any, timeout: Any) -> tuple[Any, ...]:
    try:
        return (await sockets_of(host).receiveany(int(sid), int(size), _seconds(timeout)),)
    except CosocketError as exc:
        return _failed(exc)


@io_op("ngx.socket.tcp.receiveuntil")
async def receiveuntil(
    host: LuaHost, ctx: Context, sid: Any, pattern: bytes, inclusive: Any, timeout: Any
) -> tuple[Any, ...]:
    try:
        return (await sockets_of(host).receiveuntil(int(sid), pattern, bool(inclusive), _seconds(timeout)),)
    except CosocketError as exc:
        return _failed(exc, with_partial=True)


@io_op("ngx.socket.udp.setpeername")
async def setpeername(host: LuaHost, ctx: Context, address: bytes, port: Any) -> tuple[Any, ...]:
    try:
        return (
            await sockets_of(host).udp_peer(_text(address), int(port) if port is not None else None, ctx),
        )
    except CosocketError as exc:
        return _failed(exc)


@io_op("ngx.socket.udp.receive")
async def udp_receive(host: LuaHost, ctx: Context, sid: Any, size: Any, timeout: Any) -> tuple[Any, ...]:
    try:
        return (await sockets_of(host).udp_receive(int(sid), int(size), _seconds(timeout)),)
    except CosocketError as exc:
        return _failed(exc)


def backing(host: LuaHost) -> dict[str, Any]:
    def call(fn: Any, *args: Any) -> tuple[Any, ...]:
        try:
            result = fn(*args)
        except CosocketError as exc:
            return _failed(exc)
        return (1 if result is None else result,)

    def close(sid: Any) -> tuple[Any, ...]:
        return call(sockets_of(host).close, int(sid))

    def setkeepalive(sid: Any, timeout_ms: Any = None, size: Any = None) -> tuple[Any, ...]:
        idle = None if timeout_ms is None else timeout_ms / 1000
        return call(sockets_of(host).keepalive, int(sid), idle, int(size) if size else None)

    def reused(sid: Any) -> tuple[Any, ...]:
        return call(sockets_of(host).reused_times, int(sid))

    def udp_send(sid: Any, data: bytes) -> tuple[Any, ...]:
        return call(sockets_of(host).udp_send, int(sid), data)

    def udp_close(sid: Any) -> tuple[Any, ...]:
        return call(sockets_of(host).udp_close, int(sid))

    return {
        "close": close,
        "setkeepalive": setkeepalive,
        "getreusedtimes": reused,
        "udp_send": udp_send,
        "udp_close": udp_close,
    }
