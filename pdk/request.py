"""kong.request: the request the client sent, read-only.

Every function reads the request context the proxy filled when the request
arrived; changes for the upstream go through ``kong.service.request``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pdk import _forwarded
from pdk._body import BODY_TOO_LARGE, decode_body, parse_args, query_args, supported_mime
from pdk._headers import (
    HeaderDict,
    check_max,
    header_dict,
    lookup,
    request_header_items,
    request_header_values,
)
from pdk._settings import settings_of
from pdk.errors import PDKArgumentError, PDKError
from pdk.phases import BODY_IN, NOT_INIT_WORKER, REQUEST, phase_checked

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = [
    "get_scheme",
    "get_host",
    "get_port",
    "get_forwarded_scheme",
    "get_forwarded_host",
    "get_forwarded_port",
    "get_forwarded_path",
    "get_forwarded_prefix",
    "get_http_version",
    "get_method",
    "get_path",
    "get_raw_path",
    "get_path_with_query",
    "get_raw_query",
    "get_query_arg",
    "get_query",
    "get_header",
    "get_headers",
    "get_raw_body",
    "get_body",
    "get_start_time",
    "get_uri_captures",
]


def _untouched(ctx: Context) -> bool:
    """Whether no plugin edited the request's headers (the common case: read the client's).

    Reads the slot behind ``ctx.upstream_headers_edited`` directly: on this hot path the
    property call would cost more than the lookup itself."""
    return ctx._upstream_headers is None and ctx.upstream_host_header is None and ctx.upstream_body is None


@phase_checked(REQUEST)
def get_scheme(ctx: Context) -> str:
    """The scheme of the request URL, lower-case: ``"http"`` or ``"https"``.

    Example:
        Lua: local scheme = kong.request.get_scheme() -- "https"
        Python: scheme = kong.request.get_scheme()  # "https"
    """
    return ctx.scheme


@phase_checked(REQUEST)
def get_host(ctx: Context) -> str:
    """The host of the request URL (the Host header without the port), lower-case.

    Example:
        Lua: local host = kong.request.get_host() -- "example.com"
        Python: host = kong.request.get_host()  # "example.com"
    """
    return ctx.host


@phase_checked(NOT_INIT_WORKER)
def get_port(ctx: Context) -> int:
    """The local port the request was received on.

    Example:
        Lua: local port = kong.request.get_port() -- 8000
        Python: port = kong.request.get_port()  # 8000
    """
    return ctx.port


@phase_checked(REQUEST)
def get_forwarded_scheme(ctx: Context) -> str:
    """The scheme from ``X-Forwarded-Proto`` when the client is trusted, else ``get_scheme()``.

    The header is honoured only when the direct peer is in ``trusted_ips``; the result is lower-case.

    Example:
        Lua: local scheme = kong.request.get_forwarded_scheme() -- "https"
        Python: scheme = kong.request.get_forwarded_scheme()  # "https"
    """
    return _forwarded.scheme(ctx)


@phase_checked(REQUEST)
def get_forwarded_host(ctx: Context) -> str:
    """The host from ``X-Forwarded-Host`` when the client is trusted, else ``get_host()``.

    Any ``user@`` part and ``:port`` suffix are removed and the result is lower-cased.

    Example:
        Lua: local host = kong.request.get_forwarded_host() -- "example.com"
        Python: host = kong.request.get_forwarded_host()  # "example.com"
    """
    return _forwarded.host(ctx)


@phase_checked(REQUEST)
def get_forwarded_port(ctx: Context) -> int:
    """The port from ``X-Forwarded-Port`` (or the port in ``X-Forwarded-Host``) when trusted.

    Falls back to ``get_port()`` when the client is not trusted or sends no valid port.

    Example:
        Lua: local port = kong.request.get_forwarded_port() -- 443
        Python: port = kong.request.get_forwarded_port()  # 443
    """
    return _forwarded.port(ctx)


@phase_checked(REQUEST)
def get_forwarded_path(ctx: Context) -> str:
    """The path from ``X-Forwarded-Path`` when the client is trusted, else ``get_path()``.

    Example:
        Lua: local path = kong.request.get_forwarded_path() -- "/v1/users"
        Python: path = kong.request.get_forwarded_path()  # "/v1/users"
    """
    return _forwarded.path(ctx)


@phase_checked(REQUEST)
def get_forwarded_prefix(ctx: Context) -> str | None:
    """The prefix from ``X-Forwarded-Prefix`` when trusted, else the prefix the route stripped.

    None when no prefix was forwarded and ``strip_path`` stripped nothing.

    Example:
        Lua: local prefix = kong.request.get_forwarded_prefix() -- "/api"
        Python: prefix = kong.request.get_forwarded_prefix()  # "/api"
    """
    return _forwarded.prefix(ctx)


@phase_checked(REQUEST)
def get_http_version(ctx: Context) -> float | None:
    """The HTTP version of the request: ``1.0``, ``1.1`` or ``2.0``.

    Example:
        Lua: local v = kong.request.get_http_version() -- 1.1
        Python: v = kong.request.get_http_version()  # 1.1
    """
    return ctx.http_version


@phase_checked(REQUEST)
def get_method(ctx: Context) -> str:
    """The request method, upper-case, e.g. ``"GET"``.

    Example:
        Lua: local method = kong.request.get_method() -- "GET"
        Python: method = kong.request.get_method()  # "GET"
    """
    return ctx.method


@phase_checked(REQUEST)
def get_path(ctx: Context) -> str:
    """The normalized request path, without the query string.

    Normalized as RFC 3986 section 6 says: dot segments resolved, ``//`` merged,
    unreserved ``%XX`` decoded.

    Example:
        Lua: local path = kong.request.get_path() -- "/v1/movies"
        Python: path = kong.request.get_path()  # "/v1/movies"
    """
    return ctx.path


@phase_checked(REQUEST)
def get_raw_path(ctx: Context) -> str:
    """The request path as received (up to ``?``), not normalized.

    Example:
        Lua: local path = kong.request.get_raw_path() -- "/v1/./movies"
        Python: path = kong.request.get_raw_path()  # "/v1/./movies"
    """
    return ctx.raw_path


@phase_checked(REQUEST)
def get_path_with_query(ctx: Context) -> str:
    """The path and query string as received, e.g. ``"/v1/movies?movie=foo"``.

    Example:
        Lua: local uri = kong.request.get_path_with_query() -- "/v1/movies?movie=foo"
        Python: uri = kong.request.get_path_with_query()  # "/v1/movies?movie=foo"
    """
    return ctx.request_uri


@phase_checked(REQUEST)
def get_raw_query(ctx: Context) -> str:
    """The query string as received, without the leading ``?`` (``""`` when there is none).

    Example:
        Lua: local q = kong.request.get_raw_query() -- "msg=hello%20world&bar"
        Python: q = kong.request.get_raw_query()  # "msg=hello%20world&bar"
    """
    return ctx.raw_query


@phase_checked(REQUEST)
def get_query_arg(ctx: Context, name: str) -> str | bool | None:
    """The value of one query argument (the first one if repeated), URL-decoded.

    Args:
        name: the argument name.

    Returns:
        The value, ``True`` for an argument without ``=``, or None when absent.

    Raises:
        PDKArgumentError: ``name`` is not a string.

    Example:
        Lua: local v = kong.request.get_query_arg("page") -- "2"
        Python: v = kong.request.get_query_arg("page")  # "2"
    """
    if not isinstance(name, str):
        raise PDKArgumentError("query argument name must be a string")
    value = query_args(ctx).get(name)
    return value[0] if isinstance(value, list) else value


@phase_checked(REQUEST)
def get_query(ctx: Context, max_args: int | None = None) -> dict[str, Any]:
    """The query arguments as a dict, URL-decoded.

    Args:
        max_args: the most arguments to parse, 1..1000 (default ``lua_max_uri_args``, 100).

    Returns:
        ``{name: value}`` where a value is a string, ``True`` (no ``=``) or a list
        of these for a repeated name.

    Raises:
        PDKArgumentError: ``max_args`` is not a number in 1..1000.

    Example:
        Lua: local args = kong.request.get_query() -- { page = "2", debug = true }
        Python: args = kong.request.get_query()  # {"page": "2", "debug": True}
    """
    if max_args is None:
        return {k: v[:] if isinstance(v, list) else v for k, v in query_args(ctx).items()}
    return parse_args(ctx.raw_query, check_max(max_args, "max_args"))


@phase_checked(REQUEST)
def get_header(ctx: Context, name: str) -> str | None:
    """The first value of a request header.

    The name is case-insensitive and ``_`` may stand for ``-``.  Headers an earlier
    plugin set, added or cleared with ``kong.service.request`` read as they were left,
    as under nginx (where those functions change the request's headers).

    Args:
        name: the header name.

    Returns:
        The value, or None when the header is absent.

    Raises:
        PDKArgumentError: ``name`` is not a string.

    Example:
        Lua: local v = kong.request.get_header("X-Foo")
        Python: v = kong.request.get_header("X-Foo")
    """
    # nothing edited (see _untouched, inlined on this hot path): the client's headers
    if ctx._upstream_headers is None and ctx.upstream_host_header is None and ctx.upstream_body is None:
        return lookup(ctx.headers, name)
    if name.__class__ is not str:
        raise PDKArgumentError("header name must be a string")
    lname = name.lower()
    values = request_header_values(ctx, lname)
    if not values and "_" in lname:
        values = request_header_values(ctx, lname.replace("_", "-"))
    return values[0] if values else None


@phase_checked(REQUEST)
def get_headers(ctx: Context, max_headers: int | None = None) -> HeaderDict:
    """The request headers (as earlier plugins left them, see ``get_header``).

    Args:
        max_headers: the most header lines to read, 1..1000 (default ``lua_max_req_headers``, 100).

    Returns:
        A dict keyed by lower-case name; a repeated header gives a list of values.
        Lookups ignore case and accept ``_`` for ``-``.

    Raises:
        PDKArgumentError: ``max_headers`` is not a number in 1..1000.

    Example:
        Lua: local headers = kong.request.get_headers() -- headers["x-foo"]
        Python: headers = kong.request.get_headers()  # headers["x-foo"]
    """
    headers = ctx.headers if _untouched(ctx) else request_header_items(ctx)
    if max_headers is None:
        return header_dict(headers, settings_of(ctx).lua_max_req_headers)
    return header_dict(headers, check_max(max_headers, "max_headers"))


@phase_checked(BODY_IN)
def get_raw_body(ctx: Context, max_allowed_file_size: int | None = None) -> bytes:
    """The request body.

    Moongate buffers bodies up to ``client_body_buffer_size`` and never spools them
    to disk, so ``max_allowed_file_size`` is accepted for compatibility only.

    Args:
        max_allowed_file_size: ignored (Kong reads a spooled body up to this size).

    Returns:
        The body bytes, ``b""`` when there is none.

    Raises:
        PDKError: the body was larger than ``client_body_buffer_size``.

    Example:
        Lua: local body, err = kong.request.get_raw_body()
        Python: body = kong.request.get_raw_body()
    """
    if ctx.body_too_large:
        raise PDKError(BODY_TOO_LARGE)
    return ctx.body or b""


@phase_checked(BODY_IN)
def get_body(
    ctx: Context,
    mimetype: str | None = None,
    max_args: int | None = None,
    max_allowed_file_size: int | None = None,
) -> Any:
    """The request body decoded by its content type.

    Supported types: ``application/x-www-form-urlencoded`` and ``multipart/form-data``
    (a dict of strings or lists of strings) and ``application/json`` (a dict or list).

    Args:
        mimetype: decode as this type instead of the Content-Type header.
        max_args: the most form arguments to parse, 1..1000 (default ``lua_max_post_args``, 100).
        max_allowed_file_size: ignored, see ``get_raw_body``.

    Returns:
        The decoded body.

    Raises:
        PDKArgumentError: ``mimetype`` is not a string or ``max_args`` is out of range.
        PDKError: ``missing content type``, ``unsupported content type '...'``,
            ``invalid json body``, ``unable to decode multipart body`` or a body too large.

    Example:
        Lua: local body, err, mimetype = kong.request.get_body()
        Python: body = kong.request.get_body()
    """
    if mimetype is not None and not isinstance(mimetype, str):
        raise PDKArgumentError("mimetype must be a string")
    limit = settings_of(ctx).lua_max_post_args if max_args is None else check_max(max_args, "max_args")
    content_type = mimetype or ctx.headers.get("Content-Type")
    if not content_type:
        raise PDKError("missing content type")
    if ctx.body_too_large and supported_mime(content_type):
        raise PDKError(BODY_TOO_LARGE)
    return decode_body(ctx.body or b"", content_type, limit)


@phase_checked(REQUEST)
def get_start_time(ctx: Context) -> int:
    """When the request arrived, in milliseconds since the epoch.

    Example:
        Lua: local ms = kong.request.get_start_time() -- 1700000000123
        Python: ms = kong.request.get_start_time()  # 1700000000123
    """
    return int(ctx.started_at * 1000)


@phase_checked(REQUEST)
def get_uri_captures(ctx: Context) -> dict[str, Any]:
    """The captures of the route's regex path: ``{"unnamed": [...], "named": {...}}``.

    Example:
        Lua: local id = kong.request.get_uri_captures().named.id
        Python: id = kong.request.get_uri_captures()["named"]["id"]
    """
    captures = ctx.uri_captures or {}
    return {"unnamed": list(captures.get("unnamed") or ()), "named": dict(captures.get("named") or {})}
