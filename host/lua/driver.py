"""Running Lua handlers as coroutines on the asyncio loop.

Every call into plugin code goes through ``H.call`` (``core.lua``): the function runs in
a pooled Lua coroutine.  When it yields ``IO, op, args...`` (``ngx.sleep``, ``resty.http``,
``resty.redis``, ...), :func:`drive` awaits the operation registered under ``op`` in
:mod:`host.lua.io_ops` and resumes the coroutine with its results, the way OpenResty's
cosockets work; other requests run meanwhile.  ``EXIT`` (after
``kong.response.exit``) ends the handler: its coroutine is dropped, never resumed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Any

from host.context import Context, current_context
from host.lua import io_ops
from pdk.errors import ExitSignal

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

__all__ = ["drive", "start", "LuaHandlerError", "request_state", "DONE", "IO", "EXIT"]

DONE = b"\0moongate:done"
IO = b"\0moongate:io"
EXIT = b"\0moongate:exit"
_STATE_KEY = "lua"


class LuaHandlerError(Exception):
    """Lua code raised an error; the message carries the Lua traceback."""


def request_state(host: LuaHost, ctx: Context) -> Any:
    """The Lua per-request state table (``ngx.ctx``, ``kong.ctx.plugin``) of ``ctx``."""
    extra = ctx.extra
    state = extra.get(_STATE_KEY)
    if state is None:
        state = extra[_STATE_KEY] = host.H.new_request()
    return state


def start(host: LuaHost, state: Any, plugin: bytes | None, fn: Any, *args: Any) -> Awaitable[tuple[Any, ...]] | None:
    """Run ``fn(*args)`` in a coroutine; ``None`` when it finished without waiting.

    When the Lua code waits for I/O, the awaitable returned goes on driving it (the
    caller awaits it).  Raises :class:`LuaHandlerError` when the Lua code fails and
    :class:`~pdk.errors.ExitSignal` when it ended the request with ``kong.response.exit``
    — synchronously when that happens before any I/O.
    """
    res = host._call(state, plugin, fn, *args)
    if res[1]:
        tag = res[2]
        if tag == DONE:
            return None
        if tag == EXIT:
            raise ExitSignal()
        return _continue(host, res[0], res[1:])
    raise LuaHandlerError(_text(res[2]))


async def drive(host: LuaHost, state: Any, plugin: bytes | None, fn: Any, *args: Any) -> tuple[Any, ...]:
    """Run ``fn(*args)`` as a coroutine until it finishes; returns its results.

    Raises :class:`LuaHandlerError` when the Lua code fails, and
    :class:`~pdk.errors.ExitSignal` when it ended the request with ``kong.response.exit``.
    """
    res = host._call(state, plugin, fn, *args)
    return await _continue(host, res[0], res[1:])


async def _continue(host: LuaHost, handle: Any, res: tuple[Any, ...]) -> tuple[Any, ...]:
    while True:
        if not res[0]:
            raise LuaHandlerError(_text(res[1]))
        tag = res[1]
        if tag == DONE:
            return res[2:]
        if tag == EXIT:
            raise ExitSignal()
        if tag == IO:
            results = await io_ops.run(host, current_context(), res[2], res[3:])
        else:  # a bare coroutine.yield() from plugin code: let others run, then go on
            await asyncio.sleep(0)
            results = ()
        res = host._resume(handle, *results)


def _text(value: Any) -> str:
    if value.__class__ is bytes:
        return value.decode("utf-8", "replace")
    return str(value)
