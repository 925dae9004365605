"""Values crossing between Lua and Python.

The runtime runs with ``encoding=None``: Lua strings reach Python as ``bytes`` and
Python must hand Lua ``bytes``, never ``str`` (lupa would pass a ``str`` as an opaque
userdata).  These helpers do that conversion in one place:

* :func:`to_python` turns a Lua value into plain Python data: strings become ``str``
  (UTF-8, undecodable bytes kept with ``surrogateescape`` so nothing is lost), tables
  become ``dict`` or ``list`` (a table whose keys are exactly ``1..n`` is a list), and
  the ``cjson.null`` / ``ngx.null`` sentinel becomes ``None``;
* :func:`to_lua` turns Python data into Lua values: ``str`` becomes bytes, dicts and
  lists become new Lua tables (one ``table_from`` call per table).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from lupa.luajit21 import lua_type

if TYPE_CHECKING:  # pragma: no cover
    from lupa.luajit21 import LuaRuntime

__all__ = ["to_python", "python_converter", "FLAT_LUA", "to_lua", "to_str", "LuaConversionError", "MAX_DEPTH"]

#: how deeply nested a table may be before conversion gives up (cycles end here too)
MAX_DEPTH = 64


class LuaConversionError(ValueError):
    """A value cannot cross between Lua and Python (too deep, cyclic, or a function)."""


def to_str(value: Any) -> Any:
    """``bytes`` from Lua as ``str`` (other values unchanged)."""
    if value.__class__ is bytes:
        return value.decode("utf-8", "surrogateescape")
    return value


_PLAIN = frozenset({int, float, bool, type(None)})
_LUA_PLAIN = frozenset({bytes, int, float, bool, type(None)})
#: tables with more entries than this are read pair by pair (``unpack`` has a limit)
FLAT_MAX = 3000

#: Lua source of the one-crossing table reader used by :func:`python_converter`
FLAT_LUA = b"""
local next, unpack, clear = next, unpack, require("table.clear")
local buf = {}
local function done(n, ...) clear(buf) return n, ... end
return function(t)
  local n = 0
  for k, v in next, t do
    n = n + 1
    if n > %d then clear(buf) return -1 end
    buf[2 * n - 1], buf[2 * n] = k, v
  end
  if n == 0 then return 0 end
  return done(n, unpack(buf, 1, 2 * n))
end
""" % FLAT_MAX


def to_python(value: Any, is_null: Callable[[Any], bool] | None = None, depth: int = 0) -> Any:
    """A Lua value as plain Python data (see the module docstring).

    ``is_null`` tells whether a userdata is the Lua sentinel that stands for JSON
    null (``cjson.null``); it becomes ``None`` (lupa's proxies of one userdata do not
    compare equal in Python, so the test runs in Lua: ``LuaHost.is_null``).
    Functions and other userdata are returned unchanged.  (A runtime's own converter,
    :func:`python_converter`, reads each table in one crossing.)
    """
    return python_converter(is_null)(value, depth)


def python_converter(
    is_null: Callable[[Any], bool] | None, flat: Callable[[Any], Any] | None = None
) -> Callable[..., Any]:
    """``to_python`` for one runtime: ``flat`` (the function :data:`FLAT_LUA` returns,
    compiled in that runtime) hands a table's pairs to Python in one call instead of
    one crossing per pair; scalars are converted inline, without a call each."""

    def pairs_of(table: Any) -> tuple[int, Any]:
        if flat is not None:
            res = flat(table)
            if res.__class__ is int:
                if res >= 0:
                    return 0, ()
            else:
                return res[0], res
        items = list(table.items())
        flat_items: list[Any] = [len(items)]
        for k, v in items:
            flat_items.append(k)
            flat_items.append(v)
        return len(items), flat_items

    def convert(value: Any, depth: int = 0) -> Any:
        cls = value.__class__
        if cls is bytes:
            return value.decode("utf-8", "surrogateescape")
        if cls in _PLAIN:
            return value
        kind = lua_type(value)
        if kind != "table":
            if kind == "userdata" and is_null is not None and is_null(value):
                return None
            return value
        if depth >= MAX_DEPTH:
            raise LuaConversionError("table is nested too deeply (or contains a cycle)")
        n, res = pairs_of(value)
        out: dict[Any, Any] = {}
        ints = True
        for i in range(1, 2 * n, 2):
            k = res[i]
            kc = k.__class__
            if kc is bytes:
                k = k.decode("utf-8", "surrogateescape")
                ints = False
            elif kc is not int:
                ints = False
                k = convert(k, depth + 1)
            v = res[i + 1]
            vc = v.__class__
            if vc is bytes:
                v = v.decode("utf-8", "surrogateescape")
            elif vc not in _PLAIN:
                v = convert(v, depth + 1)
            out[k] = v
        if ints and n and min(out) == 1 and max(out) == n:  # keys exactly 1..n: a list
            return [out[i] for i in range(1, n + 1)]
        return out

    return convert


def to_lua(runtime: LuaRuntime, value: Any, depth: int = 0) -> Any:
    """Python data as a Lua value: ``str`` -> bytes, dict/list/tuple -> new Lua tables."""
    cls = value.__class__
    if cls is str:
        return value.encode("utf-8", "surrogateescape")
    if cls in _LUA_PLAIN:
        return value
    if depth >= MAX_DEPTH:
        raise LuaConversionError("value is nested too deeply (or contains a cycle)")
    if cls is dict or isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        for k, v in value.items():
            vc = v.__class__
            if vc is str:
                v = v.encode("utf-8", "surrogateescape")
            elif v is None:
                continue
            elif vc not in _LUA_PLAIN:
                v = to_lua(runtime, v, depth + 1)
            kc = k.__class__
            if kc is str:
                k = k.encode("utf-8", "surrogateescape")
            elif kc not in _LUA_PLAIN:
                k = to_lua(runtime, k, depth + 1)
            out[k] = v
        return runtime.table_from(out)
    if cls is list or cls is tuple or isinstance(value, list | tuple):
        return runtime.table_from(
            [
                v.encode("utf-8", "surrogateescape")
                if v.__class__ is str
                else v
                if v.__class__ in _LUA_PLAIN
                else to_lua(runtime, v, depth + 1)
                for v in value
            ]
        )
    if isinstance(value, str):  # str subclasses
        return str(value).encode("utf-8", "surrogateescape")
    return value
