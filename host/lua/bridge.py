"""The PDK for Lua: every ``kong.*`` function of :mod:`pdk` as a Lua-callable function.

There is one PDK implementation, in :mod:`pdk`.  This module wraps each public
function for Lua once per runtime (:func:`lua_function`) and hands the wrapped
functions to the Lua module ``moongate.kong`` (``host/lua/lua/modules/moongate.kong.lua``),
which builds the ``kong`` table with Kong's Lua conventions:

* arguments arrive as Lua values and are converted (strings to ``str``, tables to
  dicts/lists); results go back as Lua values (dicts and lists become tables);
* caller misuse (:class:`~pdk.errors.PDKArgumentError`, a phase error, any other
  exception) is raised as a Lua error; an operational failure
  (:class:`~pdk.errors.PDKError`) returns ``nil, err``;
* ``kong.response.exit``/``error`` end the handler (its coroutine is never resumed).

One crossing per PDK call: the Lua wrapper calls the Python function once and only
checks the first result for the raise/exit markers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lupa.luajit21 import lua_type

from host.context import current_context
from host.lua import entity_refs
from host.lua.table_view import LuaTableView, lua_to_shared
from host.version import KONG_COMPAT_VERSION, KONG_COMPAT_VERSION_NUM
from pdk import NAMESPACES
from pdk.errors import ExitSignal, PDKArgumentError, PDKError, PDKPhaseError

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

__all__ = ["install", "lua_function", "FlatPairs", "RAISE", "EXIT"]

RAISE = b"\0moongate:raise"
EXIT = b"\0moongate:exit"
_SCALARS = frozenset({int, float, bool, bytes, type(None)})
_MISUSE = (PDKArgumentError, PDKPhaseError)


def lua_function(host: LuaHost, fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    """Wrap ``fn`` for Lua: convert arguments and results, map errors to Kong's conventions.

    The wrapper returns ``RAISE, message`` for a Lua error and ``EXIT`` after
    ``kong.response.exit``; the Lua side (``H.wrap``) turns those into ``error()``
    and the end of the handler.  For a ``@phase_checked`` function the phase is
    checked here and its implementation called directly (one Python frame less:
    this is the hot path of every PDK call from Lua).
    """
    to_lua = host.to_lua
    arg = host.to_python  # bytes -> str, tables -> dict/list, the null sentinel -> None

    impl = getattr(fn, "__pdk_impl__", None)
    mask = int(getattr(fn, "__phases__", 0))

    def invoke(args: tuple[Any, ...]) -> Any:
        """The general call: any function, any arguments (converted one by one)."""
        if impl is None:
            return fn(*map(arg, args))
        ctx = current_context()
        if not ctx.phase & mask:
            return fn(*args)  # raises the phase error with Kong's wording
        return impl(ctx, *map(arg, args))

    def call(*args: Any) -> Any:
        try:
            # the hot path, inline: a phase-checked function called in its phases
            # with up to two string arguments (get_header, set_header, ...)
            ctx = current_context()
            if impl is not None and ctx.phase & mask:
                n = len(args)
                if n == 1:
                    a0 = args[0]
                    if a0.__class__ is bytes:
                        result = impl(ctx, a0.decode("utf-8", "surrogateescape"))
                    else:
                        result = impl(ctx, arg(a0))
                elif n == 2:
                    a0, a1 = args
                    if a0.__class__ is bytes and a1.__class__ is bytes:
                        result = impl(
                            ctx, a0.decode("utf-8", "surrogateescape"), a1.decode("utf-8", "surrogateescape")
                        )
                    else:
                        result = impl(ctx, arg(a0), arg(a1))
                elif n == 0:
                    result = impl(ctx)
                else:
                    result = impl(ctx, *map(arg, args))
            else:
                result = invoke(args)
        except ExitSignal:
            return EXIT
        except _MISUSE as exc:
            return RAISE, str(exc).encode("utf-8", "surrogateescape")
        except PDKError as exc:
            return None, str(exc).encode("utf-8", "surrogateescape")
        except Exception as exc:  # noqa: BLE001 - reaches the plugin as a Lua error
            return RAISE, f"{name}: {exc}".encode("utf-8", "surrogateescape")
        if result is None:
            return None
        cls = result.__class__
        if cls is str:
            return result.encode("utf-8", "surrogateescape")
        if cls in _SCALARS:
            return result
        if cls is FlatPairs:  # bytes already: several Lua results as they are
            return result
        if cls is tuple:  # several Lua results
            return tuple(map(to_lua, result))
        return to_lua(result)

    call.__name__ = name
    return call


def _namespace_functions(public_name: str, module_name: str) -> dict[str, Callable[..., Any]]:
    module = importlib.import_module(module_name)
    obj = getattr(module, "PDK_NAMESPACE", None)
    if obj is not None:  # kong.log (callable object), kong.ctx (properties)
        names = [n for n in getattr(module, "__all__", []) if callable(getattr(module, n, None))]
        return {n: getattr(module, n) for n in names}
    return {n: getattr(module, n) for n in module.__all__}


def _get_body_with_mime(fn: Callable[..., Any], content_type: Callable[[], str | None]) -> Callable[..., Any]:
    """``get_body`` as Kong's Lua returns it: ``body, nil, mime`` or ``nil, err, mime``."""
    from pdk._body import supported_mime

    def get_body(mimetype: str | None = None, *rest: Any) -> Any:
        ctype = mimetype or content_type()
        mime = (supported_mime(ctype) or ctype.partition(";")[0].strip().lower()) if ctype else None
        try:
            return fn(mimetype, *rest), None, mime
        except PDKError as exc:
            if isinstance(exc, _MISUSE):
                raise
            return None, str(exc), mime

    return get_body


