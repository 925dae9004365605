"""One isolated worker process as the gateway sees it: spawn, channel, calls, kill.

:func:`spawn` starts ``python -m host.isolated.worker`` with one end of a socketpair,
sends the ``init`` frame and waits (blocking, at most :data:`START_TIMEOUT`) for
``ready``; restarts run it in a thread so the event loop keeps serving.  A
:class:`WorkerProcess` then multiplexes calls over the channel by id
(:meth:`WorkerProcess.send` returns a future per call).  Per call it costs one frame,
a future and an entry in a deadline queue: the frames of the calls made in one loop
iteration leave in one write at its end (one wake-up of the worker for all of them),
and one watchdog timer per process, armed only while calls are in flight, checks the
oldest deadline instead of a timer per call.  Whatever goes wrong with the
process fails the calls in flight with an :class:`IsolatedFailure` and reports to the
owner (``on_death``), which starts a new one:

* the channel closes (the process crashed, was killed or exited): reason ``crash``;
* a frame is garbage, too long, or answers a call that does not exist: ``protocol``
  (the process is killed);
* a call outlives its budget: that call ``timeout``, the others in flight ``crash``
  (the process is SIGKILLed: nothing else stops a loop in C or a blocked syscall).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import subprocess
import sys
from collections import OrderedDict, deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from host.isolated.protocol import FrameBuffer, IsolatedFailure, ProtocolError, pack, read_frame_blocking

__all__ = ["WorkerProcess", "launch", "handshake", "spawn", "START_TIMEOUT", "exit_text"]

log = logging.getLogger("moongate.isolated")

REPO_ROOT = Path(__file__).resolve().parents[2]
#: seconds a new worker may take to load its plugin and answer ``ready``
START_TIMEOUT = 30.0


def exit_text(code: int | None) -> str:
    """How a process ended, for log lines (``killed by SIGSEGV``, ``exited with 0``)."""
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with {code}"


def launch(init: dict[str, Any]) -> tuple[subprocess.Popen[bytes], socket.socket]:
    """Start a worker process and send its ``init`` frame (call from the loop's thread:
    the worker's ``PR_SET_PDEATHSIG`` follows the thread that started it)."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "host.isolated.worker", str(theirs.fileno()), str(os.getpid())],
            pass_fds=(theirs.fileno(),),
            cwd=str(REPO_ROOT),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # a Ctrl-C meant for the gateway reaches the gateway only
        )
    finally:
        theirs.close()
    mine.sendall(pack(dict(init)))
    return proc, mine


def handshake(proc: subprocess.Popen[bytes], sock: socket.socket) -> dict[str, Any]:
    """Wait (blocking, at most :data:`START_TIMEOUT`) for the worker's ``ready``; its
    metadata.  Raises :class:`RuntimeError` with the worker's load error when it fails."""
    try:
        sock.settimeout(START_TIMEOUT)
        message, _ = read_frame_blocking(sock)
    except (OSError, EOFError, ProtocolError) as exc:
        proc.kill()
        proc.wait()
        sock.close()
        raise RuntimeError(f"worker did not start: {exc} ({exit_text(proc.poll())})") from None
    if message.get("op") != "ready":
        proc.wait()
        sock.close()
        raise RuntimeError(str(message.get("error") or "worker failed to load the plugin"))
    sock.setblocking(False)
    return message["meta"]  # type: ignore[no-any-return]


def spawn(init: dict[str, Any]) -> tuple[subprocess.Popen[bytes], socket.socket, dict[str, Any]]:
    """:func:`launch` then :func:`handshake`: (process, gateway's socket, metadata)."""
    proc, sock = launch(init)
    return proc, sock, handshake(proc, sock)


class _Channel(asyncio.Protocol):
    """The gateway's end of one worker's socket."""

    def __init__(self, worker: WorkerProcess) -> None:
        self.worker = worker
        self.frames = FrameBuffer()

    def data_received(self, data: bytes) -> None:
        try:
            messages = self.frames.feed(data)
        except ProtocolError as exc:
            self.worker.kill("protocol", f"garbage on the worker's channel: {exc}")
            return
        pending = self.worker.pending
        for message, blobs in messages:
            future = pending.pop(message.get("id"), None)  # type: ignore[arg-type]
            if future is None:
                self.worker.kill("protocol", f"reply to no call: {str(message)[:200]}")
                return
            if not future.done():
                future.set_result((message, blobs))

    def connection_lost(self, exc: Exception | None) -> None:
        self.worker.lost()


