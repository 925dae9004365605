"""The client's request body: buffered for plugins when small, streamed otherwise.

A per-request size limit for the streamed part: a plugin sets
``kong.ctx.shared["moongate.request_body_limit"]`` (bytes) in ``access``
(request-size-limiting does, for chunked bodies too large to buffer), and
:meth:`RequestBody.stream` raises :class:`RequestBodyTooLarge` as soon as more bytes
than that arrived, without reading the rest.  The exception leaves ``forward()``;
the request handler is to answer it with Kong's
``413 {"message":"Request size limit exceeded"}`` (until it maps it, the generic
error path answers 500).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = ["RequestBody", "RequestBodyTooLarge", "BODY_LIMIT_KEY"]

_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"

#: the ``kong.ctx.shared`` key holding the request's body size limit in bytes
BODY_LIMIT_KEY = "moongate.request_body_limit"


class RequestBodyTooLarge(Exception):
    """The streamed body went over the request's limit (``BODY_LIMIT_KEY``)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body larger than {limit} bytes")
        self.limit = limit


def _limit_of(ctx: Context) -> int | None:
    limit = ctx.shared.get(BODY_LIMIT_KEY) if ctx.shared else None
    if isinstance(limit, int | float) and not isinstance(limit, bool) and limit >= 0:
        return int(limit)
    return None


class RequestBody:
    """Reads the client's body at most once, either into memory or as a stream.

    ``buffer()`` reads up to ``limit`` bytes so plugins can call
    ``kong.request.get_raw_body()``; a larger body keeps what was read as a prefix
    and the rest stays a stream (``ctx.body_too_large``), as Kong does when nginx
    spools a body to disk.  ``Expect: 100-continue`` is answered when reading starts,
    so a request refused by a plugin never sends its body.
    """

    __slots__ = ("request", "has_body", "length", "chunked", "_prefix", "_consumed", "_continued")

    def __init__(self, request: web.BaseRequest) -> None:
        self.request = request
        if not request.body_exists:
            # aiohttp's parser made no body stream: no Content-Length > 0 and not chunked
            # (the common case, and it avoids parsing Content-Length again)
            self.chunked = False
            self.length = None
            self.has_body = False
        else:
            length = request.content_length
            te = request.headers.get("Transfer-Encoding", "")
            self.chunked = "chunked" in te.lower()
            self.length = length
            self.has_body = bool(length) or self.chunked
        self._prefix: bytes = b""
        self._consumed = False
        self._continued = False

    async def _continue(self) -> None:
        if self._continued:
            return
        self._continued = True
        if self.request.headers.get("Expect", "").lower() == "100-continue":
            await self.request.writer.write(_CONTINUE)

    async def buffer(self, ctx: Context, limit: int) -> None:
        """Read the body into ``ctx.body`` when it fits in ``limit`` bytes."""
        if ctx.body is not None or ctx.body_too_large:
            return
        if not self.has_body:
            ctx.body = b""
            return
        if self.length is not None and self.length > limit:
            ctx.body_too_large = True
            return
        await self._continue()
        content = self.request.content
        parts: list[bytes] = []
        size = 0
        while True:
            chunk = await content.readany()
            if not chunk:
                break
            parts.append(chunk)
            size += len(chunk)
            if size > limit:
                self._prefix = b"".join(parts)
                ctx.body_too_large = True
                return
        ctx.body = b"".join(parts)
        ctx.request_size = size
        self._consumed = True

    async def stream(self, ctx: Context) -> AsyncIterator[bytes]:
        """The body not yet read (the buffered prefix first), chunk by chunk.

        Raises :class:`RequestBodyTooLarge` before yielding the chunk that goes over the
        request's body limit (``BODY_LIMIT_KEY``), leaving the rest unread.
        """
        limit = _limit_of(ctx)
        seen = 0
        await self._continue()
        if self._prefix:
            prefix, self._prefix = self._prefix, b""
            ctx.request_size += len(prefix)
            seen = len(prefix)
            if limit is not None and seen > limit:
                raise RequestBodyTooLarge(limit)
            yield prefix
        content = self.request.content
        while True:
            chunk = await content.readany()
            if not chunk:
                break
            ctx.request_size += len(chunk)
            seen += len(chunk)
            if limit is not None and seen > limit:
                raise RequestBodyTooLarge(limit)
            yield chunk
        self._consumed = True
