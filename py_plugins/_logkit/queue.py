"""A bounded batching queue with retries: the delivery side of the log plugins.

Kong's ``kong.tools.queue`` semantics, on the asyncio loop of the worker:

* ``enqueue`` never waits: it appends the entry and wakes (or starts) the queue's
  sender task.  Queues are per (event loop, name); the task ends when the queue is
  empty, as Kong's timer does.
* The sender takes the oldest entry, then waits until ``max_batch_size`` entries are
  there or ``max_coalescing_delay`` seconds have passed since the oldest was queued,
  and calls ``handler(conf, entries)`` (``conf``: the latest configuration enqueued).
* A handler that raises is called again after ``initial_retry_delay`` seconds, the
  delay doubling up to ``max_retry_delay``, until ``max_retry_time`` has passed; then
  the batch is dropped.
* A full queue (``max_entries`` entries, or ``max_bytes`` bytes) drops its oldest
  entries to make room; an entry larger than ``max_bytes`` is refused.
* ``concurrency_limit = -1``: every entry is delivered by a task of its own (no
  batching), at most ``max_entries`` at a time.

Drops are counted per plugin (:func:`dropped_entries`, and in ``/metrics`` as
``kong_log_queue_dropped_total{plugin}``, :func:`host.metrics.log_queue_dropped`) and
logged at most once a minute per queue.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import Any

from host.metrics import log_queue_dropped

__all__ = ["enqueue", "dropped_entries", "count_dropped", "queued_entries", "Queue", "flush_queues"]

log = logging.getLogger("moongate.plugin")

Handler = Callable[[dict[str, Any], list[bytes]], Awaitable[None]]

#: plugin name -> entries dropped (queue full, refused, or given up after retries)
_DROPPED: Counter[str] = Counter()
#: (loop, queue name) -> queue
_QUEUES: dict[tuple[asyncio.AbstractEventLoop, str], Queue] = {}
#: seconds between two warnings of the same queue about dropped entries
WARNING_INTERVAL = 60.0
#: seconds a stopping gateway gives its queues to send what they hold (then it is dropped)
SHUTDOWN_FLUSH_TIME = 2.0


def dropped_entries() -> dict[str, int]:
    """Entries dropped since start, per plugin name (``{"http-log": 3}``)."""
    return dict(_DROPPED)


async def finish_tasks(tasks: list[asyncio.Task[None]], timeout: float) -> None:
    """Let ``tasks`` finish within ``timeout`` seconds; cancel (and await) the others."""
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=timeout)
    for task in pending:
        task.cancel()
    if pending:
        await asyncio.wait(pending)


def count_dropped(plugin: str, count: int) -> None:
    """``count`` entries of ``plugin`` were lost (0: only make its metric series)."""
    if count:
        _DROPPED[plugin] += count
    log_queue_dropped(plugin, count)


def queued_entries() -> dict[str, int]:
    """Entries waiting now, per queue name (this process)."""
    return {name: len(q.entries) + q.in_flight for (_, name), q in _QUEUES.items() if not q.closed}


class Queue:
    """One named queue on one event loop (see the module docstring)."""

    def __init__(self, name: str, plugin: str, handler: Handler, params: dict[str, Any]) -> None:
        self.name = name
        self.plugin = plugin
        self.handler = handler
        self.batch_size = int(params.get("max_batch_size") or 1)
        self.coalescing = float(params.get("max_coalescing_delay") or 0)
        self.max_entries = int(params.get("max_entries") or 10000)
        self.max_bytes = params.get("max_bytes")
        self.max_retry_time = float(params.get("max_retry_time", 60))
        self.initial_delay = float(params.get("initial_retry_delay") or 0.01)
        self.max_delay = float(params.get("max_retry_delay") or 60)
        self.unlimited = params.get("concurrency_limit") == -1
        #: (time queued, entry)
        self.entries: deque[tuple[float, bytes]] = deque()
        self.bytes = 0
        self.in_flight = 0
        self.conf: dict[str, Any] = {}
        self.task: asyncio.Task[None] | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.wakeup = asyncio.Event()
        self.closed = False
        #: the gateway is stopping: send at once, no coalescing wait, no retry
        self.flushing = False
        self._warned = 0.0
        self._dropped_since_warning = 0
        count_dropped(plugin, 0)  # its series shows 0 in /metrics

    # -- producing ------------------------------------------------------------------------
    def put(self, conf: dict[str, Any], entry: bytes) -> bool:
        """Queue ``entry`` (never waits); False when it was refused."""
        self.conf = conf
        size = len(entry)
        if self.max_bytes is not None and size > self.max_bytes:
            self._drop(1, f"entry of {size} bytes is larger than queue.max_bytes ({self.max_bytes})")
            return False
        if self.unlimited:
            if self.in_flight >= self.max_entries:
                self._drop(1, f"{self.in_flight} deliveries in flight (queue.max_entries)")
                return False
            self._spawn(self._deliver([entry]))
            return True
        dropped = 0
        while self.entries and (
            len(self.entries) >= self.max_entries
            or (self.max_bytes is not None and self.bytes + size > self.max_bytes)
        ):
            self.bytes -= len(self.entries.popleft()[1])
            dropped += 1
        if dropped:
            self._drop(dropped, "queue full")
        self.entries.append((time.monotonic(), entry))
        self.bytes += size
        if self.task is None:
            self.task = asyncio.get_running_loop().create_task(self._run())
        elif len(self.entries) >= self.batch_size:
            self.wakeup.set()
        return True

    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)  # type: ignore[arg-type]
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _drop(self, count: int, why: str) -> None:
        count_dropped(self.plugin, count)
        self._dropped_since_warning += count
        now = time.monotonic()
        if now - self._warned >= WARNING_INTERVAL:
            log.warning(
                "[%s] queue %s: %s, %d entries dropped",
                self.plugin,
                self.name,
                why,
                self._dropped_since_warning,
                extra={"plugin": self.plugin},
            )
            self._warned = now
            self._dropped_since_warning = 0

    # -- sending --------------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            while self.entries:
                if self.batch_size > 1 and self.coalescing > 0 and not self.flushing:
                    deadline = self.entries[0][0] + self.coalescing
                    while len(self.entries) < self.batch_size and not self.flushing:
                        left = deadline - time.monotonic()
                        if left <= 0:
                            break
                        self.wakeup.clear()
                        try:
                            await asyncio.wait_for(self.wakeup.wait(), left)
                        except TimeoutError:
                            break
                batch = []
                while self.entries and len(batch) < self.batch_size:
                    entry = self.entries.popleft()[1]
                    self.bytes -= len(entry)
                    batch.append(entry)
                await self._deliver(batch)
        finally:
            self.task = None

    async def _deliver(self, batch: list[bytes]) -> None:
        """Call the handler for ``batch``, retrying with exponential backoff."""
        self.in_flight += len(batch)
        started = time.monotonic()
        delay = self.initial_delay
        try:
            while True:
                try:
                    await self.handler(self.conf, batch)
                    return
                except asyncio.CancelledError:
                    count_dropped(self.plugin, len(batch))  # stopped mid-delivery: lost
                    raise
                except Exception as exc:  # noqa: BLE001 - any failure is retried, then logged
                    error = exc
                if self.flushing or time.monotonic() + delay - started > self.max_retry_time:
                    count_dropped(self.plugin, len(batch))
                    log.error(
                        "[%s] queue %s: could not send entries, giving up after %.3g s: %s; "
                        "%d entries were lost",
                        self.plugin,
                        self.name,
                        time.monotonic() - started,
                        error,
                        len(batch),
                        extra={"plugin": self.plugin},
                    )
                    return
                log.warning(
                    "[%s] queue %s: handler could not process entries: %s",
                    self.plugin,
                    self.name,
                    error,
                    extra={"plugin": self.plugin},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.max_delay)
        finally:
            self.in_flight -= len(batch)


def enqueue(
    name: str, plugin: str, handler: Handler, params: dict[str, Any], conf: dict[str, Any], entry: bytes
) -> bool:
    """Queue ``entry`` on this loop's queue ``name`` (made on first use with ``params``)."""
    loop = asyncio.get_running_loop()
    key = (loop, name)
    queue = _QUEUES.get(key)
    if queue is None:
        for old in [k for k in _QUEUES if k[0].is_closed()]:
            _QUEUES[old].closed = True
            del _QUEUES[old]
        queue = _QUEUES[key] = Queue(name, plugin, handler, params)
    return queue.put(conf, entry)


async def flush_queues(plugin: str, timeout: float = SHUTDOWN_FLUSH_TIME) -> None:
    """The gateway stops: ``plugin``'s queues on this loop send what they hold at once
    (no coalescing wait, no retry) within ``timeout`` seconds; what is left then is
    dropped, counted and logged.  The queues stay usable afterwards."""
    loop = asyncio.get_running_loop()
    queues = [q for (owner, _), q in _QUEUES.items() if owner is loop and q.plugin == plugin]
    tasks: list[asyncio.Task[None]] = []
    for queue in queues:
        queue.flushing = True
        queue.wakeup.set()
        if queue.task is not None:
            tasks.append(queue.task)
        tasks.extend(queue.tasks)
    try:
        await finish_tasks(tasks, timeout)
    finally:
        for queue in queues:
            if queue.entries:
                queue._warned = 0.0  # always say it
                queue._drop(len(queue.entries), "the gateway stopped before they were sent")
                queue.entries.clear()
                queue.bytes = 0
            queue.flushing = False
