"""Schema data crossing into Lua: typedef definitions and values handed to Lua validators.

Two directions meet here:

* :func:`definition_to_lua` turns a Python field definition (a typedef of
  :mod:`host.schema.typedefs`) into Lua tables: strings become bytes, ``None``
  (Kong's ``null``, e.g. ``eq = null`` in ``typedefs.no_consumer``) becomes the
  ``ngx.null`` sentinel, and each Python validator becomes a plain function Lua
  can call (:func:`python_function_for_lua`).  That function remembers the
  validator it stands for, so converting the schema back to Python
  (:mod:`host.lua.schema`) finds the very same validator again
  (:func:`python_original`);
* :func:`value_to_lua` turns a value being validated into Lua data for a
  validator written in Lua, keeping ``None`` as ``ngx.null`` as Kong would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from lupa.luajit21 import lua_type

from host.lua.convert import MAX_DEPTH, LuaConversionError

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

__all__ = [
    "definition_to_lua",
    "value_to_lua",
    "python_function_for_lua",
    "python_original",
    "null_test",
    "python_value",
]

#: the attribute of a Lua-callable wrapper naming the Python validator it stands for
_ORIGINAL = "__moongate_python_validator__"
_STATE_KEY = "schema.python_functions"
_NULL_TEST_KEY = "schema.null_test"


def null_test(host: LuaHost) -> Callable[[Any], bool]:
    """A function telling whether a Lua value is the ``ngx.null`` sentinel.

    lupa's proxies of one Lua userdata do not compare equal in Python, so the
    comparison is made in Lua (``rawequal``); it is only needed for userdata.
    """
    test = host.state.get(_NULL_TEST_KEY)
    if test is None:
        lua_test = host.compile("local null = H.null return function(v) return rawequal(v, null) end")()

        def test(value: Any) -> bool:
            return lua_type(value) == "userdata" and bool(lua_test(value))

        host.state[_NULL_TEST_KEY] = test
    return test


def python_value(host: LuaHost, value: Any, depth: int = 0) -> Any:
    """A Lua value as plain Python data, ``ngx.null`` as ``None`` (tables by shape)."""
    cls = value.__class__
    if cls is bytes:
        return value.decode("utf-8", "surrogateescape")
    if cls is int or cls is float or cls is bool or value is None:
        return value
    kind = lua_type(value)
    if kind == "userdata" and null_test(host)(value):
        return None
    if kind != "table":
        return value
    if depth >= MAX_DEPTH:
        raise LuaConversionError("table is nested too deeply (or contains a cycle)")
    items = list(value.items())
    n = len(items)
    if (
        n
        and all(k.__class__ is int for k, _ in items)
        and sorted(k for k, _ in items) == list(range(1, n + 1))
    ):
        ordered = dict(items)
        return [python_value(host, ordered[i], depth + 1) for i in range(1, n + 1)]
    return {python_value(host, k, depth + 1): python_value(host, v, depth + 1) for k, v in items}


def python_original(value: Any) -> Any:
    """The Python validator a wrapper made by :func:`python_function_for_lua` stands for, else None."""
    return getattr(value, _ORIGINAL, None) if callable(value) else None


def _result_to_lua(host: LuaHost, value: Any) -> Any:
    if value.__class__ is str:
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, Mapping | list | tuple):
        return value_to_lua(host, value)
    return value


def python_function_for_lua(host: LuaHost, fn: Callable[..., Any]) -> Callable[..., Any]:
    """A plain function Lua can call in place of the Python validator ``fn`` (one per runtime).

    Lua's arguments are converted to Python data (bytes to ``str``, tables to
    dicts/lists); the validator's ``(ok, message)`` comes back as Lua's
    ``true`` / ``nil, "message"``.  An exception in the validator is returned as
    ``nil, "<Exception>: <text>"`` rather than raised into Lua.
    """
    original = python_original(fn)
    if original is not None:
        fn = original
    cache: dict[int, tuple[Any, Callable[..., Any]]] = host.state.setdefault(_STATE_KEY, {})
    entry = cache.get(id(fn))
    if entry is not None and entry[0] is fn:
        return entry[1]

    def call_from_lua(*args: Any) -> Any:
        try:
            result = fn(*(python_value(host, a) for a in args))
        except Exception as exc:  # noqa: BLE001 - a validator failure is a value for Lua
            return None, f"{type(exc).__name__}: {exc}".encode("utf-8", "replace")
        if isinstance(result, tuple):
            return tuple(_result_to_lua(host, v) for v in result)
        return _result_to_lua(host, result)

    setattr(call_from_lua, _ORIGINAL, fn)
    call_from_lua.__doc__ = fn.__doc__
    cache[id(fn)] = (fn, call_from_lua)
    return call_from_lua


def definition_to_lua(host: LuaHost, value: Any, depth: int = 0) -> Any:
    """Python schema data (a definition, or a value under validation) as Lua data.

    Like ``host.to_lua`` except that ``None`` becomes ``ngx.null`` (dict keys holding
    ``None`` are kept) and Python functions become :func:`python_function_for_lua`
    wrappers.  Lua values are passed through unchanged.
    """
    cls = value.__class__
    if value is None:
        return host.null
    if cls is str:
        return value.encode("utf-8", "surrogateescape")
    if cls is bytes or cls is bool or cls is int or cls is float or lua_type(value) is not None:
        return value
    if depth >= MAX_DEPTH:
        raise LuaConversionError("schema data is nested too deeply (or contains a cycle)")
    if isinstance(value, Mapping):
        items = value.items()
        return host.runtime.table_from(
            {definition_to_lua(host, k, depth + 1): definition_to_lua(host, v, depth + 1) for k, v in items}
        )
    if isinstance(value, list | tuple):
        return host.runtime.table_from([definition_to_lua(host, v, depth + 1) for v in value])
    if callable(value):
        return python_function_for_lua(host, value)
    return value


#: values under validation convert the same way (``None`` stays Kong's ``null``)
value_to_lua = definition_to_lua
