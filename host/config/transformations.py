"""Write transformations of an entity type (Kong's schema ``transformations``, ``on_write``).

An entity's schema may list transformations that rewrite a validated entity before
it is stored: basic-auth hashes ``password`` with the consumer's id, OAuth2 hashes
``client_secret`` when ``hash_secret`` is set, and a plugin's ``daos.lua`` may declare
its own.  Each has ``input`` fields (all must be set for it to run), ``needs``
fields (dotted paths such as ``consumer.id``, all set too) and an ``on_write``
function called with those values in that order, or with the whole entity when it
names neither.  It returns a table of fields to merge into the entity, or ``nil,
err``.  The declarative loader runs them when the file has ``_transform: true``
(the default), as Kong does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["Transformation", "apply_transformations"]


@dataclass(frozen=True)
class Transformation:
    """One entry of a schema's ``transformations``."""

    on_write: Callable[..., Any]
    input: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()


def _get(data: dict[str, Any], path: str) -> Any:
    value: Any = data
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def _set(value: Any) -> bool:
    """Kong's ``is_nonempty``: not nil/null, not an empty table, not an empty string."""
    return value is not None and value != "" and not (isinstance(value, dict | list) and not value)


def _merge(top: dict[str, Any], bottom: dict[str, Any]) -> dict[str, Any]:
    out = dict(bottom)
    for key, value in top.items():
        below = bottom.get(key)
        out[key] = _merge(value, below) if isinstance(value, dict) and isinstance(below, dict) else value
    return out


def _arguments(data: dict[str, Any], transformation: Transformation) -> list[Any] | None:
    args = []
    for path in (*transformation.input, *transformation.needs):
        value = _get(data, path)
        if not _set(value):
            return None
        args.append(value)
    return args


def apply_transformations(transformations: Iterable[Transformation], data: dict[str, Any]) -> str | None:
    """Run every ``on_write`` on ``data`` in order, merging their results in place.

    Returns ``None``, or Kong's ``transformation failed: <err>`` message when one of
    them fails (``nil, err``, or an error raised); ``data`` is then left as it was.
    An ``on_write`` that returns nothing changes nothing.
    """
    current = data
    for transformation in transformations:
        if transformation.input or transformation.needs:
            args = _arguments(current, transformation)
            if args is None:
                continue
        else:
            args = [dict(current)]
        try:
            result = transformation.on_write(*args)
        except Exception as exc:  # noqa: BLE001 - a plugin's function: its failure is the entity's error
            return f"transformation failed: {exc}"
        err = None
        if isinstance(result, tuple):
            result, err = (result + (None, None))[:2]
        if err is not None:
            return f"transformation failed: {err}"
        if result is None:
            continue
        if not isinstance(result, dict):
            return "transformation failed: on_write must return a table of fields"
        current = _merge(result, current)
    if current is not data:
        data.clear()
        data.update(current)
    return None
