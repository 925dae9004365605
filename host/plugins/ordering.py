"""Dynamic plugin ordering: ``ordering: {before: {access: [...]}, after: {access: [...]}}``.

Kong Enterprise's shape and scope: a plugin instance may ask to run before or after
other plugins in the ``access`` phase; every other phase keeps the static PRIORITY
order.  Both rules make the same dependency edge (``A before B`` and ``B after A``: B
waits for A).  The order is Kong's default (``legacy``) algorithm: walk the plugins
from the highest priority down; before placing one, place (recursively) everything it
waits for.  (Kong 3.16's opt-in ``priority_preserving`` algorithm is not built.)

Orders are resolved once per (route, service) plan, never per request.  A cycle is a
configuration error (:func:`ordering_errors` runs at load time for every route, so the
message names the route and the plugins).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["OrderingCycle", "ORDERED_PHASES", "access_order", "dependencies"]

#: the phases dynamic ordering applies to (Kong: access only)
ORDERED_PHASES = ("access",)


class OrderingCycle(ValueError):
    """The ordering rules of some plugins form a cycle; ``names`` lists it, first == last."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        super().__init__("ordering: cycle in access: " + " -> ".join(names))


def dependencies(entities: Iterable[dict[str, Any]], present: set[str]) -> dict[str, set[str]]:
    """``name -> names it waits for`` in ``access``, from the entities' ``ordering`` rules.

    Rules naming plugins that are not ``present`` in the chain are ignored (Kong does the
    same: a rule only constrains plugins that run together).
    """
    waits: dict[str, set[str]] = {}
    for entity in entities:
        ordering = entity.get("ordering") or {}
        name = entity["name"]
        for other in (ordering.get("before") or {}).get("access") or ():
            if other in present and other != name:
                waits.setdefault(other, set()).add(name)
        for other in (ordering.get("after") or {}).get("access") or ():
            if other in present and other != name:
                waits.setdefault(name, set()).add(other)
    return waits


def access_order(names: Sequence[str], waits: dict[str, set[str]]) -> list[str]:
    """``names`` (in priority order) reordered so each comes after what it waits for.

    Raises:
        OrderingCycle: the rules cannot all hold.
    """
    if not waits:
        return list(names)
    _check_cycles(names, waits)
    order: list[str] = []
    seen: set[str] = set()

    def place(name: str) -> None:
        if name in seen:
            return
        seen.add(name)
        for dep in sorted(waits.get(name, ()), key=names.index):
            place(dep)
        order.append(name)

    for name in names:
        place(name)
    return order


def _check_cycles(names: Sequence[str], waits: dict[str, set[str]]) -> None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        path.append(name)
        for dep in sorted(waits.get(name, ()), key=names.index):
            if state.get(dep) == 1:
                cycle = path[path.index(dep) :] + [dep]
                raise OrderingCycle(list(reversed(cycle)))
            if dep not in state:
                visit(dep)
        path.pop()
        state[name] = 2

    for name in names:
        if name not in state:
            visit(name)
