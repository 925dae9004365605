"""Running Lua handlers as coroutines on the asyncio loop.

Every call into plugin code goes through ``H.call`` (``core.lua``): the function runs in
a pooled Lua coroutine.  When it yields ``IO, op, args...`` (``ngx.sleep``, ``resty.http``,
``resty.redis``, ...), :func:`drive` awaits the operation registered under ``op`` in
:mod:`host.lua.io_ops` and resumes the coroutine with its results, the way OpenResty's
cosockets work; other requests run meanwhile.  ``EXIT`` (after
``kong.response.exit``) ends the handler: its coroutine is dropped, never resumed.

A failure raises :class:`LuaHandlerError`; when the Lua side reports a violation (a
sandbox limit, the memory cap) it is a :class:`host.lua.sandbox.SandboxViolation` with
a ``reason``.  A sandboxed host (:mod:`host.lua.sandbox`) supplies limited versions of
``host._call``/``host._resume``; this module calls whichever the host has.
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

__all__ = ["drive", "start", "started", "LuaHandlerError", "DONE", "IO", "EXIT"]

#: what H.call/H.resume return after the first value (see finish() in core.lua)
DONE, EXIT, IO, YIELD = 1, 2, 3, 4


class LuaHandlerError(Exception):
    """Lua code raised an error; the message carries the Lua traceback."""


def start(host: LuaHost, ctx: Context, plugin: bytes | None, fn: Any, *args: Any) -> Awaitable[tuple[Any, ...]] | None:
    """Run ``fn(*args)`` in a coroutine for the request ``ctx``; ``None`` when it
    finished without waiting.

    When the Lua code waits for I/O, the awaitable returned goes on driving it (the
    caller awaits it).  Raises :class:`LuaHandlerError` when the Lua code fails and
    :class:`~pdk.errors.ExitSignal` when it ended the request with ``kong.response.exit``
    — synchronously when that happens before any I/O.  The request's Lua state
    (``ngx.ctx``, ``kong.ctx.plugin``) is made by the Lua side on first use and kept in
    ``ctx.extra[host.request_state_key]`` (one per runtime) for the request's next calls.
    """
    extra = ctx.extra
    return started(host, extra, host._call(extra.get(host.request_state_key, False), plugin, fn, *args))


def started(host: LuaHost, extra: dict[str, Any], res: tuple[Any, ...]) -> Awaitable[tuple[Any, ...]] | None:
    """:func:`start` after its ``H.call``: for callers that make the call themselves
    (the loader's phase handlers, inlined) and have ``res`` from it."""
    first = res[0]
    if first is not True:
        _keep_state(host, extra, res)
    tag = res[1]
    if tag == DONE:
        return None
    if tag == EXIT:
        raise ExitSignal()
    return _continue(host, extra, res)


async def drive(host: LuaHost, state: Any, plugin: bytes | None, fn: Any, *args: Any) -> tuple[Any, ...]:
    """Run ``fn(*args)`` as a coroutine until it finishes; returns its results.

    ``state`` is the Lua request state: ``None`` outside requests (``init_worker``,
    worker events), ``False`` for one made on first use (a timer's own).  Raises
    :class:`LuaHandlerError` when the Lua code fails, and
    :class:`~pdk.errors.ExitSignal` when it ended the request with ``kong.response.exit``.
    """
    res = host._call(state, plugin, fn, *args)
    if res[0] is False:
        raise _failure(host, res[1])
    return await _continue(host, None, res)


def _keep_state(host: LuaHost, extra: dict[str, Any] | None, res: tuple[Any, ...]) -> None:
    """Keep the state table a call made (first result, or third after an error)."""
    first = res[0]
    if first is False:
        if extra is not None and len(res) > 2 and res[2] is not None:
            extra[host.request_state_key] = res[2]
        raise _failure(host, res[1])
    if extra is not None:
        extra[host.request_state_key] = first


async def _continue(host: LuaHost, extra: dict[str, Any] | None, res: tuple[Any, ...]) -> tuple[Any, ...]:
    while True:
        if res[0] is not True:
            _keep_state(host, extra, res)
        tag = res[1]
        if tag == DONE:
            return res[2:]
        if tag == EXIT:
            raise ExitSignal()
        handle = res[2]
        try:
            if tag == IO:
                results = await io_ops.run(host, current_context(), res[3], res[4:])
            else:  # a bare coroutine.yield() from plugin code: let others run, then go on
                await asyncio.sleep(0)
                results = ()
        except BaseException:  # cancelled: the coroutine will never be resumed
            host.H.bury(handle)  # (not collected at once: see core.lua's driver notes)
            raise
        res = host._resume(handle, *results)


#: what a violation's error text holds (sandbox markers, limit and protection messages)
_VIOLATION_HINTS = ("\0moongate:violation:", "sandbox", "read-only")


def _failure(host: LuaHost, value: Any) -> LuaHandlerError:
    """The exception for a failed Lua call (error path only)."""
    text = _text(value)
    if any(hint in text for hint in _VIOLATION_HINTS):
        violation = getattr(host, "violation", None)
        if violation is None:
            from host.lua.sandbox import violation_from

            return violation_from(text)
        return violation(text)  # type: ignore[no-any-return]
    return LuaHandlerError(text)


def _text(value: Any) -> str:
    if value.__class__ is bytes:
        return value.decode("utf-8", "replace")
    return str(value)
