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

__all__ = ["to_python", "to_lua", "to_str", "LuaConversionError", "MAX_DEPTH"]

#: how deeply nested a table may be before conversion gives up (cycles end here too)
MAX_DEPTH = 64


class LuaConversionError(ValueError):
    """A value cannot cross between Lua and Python (too deep, cyclic, or a function)."""


def to_str(value: Any) -> Any:
    """``bytes`` from Lua as ``str`` (other values unchanged)."""
    if value.__class__ is bytes:
        return value.decode("utf-8", "surrogateescape")
    return value


def to_python(value: Any, is_null: Callable[[Any], bool] | None = None, depth: int = 0) -> Any:
    """A Lua value as plain Python data (see the module docstring).

    ``is_null`` tells whether a userdata is the Lua sentinel that stands for JSON
    null (``cjson.null``); it becomes ``None`` (lupa's proxies of one userdata do not
    compare equal in Python, so the test runs in Lua: ``LuaHost.is_null``).
    Functions and other userdata are returned unchanged.
    """
    cls = value.__class__
    if cls is bytes:
        return value.decode("utf-8", "surrogateescape")
    if cls is int or cls is float or cls is bool or value is None:
        return value
    kind = lua_type(value)
    if kind != "table":
        if kind == "userdata" and is_null is not None and is_null(value):
            return None
        return value
    if depth >= MAX_DEPTH:
        raise LuaConversionError("table is nested too deeply (or contains a cycle)")
    items = list(value.items())
    n = len(items)
    if n and all(k.__class__ is int for k, _ in items):
        keys = sorted(k for k, _ in items)
        if keys[0] == 1 and keys[-1] == n:
            ordered = dict(items)
            return [to_python(ordered[i], is_null, depth + 1) for i in range(1, n + 1)]
    out: dict[Any, Any] = {}
    for k, v in items:
        out[to_python(k, is_null, depth + 1)] = to_python(v, is_null, depth + 1)
    return out


def to_lua(runtime: LuaRuntime, value: Any, depth: int = 0) -> Any:
    """Python data as a Lua value: ``str`` -> bytes, dict/list/tuple -> new Lua tables."""
    cls = value.__class__
    if cls is str:
        return value.encode("utf-8", "surrogateescape")
    if cls is bytes or cls is int or cls is float or cls is bool or value is None:
        return value
    if depth >= MAX_DEPTH:
        raise LuaConversionError("value is nested too deeply (or contains a cycle)")
    if isinstance(value, Mapping):
        converted = {
            to_lua(runtime, k, depth + 1): to_lua(runtime, v, depth + 1)
            for k, v in value.items()
            if v is not None
        }
        return runtime.table_from(converted)
    if isinstance(value, list | tuple):
        return runtime.table_from([to_lua(runtime, v, depth + 1) for v in value])
    if isinstance(value, str):  # str subclasses
        return str(value).encode("utf-8", "surrogateescape")
    return value
