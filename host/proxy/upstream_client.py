"""A lean HTTP/1.1 client for proxying: pooled keep-alive connections, streamed bodies.

aiohttp's client costs about 40 µs of CPU per request on the benchmark machine,
most of the budget of a proxied request, so the proxy talks to upstreams through
this small client instead: one :class:`asyncio.Protocol` per connection, the
``httptools`` (llhttp) parser, one ``transport.write`` for the request head, timers
instead of ``wait_for`` tasks, and per-(host, port, tls) pools of idle connections.
A TLS connection is pooled by its server name and TLS options too
(:class:`~host.proxy.upstream_tls.TLSOptions`, Kong's pool key), so a connection is
never reused by a request that would have verified or authenticated differently.

Timeouts follow nginx: ``connect`` for the TCP (and TLS) handshake, ``write`` between
two successive writes, ``read`` between two successive reads.  The connection protocol
(parser callbacks, waits, the read-timeout timer) is :mod:`host.proxy._upstream_connection`.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

from host.proxy._upstream_connection import (
    Connection,
    UpstreamConnectError,
    UpstreamError,
    UpstreamTimeout,
)
from host.proxy.upstream_tls import TLSOptions, UpstreamTLS, chain_too_long

__all__ = [
    "UpstreamClient",
    "UpstreamResponse",
    "UpstreamError",
    "UpstreamConnectError",
    "UpstreamTimeout",
]

_BYTES_LIKE = (bytes, bytearray, memoryview)  # a tuple: ``bytes | ...`` builds a union per call


class UpstreamResponse:
    """A response being received: status and headers now, the body as a stream."""

    __slots__ = ("status", "raw_headers", "_conn", "_client", "_read_timeout", "_done", "_released")

    def __init__(
        self,
        client: UpstreamClient,
        conn: Connection,
        status: int,
        raw_headers: list[tuple[bytes, bytes]],
        read_timeout: float,
        complete: bool,
    ) -> None:
        self._client = client
        self._conn = conn
        self.status = status
        self.raw_headers = raw_headers
        self._read_timeout = read_timeout
        self._done = complete
        self._released = False
        if complete:
            self.release()

    def headers(self) -> list[tuple[str, str]]:
        """Header pairs decoded as latin-1, in the order received."""
        return [(k.decode("latin-1"), v.decode("latin-1")) for k, v in self.raw_headers]

    async def read_chunk(self) -> bytes:
        """The next chunk of the body, or b"" when the body is complete."""
        if self._done:
            return b""
        chunk = await self._conn.read_chunk(self._read_timeout)
        if not chunk:
            self._done = True
            self.release()
        return chunk

    def read_chunk_nowait(self) -> bytes | None:
        """:meth:`read_chunk` when the chunk is already here, else ``None`` (then await it).

        Most small responses arrive in one packet: reading them costs no await.
        """
        if self._done:
            return b""
        chunk = self._conn.next_chunk()
        if chunk is not None and not chunk:
            self._done = True
            self.release()
        return chunk

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        while True:
            chunk = await self.read_chunk()
            if not chunk:
                return
            yield chunk

    async def read(self) -> bytes:
        """The whole remaining body."""
        parts = []
        while True:
            chunk = await self.read_chunk()
            if not chunk:
                return b"".join(parts)
            parts.append(chunk)

    def release(self) -> None:
        """Give the connection back to the pool (or close it if the body was not fully read)."""
        if self._released:
            return
        self._released = True
        conn = self._conn
        if self._done and conn.reusable and not conn.closed:
            self._client._put(conn)
        else:
            conn.reusable = False
            if conn.transport is not None:
                conn.transport.close()


class UpstreamClient:
    """Pools of keep-alive connections to upstreams, one client per worker."""

    def __init__(
        self,
        *,
        pool_size: int = 512,
        idle_timeout: float = 60.0,
        max_requests: int = 10000,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.pool_size = pool_size
        self.idle_timeout = idle_timeout
        self.max_requests = max_requests
        self._pools: dict[tuple[str, int, Any], list[Connection]] = {}
        self._ssl = ssl_context
        self._closed = False
        #: the TLS options of services, resolved once per snapshot (see forward.py)
        self.tls = UpstreamTLS()

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    def _put(self, conn: Connection) -> None:
        if self._closed or conn.requests >= self.max_requests:
            conn.transport.close()  # type: ignore[union-attr]
            return
        pool = self._pools.setdefault(conn.key, [])
        if len(pool) >= self.pool_size:
            conn.transport.close()  # type: ignore[union-attr]
            return
        conn.idle_since = time.monotonic()
        conn._reset()
        pool.append(conn)

    def _take(self, key: tuple[str, int, Any]) -> Connection | None:
        pool = self._pools.get(key)
        if not pool:
            return None
        now = time.monotonic()
        while pool:
            conn = pool.pop()
            if not conn.closed and now - conn.idle_since < self.idle_timeout:
                return conn
            if conn.transport is not None:
                conn.transport.close()
        return None

    async def _connect(
        self,
        key: tuple[str, int, Any],
        tls: bool | TLSOptions,
        timeout: float,
        server_hostname: str | None,
    ) -> Connection:
        loop = asyncio.get_running_loop()
        host, port = key[0], key[1]
        conn = Connection(key, loop)  # type: ignore[arg-type]
        kwargs: dict[str, Any] = {}
        options = tls if isinstance(tls, TLSOptions) else None
        if tls:
            kwargs["ssl"] = options.context if options is not None else self._ssl_context()
            kwargs["server_hostname"] = server_hostname or host
        try:
            async with asyncio.timeout(timeout):
                transport, _ = await loop.create_connection(lambda: conn, host, port, **kwargs)
        except TimeoutError:
            raise UpstreamTimeout("upstream connect timed out", stage="connect") from None
        except (OSError, ssl.SSLError) as exc:
            raise UpstreamConnectError(f"failed to connect to upstream {host}:{port}: {exc}") from None
        if options is not None and options.verify_depth is not None:
            too_long = chain_too_long(transport.get_extra_info("ssl_object"), options.verify_depth)
            if too_long is not None:
                transport.close()
                raise UpstreamConnectError(f"failed to connect to upstream {host}:{port}: {too_long}")
        return conn

    async def request(
        self,
        host: str,
        port: int,
        head: bytes,
        body: bytes | AsyncIterator[bytes] | None,
        *,
        tls: bool | TLSOptions = False,
        server_hostname: str | None = None,
        connect_timeout: float = 60.0,
        write_timeout: float = 60.0,
        read_timeout: float = 60.0,
        head_only: bool = False,
        chunked: bool = False,
    ) -> UpstreamResponse:
        """Send one request and return once the response head has arrived.

        ``head`` is the complete request head (request line and headers, ending
        with a blank line).  ``body`` is bytes (sent with the head) or an async
        iterator of chunks (sent as they come, chunk-encoded when ``chunked``).
        A pooled connection that turns out to be closed before any response byte
        arrives is replaced by a fresh one once, when the body can be replayed.
        ``tls`` is ``True`` for the client's default context, or the
        :class:`~host.proxy.upstream_tls.TLSOptions` of the service; ``server_hostname``
        is the name sent as SNI and verified (the host when not given).
        """
        if tls:
            options_key = tls.key if isinstance(tls, TLSOptions) else None
            key: tuple[str, int, Any] = (host, port, (server_hostname or host, options_key))
        else:
            key = (host, port, False)
        replayable = not hasattr(body, "__aiter__")
        conn = self._take(key)
        reused = conn is not None
        while True:
            if conn is None:
                conn = await self._connect(key, tls, connect_timeout, server_hostname)
            try:
                return await self._exchange(conn, head, body, write_timeout, read_timeout, head_only, chunked)
            except UpstreamError as exc:
                if (
                    reused
                    and replayable
                    and not conn._headers_done
                    and isinstance(exc, UpstreamError)
                    and not isinstance(exc, UpstreamTimeout)
                ):
                    # a stale keep-alive connection: try once more on a fresh one
                    conn = None
                    reused = False
                    continue
                raise

    async def _exchange(
        self,
        conn: Connection,
        head: bytes,
        body: bytes | AsyncIterator[bytes] | None,
        write_timeout: float,
        read_timeout: float,
        head_only: bool,
        chunked: bool,
    ) -> UpstreamResponse:
        transport = conn.transport
        if transport is None or conn.closed or transport.is_closing():
            raise UpstreamError("upstream connection is closed")
        conn.requests += 1
        conn._head_only = head_only
        if body is None or isinstance(body, _BYTES_LIKE):
            transport.write(head + body if body else head)
            await conn.drain(write_timeout)
        else:
            transport.write(head)
            try:
                await self._stream_body(conn, body, write_timeout, chunked)
            except BaseException:  # the client's body failed (a limit, a client gone): the
                conn.reusable = False  # upstream got half a request, the connection is done
                transport.close()
                raise
        try:
            status, raw_headers, complete = await conn.read_head(read_timeout)
        except BaseException:
            conn.reusable = False
            transport.close()
            raise
        return UpstreamResponse(self, conn, status, raw_headers, read_timeout, complete)

    async def _stream_body(
        self, conn: Connection, body: AsyncIterator[bytes], write_timeout: float, chunked: bool
    ) -> None:
        transport = conn.transport
        assert transport is not None
        async for chunk in body:
            if conn._error is not None:
                # the upstream answered (or failed) before the body was sent: stop sending
                break
            if conn._headers_done:
                break
            if not chunk:
                continue
            if chunked:
                transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            else:
                transport.write(chunk)
            await conn.drain(write_timeout)
        else:
            if chunked:
                transport.write(b"0\r\n\r\n")
            await conn.drain(write_timeout)
            return
        conn.reusable = False

    async def close(self) -> None:
        """Close every pooled connection."""
        self._closed = True
        for pool in self._pools.values():
            for conn in pool:
                if conn.transport is not None:
                    conn.transport.close()
        self._pools.clear()

    def sweep(self) -> None:
        """Close idle connections older than ``idle_timeout``."""
        now = time.monotonic()
        for pool in self._pools.values():
            keep = []
            for conn in pool:
                if conn.closed or now - conn.idle_since >= self.idle_timeout:
                    if conn.transport is not None:
                        conn.transport.close()
                else:
                    keep.append(conn)
            pool[:] = keep
