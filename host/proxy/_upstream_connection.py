"""One upstream connection: the ``asyncio.Protocol`` behind :mod:`host.proxy.upstream_client`.

The ``httptools`` (llhttp) parser calls back into :class:`Connection` as bytes arrive;
the client waits on it for the response head and body chunks.  The read timeout is a
deadline checked by one lazily re-armed timer per connection: arming and cancelling a
uvloop timer for every response costs more (about 2 µs) than the rest of the wait.
The parser is made once per connection and goes on with the next response by itself.
"""

from __future__ import annotations

import asyncio
from collections import deque

import httptools

__all__ = ["Connection", "UpstreamError", "UpstreamConnectError", "UpstreamTimeout"]

HIGH_WATER = 256 * 1024  # buffered body bytes before reading from the upstream pauses
LOW_WATER = 64 * 1024  # ... and resumes


class UpstreamError(Exception):
    """The upstream failed; ``sent`` tells whether request bytes reached it."""

    def __init__(self, message: str, *, sent: bool = False) -> None:
        super().__init__(message)
        self.sent = sent


class UpstreamConnectError(UpstreamError):
    """The connection could not be established (safe to retry on another try)."""


class UpstreamTimeout(UpstreamError):
    """A connect, write or read timeout expired."""

    def __init__(self, message: str, *, sent: bool = False, stage: str = "read") -> None:
        super().__init__(message, sent=sent)
        self.stage = stage


class Connection(asyncio.Protocol):
    """One upstream connection and the response being read from it."""

    __slots__ = (
        "key",
        "loop",
        "transport",
        "parser",
        "closed",
        "reusable",
        "idle_since",
        "_waiter",
        "_drain",
        "_paused",
        "_status",
        "_headers",
        "_header_name",
        "_headers_done",
        "_chunks",
        "_buffered",
        "_complete",
        "_error",
        "_head_only",
        "_no_body",
        "_reading_paused",
        "_deadline",
        "_timer",
        "_timer_at",
        "requests",
    )

    def __init__(self, key: tuple[str, int, bool], loop: asyncio.AbstractEventLoop) -> None:
        self.key = key
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.reusable = False
        self.idle_since = 0.0
        self._waiter: asyncio.Future[None] | None = None
        self._drain: asyncio.Future[None] | None = None
        self._paused = False
        self._reading_paused = False
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self.requests = 0
        self.parser = httptools.HttpResponseParser(self)
        self._chunks: deque[bytes] = deque()
        self._reset()

    # -- per-response state -----------------------------------------------------------------
    def _reset(self) -> None:
        """Ready for the next response (the parser goes on with the next message by itself)."""
        self._status = 0
        self._headers: list[tuple[bytes, bytes]] = []
        self._header_name = b""
        self._headers_done = False
        if self._chunks:
            self._chunks.clear()
        self._buffered = 0
        self._complete = False
        self._error: BaseException | None = None
        self._head_only = False
        self._no_body = False

    # -- asyncio.Protocol ---------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(UpstreamError("upstream switched protocols unexpectedly", sent=True))
        except httptools.HttpParserError as exc:
            if self._head_only and self._headers_done:
                return  # bytes after a HEAD response head: ignore, the connection is not reused
            self._fail(UpstreamError(f"invalid response from upstream: {exc}", sent=True))

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.reusable = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._complete:
            if self._headers_done and self._delimited_by_close():
                # a response delimited by the end of the connection is complete now
                # (httptools has no feed_eof: the framing headers tell)
                self._complete = True
                self._wake()
            if not self._complete:
                self._fail(UpstreamError("upstream closed the connection prematurely", sent=True))
        self._wake()
        if self._drain is not None and not self._drain.done():
            self._drain.set_exception(
                UpstreamError("upstream closed the connection while sending", sent=True)
            )

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)

    # -- httptools callbacks --------------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        if status < 200 and status != 101:
            # interim response (100 Continue, 103 Early Hints): wait for the real one
            self._headers = []
            return
        self._status = status
        self._headers_done = True
        if self._head_only or status in (204, 304):
            self._no_body = True
            self._complete = True
            self.reusable = self.parser.should_keep_alive() and not self._head_only
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self._complete:
            return
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > HIGH_WATER and not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if not self._headers_done:
            # completion of an interim (1xx) response
            self.parser = httptools.HttpResponseParser(self)
            return
        if not self._complete:
            self._complete = True
            self.reusable = self.parser.should_keep_alive()
        self._wake()

    # -- helpers ---------------------------------------------------------------------------------
    def _delimited_by_close(self) -> bool:
        """Whether the response's body ends with the connection (no length, not chunked)."""
        for name, value in self._headers:
            lower = name.lower()
            if lower == b"content-length":
                return False
            if lower == b"transfer-encoding" and b"chunked" in value.lower():
                return False
        return True

    def _fail(self, exc: BaseException) -> None:
        if self._error is None:
            self._error = exc
        self.reusable = False
        if self.transport is not None:
            self.transport.close()
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _wait(self, timeout: float) -> None:
        """Wait for the parser callbacks, at most ``timeout`` seconds (the read timeout)."""
        loop = self.loop
        waiter = loop.create_future()
        self._waiter = waiter
        deadline = self._deadline = loop.time() + timeout
        timer = self._timer
        if timer is None or deadline < self._timer_at:
            if timer is not None:
                timer.cancel()
            self._timer = loop.call_at(deadline, self._on_timer)
            self._timer_at = deadline
        try:
            await waiter
        finally:
            self._waiter = None

    def _on_timer(self) -> None:
        """The connection's timer: expire the wait whose deadline passed, or re-arm."""
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # idle or between waits: the next wait arms a timer again
        deadline = self._deadline
        if self.loop.time() >= deadline - 0.001:  # libuv timers have a 1 ms resolution
            _expire(waiter, "read")
        else:
            self._timer = self.loop.call_at(deadline, self._on_timer)
            self._timer_at = deadline

    async def drain(self, timeout: float) -> None:
        if not self._paused:
            return
        drain = self.loop.create_future()
        self._drain = drain
        timer = self.loop.call_later(timeout, _expire, drain, "write")
        try:
            await drain
        finally:
            timer.cancel()
            self._drain = None

    # -- request/response ----------------------------------------------------------------------
    async def read_head(self, timeout: float) -> tuple[int, list[tuple[bytes, bytes]], bool]:
        while not self._headers_done:
            if self._error is not None:
                raise self._error
            await self._wait(timeout)
        return self._status, self._headers, self._no_body

    def next_chunk(self) -> bytes | None:
        """The next body chunk if it is here, b"" at the end of the body, None to wait."""
        if self._chunks:
            chunk = self._chunks.popleft()
            self._buffered -= len(chunk)
            if self._reading_paused and self._buffered < LOW_WATER and self.transport is not None:
                self._reading_paused = False
                self.transport.resume_reading()
            return chunk
        if self._complete:
            return b""
        if self._error is not None:
            raise self._error
        return None

    async def read_chunk(self, timeout: float) -> bytes:
        """The next body chunk; b"" at the end of the body."""
        while True:
            chunk = self.next_chunk()
            if chunk is not None:
                return chunk
            await self._wait(timeout)


def _expire(fut: asyncio.Future[None], what: str) -> None:
    if not fut.done():
        fut.set_exception(UpstreamTimeout(f"upstream {what} timed out", sent=what != "connect", stage=what))
