"""OpenResty's cosockets (``ngx.socket.tcp``/``udp``) over asyncio streams and datagrams.

One :class:`Cosockets` per Lua runtime keeps the sockets in use by id and the idle
keep-alive pools by name (``host:port`` or the ``pool`` option), as lua-nginx-module
does.  A socket checked out by a request is closed when that request's context is gone
unless it was put back with ``setkeepalive`` or closed before.  Errors are
lua-nginx-module's strings: ``timeout``, ``closed``, ``connection refused``, ...
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
import itertools
import ssl
import time
import weakref
from typing import Any

__all__ = ["CosocketError", "Cosockets"]

DEFAULT_POOL_SIZE = 30  # lua_socket_pool_size
DEFAULT_IDLE = 60.0  # lua_socket_keepalive_timeout, seconds


def _isolated(coro: Any, timeout: float | None) -> Any:
    """Await ``coro`` (with a timeout) in an empty context: the handles asyncio keeps for a
    socket must not hold the request's context, whose collection closes a forgotten socket."""
    return asyncio.get_running_loop().create_task(
        asyncio.wait_for(coro, timeout), context=contextvars.Context()
    )


class CosocketError(Exception):
    """A failed socket operation; ``partial`` is what was read before it failed."""

    def __init__(self, message: str, partial: bytes = b"") -> None:
        super().__init__(message)
        self.partial = partial


def _reason(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError | BrokenPipeError | asyncio.IncompleteReadError | EOFError):
        return "closed"
    if isinstance(exc, ssl.SSLError):
        return f"handshake failed: {exc.reason or exc}"
    if isinstance(exc, OSError) and exc.errno == errno.EHOSTUNREACH:
        return "no route to host"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return str(exc) or type(exc).__name__


class _Tcp:
    __slots__ = ("reader", "writer", "pool", "reused", "idle_since", "idle_timeout", "owner")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, pool: str) -> None:
        self.reader = reader
        self.writer = writer
        self.pool = pool
        self.reused = 0
        self.idle_since = 0.0
        self.idle_timeout = DEFAULT_IDLE
        self.owner: weakref.finalize | None = None


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1024)
        self.error: Exception | None = None

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if not self.queue.full():
            self.queue.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        self.error = exc


