"""A Lua table seen from Python as a mapping with ``str`` keys and values.

Lua plugins may put Lua tables into ``kong.ctx.shared``; Python plugins read the same
dict.  The bridge stores such a table wrapped in a :class:`LuaTableView`, so Python code
reads ``shared["t"]["n"]`` with ordinary strings, and Lua reading the key back gets the
very same Lua table (identity kept, changes visible both ways).  A view remembers the
runtime (``owner``) the table lives in: another runtime (a sandboxed plugin's) cannot
hold it and reads a copy instead (see ``host/lua/bridge.py``).
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

from lupa.luajit21 import lua_type

__all__ = ["LuaTableView", "lua_to_shared", "shared_to_lua"]


def lua_to_shared(value: Any, owner: Any = None) -> Any:
    """A Lua value as stored in a Python-visible place (tables wrapped, bytes decoded);
    ``owner``: the LuaHost whose runtime the value comes from."""
    if value.__class__ is bytes:
        return value.decode("utf-8", "surrogateescape")
    if lua_type(value) == "table":
        return LuaTableView(value, owner)
    return value


def shared_to_lua(value: Any) -> Any:
    """The inverse of :func:`lua_to_shared` for values Lua reads back."""
    if value.__class__ is LuaTableView:
        return value.table
    return value


def _key(key: Any) -> Any:
    return key.encode("utf-8", "surrogateescape") if key.__class__ is str else key


class LuaTableView(MutableMapping[Any, Any]):
    """A live view of one Lua table: string keys and values converted on access."""

    __slots__ = ("table", "owner")

    def __init__(self, table: Any, owner: Any = None) -> None:
        self.table = table
        self.owner = owner

    def __getitem__(self, key: Any) -> Any:
        value = self.table[_key(key)]
        if value is None:
            raise KeyError(key)
        return lua_to_shared(value)

    def __setitem__(self, key: Any, value: Any) -> None:
        if value.__class__ is LuaTableView:
            value = value.table
        elif value.__class__ is str:
            value = value.encode("utf-8", "surrogateescape")
        self.table[_key(key)] = value

    def __delitem__(self, key: Any) -> None:
        self.table[_key(key)] = None

    def __iter__(self) -> Iterator[Any]:
        for key in list(self.table.keys()):
            yield key.decode("utf-8", "surrogateescape") if key.__class__ is bytes else key

    def __len__(self) -> int:
        return len(list(self.table.keys()))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LuaTableView):
            return bool(self.table == other.table)
        return dict(self.items()) == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"LuaTableView({dict(self.items())!r})"
