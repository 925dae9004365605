"""Python half of ``moongate.ngx_timer``: ``ngx.sleep`` and ``ngx.timer.*`` on the asyncio loop.

``ngx.sleep`` yields the handler's coroutine to the host (``H.io("ngx.sleep", s)``), so
other requests run meanwhile, as with OpenResty's cosockets.

A timer (:class:`Timers`, one per :class:`~host.lua.runtime.LuaHost`, in
``host.state["timers"]``) is an ``asyncio`` timer handle; when it fires, the callback
runs as an asyncio task through the coroutine driver, with a context of its own and no
request (``ngx.get_phase()`` is ``"timer"``, ``ngx.var`` has "no request found"), as
``callback(premature, ...)``.  ``ngx.timer.every`` schedules its next run when a run
starts.  Errors are logged with the plugin's name.  On shutdown (:meth:`LuaHost.close`)
pending timers run at once with ``premature = true`` and running ones get a grace period.
"""

from __future__ import annotations

import asyncio
import contextvars
import itertools
import logging
from typing import TYPE_CHECKING, Any

from host.context import IDLE_CONTEXT, Context, use_context
from host.lua.driver import LuaHandlerError, drive
from host.lua.io_ops import io_op
from pdk.errors import ExitSignal

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

__all__ = ["Timers", "MAX_PENDING", "SHUTDOWN_GRACE"]

log = logging.getLogger("moongate.plugin")

#: OpenResty's lua_max_pending_timers default
MAX_PENDING = 1024
#: how long shutdown waits for running timer callbacks before cancelling them (seconds)
SHUTDOWN_GRACE = 5.0


@io_op("ngx.sleep")
async def sleep(host: LuaHost, ctx: Context, seconds: float) -> tuple[()]:
    await asyncio.sleep(seconds)
    return ()


class _Job:
    __slots__ = ("fn", "args", "plugin", "interval", "handle")

    def __init__(self, fn: Any, args: Any, plugin: bytes | None, interval: float | None) -> None:
        self.fn = fn
        self.args = args
        self.plugin = plugin
        self.interval = interval
        self.handle: asyncio.TimerHandle | None = None


class Timers:
    """The timers of one Lua runtime."""

    def __init__(self, host: LuaHost, runner: Any) -> None:
        self.host = host
        self.runner = runner  # Lua: function(callback, premature, packed_args)
        self.pending: dict[int, _Job] = {}
        self.running: set[asyncio.Task[None]] = set()
        self.exiting = False
        self._ids = itertools.count(1)

    def add(self, delay: float, fn: Any, args: Any, every: bool, plugin: bytes | None) -> Any:
        """Schedule ``fn``; returns ``1`` or ``(None, err)`` as ``ngx.timer.at`` does."""
        if self.exiting and (delay > 0 or every):
            return None, b"process exiting"
        if len(self.pending) >= MAX_PENDING:
            return None, b"too many pending timers"
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return None, b"no event loop is running"
        job = _Job(fn, args, plugin, delay if every else None)
        tid = next(self._ids)
        self.pending[tid] = job
        # an empty context: the callback has no request (and must not keep this one alive)
        if self.exiting:  # ngx.timer.at(0, ...) while exiting: runs at once, premature
            loop.call_soon(self._fire, tid, True, context=contextvars.Context())
        else:
            job.handle = loop.call_later(
                max(delay, 0.0), self._fire, tid, False, context=contextvars.Context()
            )
        return 1

    def _fire(self, tid: int, premature: bool) -> None:
        job = self.pending.pop(tid, None)
        if job is None:
            return
        if job.interval is not None and not premature and not self.exiting:
            self.pending[tid] = job  # every: the next run is scheduled when this one starts
            job.handle = asyncio.get_running_loop().call_later(
                job.interval, self._fire, tid, False, context=contextvars.Context()
            )
        task = asyncio.get_running_loop().create_task(self._run(job, premature))
        self.running.add(task)
        task.add_done_callback(self.running.discard)

    async def _run(self, job: _Job, premature: bool) -> None:
        ctx = Context(IDLE_CONTEXT.snapshot, self.host.settings)
        ctx.extra["timer"] = True
        name = job.plugin.decode() if job.plugin else None
        ctx.plugin_name = name
        use_context(ctx)  # this task's own copy of the context variables
        try:
            await drive(
                self.host, False, job.plugin, self.runner, job.fn, premature, job.args
            )
        except ExitSignal:
            pass  # ngx.exit() ends a timer callback
        except LuaHandlerError as exc:
            log.error(
                "[%s] failed to run timer: %s",
                name or "?",
                str(exc).split("\nstack traceback:", 1)[0],
                extra={"plugin": name},
            )
        except Exception:  # noqa: BLE001 - a timer must not take the worker down
            log.exception("[%s] failed to run timer", name or "?", extra={"plugin": name})

    def running_count(self) -> int:
        return len(self.running)

    def pending_count(self) -> int:
        return len(self.pending)

    async def stop(self, grace: float = SHUTDOWN_GRACE) -> None:
        """Run the pending timers prematurely, then wait for the running ones (up to ``grace``)."""
        self.exiting = True
        for tid, job in list(self.pending.items()):
            if job.handle is not None:
                job.handle.cancel()
            self._fire(tid, True)
        if self.running:
            _, late = await asyncio.wait(set(self.running), timeout=grace)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late)


def backing(host: LuaHost) -> dict[str, Any]:
    runner = host.compile(
        "return function(cb, premature, args) return cb(premature, unpack(args, 1, args.n)) end"
    )()
    timers = host.state["timers"] = Timers(host, runner)
    host.on_close(timers.stop)
    return {
        "add": timers.add,
        "running_count": timers.running_count,
        "pending_count": timers.pending_count,
    }
