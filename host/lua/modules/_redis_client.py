"""The connections behind ``resty.redis``: OpenResty's cosocket model over ``redis.asyncio``.

A Lua ``red`` object holds the id of one connection (:class:`RedisConnections`, one per
Lua runtime, in ``host.state``).  As with OpenResty, a connection is checked out by
``red:connect(host, port, {pool = ...})`` from the idle pool named ``pool`` (default
``"host:port"``), keeps its state between commands (``AUTH``, ``SELECT``, ``MULTI``,
subscriptions), and goes back to that pool with ``red:set_keepalive()``;
``get_reused_times()`` tells a plugin whether it must still ``auth``/``select`` (Kong's
rate-limiting does exactly that).  A connection its request forgot is closed when the
request's context is collected, as OpenResty closes a request's cosockets.

``redis.asyncio.Connection`` does the socket and the RESP parsing; replies come back
raw (no per-command response callbacks), errors with their code (``ERR ...``).
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
import itertools
import time
import weakref
from collections.abc import Coroutine
from typing import Any, TypeVar

from redis.asyncio import Connection, SSLConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

__all__ = [
    "RedisConnections",
    "RedisClientError",
    "error_reply",
    "is_error_reply",
    "DEFAULT_POOL_SIZE",
    "DEFAULT_IDLE_TIMEOUT",
]

T = TypeVar("T")
#: lua_socket_pool_size and lua_socket_keepalive_timeout defaults
DEFAULT_POOL_SIZE = 30
DEFAULT_IDLE_TIMEOUT = 60.0


class RedisClientError(Exception):
    """A connection-level failure; the message is the Lua caller's ``err``."""


def _os_errno(exc: BaseException) -> int | None:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError) and seen.errno:
            return seen.errno
        seen = seen.__cause__ or seen.__context__
    return None


def _connect_error(exc: BaseException, host: str) -> str:
    if isinstance(exc, RedisTimeoutError | TimeoutError):
        return "timeout"
    code = _os_errno(exc)
    if code == errno.ECONNREFUSED:
        return "connection refused"
    if code is not None and code < 0 or "Name or service not known" in str(exc):
        return f"{host} could not be resolved (3: Host not found)"
    return str(exc) or exc.__class__.__name__


def error_reply(exc: RedisError) -> str:
    """The error line as the server sent it (``ERR ...``, ``WRONGTYPE ...``)."""
    code = getattr(exc, "status_code", None)
    text = str(exc)
    return f"{code} {text}" if code else text