def _request_content_type() -> str | None:
    return current_context().headers.get("Content-Type")


def _service_content_type() -> str | None:
    headers = current_context().service_headers
    return headers.get("Content-Type") if headers else None


def _uri_captures_zero_based(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Kong's ``unnamed`` captures are keyed from 0 (the whole match) in Lua."""

    def get_uri_captures() -> Any:
        captures = fn()
        unnamed = {i: v for i, v in enumerate(captures["unnamed"]) if v is not None}
        return {"unnamed": unnamed, "named": captures["named"]}

    return get_uri_captures


class FlatPairs(tuple):  # type: ignore[type-arg]
    """``name, value, name, value, ...`` (bytes) as several Lua results: a header table
    crosses as one call's results and ``moongate.kong`` builds the table in Lua (a
    repeated name becomes an array), instead of one ``table_from`` per table."""


def _flat_headers(fn: Callable[..., Any]) -> Callable[..., Any]:
    """A ``get_headers`` whose result reaches Lua as :class:`FlatPairs`."""

    def get_headers(*args: Any) -> FlatPairs:
        out: list[bytes] = []
        add = out.append
        for name, value in fn(*args).items():
            key = name.encode("utf-8", "surrogateescape")
            if value.__class__ is list:
                for item in value:
                    add(key)
                    add(item.encode("utf-8", "surrogateescape"))
            else:
                add(key)
                add(value.encode("utf-8", "surrogateescape"))
        return FlatPairs(out)

    return get_headers


def _flat_request_headers(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``kong.request.get_headers`` as :class:`FlatPairs`, read straight from the request
    when called without ``max_headers`` in its phases (the Lua side merges repeats)."""
    from pdk._headers import request_header_items
    from pdk._settings import settings_of

    general = _flat_headers(fn)
    mask = int(fn.__phases__)

    def get_headers(*args: Any) -> FlatPairs:
        ctx = current_context()
        if args or not ctx.phase & mask:
            return general(*args)  # max_headers given (checked there), or the phase error
        limit = settings_of(ctx).lua_max_req_headers
        out: list[bytes] = []
        add = out.append
        items = request_header_items(ctx)  # as earlier plugins left them (the client's if unedited)
        for count, (name, value) in enumerate(items if items.__class__ is list else items.items()):
            if count >= limit:
                break
            add(name.lower().encode("utf-8", "surrogateescape"))
            add(value.encode("utf-8", "surrogateescape"))
        return FlatPairs(out)

    return get_headers


def _serialize_for_lua(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``kong.log.serialize`` without copying the entities: the table is converted to Lua
    (a copy) at once, so the Python copies would be wasted."""
    from pdk import _serialize

    mask = int(fn.__phases__)

    def serialize() -> Any:
        ctx = current_context()
        if not ctx.phase & mask:
            return fn()  # raises the phase error
        return _serialize.serialize(ctx, shared=True)

    return serialize


#: PDK functions whose Lua form differs from the Python one
_LUA_FORMS: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "request.get_body": lambda fn: _get_body_with_mime(fn, _request_content_type),
    "service.response.get_body": lambda fn: _get_body_with_mime(fn, _service_content_type),
    "request.get_uri_captures": _uri_captures_zero_based,
    "request.get_headers": _flat_request_headers,
    "log.serialize": _serialize_for_lua,
    "response.get_headers": _flat_headers,
    "service.response.get_headers": _flat_headers,
}


def pdk_table(host: LuaHost) -> Any:
    """``{namespace = {fn = wrapped, ...}, ...}`` for every PDK namespace (dotted names flat)."""
    tables: dict[bytes, Any] = {}
    for public_name, module_name in NAMESPACES:
        functions = {}
        for fname, fn in _namespace_functions(public_name, module_name).items():
            form = _LUA_FORMS.get(f"{public_name}.{fname}")
            functions[fname.encode()] = lua_function(host, form(fn) if form else fn, f"kong.{public_name}.{fname}")
        tables[public_name.encode()] = host.runtime.table_from(functions)
    tables[b"version"] = KONG_COMPAT_VERSION.encode()
    tables[b"version_num"] = KONG_COMPAT_VERSION_NUM
    return host.runtime.table_from(tables)


def _ctx_shared_get(host: LuaHost) -> Callable[[Any], Any]:
    to_lua = host.to_lua

    def get(key: Any) -> Any:
        ctx = current_context()
        if key.__class__ is bytes:
            key = key.decode("utf-8", "surrogateescape")
        value = ctx.shared.get(key)
        cls = value.__class__
        if cls is str:
            return value.encode("utf-8", "surrogateescape")
        if cls is LuaTableView:
            if value.owner is None or value.owner is host:
                return value.table  # the very table a Lua plugin stored
            return to_lua(value.owner.to_python(value.table))  # another runtime's: a copy
        if cls in _SCALARS or lua_type(value) is not None:
            return value
        return to_lua(value)  # Python data: Lua gets a copy

    return get


def _ctx_shared_set(host: LuaHost) -> Callable[[Any, Any], None]:
    def set_(key: Any, value: Any) -> None:
        ctx = current_context()
        if key.__class__ is bytes:
            key = key.decode("utf-8", "surrogateescape")
        if value is None:
            ctx.shared.pop(key, None)
        else:
            ctx.shared[key] = lua_to_shared(value, host)

    return set_


def _configuration_get(host: LuaHost) -> Callable[[Any], Any]:
    from pdk import kong

    def get(key: Any) -> Any:
        name = key.decode() if key.__class__ is bytes else str(key)
        try:
            value = getattr(kong.configuration, name)
        except (AttributeError, KeyError):
            return None
        return host.to_lua(value)

    return get


def _configuration_remove_sensitive(host: LuaHost) -> Callable[[], Any]:
    from pdk import kong

    def remove_sensitive() -> Any:
        return host.to_lua(kong.configuration.remove_sensitive())

    return remove_sensitive


def install(host: LuaHost) -> None:
    """Build ``kong`` (and ``ngx``) in the runtime, before any plugin is loaded."""
    helpers = host.runtime.table_from(
        {
            b"pdk": pdk_table(host),
            b"shared_get": _ctx_shared_get(host),
            b"shared_set": _ctx_shared_set(host),
            b"configuration_get": _configuration_get(host),
            b"configuration_remove_sensitive": _configuration_remove_sensitive(host),
            **entity_refs.helpers(lambda fn, name: lua_function(host, fn, name)),
        }
    )
    host.H.bridge = helpers
    host.H.kong = host.require("moongate.kong")
    host.H.ngx = host.require("moongate.ngx")