class Cosockets:
    """The TCP and UDP sockets of one Lua runtime."""

    def __init__(self) -> None:
        self.tcp: dict[int, _Tcp] = {}
        self.idle: dict[str, list[_Tcp]] = {}
        self.udp: dict[int, tuple[asyncio.DatagramTransport, _Datagrams, weakref.finalize | None]] = {}
        self._ids = itertools.count(1)

    # -- TCP ------------------------------------------------------------------------------
    async def connect(self, host: str, port: int | None, pool: str, timeout: float | None, owner: Any) -> int:
        entry = self._idle(pool)
        if entry is None:
            try:
                if host.startswith("unix:"):
                    opening = asyncio.open_unix_connection(host[5:])
                else:
                    opening = asyncio.open_connection(host, port)
                reader, writer = await _isolated(opening, timeout)
            except (OSError, TimeoutError) as exc:
                raise CosocketError(_reason(exc)) from None
            entry = _Tcp(reader, writer, pool)
        else:
            entry.reused += 1
        sid = next(self._ids)
        self.tcp[sid] = entry
        try:
            entry.owner = weakref.finalize(owner, self._forgotten, sid)
        except TypeError:
            entry.owner = None
        return sid

    def _idle(self, pool: str) -> _Tcp | None:
        idle = self.idle.get(pool)
        now = time.monotonic()
        while idle:
            entry = idle.pop()
            fresh = not entry.idle_timeout or now - entry.idle_since < entry.idle_timeout
            if fresh and not entry.reader.at_eof() and not entry.writer.is_closing():
                return entry
            entry.writer.close()
        return None

    def _get(self, sid: int) -> _Tcp:
        entry = self.tcp.get(sid)
        if entry is None:
            raise CosocketError("closed")
        return entry

    async def sslhandshake(
        self, sid: int, server_name: str | None, verify: bool, timeout: float | None
    ) -> None:
        entry = self._get(sid)
        context = ssl.create_default_context()
        if not verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        try:
            await _isolated(entry.writer.start_tls(context, server_hostname=server_name or None), timeout)
        except (OSError, ssl.SSLError, TimeoutError) as exc:
            self.close(sid)
            raise CosocketError(_reason(exc)) from None

    async def send(self, sid: int, data: bytes, timeout: float | None) -> int:
        entry = self._get(sid)
        try:
            entry.writer.write(data)
            await _isolated(entry.writer.drain(), timeout)
        except (OSError, TimeoutError) as exc:
            raise CosocketError(_reason(exc)) from None
        return len(data)

    async def receive(self, sid: int, pattern: bytes | int, timeout: float | None) -> bytes:
        """``*l`` a line (LF-terminated; CRs dropped), ``*a`` everything until EOF, or n bytes."""
        reader = self._get(sid).reader
        try:
            if pattern == b"*a":
                return await _isolated(reader.read(), timeout)
            if isinstance(pattern, int):
                return await _isolated(reader.readexactly(pattern), timeout)
            line = await _isolated(reader.readuntil(b"\n"), timeout)
            return line[:-1].replace(b"\r", b"")
        except asyncio.IncompleteReadError as exc:
            raise CosocketError(
                "closed", exc.partial.replace(b"\r", b"") if pattern == b"*l" else exc.partial
            ) from None
        except asyncio.LimitOverrunError:
            raise CosocketError("line too long") from None
        except (OSError, TimeoutError) as exc:
            raise CosocketError(_reason(exc)) from None

    async def receiveany(self, sid: int, size: int, timeout: float | None) -> bytes:
        reader = self._get(sid).reader
        try:
            data = await _isolated(reader.read(size), timeout)
        except (OSError, TimeoutError) as exc:
            raise CosocketError(_reason(exc)) from None
        if not data:
            raise CosocketError("closed")
        return data

    async def receiveuntil(self, sid: int, pattern: bytes, inclusive: bool, timeout: float | None) -> bytes:
        reader = self._get(sid).reader
        try:
            data = await _isolated(reader.readuntil(pattern), timeout)
        except asyncio.IncompleteReadError as exc:
            raise CosocketError("closed", exc.partial) from None
        except (OSError, TimeoutError, asyncio.LimitOverrunError) as exc:
            raise CosocketError(_reason(exc)) from None
        return data if inclusive else data[: -len(pattern)]

    def reused_times(self, sid: int) -> int:
        return self._get(sid).reused

    def keepalive(self, sid: int, idle_timeout: float | None, pool_size: int | None) -> None:
        entry = self.tcp.pop(sid, None)
        if entry is None:
            raise CosocketError("closed")
        if entry.owner is not None:
            entry.owner.detach()
        if entry.reader.at_eof() or len(entry.reader._buffer):  # type: ignore[attr-defined]
            entry.writer.close()  # unread data or a closed peer: not reusable (lua-nginx-module)
            raise CosocketError("unread data in buffer")
        entry.idle_since = time.monotonic()
        entry.idle_timeout = DEFAULT_IDLE if idle_timeout is None else idle_timeout
        idle = self.idle.setdefault(entry.pool, [])
        idle.append(entry)
        while len(idle) > max(1, pool_size or DEFAULT_POOL_SIZE):
            idle.pop(0).writer.close()

    def close(self, sid: int) -> None:
        entry = self.tcp.pop(sid, None)
        if entry is None:
            raise CosocketError("closed")
        if entry.owner is not None:
            entry.owner.detach()
        entry.writer.close()

    def _forgotten(self, sid: int) -> None:
        """The request that opened socket ``sid`` is gone without closing it: close it."""
        entry = self.tcp.pop(sid, None)
        udp = self.udp.pop(sid, None)
        try:
            if entry is not None:
                entry.writer.close()
            if udp is not None:
                udp[0].close()
        except RuntimeError:  # the event loop is closed: the transport goes with it
            pass

    # -- UDP ------------------------------------------------------------------------------
    async def udp_peer(self, host: str, port: int | None, owner: Any) -> int:
        loop = asyncio.get_running_loop()
        try:
            if host.startswith("unix:"):
                transport, protocol = await loop.create_datagram_endpoint(
                    _Datagrams, remote_addr=host[5:], family=__import__("socket").AF_UNIX
                )
            else:
                transport, protocol = await loop.create_datagram_endpoint(
                    _Datagrams, remote_addr=(host, port)
                )
        except OSError as exc:
            raise CosocketError(_reason(exc)) from None
        sid = next(self._ids)
        try:
            finalizer: weakref.finalize | None = weakref.finalize(owner, self._forgotten, sid)
        except TypeError:
            finalizer = None
        self.udp[sid] = (transport, protocol, finalizer)
        return sid

    def udp_send(self, sid: int, data: bytes) -> None:
        found = self.udp.get(sid)
        if found is None:
            raise CosocketError("closed")
        found[0].sendto(data)

    async def udp_receive(self, sid: int, size: int, timeout: float | None) -> bytes:
        found = self.udp.get(sid)
        if found is None:
            raise CosocketError("closed")
        protocol = found[1]
        if protocol.error is not None:
            error, protocol.error = protocol.error, None
            raise CosocketError(_reason(error))
        try:
            data = await _isolated(protocol.queue.get(), timeout)
        except TimeoutError:
            raise CosocketError("timeout") from None
        return data[:size]

    def udp_close(self, sid: int) -> None:
        found = self.udp.pop(sid, None)
        if found is None:
            raise CosocketError("closed")
        if found[2] is not None:
            found[2].detach()
        found[0].close()

    async def close_all(self) -> None:
        for entry in [*self.tcp.values(), *(e for idle in self.idle.values() for e in idle)]:
            if entry.owner is not None:
                entry.owner.detach()
            entry.writer.close()
        for transport, _, finalizer in self.udp.values():
            if finalizer is not None:
                finalizer.detach()
            transport.close()
        self.tcp.clear()
        self.idle.clear()
        self.udp.clear()
