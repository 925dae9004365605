"""The response ``kong.response.exit`` and ``kong.response.error`` leave on the context.

Nothing is sent here: the functions store the status, headers and body bytes on
the request context (``status``, ``response_headers``, ``exit_body``, ``exited``,
``response_source``) and the proxy turns that state into the client response.
:func:`store_error` is also usable by the host for its own error responses
(404 no route, 502, ...), so every Kong-generated error has the same shape.
"""

from __future__ import annotations

import html
import logging
import re
from typing import Any
from xml.sax.saxutils import escape as xml_escape

import orjson

from host.context import ResponseSource
from pdk._headers import store
from pdk.errors import PDKArgumentError

__all__ = [
    "check_body",
    "check_status",
    "default_message",
    "render_error",
    "response_type",
    "store_error",
    "store_exit",
]

log = logging.getLogger("moongate.pdk")

CONTENT_TYPE_JSON = "application/json; charset=utf-8"
CONTENT_TYPE_GRPC = "application/grpc"

#: Accept media type -> Content-Type of the error body (Kong's MIME_TYPES)
MIME_TYPES = {
    "text/html": "text/html; charset=utf-8",
    "application/json": CONTENT_TYPE_JSON,
    "text/plain": "text/plain; charset=utf-8",
    "application/xml": "application/xml; charset=utf-8",
    "application": CONTENT_TYPE_JSON,
    "text": "text/plain; charset=utf-8",
}

_HTML = """<!doctype html>
<html>
  <head>
    <meta charset="utf-8">
    <title>Error</title>
  </head>
  <body>
    <h1>Error</h1>
    <p>{message}.</p>
    <p>request_id: {request_id}</p>
  </body>
</html>
"""
_XML = """<?xml version="1.0" encoding="UTF-8"?>
<error>
  <message>{message}</message>
  <requestid>{request_id}</requestid>
</error>
"""
_JSON = '{{\n  "message":"{message}",\n  "request_id":"{request_id}"\n}}'
_PLAIN = "{message}\nrequest_id: {request_id}\n"


def _json_text(text: str) -> str:
    return orjson.dumps(text).decode()[1:-1]


#: media type -> (template, escaping of the message and the request id)
TEMPLATES = {
    "application/json": (_JSON, _json_text),
    "text/html": (_HTML, html.escape),
    "application/xml": (_XML, xml_escape),
    "text/plain": (_PLAIN, str),
}

_MESSAGES = {
    400: "Bad request",
    401: "Unauthorized",
    402: "Payment required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    406: "Not acceptable",
    407: "Proxy authentication required",
    408: "Request timeout",
    409: "Conflict",
    410: "Gone",
    411: "Length required",
    412: "Precondition failed",
    413: "Payload too large",
    414: "URI too long",
    415: "Unsupported media type",
    416: "Range not satisfiable",
    417: "Expectation failed",
    418: "I'm a teapot",
    421: "Misdirected request",
    422: "Unprocessable entity",
    423: "Locked",
    424: "Failed dependency",
    425: "Too early",
    426: "Upgrade required",
    428: "Precondition required",
    429: "Too many requests",
    431: "Request header fields too large",
    451: "Unavailable for legal reasons",
    494: "Request header or cookie too large",
    500: "An unexpected error occurred",
    501: "Not implemented",
    502: "An invalid response was received from the upstream server",
    503: "The upstream server is currently unavailable",
    504: "The upstream server is timing out",
    505: "HTTP version not supported",
    506: "Variant also negotiates",
    507: "Insufficient storage",
    508: "Loop detected",
    510: "Not extended",
    511: "Network authentication required",
}

_HTTP_TO_GRPC = {
    200: 0,
    400: 3,
    401: 16,
    403: 7,
    404: 5,
    409: 6,
    429: 8,
    499: 1,
    500: 13,
    501: 12,
    503: 14,
    504: 4,
}
#: gRPC status code -> name (index = code)
_GRPC_MESSAGES = (
    "OK",
    "Canceled",
    "Unknown",
    "InvalidArgument",
    "DeadlineExceeded",
    "NotFound",
    "AlreadyExists",
    "PermissionDenied",
    "ResourceExhausted",
    "FailedPrecondition",
    "Aborted",
    "OutOfRange",
    "Unimplemented",
    "Internal",
    "Unavailable",
    "DataLoss",
    "Unauthenticated",
)

_TOKEN = r"(?:[a-z0-9][a-z0-9\-!#$&^_+.]+|\*)"
_ACCEPT = re.compile(
    rf"({_TOKEN}\s*/\s*{_TOKEN})"
    r"(?:\s*;\s*q\s*=\s*(1(?:\.0{0,3})?|0(?:\.\d{0,3})?)|\s*;\s*[a-z0-9][a-z0-9\-!#$&^_+.]+(?:=[^;]*)?)*",
    re.IGNORECASE,
)


def default_message(status: int) -> str:
    """Kong's default error text for a status."""
    return _MESSAGES.get(status) or f"The upstream server responded with {status}"


def _mime_type(media_type: str) -> str:
    media_type = "".join(media_type.split()).lower()
    kind, _, sub = media_type.partition("/")
    if sub == "*":
        return CONTENT_TYPE_JSON if kind == "*" else MIME_TYPES.get(kind, CONTENT_TYPE_JSON)
    return MIME_TYPES.get(media_type, CONTENT_TYPE_JSON)


