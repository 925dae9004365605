"""nginx variables (``ngx.var.*``) as Kong's runloop fills them, read from the request context.

``$upstream_uri`` is the router's path until a plugin sets it (the full request target
once the proxy built it), ``$args`` is the query sent upstream, ``$http_*`` are the
request headers as plugins left them (``pdk._headers.request_header_values``), and the
``$upstream_x_forwarded_*`` values come from the proxy's own forwarded-header rules.
Writable, as in Kong: ``upstream_uri``, ``upstream_host``, ``upstream_scheme`` and ``args``.
"""

from __future__ import annotations

import os
import socket
import time
from ipaddress import ip_address
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_to_bytes

from host.context import current_context
from host.proxy.headers import FORWARDED, forwarded_headers
from host.settings import parse_listen
from pdk._headers import lua_tostring, request_header_items, request_header_values
from pdk._settings import settings_of
from pdk.errors import PDKArgumentError
from pdk.phases import REQUEST

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = [
    "var_get",
    "var_set",
    "request_context",
    "request_headers",
    "current_args",
    "request_line",
    "host_port",
]

_REQUEST = int(REQUEST)
_DEFAULT_PORTS = (("http", 80), ("https", 443))
#: the variables Kong's nginx template declares with ``set`` that Moongate maps, and $args
_WRITABLE = ("upstream_uri", "upstream_host", "upstream_scheme", "args")


def request_context() -> Context:
    """The current request's context; OpenResty's "no request found" outside requests."""
    ctx = current_context()
    if not ctx.phase & _REQUEST:
        raise PDKArgumentError("no request found")
    return ctx


def current_args(ctx: Context) -> str:
    """``$args``: the query string as it will be sent upstream."""
    return ctx.raw_query if ctx.upstream_query is None else ctx.upstream_query


def request_line(ctx: Context) -> str:
    """``$request``: the request line as received."""
    version = "2.0" if ctx.http_version >= 2 else ("1.0" if ctx.http_version == 1.0 else "1.1")
    return f"{ctx.method} {ctx.request_uri} HTTP/{version}"


def host_port(host: str, scheme: str, port: int) -> str:
    """``host`` or ``host:port`` (the port only when it is not the scheme's default)."""
    return host if (scheme, port) in _DEFAULT_PORTS or not port else f"{host}:{port}"


def _req_header(ctx: Context, name: str) -> str | None:
    """``$http_<name>``: the request header as plugins left it (``request_header_values``)."""
    values = request_header_values(ctx, name)
    return ("; " if name == "cookie" else ", ").join(values) if values else None


def request_headers(ctx: Context) -> list[tuple[str, str]]:
    """The request headers ``ngx.req.get_headers`` shows (``request_header_items``)."""
    items = request_header_items(ctx)
    return items if items.__class__ is list else list(items.items())


def _cookie(ctx: Context, name: str) -> str | None:
    for part in (_req_header(ctx, "cookie") or "").split(";"):
        key, eq, value = part.strip().partition("=")
        if eq and key.lower() == name:
            return value
    return None


def _arg(ctx: Context, name: str) -> str | None:
    for part in current_args(ctx).split("&"):
        key, _, value = part.partition("=")
        if key.lower() == name:
            return value
    return None


def _upstream_uri(ctx: Context) -> str:
    final = ctx.extra.get("upstream_uri")  # the proxy's request target, once it is built
    if final is not None:
        return final
    written = ctx.extra.get("ngx_upstream_uri")
    if written is not None and written[0] == ctx.upstream_path:
        return written[1]
    if ctx.upstream_path is not None:
        return ctx.upstream_path
    match = ctx.router_match
    return match.upstream_path(ctx.path) if match is not None else ""


def _upstream_host(ctx: Context) -> str:
    if ctx.route is not None and ctx.route.get("preserve_host"):
        return ctx.headers.get("Host", "")
    if ctx.upstream_host_header:
        return ctx.upstream_host_header
    if "upstream_uri" in ctx.extra:
        return host_port(ctx.upstream_host, ctx.upstream_scheme, ctx.upstream_port)
    return ""


def _forwarded(name: str) -> Any:
    index = FORWARDED.index(name)

    def get(ctx: Context) -> str:
        return forwarded_headers(ctx)[index] or ""

    return get


def _seconds(value: float) -> str:
    return f"{max(value, 0.0):.3f}"


def _bytes_sent(ctx: Context) -> int:
    head = sum(len(k) + len(v) + 4 for k, v in ctx.response_headers.items())
    return ctx.response_size + head + 19 if ctx.headers_sent else 0


def _server_addr(ctx: Context) -> str:
    return ctx.extra.get("server_addr") or parse_listen(settings_of(ctx).proxy_listen.split(",")[0])[0]


def _upstream_status(ctx: Context) -> str | None:
    return ", ".join(str(t.get("code") or ctx.service_status) for t in ctx.tries) or None


def _upstream_time(ctx: Context) -> str | None:
    return _seconds(ctx.t_upstream_headers - ctx.t_upstream_start) if ctx.tries else None


