"""Python half of ``moongate.ngx_base``: OpenResty's request API over the one request context.

``ngx.var``, ``ngx.req``, ``ngx.header``, ``ngx.status``, ``ngx.exit``, ``ngx.say`` and
``ngx.arg`` read and write the :class:`~host.context.Context` fields the PDK uses, through
the PDK's own implementations where one exists (``kong.service.request.set_header`` for
``ngx.req.set_header``, ``kong.response.error`` for ``ngx.exit(403)``, ...), so a plugin
mixing ``ngx.*`` and ``kong.*`` sees one request.  The nginx variables Kong's runloop
sets map onto the context as Kong fills them: ``$upstream_uri`` is the router's path
until a plugin sets it, ``$args`` is the query sent upstream, ``$http_*`` are the
request headers as they will be sent upstream.

Every function is wrapped by :func:`host.lua.bridge.lua_function`: misuse raises a Lua
error (with OpenResty's wording), results are converted for Lua.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from multidict import CIMultiDict

from host.context import current_context
from host.lua.bridge import RAISE, lua_function
from host.lua.modules import _ngx_vars as V
from pdk._body import parse_args
from pdk._exit import store_error, store_exit
from pdk._headers import header_dict
from pdk._settings import settings_of
from pdk.errors import PDKArgumentError
from pdk.phases import REQUEST, Phase
from pdk.response import clear_header as _resp_clear
from pdk.response import set_header as _resp_set
from pdk.service.request import clear_header as _up_clear
from pdk.service.request import set_header as _up_set
from pdk.service.request import set_method as _up_method
from pdk.service.request import set_query as _up_query
from pdk.service.request import set_raw_body as _up_body
from pdk.service.request import set_raw_query as _up_raw_query

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context
    from host.lua.runtime import LuaHost

logger = logging.getLogger("moongate.plugin")

#: ngx log levels (ngx.EMERG=1 .. ngx.DEBUG=8, STDERR=0) -> logging levels
_LEVELS = {0: 60, 1: 60, 2: 55, 3: 50, 4: 40, 5: 30, 6: 25, 7: 20, 8: 10}
_P = Phase
#: our phases -> ngx.get_phase() names, and OpenResty's context names (for its errors)
_PHASES = {
    int(_P.init_worker): (b"init_worker", "init_worker_by_lua*"),
    int(_P.configure): (b"timer", "ngx.timer"),
    int(_P.certificate): (b"ssl_cert", "ssl_certificate_by_lua*"),
    int(_P.rewrite): (b"rewrite", "rewrite_by_lua*"),
    int(_P.access): (b"access", "access_by_lua*"),
    int(_P.balancer): (b"balancer", "balancer_by_lua*"),
    int(_P.response): (b"content", "content_by_lua*"),
    int(_P.header_filter): (b"header_filter", "header_filter_by_lua*"),
    int(_P.body_filter): (b"body_filter", "body_filter_by_lua*"),
    int(_P.log): (b"log", "log_by_lua*"),
    int(_P.error): (b"content", "content_by_lua*"),
    int(_P.admin_api): (b"content", "content_by_lua*"),
}
_REQUEST = int(REQUEST)
#: phases that produce the response body (ngx.say buffers, ngx.exit ends the request)
_CONTENT = int(_P.rewrite | _P.access | _P.response | _P.error | _P.admin_api)
#: ngx.HTTP_* method numbers (ngx.req.set_method)
METHODS = {1 << i: m for i, m in enumerate(("GET", "HEAD", "POST", "PUT", "DELETE", "MKCOL", "COPY"), 1)}
METHODS.update({1 << i: m for i, m in enumerate(("MOVE", "OPTIONS", "PROPFIND", "PROPPATCH"), 8)})
METHODS.update({1 << i: m for i, m in enumerate(("LOCK", "UNLOCK", "PATCH", "TRACE"), 12)})
_REASONS = {301: "Moved Permanently", 302: "Found", 303: "See Other", 307: "Temporary Redirect"}
_REASONS[308] = "Permanent Redirect"
_OUTPUT = "ngx_output"


def _impl(fn: Any) -> Any:
    """The PDK function without its phase check (ngx.* has OpenResty's contexts instead)."""
    return fn.__pdk_impl__


_ctx = V.request_context


def _context_name(ctx: Context) -> str:
    if ctx.extra.get("timer"):
        return "ngx.timer"
    return _PHASES.get(int(ctx.phase), (b"", "ngx.timer"))[1]


def _disabled(ctx: Context) -> PDKArgumentError:
    return PDKArgumentError(f"API disabled in the context of {_context_name(ctx)}")


def _truncated(result: Any, count: int, limit: int) -> Any:
    return (result, "truncated") if count > limit else result


def _limit(value: Any, default: int) -> int:
    if value is None or value == 0:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PDKArgumentError("bad argument #1 (number expected)")
    return int(value) if value > 0 else 1 << 30


def _headers_table(items: list[tuple[str, str]], limit: int, raw: bool) -> Any:
    if not raw:
        return _truncated(dict(header_dict(CIMultiDict(items), limit)), len(items), limit)
    out: dict[str, Any] = {}
    for name, value in items[:limit]:
        prev = out.get(name)
        out[name] = value if prev is None else [*prev, value] if isinstance(prev, list) else [prev, value]
    return _truncated(out, len(items), limit)


def _take_output(ctx: Context) -> bytes | None:
    chunks = ctx.extra.pop(_OUTPUT, None)
    return b"".join(chunks) if chunks is not None else None


# -- ngx.req ------------------------------------------------------------------------------
def req_get_headers(max_headers: Any = None, raw: Any = False) -> Any:
    ctx = _ctx()
    limit = _limit(max_headers, settings_of(ctx).lua_max_req_headers)
    return _headers_table(V.request_headers(ctx), limit, bool(raw))


def req_set_header(name: Any, value: Any = None) -> None:
    ctx = _ctx()
    if value is None:
        _impl(_up_clear)(ctx, name)
    elif isinstance(value, list) and not value:
        raise PDKArgumentError("bad 'value' argument: non-empty table expected")
    else:
        _impl(_up_set)(ctx, name, value)


def req_clear_header(name: Any) -> None:
    _impl(_up_clear)(_ctx(), name)


def _args_table(query: str, limit: int) -> Any:
    return _truncated(parse_args(query, limit), sum(1 for p in query.split("&") if p), limit)


def req_get_uri_args(max_args: Any = None) -> Any:
    ctx = _ctx()
    return _args_table(V.current_args(ctx), _limit(max_args, settings_of(ctx).lua_max_uri_args))


def req_get_post_args(max_args: Any = None) -> Any:
    ctx = _ctx()
    if ctx.body_too_large:
        return None, "request body in temp file not supported"
    body = ctx.upstream_body if ctx.upstream_body is not None else ctx.body
    if body is None:
        raise PDKArgumentError("no request body found; maybe you should turn on lua_need_request_body?")
    limit = _limit(max_args, settings_of(ctx).lua_max_post_args)
    return _args_table(body.decode("utf-8", "surrogateescape"), limit)


def req_get_method() -> str:
    ctx = _ctx()
    return ctx.upstream_method or ctx.method


def req_set_method(method: Any) -> None:
    ctx = _ctx()
    if isinstance(method, bool) or not isinstance(method, int | float):
        raise PDKArgumentError("bad method number")
    name = METHODS.get(int(method))
    if name is None:
        raise PDKArgumentError(f"unsupported HTTP method: {int(method)}")
    _impl(_up_method)(ctx, name)


def req_http_version() -> float:
    return float(_ctx().http_version)


def req_start_time() -> float:
    return _ctx().started_at


def req_raw_header(no_request_line: Any = False) -> str:
    ctx = _ctx()
    lines = [] if no_request_line else [V.request_line(ctx)]
    lines += [f"{name}: {value}" for name, value in ctx.headers.items()]
    return "\r\n".join(lines) + "\r\n\r\n"


def req_set_uri(uri: Any, jump: Any = False, binary: Any = False) -> None:
    ctx = _ctx()
    if not isinstance(uri, str):
        raise PDKArgumentError("bad argument #1 to 'set_uri' (string expected)")
    if not uri:
        raise PDKArgumentError("attempt to use zero-length uri")
    if jump and ctx.phase != int(_P.rewrite):
        raise _disabled(ctx)
    bad = next((ch for ch in uri if ord(ch) <= 0x20 or ch == "\x7f"), None) if not binary else None
    if bad is not None:
        shown = uri.encode("unicode_escape").decode()
        raise PDKArgumentError(
            f'unsafe byte "0x{ord(bad):02x}" in uri "{shown}" (maybe you want to set the \'binary\' argument?)'
        )
    ctx.extra["ngx_uri"] = uri
    ctx.extra["ngx_internal"] = True


def req_set_uri_args(args: Any) -> None:
    ctx = _ctx()
    if isinstance(args, str):
        _impl(_up_raw_query)(ctx, args)
    elif isinstance(args, dict | list) and not args:
        ctx.upstream_query = ""
    elif isinstance(args, dict):
        _impl(_up_query)(ctx, args)
    else:
        raise PDKArgumentError("bad argument #1 to 'set_uri_args' (string or table expected)")


def req_get_body_data() -> bytes | None:
    ctx = _ctx()
    body = ctx.upstream_body if ctx.upstream_body is not None else ctx.body
    return body or None


def req_set_body_data(data: Any) -> None:
    _impl(_up_body)(_ctx(), data)


def req_is_internal() -> bool:
    return bool(_ctx().extra.get("ngx_internal"))


# -- the response: ngx.header, ngx.status, ngx.exit, ngx.say, ngx.arg ---------------------------
def header_get(name: Any) -> Any:
    values = _ctx().response_headers.getall(str(name).replace("_", "-"), ())
    if not values:
        return None
    return values[0] if len(values) == 1 else list(values)


def header_set(name: Any, value: Any = None) -> None:
    ctx = _ctx()
    if ctx.headers_sent:
        logger.error("attempt to set ngx.header.HEADER after sending out response headers")
    elif value is None or (isinstance(value, list) and not value):
        _impl(_resp_clear)(ctx, str(name))
    else:
        _impl(_resp_set)(ctx, str(name), value)


def resp_get_headers(max_headers: Any = None, raw: Any = False) -> Any:
    ctx = _ctx()
    limit = _limit(max_headers, settings_of(ctx).lua_max_resp_headers)
    return _headers_table(list(ctx.response_headers.items()), limit, bool(raw))


def status_get() -> int:
    return _ctx().status


def status_set(value: Any) -> None:
    ctx = _ctx()
    if ctx.headers_sent:
        logger.error("attempt to set ngx.status after sending out response headers")
        return
    try:
        if isinstance(value, bool) or value is None:
            raise ValueError
        ctx.status = int(value)
    except (ValueError, TypeError):
        raise PDKArgumentError("attempt to set ngx.status to a non-number value") from None


def headers_sent() -> bool:
    return bool(current_context().headers_sent)


def exit_request(status: Any) -> None:
    """The state ``ngx.exit(status)`` leaves; the Lua side then ends the handler."""
    ctx = current_context()
    if isinstance(status, bool) or not isinstance(status, int | float):
        raise PDKArgumentError("bad argument #1 to 'exit' (number expected)")
    if not ctx.phase & _CONTENT:
        return  # outside a request, or a filter/log phase: only the handler ends
    status = int(status)
    body = _take_output(ctx)
    if ctx.headers_sent:
        raise PDKArgumentError(
            f"attempt to set status {status} via ngx.exit after sending out the response status"
        )
    if status in (0, -4, -5):  # ngx.OK, ngx.DONE, ngx.DECLINED: the handler ends (with any ngx.say output)
        if body is not None:
            store_exit(ctx, ctx.status, body, [])
        return
    if status < 0:  # ngx.ERROR, ngx.AGAIN
        status = 500
    if status >= 400:  # through Kong's error handler: a negotiated error body
        store_error(ctx, min(status, 599), None, [])
    else:
        store_exit(ctx, status, body, [])


def redirect(uri: Any, status: Any = None) -> None:
    ctx = _ctx()
    status = 302 if status is None else status
    if status not in _REASONS:
        raise PDKArgumentError(
            "only ngx.HTTP_MOVED_TEMPORARILY, ngx.HTTP_MOVED_PERMANENTLY, ngx.HTTP_PERMANENT_REDIRECT, "
            "ngx.HTTP_SEE_OTHER, and ngx.HTTP_TEMPORARY_REDIRECT are allowed"
        )
    if not isinstance(uri, str):
        raise PDKArgumentError("bad argument #1 to 'redirect' (string expected)")
    if not ctx.phase & _CONTENT:
        raise _disabled(ctx)
    if uri.startswith("/"):  # nginx's absolute_redirect
        uri = f"{ctx.scheme}://{V.host_port(ctx.host, ctx.scheme, ctx.port)}{uri}"
    title = f"{status} {_REASONS[status]}"
    body = f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<h1>{title}</h1>\r\n</body>\r\n</html>\r\n"
    _take_output(ctx)
    store_exit(ctx, int(status), body, [("Location", uri), ("Content-Type", "text/html")])


def output(data: str) -> int:
    """``ngx.say``/``ngx.print``: buffered as the body ``ngx.exit`` sends."""
    ctx = current_context()
    if ctx.phase & _CONTENT:
        ctx.extra.setdefault(_OUTPUT, []).append(data.encode("utf-8", "surrogateescape"))
        return 1
    if ctx.phase & _REQUEST:
        raise _disabled(ctx)
    logger.log(25, "ngx.print outside a request: %s", data.rstrip("\n"), extra={"plugin": ctx.plugin_name})
    return 1


def eof() -> int:
    ctx = current_context()
    if ctx.phase & _CONTENT and not ctx.exited and not ctx.headers_sent:
        body = _take_output(ctx)
        if body is not None:
            store_exit(ctx, ctx.status, body, [])
    return 1


def arg_get(index: Any) -> Any:
    ctx = current_context()
    if ctx.phase != int(_P.body_filter):
        return None
    if index == 1:
        return ctx.body_chunk or b""
    return bool(ctx.body_eof) if index == 2 else None


def arg_set(index: Any, value: Any) -> None:
    ctx = current_context()
    if ctx.phase != int(_P.body_filter):
        raise _disabled(ctx)
    if index == 1:
        ctx.body_chunk = value.encode("utf-8", "surrogateescape") if value else b""
    elif index == 2:
        ctx.body_eof = bool(value)
    else:
        raise PDKArgumentError("bad index: only ngx.arg[1] and ngx.arg[2] can be set")


# -- ngx.ctx keys Kong's core keeps (read through the PDK when a plugin did not set them) ------
def ctx_fallback(key: str) -> Any:
    ctx = current_context()
    if not ctx.phase & _REQUEST:
        return None
    if key == "authenticated_consumer":
        return ctx.consumer
    if key == "authenticated_credential":
        return ctx.credential
    if key in ("route", "service"):
        return getattr(ctx, key)
    if key == "router_matches":
        captures = ctx.uri_captures or {}
        merged: dict[Any, Any] = dict(enumerate(captures.get("unnamed") or ()))
        merged.update(captures.get("named") or {})
        return {"uri_captures": merged}
    return ctx.shared.get("authenticated_groups") if key == "authenticated_groups" else None


def ctx_authenticate(key: str, value: Any) -> None:
    ctx = _ctx()
    if key == "authenticated_consumer":
        ctx.consumer = value
    else:
        ctx.credential = value
    ctx.auth_shared = False
    ctx.auth_serial += 1


_API = {
    "var_get": V.var_get,
    "var_set": V.var_set,
    "req_get_headers": req_get_headers,
    "req_set_header": req_set_header,
    "req_clear_header": req_clear_header,
    "req_get_uri_args": req_get_uri_args,
    "req_get_post_args": req_get_post_args,
    "req_get_method": req_get_method,
    "req_set_method": req_set_method,
    "req_http_version": req_http_version,
    "req_start_time": req_start_time,
    "req_raw_header": req_raw_header,
    "req_set_uri": req_set_uri,
    "req_set_uri_args": req_set_uri_args,
    "req_get_body_data": req_get_body_data,
    "req_set_body_data": req_set_body_data,
    "req_is_internal": req_is_internal,
    "header_get": header_get,
    "header_set": header_set,
    "resp_get_headers": resp_get_headers,
    "status_get": status_get,
    "status_set": status_set,
    "headers_sent": headers_sent,
    "exit": exit_request,
    "redirect": redirect,
    "output": output,
    "eof": eof,
    "arg_get": arg_get,
    "arg_set": arg_set,
    "ctx_fallback": ctx_fallback,
    "ctx_authenticate": ctx_authenticate,
}


def backing(host: LuaHost) -> dict[str, Any]:
    settings = host.settings
    state = host.state

    def log(level: int, message: bytes) -> None:
        py_level = _LEVELS.get(int(level), logging.ERROR)
        if logger.isEnabledFor(py_level):
            ctx = current_context()
            plugin = ctx.plugin_name
            text = message.decode("utf-8", "replace")
            logger.log(
                py_level,
                f"[{plugin}] {text}" if plugin else text,
                extra={"plugin": plugin, "request_id": ctx.request_id},
            )

    def get_phase() -> bytes:
        ctx = current_context()
        if ctx.extra.get("timer"):
            return b"timer"
        return _PHASES.get(int(ctx.phase), (b"timer", ""))[0]

    def worker_count() -> int:
        return int(getattr(settings, "nginx_worker_processes", 1) or 1) if settings else 1

    def prefix() -> bytes:
        return str(getattr(settings, "prefix", os.getcwd()) if settings else os.getcwd()).encode()

    set_header = _impl(_resp_set)
    to_python = host.to_python

    def header_set_many(*pairs: Any) -> Any:
        """``ngx.header[name] = value`` for each ``name, value`` pair, in one crossing
        (decoded here: the generic bridge wrapper would convert each argument apart)."""
        try:
            ctx = _ctx()
            if ctx.headers_sent:
                logger.error("attempt to set ngx.header.HEADER after sending out response headers")
                return None
            for i in range(0, len(pairs) - 1, 2):
                name, value = pairs[i], pairs[i + 1]
                set_header(
                    ctx,
                    name.decode("utf-8", "surrogateescape") if name.__class__ is bytes else str(name),
                    value.decode("utf-8", "surrogateescape") if value.__class__ is bytes else to_python(value),
                )
        except Exception as exc:  # noqa: BLE001 - a Lua error at the caller, as ngx.header does
            return RAISE, str(exc).encode("utf-8", "surrogateescape")
        return None

    plain = {
        "header_set_many": header_set_many,
        "log": log,
        "get_phase": get_phase,
        "worker_id": lambda: int(state.get("worker_id", 0)),
        "worker_pid": os.getpid,
        "worker_count": worker_count,
        "worker_exiting": lambda: bool(state.get("exiting")),
        "prefix": prefix,
    }
    return {**plain, **{name: lua_function(host, fn, f"ngx.{name}") for name, fn in _API.items()}}
