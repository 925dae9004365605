"""The proxy listener's answer to requests it cannot parse, in Kong's shape.

aiohttp answers a malformed request (a header line over ``max_request_header_size``, a
bad request line, a broken chunked body) with a plain-text body quoting what it could
not parse, and logs the same bytes at ERROR with a traceback: up to a hundred bytes of,
say, an ``Authorization`` header would end up in the response and in the logs.
:class:`ProxyServer` makes its connections answer such requests like Kong does
(``400 {"message":"Request header or cookie too large"}`` or ``{"message":"Bad
request"}``, connection closed) and log one line without the request's bytes.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from aiohttp import web
from aiohttp.http_exceptions import LineTooLong
from aiohttp.web_protocol import RequestHandler

__all__ = ["ProxyServer"]

log = logging.getLogger("moongate.proxy")

TOO_LARGE = "Request header or cookie too large"


def _too_large(exc: BaseException | None) -> bool:
    return isinstance(exc, LineTooLong) or "Got more than" in str(exc or "")


class _ProxyRequestHandler(RequestHandler):
    def handle_error(
        self, request: Any, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        if status == 500:  # not a parse error: aiohttp's own handling
            return super().handle_error(request, status, exc, message)
        if request.writer.output_size > 0:
            raise ConnectionError("response already started")
        text = TOO_LARGE if _too_large(exc) else "Bad request"
        log.info("refused a malformed request from %s: %s (%s)", request.remote, text, type(exc).__name__)
        resp = web.Response(status=400, body=orjson.dumps({"message": text}), content_type="application/json")
        resp.force_close()
        return resp


class ProxyServer(web.Server):
    """``aiohttp.web.Server`` whose connections answer unparsable requests as Kong does."""

    def __call__(self) -> RequestHandler:
        return _ProxyRequestHandler(self, loop=self._loop, **self._kwargs)