def _uri(ctx: Context) -> bytes:
    return unquote_to_bytes(ctx.extra.get("ngx_uri") or ctx.path)


_VARS: dict[str, Any] = {
    "request_uri": lambda c: c.request_uri,
    "uri": _uri,
    "document_uri": _uri,
    "args": current_args,
    "query_string": current_args,
    "is_args": lambda c: "?" if current_args(c) else "",
    "host": lambda c: c.host,
    "hostname": lambda c: socket.gethostname(),
    "remote_addr": lambda c: c.client_ip,
    "remote_port": lambda c: c.peer_port,
    "realip_remote_addr": lambda c: c.peer_ip,
    "realip_remote_port": lambda c: c.peer_port,
    "binary_remote_addr": lambda c: ip_address(c.client_ip).packed if c.client_ip else None,
    "server_addr": _server_addr,
    "server_port": lambda c: c.port,
    "server_name": lambda c: "kong",
    "server_protocol": lambda c: request_line(c).rpartition(" ")[2],
    "scheme": lambda c: c.scheme,
    "https": lambda c: "on" if c.scheme == "https" else "",
    "request_method": lambda c: c.upstream_method or c.method,
    "request_length": lambda c: c.request_size,
    "request": request_line,
    "request_time": lambda c: _seconds((c.t_end or time.perf_counter()) - c.t0),
    "request_id": lambda c: c.request_id,
    "kong_request_id": lambda c: c.request_id,
    "content_type": lambda c: _req_header(c, "content-type"),
    "content_length": lambda c: _req_header(c, "content-length"),
    "upstream_uri": _upstream_uri,
    "upstream_host": _upstream_host,
    "upstream_scheme": lambda c: c.upstream_scheme if c.router_match is not None else "",
    "upstream_status": _upstream_status,
    "upstream_addr": lambda c: ", ".join(f"{t['ip']}:{t['port']}" for t in c.tries) or None,
    "upstream_response_time": _upstream_time,
    "connection": lambda c: c.extra.get("connection", 0),
    "connection_requests": lambda c: c.extra.get("connection_requests", 1),
    "status": lambda c: f"{c.status:03d}" if c.headers_sent else "000",
    "bytes_sent": _bytes_sent,
    "body_bytes_sent": lambda c: c.response_size,
    "msec": lambda c: f"{time.time():.3f}",
    "pid": lambda c: os.getpid(),
    "nginx_version": lambda c: "1.25.3",
    "upstream_x_forwarded_for": _forwarded("X-Forwarded-For"),
    "upstream_x_forwarded_proto": _forwarded("X-Forwarded-Proto"),
    "upstream_x_forwarded_host": _forwarded("X-Forwarded-Host"),
    "upstream_x_forwarded_port": _forwarded("X-Forwarded-Port"),
    "upstream_x_forwarded_path": _forwarded("X-Forwarded-Path"),
    "upstream_x_forwarded_prefix": _forwarded("X-Forwarded-Prefix"),
    "upstream_via": _forwarded("Via"),
}
_PREFIXED: tuple[tuple[str, Any], ...] = (
    ("http_", lambda c, n: _req_header(c, n.replace("_", "-"))),
    ("sent_http_", lambda c, n: ", ".join(c.response_headers.getall(n.replace("_", "-"), ())) or None),
    ("upstream_http_", lambda c, n: (c.service_headers or {}).get(n.replace("_", "-"))),
    ("cookie_", _cookie),
    ("arg_", _arg),
    ("ssl_", lambda c, n: None),
)


def var_get(name: Any) -> Any:
    if not isinstance(name, str):
        return None
    ctx = request_context()
    key = name.lower()
    getter = _VARS.get(key)
    if getter is not None:
        value = getter(ctx)
    else:
        for prefix, get in _PREFIXED:
            if key.startswith(prefix):
                value = get(ctx, key[len(prefix) :])
                break
        else:
            return None
    return str(value) if value.__class__ is int else value


def var_set(name: Any, value: Any) -> None:
    ctx = request_context()
    key = str(name).lower()
    if key not in _WRITABLE:
        if key in _VARS or any(key.startswith(p) for p, _ in _PREFIXED):
            raise PDKArgumentError(f'variable "{key}" not changeable')
        raise PDKArgumentError(
            f'variable "{key}" not found for writing; maybe it is a built-in variable that is not '
            f"changeable or you forgot to use \"set ${key} '';\" in the config file to define it first"
        )
    text = None if value is None else (value if isinstance(value, str) else lua_tostring(value))
    if key == "upstream_uri":
        path, sep, query = (text or "").partition("?")
        ctx.upstream_path = path or None
        if sep:
            ctx.upstream_query = query
        ctx.extra["ngx_upstream_uri"] = (ctx.upstream_path, text)
    elif key == "upstream_host":
        ctx.upstream_host_header = text or None
    elif key == "upstream_scheme":
        ctx.upstream_scheme = text or "http"
    else:
        ctx.upstream_query = text or ""