class WorkerProcess:
    """A running worker: its calls in flight and the configs it was sent."""

    def __init__(
        self, proc: subprocess.Popen[bytes], sock: socket.socket, on_death: Callable[[WorkerProcess], None]
    ) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.sock = sock
        self.on_death = on_death
        self.pending: dict[int, asyncio.Future[Any]] = {}
        #: (deadline, call id, budget) of the calls in flight, oldest first
        self._deadlines: deque[tuple[float, int, float]] = deque()
        self._watchdog: asyncio.TimerHandle | None = None
        #: frames written in this loop iteration, sent together at its end
        self._out: list[bytes] = []
        #: config ids this process has received
        self.confs: set[int] = set()
        #: numbers of the configuration snapshots it holds, oldest first (entities.py)
        self.snapshots: OrderedDict[int, None] = OrderedDict()
        #: the snapshot of its last call and its number (the common case, no lookup)
        self.last_snapshot: Any = None
        self.last_sid: int | None = None
        self.alive = True
        self._next = 0
        self._transport: asyncio.Transport | None = None
        self._connecting: asyncio.Future[None] | None = None
        self._death: tuple[str, str] = ("crash", "")

    async def connect(self) -> None:
        """Attach the socket to the running loop (first call only)."""
        if self._transport is not None:
            return
        if self._connecting is None:
            loop = asyncio.get_running_loop()
            self._connecting = loop.create_future()
            try:
                transport, _ = await loop.create_unix_connection(lambda: _Channel(self), sock=self.sock)
            except BaseException as exc:
                self._connecting.set_exception(exc)
                self._connecting.exception()  # retrieved: the caller sees it below
                raise
            self._transport = transport  # type: ignore[assignment]
            self._connecting.set_result(None)
        else:
            await self._connecting

    def send(
        self, message: dict[str, Any], blobs: dict[str, bytes] | None, budget: float | None = None
    ) -> tuple[int, asyncio.Future[Any]]:
        """Queue one call; its id and the future of its reply.  With a ``budget``
        (seconds of wall-clock time) the call fails with ``timeout`` past it and the
        process is killed (:meth:`expire`)."""
        self._next += 1
        call_id = message["id"] = self._next
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self.pending[call_id] = future
        if not self._out:
            loop.call_soon(self._flush)
        self._out.append(pack(message, blobs))
        if budget is not None:
            self._deadlines.append((loop.time() + budget, call_id, budget))
            if self._watchdog is None:
                self._watchdog = loop.call_at(self._deadlines[0][0], self._watch)
        return call_id, future

    def post(self, frame: bytes) -> None:
        """Queue a frame that expects no reply (a ``snapshot``); it leaves before the
        calls queued after it."""
        if not self._out:
            asyncio.get_running_loop().call_soon(self._flush)
        self._out.append(frame)

    def _flush(self) -> None:
        out, self._out = self._out, []
        if out and self._transport is not None and self.alive:
            self._transport.write(out[0] if len(out) == 1 else b"".join(out))

    def _watch(self) -> None:
        """The watchdog: expire the calls past their deadline, re-arm for the next."""
        self._watchdog = None
        queue, pending = self._deadlines, self.pending
        now = asyncio.get_running_loop().time()
        while queue:
            deadline, call_id, budget = queue[0]
            if call_id not in pending:  # answered
                queue.popleft()
            elif deadline <= now:
                queue.popleft()
                self.expire(call_id, budget)
            else:
                self._watchdog = asyncio.get_running_loop().call_at(deadline, self._watch)
                return

    def expire(self, call_id: int, budget: float) -> None:
        """A call outlived its budget: it fails with ``timeout``, the process is killed."""
        future = self.pending.pop(call_id, None)
        if future is None or future.done():
            return
        future.set_exception(
            IsolatedFailure("timeout", f"no answer within the budget of {budget * 1000:g} ms")
        )
        self.kill("crash", f"worker killed: a call exceeded its budget of {budget * 1000:g} ms")

    def kill(self, reason: str, detail: str) -> None:
        """SIGKILL the process; the calls in flight fail with ``reason``."""
        if not self.alive:
            return
        self._death = (reason, detail)
        try:
            self.proc.kill()
        except OSError:
            pass
        if self._transport is not None:
            self._transport.abort()  # connection_lost follows: lost() ends the rest
        else:
            self.lost()

    def lost(self) -> None:
        """The channel closed: every call in flight fails, the owner is told once."""
        if not self.alive and not self.pending:
            return
        was_alive, self.alive = self.alive, False
        reason, detail = self._death
        if not detail:
            detail = "the worker process ended"
        for future in self.pending.values():
            if not future.done():
                future.set_exception(IsolatedFailure(reason, detail))
        self.pending.clear()
        self._deadlines.clear()
        self._out = []
        if self._watchdog is not None:
            self._watchdog.cancel()
            self._watchdog = None
        if was_alive:
            self.on_death(self)

    def close(self) -> None:
        """Gateway shutdown: stop the process for good (no restart)."""
        self.on_death = lambda worker: None
        self.kill("crash", "the gateway is stopping")
        self.sock.close()
        self.reap()

    def reap(self, timeout: float = 5.0) -> int | None:
        """Wait for the killed process (no zombie); its exit code."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
