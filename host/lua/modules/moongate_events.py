"""Python half of ``moongate.events``: running event handlers after the poster returns.

``kong.worker_events.post`` in Kong (lua-resty-events) queues the event and the
handlers run later, outside the poster's request.  :func:`backing` gives the Lua side
``defer(fn, ...)``: it starts ``fn(...)`` as a Lua coroutine in a background task of the
running event loop (in the idle context, like a timer), so handlers may wait for I/O.
Without a running loop it returns false and the Lua side calls the handlers at once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from host.context import IDLE_CONTEXT, use_context
from host.lua.driver import drive

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

__all__ = ["backing"]

log = logging.getLogger("moongate.lua")


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    tasks: set[asyncio.Task[None]] = host.state.setdefault("event_tasks", set())

    async def run(fn: Any, args: tuple[Any, ...]) -> None:
        use_context(IDLE_CONTEXT)  # this task's own context: handlers run outside any request
        try:
            await drive(host, None, None, fn, *args)
        except Exception as exc:  # noqa: BLE001 - logged, never raised
            log.error("worker event dispatch failed: %s", exc)

    def defer(fn: Any, *args: Any) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        task = loop.create_task(run(fn, args))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return True

    return {"defer": defer}
