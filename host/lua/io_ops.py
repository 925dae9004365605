"""The I/O operations Lua code can wait for: ``H.io(op, ...)`` in Lua, awaited here.

A host module that needs I/O registers an async function under a name::

    @io_op("sleep")
    async def sleep(host, ctx, seconds):
        await asyncio.sleep(seconds)
        return ()

and its Lua side calls ``H.io("sleep", s)``, which yields to the driver
(:mod:`host.lua.driver`).  The function receives the Lua arguments as they came
(bytes for strings, Lua tables as tables) and returns a tuple of values to resume
the coroutine with (converted with ``host.to_lua`` when they are Python data).
An exception becomes ``nil, "<message>"`` for the Lua caller.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context
    from host.lua.runtime import LuaHost

__all__ = ["io_op", "run", "OPS"]

log = logging.getLogger("moongate.lua")

Op = Callable[..., Awaitable[tuple[Any, ...]]]
#: op name -> async function(host, ctx, *args) -> tuple of results
OPS: dict[str, Op] = {}


def io_op(name: str) -> Callable[[Op], Op]:
    """Register an I/O operation under ``name``."""

    def register(fn: Op) -> Op:
        OPS[name] = fn
        return fn

    return register


async def run(host: LuaHost, ctx: Context, op: Any, args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Run operation ``op`` for a yielding coroutine; errors become ``(nil, message)``."""
    name = op.decode() if op.__class__ is bytes else str(op)
    fn = OPS.get(name)
    if fn is None:
        return (None, f"unknown I/O operation '{name}'".encode())
    try:
        return await fn(host, ctx, *args)
    except Exception as exc:  # noqa: BLE001 - the Lua caller gets nil, err
        log.debug("Lua I/O operation %s failed: %r", name, exc)
        return (None, str(exc).encode("utf-8", "replace"))