def response_type(accept: str | None) -> str:
    """The Content-Type of an error body negotiated from ``Accept`` (highest q wins; JSON default)."""
    content_type = CONTENT_TYPE_JSON
    if not accept:
        return content_type
    best = 0.0
    for entry in accept.split(","):
        match = _ACCEPT.match(entry.strip())
        if match is None:
            continue
        q = float(match.group(2)) if match.group(2) else 1.0
        if q > best:
            best = q
            content_type = _mime_type(match.group(1))
    return content_type


def render_error(content_type: str, message: str, request_id: str) -> bytes:
    """Fill Kong's error template for a Content-Type (JSON for types without a template).

    Unlike Kong, the message is escaped for the format, so a quote cannot break
    the JSON body and markup cannot enter the HTML page.
    """
    template, escape = TEMPLATES.get(
        content_type.partition(";")[0].strip().lower(), TEMPLATES["application/json"]
    )
    return template.format(message=escape(message), request_id=escape(request_id)).encode()


def _is_grpc_request(ctx: Any) -> bool:
    ctype = ctx.headers.get("Content-Type")
    return bool(ctype) and ctype.startswith(CONTENT_TYPE_GRPC) and ctx.http_version == 2


def _grpc_status(status: int) -> int:
    code = _HTTP_TO_GRPC.get(status)
    if code is not None:
        return code
    if 500 <= status <= 599:
        return 13
    if 400 <= status <= 499:
        return 3
    return 0 if 200 <= status <= 299 else 2


def _first(value: str | list[str]) -> str | None:
    return value if isinstance(value, str) else (value[0] if value else None)


def store_exit(ctx: Any, status: int, body: Any, headers: list[tuple[str, str | list[str]]]) -> None:
    """Store an exit response on the context (Kong's ``send``); ``headers`` are already checked.

    The body is encoded before anything changes, so a failure leaves the context as it was.
    """
    given_ctype = None
    for name, value in headers:
        if name.lower() in ("content-type", "content_type"):
            given_ctype = _first(value)
    out = ctx.response_headers
    res_ctype = given_ctype if given_ctype is not None else out.get("Content-Type")
    is_grpc_output = bool(res_ctype) and res_ctype.startswith(CONTENT_TYPE_GRPC)
    is_grpc = is_grpc_output or (not res_ctype and _is_grpc_request(ctx))

    json_body = False
    if isinstance(body, dict | list | tuple):
        if is_grpc:
            if is_grpc_output:
                raise PDKArgumentError("table body encoding with gRPC is not supported")
            message = body.get("message") if isinstance(body, dict) else None
            if not isinstance(message, str):
                log.warning("body was removed because table body encoding with gRPC is not supported")
            body = message
        else:
            try:
                body = orjson.dumps(body, option=orjson.OPT_NON_STR_KEYS)
            except TypeError as exc:
                raise PDKArgumentError(f"body encoding failed while flushing response: {exc}") from None
            json_body = True
    data: bytes = body.encode() if isinstance(body, str) else (body or b"")

    ctx.status = status
    for name, value in headers:
        if name.lower() in ("transfer-encoding", "transfer_encoding"):
            log.warning("manually setting Transfer-Encoding. Ignored.")
        else:
            store(out, name, value, True)
    if json_body and given_ctype is None:
        out["Content-Type"] = CONTENT_TYPE_JSON
    if is_grpc:
        grpc_status = None
        if "grpc-status" not in out:
            grpc_status = _grpc_status(status)
            out["grpc-status"] = str(grpc_status)
        if not is_grpc_output and data:
            out["grpc-message"] = data.decode("utf-8", "replace")
            data = b""
        elif grpc_status is not None and "grpc-message" not in out:
            out["grpc-message"] = _GRPC_MESSAGES[grpc_status]
    _finish(ctx, data)


def _finish(ctx: Any, data: bytes) -> None:
    ctx.exit_body = data
    ctx.exited = True
    ctx.response_source = ResponseSource.EXIT


def store_error(
    ctx: Any, status: int, message: str | None, headers: list[tuple[str, str | list[str]]]
) -> None:
    """Store Kong's negotiated error response (``kong.response.error``) on the context."""
    content_type: str | None = None
    for name, value in headers:
        if name.lower() == "content-type":
            content_type = _first(value)
    if content_type is None:
        if _is_grpc_request(ctx):
            content_type = CONTENT_TYPE_GRPC
        else:
            content_type = response_type(",".join(ctx.headers.getall("Accept", ())))
        headers = [*headers, ("Content-Type", content_type)]
    body = None
    if content_type != CONTENT_TYPE_GRPC:
        body = render_error(content_type, message or default_message(status), ctx.request_id or "")
    store_exit(ctx, status, body, headers)


def check_status(status: Any, low: int = 100) -> int:
    """Kong's status check: a number in ``low``..599."""
    if isinstance(status, bool) or not isinstance(status, int | float):
        raise PDKArgumentError("code must be a number")
    if not low <= status <= 599:
        raise PDKArgumentError(f"code must be a number between {low} and 599")
    return int(status)


def check_body(body: Any) -> None:
    if body is not None and not isinstance(body, str | bytes | dict | list | tuple):
        raise PDKArgumentError("body must be a nil, string or table")
