"""Walk a declarative document into a flat list of entity items, nested ones included.

Each :class:`Item` remembers where it was written (``services[0].routes[1]``),
its parent when nested, and collects its own errors.  Nothing is validated here
but the structure: entity arrays must be arrays of tables, ``_comment`` and
``_ignore`` are dropped, and a nested entity may not set a foreign key (the
parent's is filled in for it; an entity with several parents belongs at the top
level).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from host.config.entities import EntityType, children_of

__all__ = ["Item", "flatten", "INVALID"]

#: marks a foreign key whose reference could not be resolved
INVALID = "<invalid reference>"


@dataclass(eq=False)
class Item:
    """One entity of the file, before and after validation."""

    etype: EntityType
    path: str
    raw: dict[str, Any]
    order: int
    parent: Item | None = None
    parent_fk: str | None = None
    id: str | None = None
    refs: dict[str, str | None] = field(default_factory=dict)  # fk -> referenced id (None: unset)
    data: dict[str, Any] | None = None
    errors: list[tuple[str | None, str]] = field(default_factory=list)

    @property
    def entity(self) -> str:
        return self.etype.name

    @property
    def label(self) -> str | None:
        """``name=orders``-style identification for error lines (never a secret)."""
        for name in self.etype.label:
            value = self.raw.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool) and name not in self.etype.secret:
                return f"{name}={value}"
        value = self.raw.get("id")
        return f"id={value}" if isinstance(value, str) else None

    def error(self, field_path: str | None, message: str) -> None:
        self.errors.append((field_path, message))


class _Walker:
    def __init__(self, types: dict[str, EntityType], top_errors: list[tuple[str, str | None, str]]) -> None:
        self.types = types
        self.top_errors = top_errors  # (entity path, field, message) for structural problems
        self.items: list[Item] = []
        self._children: dict[str, dict[str, str]] = {}  # children_of, per entity name

    def section(self, name: str, entries: Any, path: str, parent: Item | None, fk: str | None) -> None:
        if entries is None:
            return
        if not isinstance(entries, list):
            if parent is None:
                self.top_errors.append(("", name, "expected an array"))
            else:
                parent.error(name, "expected an array")
            return
        for index, entry in enumerate(entries):
            if (
                name == "snis"
                and parent is not None
                and parent.entity == "certificates"
                and isinstance(entry, str)
            ):
                entry = {"name": entry}  # certificates[].snis may list plain names
            self.entity(self.types[name], entry, f"{path}{name}[{index}]", parent, fk)

    def entity(self, etype: EntityType, entry: Any, path: str, parent: Item | None, fk: str | None) -> None:
        if not isinstance(entry, dict):
            self.top_errors.append((path, None, "expected a record"))
            return
        raw = dict(entry)
        item = Item(etype=etype, path=path, raw=raw, order=len(self.items), parent=parent, parent_fk=fk)
        comment = raw.pop("_comment", None)
        if comment is not None and not isinstance(comment, str):
            item.error("_comment", "expected a string")
        ignored = raw.pop("_ignore", None)
        if ignored is not None and not isinstance(ignored, list):
            item.error("_ignore", "expected an array")
        nested = self._children.get(etype.name)
        if nested is None:
            nested = self._children[etype.name] = children_of(self.types, etype.name)
        sections = {name: raw.pop(name) for name in list(raw) if name in nested}
        if parent is not None:
            self._check_nested_keys(item, parent)
        self.items.append(item)
        for name, entries in sections.items():
            self.section(name, entries, f"{path}.", item, nested[name])

    @staticmethod
    def _check_nested_keys(item: Item, parent: Item) -> None:
        for key, ref in item.etype.foreign.items():
            if item.raw.get(key) is None:
                item.raw.pop(key, None)
                continue
            del item.raw[key]
            if key == item.parent_fk:
                item.error(
                    key, f"value must be null (it is taken from the enclosing '{parent.entity}' entry)"
                )
            else:
                item.error(
                    key,
                    f"value must be null (an entity nested in '{parent.entity}' cannot also refer to "
                    f"'{ref}'; declare it at the top level)",
                )


def flatten(
    document: dict[str, Any], types: dict[str, EntityType], top_errors: list[tuple[str, str | None, str]]
) -> list[Item]:
    """All entities of ``document`` in the order of the file, each parent before its children."""
    walker = _Walker(types, top_errors)
    for name, entries in document.items():
        if name in types:
            walker.section(name, entries, "", None, None)
    return walker.items
