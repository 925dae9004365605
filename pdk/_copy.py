"""Deep copies of JSON-like data (entities, log tables), much cheaper than ``copy.deepcopy``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["copy_data"]

_IMMUTABLE = frozenset({str, int, float, bool, type(None), bytes})


def copy_data(value: Any) -> Any:
    """A deep copy of JSON-like data: dicts, lists and tuples of scalars.

    Entities, tries and ``set_serialize_value`` values are such data; this is about ten
    times cheaper than ``copy.deepcopy`` (no memo, no dispatch table).  Another mapping
    becomes a plain dict; any other object is shared, not copied.
    """
    cls = value.__class__
    if cls is dict:
        return {k: v if v.__class__ in _IMMUTABLE else copy_data(v) for k, v in value.items()}
    if cls is list:
        return [v if v.__class__ in _IMMUTABLE else copy_data(v) for v in value]
    if cls is tuple:
        return tuple(v if v.__class__ in _IMMUTABLE else copy_data(v) for v in value)
    if isinstance(value, Mapping):
        return {k: copy_data(v) for k, v in value.items()}
    return value
