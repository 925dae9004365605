"""The wall-clock budget of a plugin handler that waits (``plugin_phase_timeout``).

A handler that awaits (an ``async def`` Python handler, a Lua handler waiting for
I/O) gets at most ``plugin_phase_timeout`` milliseconds per call, counted from the
moment it starts waiting; past that its request's task is cancelled at the await, and
the runner reports the violation with reason ``timeout`` (a 500 for the client, like
any plugin failure).  A handler that never waits (plain Python code, Lua code without
I/O) is not timed here: it cannot be interrupted from outside (the Lua sandbox has its
own CPU budget).

Cost matters: arming and cancelling a loop timer per wait costs several microseconds,
more than the rest of a short wait.  Because every wait has the same budget, deadlines
come in the order waits start, so one timer is enough: :meth:`Watchdog.enter` records
``(deadline, task)`` in an insertion-ordered dict (and arms the timer only when none is
armed), :meth:`Watchdog.leave` deletes the entry, and when the timer fires it cancels
the overdue entries at the head and re-arms itself for the next one.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["PluginTimeout", "Watchdog", "Wait"]


class PluginTimeout(Exception):
    """A handler waited longer than ``plugin_phase_timeout``; counted with reason ``timeout``."""

    reason = "timeout"

    def __init__(self, budget: float) -> None:
        super().__init__(f"handler still waiting after {budget:g} s (plugin_phase_timeout)")
        self.budget = budget


class Wait:
    """One handler waiting: its deadline (loop time), its task, whether it was cancelled."""

    __slots__ = ("deadline", "task", "fired")

    def __init__(self, deadline: float, task: asyncio.Task[Any] | None) -> None:
        self.deadline = deadline
        self.task = task
        self.fired = False


class Watchdog:
    """Cancels the handlers of one worker that wait longer than ``budget`` seconds."""

    def __init__(self, budget: float) -> None:
        if budget <= 0:
            raise ValueError("plugin_phase_timeout must be a positive number of milliseconds")
        self.budget = budget
        #: the waits in progress, oldest (earliest deadline) first
        self._waiting: dict[Wait, None] = {}
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._waiting)

    def enter(self) -> Wait:
        """Start timing the current task's wait; pair with :meth:`leave` in a ``finally``."""
        loop = asyncio.get_running_loop()
        wait = Wait(loop.time() + self.budget, asyncio.current_task(loop))
        self._waiting[wait] = None
        if self._timer is None:
            self._timer = loop.call_at(wait.deadline, self._expire, loop)
        return wait

    def leave(self, wait: Wait) -> None:
        """The wait is over (finished, failed or cancelled)."""
        self._waiting.pop(wait, None)

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        """Timer callback: cancel every overdue wait, re-arm for the next deadline."""
        self._timer = None
        now = loop.time()
        waiting = self._waiting
        while waiting:
            wait = next(iter(waiting))
            if wait.deadline > now:
                self._timer = loop.call_at(wait.deadline, self._expire, loop)
                return
            del waiting[wait]
            wait.fired = True
            if wait.task is not None:
                wait.task.cancel()

    def close(self) -> None:
        """Stop the timer (the worker is stopping); waits in progress are left alone."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
