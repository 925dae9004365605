"""kong.table: small table helpers (LuaJIT's ``table.new``/``table.clear`` and a shallow merge)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pdk.errors import PDKArgumentError
from pdk.phases import ANY, phase_checked

if TYPE_CHECKING:  # pragma: no cover
    from host.context import Context

__all__ = ["new", "clear", "merge"]


@phase_checked(ANY)
def new(ctx: Context, narr: int | None = None, nrec: int | None = None) -> dict[Any, Any]:
    """A new empty table; the size hints only matter to LuaJIT.

    Args:
        narr: expected array slots (ignored in Python).
        nrec: expected hash slots (ignored in Python).

    Returns:
        An empty dict.

    Example:
        Lua: local t = kong.table.new(0, 4)
        Python: t = kong.table.new(0, 4)
    """
    return {}


@phase_checked(ANY)
def clear(ctx: Context, tab: dict[Any, Any] | list[Any]) -> None:
    """Remove every element of a table, in place.

    Args:
        tab: the dict or list to empty.

    Raises:
        PDKArgumentError: ``tab`` is not a dict or list.

    Example:
        Lua: kong.table.clear(cache)
        Python: kong.table.clear(cache)
    """
    if not isinstance(tab, dict | list):
        raise PDKArgumentError("table must be a table")
    tab.clear()


@phase_checked(ANY)
def merge(ctx: Context, t1: Any = None, t2: Any = None) -> dict[Any, Any] | list[Any]:
    """A new table with the entries of ``t1`` then ``t2`` (``t2`` wins); not recursive.

    Two lists merge by index (``[1, 2, 3]`` and ``[4, 5]`` give ``[4, 5, 3]``), as Lua arrays do.

    Args:
        t1: a dict, list or None.
        t2: a dict, list or None.

    Returns:
        The merged copy.

    Raises:
        PDKArgumentError: an argument is not a dict, list or None, or a dict is merged with a list.

    Example:
        Lua: local conf = kong.table.merge(defaults, overrides)
        Python: conf = kong.table.merge(defaults, overrides)
    """
    for t in (t1, t2):
        if t is not None and not isinstance(t, dict | list):
            raise PDKArgumentError("arguments must be tables or nil")
    if isinstance(t1, list) or isinstance(t2, list):
        if isinstance(t1, dict) or isinstance(t2, dict):
            raise PDKArgumentError("cannot merge an array with a map")
        first, second = t1 or [], t2 or []
        return list(second) + list(first[len(second) :])
    return {**(t1 or {}), **(t2 or {})}
