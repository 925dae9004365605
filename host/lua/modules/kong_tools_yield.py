"""Python half of ``kong.tools.yield``: the I/O operation that gives the loop a turn."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from host.lua.io_ops import io_op

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context
    from host.lua.runtime import LuaHost


@io_op("moongate.yield")
async def yield_turn(host: LuaHost, ctx: Context) -> tuple[()]:
    """``ngx.sleep(0)``: resume the Lua coroutine after other tasks have run."""
    await asyncio.sleep(0)
    return ()


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    return {}
