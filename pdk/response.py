"""kong.response: the response Kong sends to the client.

Setters edit ``ctx.status`` and ``ctx.response_headers`` until the headers are
sent; ``exit`` and ``error`` store a complete response on the context and stop
the running handler by raising :class:`~pdk.errors.ExitSignal`.  As in
OpenResty, ``_`` in a response header name set here is sent as ``-``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import orjson

from pdk._exit import check_body, check_status, store_error, store_exit
from pdk._headers import (
    HEADERS_SENT,
    HeaderDict,
    NameCache,
    check_headers_table,
    check_max,
    header_dict,
    header_name,
    header_value,
    lookup,
    plain_text,
    store,
)
from pdk._settings import settings_of
from pdk.errors import ExitSignal, PDKArgumentError, PDKError
from pdk.phases import BODY_FILTER, EXIT, RESPONSE_READ, phase_checked

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = [
    "get_status",
    "get_header",
    "get_headers",
    "get_source",
    "set_status",
    "set_header",
    "add_header",
    "clear_header",
    "set_headers",
    "get_raw_body",
    "set_raw_body",
    "exit",
    "error",
]

log = logging.getLogger("moongate.pdk")

_TRANSFER_ENCODING = ("transfer-encoding", "transfer_encoding")


@phase_checked(RESPONSE_READ)
def get_status(ctx: Context) -> int:
    """The status code of the response to the client.

    Returns:
        The status, e.g. ``200``.

    Example:
        Lua: local status = kong.response.get_status() -- 200
        Python: status = kong.response.get_status()  # 200
    """
    return ctx.status


@phase_checked(RESPONSE_READ)
def get_header(ctx: Context, name: str) -> str | None:
    """The first value of a response header, as currently set (Kong's own headers included).

    The name is case-insensitive and ``_`` may stand for ``-``.

    Args:
        name: the header name.

    Returns:
        The value, or None when the header is not set.

    Raises:
        PDKArgumentError: ``name`` is not a string.

    Example:
        Lua: local ctype = kong.response.get_header("Content-Type")
        Python: ctype = kong.response.get_header("Content-Type")
    """
    return lookup(ctx.response_headers, name)


@phase_checked(RESPONSE_READ)
def get_headers(ctx: Context, max_headers: int | None = None) -> HeaderDict:
    """The response headers as currently set.

    Args:
        max_headers: the most header lines to read, 1..1000 (default ``lua_max_resp_headers``, 100).

    Returns:
        A dict keyed by lower-case name; a repeated header gives a list of values.

    Raises:
        PDKArgumentError: ``max_headers`` is not a number in 1..1000.

    Example:
        Lua: local headers = kong.response.get_headers()
        Python: headers = kong.response.get_headers()
    """
    if max_headers is None:
        return header_dict(ctx.response_headers, settings_of(ctx).lua_max_resp_headers)
    return header_dict(ctx.response_headers, check_max(max_headers, "max_headers"))


@phase_checked(RESPONSE_READ)
def get_source(ctx: Context) -> str:
    """Where the response comes from.

    Returns:
        ``"service"`` (proxied), ``"exit"`` (``kong.response.exit``/``error``) or
        ``"error"`` (an error in Kong or a plugin, or no response yet).

    Example:
        Lua: if kong.response.get_source() == "service" then ... end
        Python: if kong.response.get_source() == "service": ...
    """
    return ctx.response_source


def _checked_table(headers: Any) -> list[tuple[str, str | list[str]]]:
    if headers is None:
        return []
    if not isinstance(headers, dict):
        raise PDKArgumentError("headers must be a nil or table")
    return [(name.replace("_", "-"), value) for name, value in check_headers_table(headers)]


def _check_not_sent(ctx: Context) -> None:
    if ctx.headers_sent:
        raise PDKError(HEADERS_SENT)


@phase_checked(EXIT)
def set_status(ctx: Context, status: int) -> None:
    """Set the status code of the response.

    Args:
        status: a number in 100..599.

    Raises:
        PDKArgumentError: ``status`` is not a number in 100..599.
        PDKError: ``headers have already been sent``.

    Example:
        Lua: kong.response.set_status(404)
        Python: kong.response.set_status(404)
    """
    _check_not_sent(ctx)
    ctx.status = check_status(status)


#: names set_header has checked, with ``_`` written as ``-`` (never Transfer-Encoding)
_SETTABLE_NAMES = NameCache()


def _response_name(name: Any) -> str:
    name = header_name(name)
    return name.replace("_", "-") if "_" in name else name


@phase_checked(EXIT)
def set_header(ctx: Context, name: str, value: Any) -> None:
    """Set a response header, replacing any value it had.

    ``Transfer-Encoding`` is ignored (with a warning), as in Kong.

    Args:
        name: the header name.
        value: a string, number, boolean or a list of strings (one line each).

    Raises:
        PDKArgumentError: invalid name or value (including CR, LF or NUL).
        PDKError: ``headers have already been sent``.

    Example:
        Lua: kong.response.set_header("X-Foo", "bar")
        Python: kong.response.set_header("X-Foo", "bar")
    """
    _check_not_sent(ctx)
    if name.__class__ is str and plain_text(value):
        stored = _SETTABLE_NAMES.get(name)
        if stored is not None:  # the common case: a name set before, a plain value
            ctx.response_headers[stored] = value
            return
    checked = _response_name(name)
    value = header_value(checked, value)
    if checked.lower() == "transfer-encoding":
        log.warning("manually setting Transfer-Encoding. Ignored.")
        return
    _SETTABLE_NAMES.remember(name, checked)
    if type(value) is str:
        ctx.response_headers[checked] = value
    else:
        store(ctx.response_headers, checked, value, True)


@phase_checked(EXIT)
def add_header(ctx: Context, name: str, value: Any) -> None:
    """Add a response header line, keeping the values it already has.

    Args:
        name: the header name.
        value: a string, number, boolean or a list of strings.

    Raises:
        PDKArgumentError: invalid name or value (including CR, LF or NUL).
        PDKError: ``headers have already been sent``.

    Example:
        Lua: kong.response.add_header("Cache-Control", "no-store")
        Python: kong.response.add_header("Cache-Control", "no-store")
    """
    _check_not_sent(ctx)
    name = _response_name(name)
    store(ctx.response_headers, name, header_value(name, value), False)


@phase_checked(EXIT)
def clear_header(ctx: Context, name: str) -> None:
    """Remove every line of a response header.

    Args:
        name: the header name.

    Raises:
        PDKArgumentError: ``name`` is not a string.
        PDKError: ``headers have already been sent``.

    Example:
        Lua: kong.response.clear_header("X-Powered-By")
        Python: kong.response.clear_header("X-Powered-By")
    """
    _check_not_sent(ctx)
    if not isinstance(name, str):
        raise PDKArgumentError("header name must be a string")
    ctx.response_headers.popall(name.replace("_", "-"), None)


@phase_checked(EXIT)
def set_headers(ctx: Context, headers: dict[str, Any]) -> None:
    """Set several response headers, in lexicographic order of name; others are kept.

    Args:
        headers: ``{name: value}``; a value is a string, number, boolean or list of strings.

    Raises:
        PDKArgumentError: ``headers`` is not a dict, or a name or value is invalid.
        PDKError: ``headers have already been sent``.

    Example:
        Lua: kong.response.set_headers({ ["X-A"] = "1", ["X-B"] = { "2", "3" } })
        Python: kong.response.set_headers({"X-A": "1", "X-B": ["2", "3"]})
    """
    _check_not_sent(ctx)
    for name, value in check_headers_table(headers):
        if name.lower() in _TRANSFER_ENCODING:
            log.warning("manually setting Transfer-Encoding. Ignored.")
            continue
        store(ctx.response_headers, name.replace("_", "-"), value, True)


@phase_checked(BODY_FILTER)
def get_raw_body(ctx: Context) -> bytes | None:
    """The whole response body, once the last chunk went through ``body_filter``.

    Each call buffers the current chunk and removes it from the output, so the
    function returns None until the last chunk; then it returns the full body and
    puts it back as the chunk to send.

    Returns:
        The body bytes at the end of the stream, None before.

    Example:
        Lua: local body = kong.response.get_raw_body() -- nil until eof
        Python: body = kong.response.get_raw_body()  # None until eof
    """
    chunk = ctx.body_chunk
    buffer = ctx.body_buffer
    if ctx.body_eof and buffer is None:
        return chunk if chunk is not None else b""
    if chunk:
        if buffer is None:
            buffer = ctx.body_buffer = []
        buffer.append(chunk)
    if ctx.body_eof:
        body = b"".join(buffer) if buffer else b""
        ctx.body_chunk = body
        ctx.body_buffer = None
        return body
    ctx.body_chunk = None
    return None


@phase_checked(BODY_FILTER)
def set_raw_body(ctx: Context, body: str | bytes) -> None:
    """Replace the response body and end the stream.

    Content-Length is not changed: clear it in ``header_filter`` when the size changes.
    An empty body is sent as ``"\\n"``, as in Kong.

    Args:
        body: the new body.

    Raises:
        PDKArgumentError: ``body`` is not a string or bytes.

    Example:
        Lua: kong.response.set_raw_body("Hello, world!")
        Python: kong.response.set_raw_body("Hello, world!")
    """
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes | bytearray):
        raise PDKArgumentError("body must be a string")
    ctx.body_chunk = bytes(body) or b"\n"
    ctx.body_eof = True
    ctx.body_buffer = None


@phase_checked(EXIT)
def exit(ctx: Context, status: int, body: Any = None, headers: dict[str, Any] | None = None) -> None:
    """End the request with this response; the rest of the handler does not run.

    A dict or list body is sent as JSON with ``Content-Type: application/json;
    charset=utf-8`` unless ``headers`` gives one; a string is sent as UTF-8.
    In access, the other plugins' access handlers are skipped but their
    header_filter, body_filter and log handlers still run.

    Args:
        status: a number in 100..599.
        body: None, a string, bytes, a dict or a list.
        headers: ``{name: value}`` to set on the response.

    Raises:
        ExitSignal: always (the handler stops; the proxy sends the response).
        PDKArgumentError: invalid status, body or headers.
        PDKError: ``headers have already been sent``.

    Example:
        Lua: return kong.response.exit(403, { message = "Forbidden" })
        Python: kong.response.exit(403, {"message": "Forbidden"})
    """
    _check_not_sent(ctx)
    status = check_status(status)
    check_body(body)
    store_exit(ctx, status, body, _checked_table(headers))
    raise ExitSignal()


@phase_checked(EXIT)
def error(ctx: Context, status: int, message: Any = None, headers: dict[str, Any] | None = None) -> None:
    """End the request with Kong's error response, formatted for the client's ``Accept`` header.

    The body is JSON (default), HTML, XML or plain text, with the message and the
    request id; the message defaults to the standard text for the status.

    Args:
        status: a number in 400..599.
        message: the message; a dict or list is JSON-encoded into the message.
        headers: ``{name: value}`` to set; a Content-Type here picks the format.

    Raises:
        ExitSignal: always (the handler stops; the proxy sends the response).
        PDKArgumentError: invalid status, message or headers.
        PDKError: ``headers have already been sent``.

    Example:
        Lua: return kong.response.error(403, "Access denied")
        Python: kong.response.error(403, "Access denied")
    """
    _check_not_sent(ctx)
    status = check_status(status, 400)
    if isinstance(message, dict | list | tuple):
        try:
            message = orjson.dumps(message, option=orjson.OPT_NON_STR_KEYS).decode()
        except TypeError as exc:
            raise PDKArgumentError(f"could not JSON encode the error message: {exc}") from None
    elif message is not None and not isinstance(message, str):
        raise PDKArgumentError("message must be a nil, a string or a table")
    store_error(ctx, status, message, _checked_table(headers))
    raise ExitSignal()
