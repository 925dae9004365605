"""The HTTP client behind ``resty.http``: one shared ``aiohttp.ClientSession`` per Lua runtime.

The session is created on the first request and closed by :meth:`LuaHost.close`.  It
behaves like lua-resty-http on the wire: no automatic ``Accept``/``Accept-Encoding``/
``Content-Type`` headers, no decompression, no redirects followed, no cookie jar.
Failures are raised as :class:`HttpClientError` carrying OpenResty's cosocket wording
(``timeout``, ``connection refused``, ``closed``, ``<host> could not be resolved ...``),
which the Lua caller receives as ``nil, err``.
"""

from __future__ import annotations

import asyncio
import contextvars
import errno
import ssl
from typing import TYPE_CHECKING, Any

import aiohttp

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

__all__ = ["HttpClient", "HttpClientError", "client_of"]

_STATE_KEY = "http_client"
_SKIP_AUTO = ("Accept", "Accept-Encoding", "Content-Type", "User-Agent")
_ERRNO_TEXT = {
    errno.ECONNREFUSED: "connection refused",
    errno.ECONNRESET: "connection reset by peer",
    errno.ETIMEDOUT: "timeout",
    errno.EHOSTUNREACH: "no route to host",
    errno.ENETUNREACH: "network is unreachable",
}


class HttpClientError(Exception):
    """A failed request; the message is what the Lua caller gets as ``err``."""


def error_text(exc: BaseException, host: str) -> str:
    """OpenResty's wording for a client failure."""
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"{host} could not be resolved (3: Host not found)"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError | ssl.SSLError):
        reason = getattr(getattr(exc, "certificate_error", None), "verify_message", None) or str(exc)
        return f"handshake failed: {reason}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "closed"
    if isinstance(exc, aiohttp.ClientOSError | OSError):
        code = getattr(exc, "errno", None) or getattr(getattr(exc, "os_error", None), "errno", None)
        return _ERRNO_TEXT.get(code or 0, str(exc) or exc.__class__.__name__)
    return str(exc) or exc.__class__.__name__


class HttpClient:
    """Requests for ``resty.http`` over one lazily created session."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        session = self._session
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=60)
            session = self._session = aiohttp.ClientSession(
                connector=connector,
                cookie_jar=aiohttp.DummyCookieJar(),
                auto_decompress=False,
                skip_auto_headers=_SKIP_AUTO,
            )
        return session

    async def request(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        timeouts: tuple[float, float, float],
        *,
        ssl_verify: bool = True,
        server_name: str | None = None,
        proxy: str | None = None,
    ) -> tuple[int, str, list[tuple[bytes, bytes]], bytes]:
        """Send one request; returns (status, reason, raw headers, body) or raises."""
        connect, _send, read = timeouts
        timeout = aiohttp.ClientTimeout(total=None, connect=connect, sock_connect=connect, sock_read=read)
        host = url.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
        options: dict[str, Any] = {}
        if not ssl_verify:
            options["ssl"] = False
        if server_name:
            options["server_hostname"] = server_name
        # run in an empty context: a pooled connection's callbacks must not keep the
        # context (and so the request) of the call that opened it alive
        task = asyncio.get_running_loop().create_task(
            self._send(method, url, headers, body, timeout, proxy, options, host),
            context=contextvars.Context(),
        )
        return await task

    async def _send(
        self,
        method: str,
        url: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
        timeout: aiohttp.ClientTimeout,
        proxy: str | None,
        options: dict[str, Any],
        host: str,
    ) -> tuple[int, str, list[tuple[bytes, bytes]], bytes]:
        try:
            async with self._get_session().request(
                method,
                url,
                headers=headers,
                data=body,
                timeout=timeout,
                allow_redirects=False,
                proxy=proxy,
                **options,
            ) as resp:
                data = await resp.read()
                return resp.status, resp.reason or "", list(resp.raw_headers), data
        except (aiohttp.ClientError, OSError, TimeoutError, ssl.SSLError) as exc:
            raise HttpClientError(error_text(exc, host)) from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def client_of(host: LuaHost) -> HttpClient:
    """The runtime's client (created, and registered for closing, on first use)."""
    return host.resource(_STATE_KEY, HttpClient, "close")
