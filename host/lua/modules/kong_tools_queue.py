"""Python half of ``kong.tools.queue``: the wait that lets a queue's timer coalesce a batch.

Kong's queue waits on an ``ngx.semaphore`` for the next entry, up to the time left
in ``max_coalescing_delay``.  Here the queue's timer calls
``H.io("kong.tools.queue.wait", key, seconds)``: it yields to the host, which waits on
an :class:`asyncio.Event` for that queue until ``enqueue`` calls :func:`wake` (the Lua
side calls it only while the timer waits) or the time is up.  Everything else, the
entries, batching, retries and capacity, is Lua (``kong.tools.queue.lua``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from host.lua.io_ops import io_op

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context
    from host.lua.runtime import LuaHost

__all__ = ["backing"]

_STATE_KEY = "kong.tools.queue"


def _event(host: LuaHost, key: bytes) -> asyncio.Event:
    events: dict[bytes, asyncio.Event] = host.state.setdefault(_STATE_KEY, {})
    event = events.get(key)
    if event is None:
        event = events[key] = asyncio.Event()
    return event


@io_op("kong.tools.queue.wait")
async def wait(host: LuaHost, ctx: Context, key: bytes, seconds: float) -> tuple[bool]:
    """Wait until the queue ``key`` is woken or ``seconds`` pass; ``True`` when woken."""
    event = _event(host, key)
    woken = event.is_set()
    if not woken:
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(event.wait(), max(float(seconds), 0.0))
            woken = True
    event.clear()
    return (woken,)


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    def wake(key: bytes) -> None:
        """An entry was queued: end the wait of queue ``key``'s timer."""
        _event(host, key).set()

    def forget(key: bytes) -> None:
        """Queue ``key`` has no timer any more: drop its event."""
        host.state.get(_STATE_KEY, {}).pop(key, None)

    return {"wake": wake, "forget": forget}
