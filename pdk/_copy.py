"""Deep copies of JSON-like data (entities, log tables), much cheaper than ``copy.deepcopy``."""

from __future__ import annotations

from typing import Any

__all__ = ["copy_data"]

_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes})


def copy_data(value: Any) -> Any:
    """A deep copy of dicts, lists and tuples of scalars (other objects are shared)."""
    cls = value.__class__
    if cls is dict:
        return {k: v if v.__class__ in _IMMUTABLE else copy_data(v) for k, v in value.items()}
    if cls is list:
        return [v if v.__class__ in _IMMUTABLE else copy_data(v) for v in value]
    if cls is tuple:
        return tuple(copy_data(v) for v in value)
    return value
