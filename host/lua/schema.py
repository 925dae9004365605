"""A Lua plugin's ``schema.lua`` (Kong's schema DSL) compiled into the Python schema engine.

``schema.lua`` returns a table such as::

    { name = "my-plugin", fields = {
        { consumer = typedefs.no_consumer },
        { config = { type = "record", fields = { { ttl = { type = "integer", default = 600 } } },
                     custom_validator = function(config) return true end } } } }

:func:`lua_schema_definition` converts it into the engine's definition
(:mod:`host.schema`) and builds the plugin entity schema, so Lua and Python
plugins are validated by the same code, with Kong's messages and defaults:

* field lists stay ordered lists of one-key dicts; every attribute is kept;
* ``ngx.null`` / ``cjson.null`` becomes ``None`` (Kong's ``null``: ``eq = null``
  in ``typedefs.no_consumer`` forbids consumer scoping);
* ``default`` values are converted by the field's type, so ``default = {}`` is an
  empty list for an array and an empty dict for a record or map;
* Lua functions (``custom_validator``, ``custom_entity_check.fn``, a shorthand's
  ``func``) become Python callables that call the Lua function with the value
  converted to Lua and return its results as Python data: ``true`` passes,
  ``nil, "msg"`` / ``false, "msg"`` fail with that message, and a Lua error fails
  with ``custom validator failed: LuaError: <message>``;
* validators that came from ``kong.db.schema.typedefs`` are the engine's own
  Python validators again.

A malformed schema raises :class:`~host.plugins.spec.PluginLoadError` naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lupa.luajit21 import LuaError, lua_type

from host.lua.convert import MAX_DEPTH
from host.lua.modules._schema_lua import null_test, python_original, value_to_lua
from host.plugins.spec import PluginLoadError

__all__ = ["lua_schema_definition", "LuaSchemaConverter"]

#: attributes whose value is a list, even when the Lua table is empty
_LIST_ATTRS = frozenset(
    {"one_of", "not_one_of", "between", "match_all", "match_none", "mutually_exclusive_subsets"}
)
#: entity checks whose argument is a list of field names
_LIST_CHECKS = frozenset(
    {"at_least_one_of", "only_one_of", "distinct", "mutually_required", "mutually_exclusive"}
)
_MATCH_ARGS = frozenset({"if_match", "then_match", "else_match"})



def _same(a: Any, b: Any) -> bool:
    """Equal as Lua sees it: an empty table is both an empty list and an empty dict."""
    if isinstance(a, dict | list) and isinstance(b, dict | list) and not a and not b:
        return True
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _write_back(original: dict[str, Any], changed: Any) -> None:
    """Carry the fields a Lua function set or removed in its copy of ``original`` back."""
    if not isinstance(changed, dict):
        return
    for key in [k for k, v in original.items() if k not in changed and v is not None]:
        del original[key]  # (a None never reached Lua: nil is no key there)
    for key, value in changed.items():
        if key not in original or not _same(original[key], value):
            original[key] = value

class _Bad(Exception):
    """A schema table that cannot be converted; ``path`` names the field."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)


def _join(path: str, name: Any) -> str:
    return f"{path}.{name}" if path else str(name)


def _lua_type_name(value: Any) -> str:
    """Lua's ``type(value)`` for a value that crossed into Python."""
    if value is None:
        return "nil"
    names = {bytes: "string", bool: "boolean", int: "number", float: "number"}
    return names.get(value.__class__) or lua_type(value) or "userdata"


def _lua_text(err: Any) -> str:
    text = err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err)
    return text.split("\nstack traceback:", 1)[0]