def _isolated(coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Run socket work in an empty context: the callbacks and timeout handles asyncio keeps
    must not hold the request's context (its collection closes a forgotten connection)."""
    return asyncio.get_running_loop().create_task(coro, context=contextvars.Context())


def is_error_reply(value: Any) -> bool:
    """Whether a reply read by :class:`RedisConnections` is a server error reply."""
    return isinstance(value, RedisError)


class _Conn:
    __slots__ = ("conn", "pool", "reused", "idle_since", "idle_timeout", "owner")

    def __init__(self, conn: Connection, pool: str) -> None:
        self.conn = conn
        self.pool = pool
        self.reused = 0
        self.idle_since = 0.0
        self.idle_timeout = DEFAULT_IDLE_TIMEOUT
        self.owner: weakref.finalize | None = None


class RedisConnections:
    """Connections in use (by id) and idle pools (by pool name) of one Lua runtime."""

    def __init__(self) -> None:
        self.active: dict[int, _Conn] = {}
        self.idle: dict[str, list[_Conn]] = {}
        self._ids = itertools.count(1)

    async def connect(self, host: str, port: int, pool: str, options: dict[str, Any], owner: Any) -> int:
        """A connection from pool ``pool`` (or a new one); returns its id."""
        entry = self._idle_connection(pool)
        if entry is None:
            kind = SSLConnection if options.get("ssl") else Connection
            extra: dict[str, Any] = {}
            if options.get("ssl"):
                verify = options.get("ssl_verify", False)
                extra = {
                    "ssl_cert_reqs": "required" if verify else "none",
                    "ssl_check_hostname": bool(verify),
                }
            conn = kind(
                host=host,
                port=port,
                socket_connect_timeout=options.get("timeout"),
                socket_timeout=options.get("timeout"),
                retry=Retry(NoBackoff(), 0),
                driver_info=None,
                protocol=2,  # resty.redis speaks RESP2: arrays, not maps
                **extra,
            )
            try:
                await _isolated(conn.connect())
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                raise RedisClientError(_connect_error(exc, host)) from None
            entry = _Conn(conn, pool)
        else:
            entry.reused += 1
        cid = next(self._ids)
        self.active[cid] = entry
        try:
            entry.owner = weakref.finalize(owner, self._forgotten, cid)
        except TypeError:  # an owner that cannot be weakly referenced: no automatic close
            entry.owner = None
        return cid

    def _idle_connection(self, pool: str) -> _Conn | None:
        idle = self.idle.get(pool)
        now = time.monotonic()
        while idle:
            entry = idle.pop()
            if entry.conn.is_connected and (
                not entry.idle_timeout or now - entry.idle_since < entry.idle_timeout
            ):
                return entry
            self._discard(entry)
        return None

    def _get(self, cid: int) -> _Conn:
        entry = self.active.get(cid)
        if entry is None or not entry.conn.is_connected:
            raise RedisClientError("closed")
        return entry

    async def _read(self, entry: _Conn) -> Any:
        conn = entry.conn
        try:
            return await conn.read_response(disconnect_on_error=False)
        except ResponseError as exc:
            return exc
        except (RedisTimeoutError, TimeoutError):
            await conn.disconnect(nowait=True)  # resty.redis closes the socket after a timeout
            raise RedisClientError("timeout") from None
        except (RedisConnectionError, OSError) as exc:
            if getattr(exc, "status_code", None):  # an error reply redis-py raises (WRONGPASS, NOAUTH, ...)
                return exc
            await conn.disconnect(nowait=True)
            raise RedisClientError("closed") from None

    async def _send(self, entry: _Conn, commands: list[list[bytes]]) -> None:
        conn = entry.conn
        packed = [chunk for args in commands for chunk in conn.pack_command(*args)]
        try:
            await conn.send_packed_command(packed, check_health=False)
        except (RedisTimeoutError, TimeoutError):
            raise RedisClientError("timeout") from None
        except (RedisConnectionError, OSError):
            raise RedisClientError("closed") from None

    async def _exchange(self, entry: _Conn, commands: list[list[bytes]], replies: int) -> list[Any]:
        if commands:
            await self._send(entry, commands)
        return [await self._read(entry) for _ in range(replies)]

    async def command(
        self, cid: int, args: list[bytes], timeout: float | None, replies: int = 1
    ) -> list[Any]:
        """Send one command and read ``replies`` replies (several for a multi-channel subscribe)."""
        entry = self._get(cid)
        entry.conn.socket_timeout = timeout
        return await _isolated(self._exchange(entry, [args], replies))

    async def pipeline(self, cid: int, commands: list[list[bytes]], timeout: float | None) -> list[Any]:
        entry = self._get(cid)
        entry.conn.socket_timeout = timeout
        return await _isolated(self._exchange(entry, commands, len(commands)))

    async def read(self, cid: int, timeout: float | None) -> Any:
        """The next reply without sending anything (``red:read_reply()`` after subscribe)."""
        entry = self._get(cid)
        entry.conn.socket_timeout = timeout
        return (await _isolated(self._exchange(entry, [], 1)))[0]

    def reused_times(self, cid: int) -> int:
        return self._get(cid).reused

    def keepalive(self, cid: int, idle_timeout: float | None, pool_size: int | None) -> None:
        """Put the connection back into its pool (closing the oldest when the pool is full)."""
        entry = self._get(cid)
        del self.active[cid]
        if entry.owner is not None:
            entry.owner.detach()
        entry.idle_since = time.monotonic()
        entry.idle_timeout = DEFAULT_IDLE_TIMEOUT if idle_timeout is None else idle_timeout
        idle = self.idle.setdefault(entry.pool, [])
        idle.append(entry)
        while len(idle) > max(1, pool_size or DEFAULT_POOL_SIZE):
            self._discard(idle.pop(0))

    async def close(self, cid: int) -> None:
        entry = self.active.pop(cid, None)
        if entry is None:
            raise RedisClientError("closed")
        if entry.owner is not None:
            entry.owner.detach()
        await entry.conn.disconnect(nowait=True)

    def _forgotten(self, cid: int) -> None:
        """The request that checked the connection out is gone: close it."""
        entry = self.active.pop(cid, None)
        if entry is not None:
            self._discard(entry)

    def _discard(self, entry: _Conn) -> None:
        try:
            asyncio.get_running_loop().create_task(entry.conn.disconnect(nowait=True))
        except RuntimeError:  # no loop (interpreter shutdown): the transport goes with the object
            pass

    async def close_all(self) -> None:
        entries = list(self.active.values()) + [e for idle in self.idle.values() for e in idle]
        self.active.clear()
        self.idle.clear()
        for entry in entries:
            if entry.owner is not None:
                entry.owner.detach()
            await entry.conn.disconnect(nowait=True)
