"""kong.service.request: the request Kong sends to the upstream service.

The client's request stays as received (``kong.request``); these setters edit the
pending upstream request on the context: ``upstream_scheme``, ``upstream_path``,
``upstream_query``, ``upstream_method``, ``upstream_headers`` (a copy of the
client's headers made by the proxy), ``upstream_host_header`` and ``upstream_body``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote_plus

import orjson
from multidict import CIMultiDict

from pdk._body import (
    CONTENT_TYPE_FORM_DATA,
    CONTENT_TYPE_JSON,
    CONTENT_TYPE_POST,
    encode_args,
    encode_multipart,
)
from pdk._headers import NameCache, check_headers_table, header_name, header_value, plain_text, store
from pdk.errors import PDKArgumentError, PDKError
from pdk.phases import REWRITE_ACCESS, REWRITE_ACCESS_BALANCER, phase_checked

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = [
    "enable_buffering",
    "set_scheme",
    "set_path",
    "set_raw_query",
    "set_method",
    "set_query",
    "clear_query_arg",
    "set_header",
    "add_header",
    "clear_header",
    "set_headers",
    "set_raw_body",
    "set_body",
]

#: characters Kong leaves unescaped in an upstream path (``kong.tools.uri.escape``)
_PATH_SAFE = "!#$&'()*+,/:;=?@[]-_.~%"
_METHODS = frozenset(
    ("GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "MKCOL", "COPY", "MOVE")
    + ("PROPFIND", "PROPPATCH", "LOCK", "UNLOCK", "PATCH", "TRACE")
)


def _headers(ctx: Context) -> CIMultiDict[str]:
    headers = ctx.upstream_headers
    if headers is None:
        headers = ctx.upstream_headers = CIMultiDict()
    return headers


def _drop_framing(headers: CIMultiDict[str]) -> None:
    headers.popall("Content-Length", None)
    headers.popall("Transfer-Encoding", None)


@phase_checked(REWRITE_ACCESS_BALANCER)
def enable_buffering(ctx: Context) -> None:
    """Buffer the upstream response so ``response`` handlers can read and change it.

    Example:
        Lua: kong.service.request.enable_buffering()
        Python: kong.service.request.enable_buffering()
    """
    ctx.buffered_proxying = True


@phase_checked(REWRITE_ACCESS_BALANCER)
def set_scheme(ctx: Context, scheme: str) -> None:
    """The protocol used to reach the upstream.

    Args:
        scheme: ``"http"`` or ``"https"``.

    Raises:
        PDKArgumentError: ``scheme must be a string`` or ``invalid scheme: ...``.

    Example:
        Lua: kong.service.request.set_scheme("https")
        Python: kong.service.request.set_scheme("https")
    """
    if not isinstance(scheme, str):
        raise PDKArgumentError("scheme must be a string")
    if scheme not in ("http", "https"):
        raise PDKArgumentError(f"invalid scheme: {scheme}")
    ctx.upstream_scheme = scheme


@phase_checked(REWRITE_ACCESS_BALANCER)
def set_path(ctx: Context, path: str) -> None:
    """The path sent upstream (without query string); unsafe characters are percent-escaped.

    Args:
        path: a path starting with ``/``.

    Raises:
        PDKArgumentError: ``path must be a string`` or ``path must start with /``.

    Example:
        Lua: kong.service.request.set_path("/v2/movies")
        Python: kong.service.request.set_path("/v2/movies")
    """
    if not isinstance(path, str):
        raise PDKArgumentError("path must be a string")
    if not path.startswith("/"):
        raise PDKArgumentError("path must start with /")
    ctx.upstream_path = quote(path, safe=_PATH_SAFE)


@phase_checked(REWRITE_ACCESS)
def set_raw_query(ctx: Context, query: str) -> None:
    """The query string sent upstream, as given (without ``?``); unsafe characters are escaped.

    Args:
        query: the encoded query string.

    Raises:
        PDKArgumentError: ``query must be a string``.

    Example:
        Lua: kong.service.request.set_raw_query("zzz&bar=baz")
        Python: kong.service.request.set_raw_query("zzz&bar=baz")
    """
    if not isinstance(query, str):
        raise PDKArgumentError("query must be a string")
    ctx.upstream_query = quote(query, safe=_PATH_SAFE)


@phase_checked(REWRITE_ACCESS)
def set_method(ctx: Context, method: str) -> None:
    """The method sent upstream.

    Args:
        method: an upper-case method name, e.g. ``"POST"``.

    Raises:
        PDKArgumentError: ``method must be a string`` or ``invalid method: ...``.

    Example:
        Lua: kong.service.request.set_method("POST")
        Python: kong.service.request.set_method("POST")
    """
    if not isinstance(method, str):
        raise PDKArgumentError("method must be a string")
    if method not in _METHODS:
        raise PDKArgumentError(f"invalid method: {method}")
    ctx.upstream_method = method


@phase_checked(REWRITE_ACCESS)
def set_query(ctx: Context, args: dict[str, Any]) -> None:
    """Replace the query string sent upstream, encoded from a dict with names in lexicographic order.

    Args:
        args: ``{name: value}``; a value is a string, number, ``True`` (a bare
            name), ``False`` (left out) or a list of these.

    Raises:
        PDKArgumentError: ``args must be a table`` or an invalid name or value.

    Example:
        Lua: kong.service.request.set_query({ page = "2", debug = true })
        Python: kong.service.request.set_query({"page": "2", "debug": True})
    """
    if not isinstance(args, dict):
        raise PDKArgumentError("args must be a table")
    ctx.upstream_query = encode_args(args)


@phase_checked(REWRITE_ACCESS)
def clear_query_arg(ctx: Context, name: str) -> None:
    """Remove every occurrence of a query argument from the upstream query string.

    Args:
        name: the (decoded) argument name.

    Raises:
        PDKArgumentError: ``query argument name must be a string``.

    Example:
        Lua: kong.service.request.clear_query_arg("apikey")
        Python: kong.service.request.clear_query_arg("apikey")
    """
    if not isinstance(name, str):
        raise PDKArgumentError("query argument name must be a string")
    query = ctx.raw_query if ctx.upstream_query is None else ctx.upstream_query
    if query:
        kept = [p for p in query.split("&") if p and unquote_plus(p.partition("=")[0]) != name]
        ctx.upstream_query = "&".join(kept)


#: names set_header has checked (never ``Host`` nor ``:authority``)
_SETTABLE_NAMES = NameCache()


def _host_value(value: str | list[str]) -> str:
    if isinstance(value, str):
        return value
    raise PDKArgumentError('invalid header value for "Host": expected a single value')


@phase_checked(REWRITE_ACCESS_BALANCER)
def set_header(ctx: Context, name: str, value: Any) -> None:
    """Set a header sent upstream, replacing its values; ``Host`` sets the upstream Host header.

    Args:
        name: the header name (``:authority`` only for gRPC upstreams).
        value: a string, number, boolean or a list of strings.

    Raises:
        PDKArgumentError: invalid name or value (including CR, LF or NUL).
        PDKError: ``cannot set :authority pseudo-header on non-grpc requests``.

    Example:
        Lua: kong.service.request.set_header("X-Consumer-ID", consumer.id)
        Python: kong.service.request.set_header("X-Consumer-ID", consumer["id"])
    """
    if name.__class__ is str and plain_text(value) and name in _SETTABLE_NAMES:
        _headers(ctx)[name] = value  # the common case: a name set before, a plain value
        return
    if name == ":authority":
        if ctx.upstream_scheme not in ("grpc", "grpcs"):
            raise PDKError("cannot set :authority pseudo-header on non-grpc requests")
        ctx.upstream_host_header = _host_value(header_value(name, value))
        return
    value = header_value(header_name(name), value)
    if name.lower() == "host":
        ctx.upstream_host_header = _host_value(value)
        return
    _SETTABLE_NAMES.remember(name, name)
    if type(value) is str:
        _headers(ctx)[name] = value
    else:
        store(_headers(ctx), name, value, True)


@phase_checked(REWRITE_ACCESS)
def add_header(ctx: Context, name: str, value: Any) -> None:
    """Add a header line sent upstream, keeping the values it already has.

    Args:
        name: the header name.
        value: a string, number, boolean or a list of strings.

    Raises:
        PDKArgumentError: invalid name or value (including CR, LF or NUL).

    Example:
        Lua: kong.service.request.add_header("X-Tag", "blue")
        Python: kong.service.request.add_header("X-Tag", "blue")
    """
    value = header_value(header_name(name), value)
    if name.lower() == "host":
        ctx.upstream_host_header = _host_value(value)
        return
    store(_headers(ctx), name, value, False)


@phase_checked(REWRITE_ACCESS)
def clear_header(ctx: Context, name: str) -> None:
    """Remove every line of a header from the upstream request.

    Args:
        name: the header name.

    Raises:
        PDKArgumentError: ``header must be a string``.

    Example:
        Lua: kong.service.request.clear_header("Authorization")
        Python: kong.service.request.clear_header("Authorization")
    """
    if not isinstance(name, str):
        raise PDKArgumentError("header must be a string")
    _headers(ctx).popall(name, None)


@phase_checked(REWRITE_ACCESS)
def set_headers(ctx: Context, headers: dict[str, Any]) -> None:
    """Set several upstream headers, in lexicographic order of name; others are kept.

    Args:
        headers: ``{name: value}``; a value is a string, number, boolean or list of strings.

    Raises:
        PDKArgumentError: ``headers must be a table`` or an invalid name or value.

    Example:
        Lua: kong.service.request.set_headers({ ["X-A"] = "1" })
        Python: kong.service.request.set_headers({"X-A": "1"})
    """
    target = _headers(ctx)
    for name, value in check_headers_table(headers):
        if name.lower() == "host":
            ctx.upstream_host_header = _host_value(value)
        else:
            store(target, name, value, True)


@phase_checked(REWRITE_ACCESS_BALANCER)
def set_raw_body(ctx: Context, body: str | bytes) -> None:
    """Replace the body sent upstream; Content-Length is recomputed by the proxy.

    Args:
        body: the new body.

    Raises:
        PDKArgumentError: ``body must be a string``.

    Example:
        Lua: kong.service.request.set_raw_body("Hello, world!")
        Python: kong.service.request.set_raw_body("Hello, world!")
    """
    if isinstance(body, str):
        body = body.encode("utf-8", "surrogateescape")  # binary bytes from Lua cross as such
    elif not isinstance(body, bytes | bytearray):
        raise PDKArgumentError("body must be a string")
    ctx.upstream_body = bytes(body)
    _drop_framing(_headers(ctx))


@phase_checked(REWRITE_ACCESS)
def set_body(ctx: Context, args: Any, mimetype: str | None = None) -> bool:
    """Replace the body sent upstream, encoded for a content type, and set Content-Type.

    The type is ``mimetype``, or else the upstream request's Content-Type: one of
    ``application/x-www-form-urlencoded``, ``application/json`` (a dict or list)
    or ``multipart/form-data`` (scalar values; the boundary is kept when given).

    Args:
        args: the body as a dict (or a list for JSON).
        mimetype: the content type to encode as.

    Returns:
        True.

    Raises:
        PDKArgumentError: ``args must be a table``, ``mime must be a string``,
            ``unsupported content type ...`` or an invalid value.
        PDKError: no ``mimetype`` and no Content-Type header.

    Example:
        Lua: kong.service.request.set_body({ name = "John" }, "application/json")
        Python: kong.service.request.set_body({"name": "John"}, "application/json")
    """
    if not isinstance(args, dict | list):
        raise PDKArgumentError("args must be a table")
    if mimetype is not None and not isinstance(mimetype, str):
        raise PDKArgumentError("mime must be a string")
    headers = _headers(ctx)
    mime = mimetype or headers.get("Content-Type")
    if not mime:
        raise PDKError("content type was neither explicitly given as an argument or received as a header")
    kind = mime.partition(";")[0].strip().lower()
    if kind == CONTENT_TYPE_JSON:
        try:
            body = orjson.dumps(args, option=orjson.OPT_NON_STR_KEYS)
        except TypeError as exc:
            raise PDKArgumentError(str(exc)) from None
    elif kind in (CONTENT_TYPE_POST, CONTENT_TYPE_FORM_DATA):
        if not isinstance(args, dict):
            raise PDKArgumentError("args must be a table")
        if kind == CONTENT_TYPE_POST:
            body = encode_args(args).encode()
        else:
            body, mime = encode_multipart(args, mime)
    else:
        raise PDKArgumentError(f"unsupported content type {mime}")
    ctx.upstream_body = body
    _drop_framing(headers)
    headers["Content-Type"] = header_value("Content-Type", mime)  # type: ignore[assignment]
    return True