class LuaSchemaConverter:
    """Converts one plugin's schema table; Lua functions are called in that plugin's name."""

    def __init__(self, host: Any, plugin: str) -> None:
        self.host = host
        self.plugin = plugin.encode()
        self.is_null = null_test(host)

    # -- Lua functions ----------------------------------------------------------------------
    def function(self, fn: Any, path: str) -> Callable[..., Any]:
        """A Python callable running the Lua function ``fn`` (results converted to Python)."""
        host, plugin, call_direct = self.host, self.plugin, self.host.H.call_direct
        convert = self.value

        def call_lua(*args: Any) -> Any:
            tables = [value_to_lua(host, a) for a in args]
            results = call_direct(None, plugin, fn, *tables)
            if not isinstance(results, tuple):
                results = (results,)
            if not results[0]:
                raise LuaError(_lua_text(results[1] if len(results) > 1 else "error"))
            for arg, table in zip(args, tables, strict=True):
                if isinstance(arg, dict):  # a record the function changed in place, as Kong's
                    _write_back(arg, host.to_python(table))  # validators may (it is the one stored)
            values = [convert(v, path) for v in results[1:]]
            if not values:
                return None
            return values[0] if len(values) == 1 else tuple(values)

        call_lua.__qualname__ = call_lua.__name__ = f"lua:{path}"
        return call_lua

    # -- generic values ---------------------------------------------------------------------
    def value(self, value: Any, path: str, depth: int = 0) -> Any:
        """Any Lua value as Python data (tables by shape, functions wrapped)."""
        cls = value.__class__
        if cls is bytes:
            return value.decode("utf-8", "surrogateescape")
        if cls is int or cls is float or cls is bool or value is None:
            return value
        kind = lua_type(value)
        if kind is None:  # a Python object: a typedef validator comes back as itself
            original = python_original(value)
            return value if original is None else original
        if kind == "function":
            return self.function(value, path)
        if kind != "table":
            return None if self.is_null(value) else value
        if depth >= MAX_DEPTH:
            raise _Bad(path, "table is nested too deeply (or contains a cycle)")
        items = list(value.items())
        keys = [k for k, _ in items]
        n = len(items)
        if n and all(k.__class__ is int for k in keys) and min(keys) == 1 and max(keys) == n:
            ordered = dict(items)
            return [self.value(ordered[i], f"{path}[{i - 1}]", depth + 1) for i in range(1, n + 1)]
        out: dict[Any, Any] = {}
        for k, v in items:
            key = self.value(k, path, depth + 1)
            out[key] = self.value(v, _join(path, key), depth + 1)
        return out

    def sequence(self, value: Any, path: str) -> Any:
        """A list attribute: an empty table is ``[]`` (anything else converts generically)."""
        if lua_type(value) == "table" and next(iter(value.items()), None) is None:
            return []
        return self.value(value, path)

    def typed(self, fdef: dict[str, Any], value: Any, path: str, depth: int = 0) -> Any:
        """A value (a ``default``) converted by the field's type: arrays are lists, records dicts."""
        if lua_type(value) != "table" or depth >= MAX_DEPTH:
            return self.value(value, path, depth)
        ftype = fdef.get("type")
        items = list(value.items())
        if ftype in ("array", "set"):
            keys = sorted(k for k, _ in items if k.__class__ is int)
            if len(keys) == len(items) and keys == list(range(1, len(keys) + 1)):
                elements = fdef.get("elements") if isinstance(fdef.get("elements"), dict) else {}
                ordered = dict(items)
                return [self.typed(elements, ordered[i], f"{path}[{i - 1}]", depth + 1) for i in keys]
        elif ftype == "map":
            values = fdef.get("values") if isinstance(fdef.get("values"), dict) else {}
            return {
                self.value(k, path): self.typed(values, v, _join(path, self.value(k, path)), depth + 1)
                for k, v in items
            }
        elif ftype == "record":
            subfields: dict[str, Any] = {}
            for item in fdef.get("fields") or ():
                if isinstance(item, dict) and len(item) == 1:
                    subfields.update(item)
            out = {}
            for k, v in items:
                key = self.value(k, path)
                sub = subfields.get(key)
                out[key] = (
                    self.typed(sub, v, _join(path, key), depth + 1)
                    if isinstance(sub, dict)
                    else (self.value(v, _join(path, key), depth + 1))
                )
            return out
        return self.value(value, path, depth)

    # -- schema structure --------------------------------------------------------------------
    def field(self, table: Any, path: str) -> Any:
        """A field definition (also ``if_match``-style attribute tables and shorthands)."""
        if lua_type(table) != "table":
            return self.value(table, path)  # the engine reports "field definition must be a table"
        out: dict[str, Any] = {}
        default: Any = None
        has_default = False
        for k, v in table.items():
            key = self.value(k, path)
            if key == "fields":
                out[key] = self.field_list(v, path)
            elif key in ("elements", "keys", "values"):
                out[key] = self.field(v, f"{path}.{key}")
            elif key == "entity_checks":
                out[key] = self.checks(v, path)
            elif key == "shorthand_fields":
                out[key] = self.field_list(v, path, shorthand=True)
            elif key in _LIST_ATTRS:
                out[key] = self.sequence(v, _join(path, key))
            elif key == "default":
                default, has_default = v, True
            else:
                out[key] = self.value(v, _join(path, key))
        if has_default:
            out["default"] = self.typed(out, default, f"{path}.default")
        return out

    def _entries(self, table: Any, path: str, what: str) -> list[Any]:
        """The values of a Lua sequence, in order (``what`` names it in the error)."""
        items = dict(table.items())
        if not all(k.__class__ is int for k in items) or sorted(items) != list(range(1, len(items) + 1)):
            raise _Bad(path, f"'{what}' must be a list")
        return [items[i] for i in range(1, len(items) + 1)]

    def field_list(self, table: Any, path: str, *, shorthand: bool = False) -> Any:
        """``{ { name = def }, ... }`` as an ordered list of one-key dicts."""
        if lua_type(table) != "table":
            return self.value(table, path)
        what = "shorthand_fields" if shorthand else "fields"
        out = []
        for i, entry in enumerate(self._entries(table, path, what)):
            pairs = list(entry.items()) if lua_type(entry) == "table" else []
            if len(pairs) != 1:
                raise _Bad(
                    path, f"entry {i + 1} of '{what}' must be a table holding one {{ name = definition }}"
                )
            ((name, definition),) = pairs
            fname = self.value(name, path)
            out.append({fname: self.field(definition, _join(path, fname))})
        return out

    def check_argument(self, arg: Any, path: str) -> Any:
        """An entity check's argument: a list of names, or a table of names, matches and ``fn``."""
        keys = list(arg.keys()) if lua_type(arg) == "table" else []
        if not keys or not all(k.__class__ is bytes for k in keys):
            return self.sequence(arg, path)
        out: dict[str, Any] = {}
        for k, v in arg.items():
            key = self.value(k, path)
            out[key] = (
                self.field(v, _join(path, key)) if key in _MATCH_ARGS else self.sequence(v, _join(path, key))
            )
        return out

    def checks(self, table: Any, path: str) -> Any:
        """``entity_checks``: a list of ``{ check_name = argument }``."""
        if lua_type(table) != "table":
            return self.value(table, path)
        out: list[Any] = []
        for entry in self._entries(table, path, "entity_checks"):
            if lua_type(entry) != "table":
                out.append(self.value(entry, path))  # the engine names the bad entry
                continue
            converted: dict[str, Any] = {}
            for k, arg in entry.items():
                name = self.value(k, path)
                converted[name] = self.check_argument(arg, _join(path, f"entity_checks.{name}"))
            out.append(converted)
        return out

    def schema(self, table: Any) -> dict[str, Any]:
        """The whole ``schema.lua`` table."""
        if lua_type(table) != "table":
            raise _Bad("", f"schema.lua must return a table, got {_lua_type_name(table)}")
        return self.field(table, "")


def lua_schema_definition(host: Any, name: str, source: str, table: Any) -> Any:
    """Compile the table ``schema.lua`` returned into the plugin's entity :class:`~host.schema.Schema`."""
    from host.schema import plugin_entity_schema

    try:
        definition = LuaSchemaConverter(host, name).schema(table)
    except _Bad as exc:
        raise PluginLoadError(name, source, f"invalid schema: {exc}") from None
    if "fields" not in definition:
        raise PluginLoadError(name, source, "invalid schema: no 'fields' table")
    try:
        return plugin_entity_schema(name, definition)
    except Exception as exc:  # noqa: BLE001 - every definition problem is reported by plugin and field
        raise PluginLoadError(name, source, f"invalid schema: {exc}") from None
