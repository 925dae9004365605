"""Give every item its id and resolve its foreign keys, entity type by entity type.

Types are processed in dependency order, so when an item's references are
resolved, every entity it may refer to already has its id.  A top-level
reference is a string: the referenced entity's id or its endpoint key (service
name, consumer username, upstream name, route name, SNI name); ``{"id": ...}``
is accepted too.
"""

from __future__ import annotations

import json
from typing import Any

from host.config.entities import EntityType
from host.config.flatten import INVALID, Item
from host.config.ids import cache_key_name, content_key_name, entity_id
from host.config.upstreams import normalize_target

__all__ = ["Index", "assign"]


class Index:
    """Items by entity and id, and by entity and endpoint key (first declaration wins)."""

    def __init__(self) -> None:
        self.by_id: dict[str, dict[str, Item]] = {}
        self.by_key: dict[str, dict[str, Item]] = {}

    def add(self, item: Item) -> None:
        if isinstance(item.id, str):
            self.by_id.setdefault(item.entity, {}).setdefault(item.id, item)
        key = _endpoint_value(item)
        if key is not None:
            self.by_key.setdefault(item.entity, {}).setdefault(key, item)

    def find(self, entity: str, key: str) -> Item | None:
        """Kong's ``find_entity``: by endpoint key first, then by id."""
        return self.by_key.get(entity, {}).get(key) or self.by_id.get(entity, {}).get(key)


def _endpoint_value(item: Item) -> str | None:
    etype = item.etype
    if not etype.endpoint_key or etype.endpoint_key in etype.secret:
        return None
    value = item.raw.get(etype.endpoint_key)
    return value if isinstance(value, str) else None


def _resolve(item: Item, index: Index) -> None:
    for fk, ref in item.etype.foreign.items():
        if item.parent is not None and fk == item.parent_fk:
            item.refs[fk] = item.parent.id
            continue
        if fk not in item.raw:
            continue
        value = item.raw[fk]
        if value is None:
            item.refs[fk] = None
            continue
        if isinstance(value, dict) and len(value) == 1 and isinstance(value.get("id"), str):
            key = value["id"]
        elif isinstance(value, str):
            key = value
        else:
            item.error(fk, "expected a string")
            item.refs[fk] = INVALID
            continue
        target = index.find(ref, key)
        if target is None:
            shown = key if value is key else json.dumps(value, separators=(",", ":"))
            item.error(fk, f"invalid reference '{fk}: {shown}' (no such entry in '{ref}')")
            item.refs[fk] = INVALID
        else:
            item.refs[fk] = target.id


def _natural_name(item: Item) -> str | None:
    """The name Kong derives an id from: the cache key, else the endpoint key."""
    etype = item.etype
    if etype.cache_key:
        parts: list[str] = []
        for key in etype.cache_key:
            if key in etype.foreign:
                ref = item.refs.get(key)
                parts.append(ref if ref and ref != INVALID else "")
                continue
            value = item.raw.get(key)
            if not isinstance(value, str) or key in etype.secret:
                parts = []
                break
            parts.append(normalize_target(value) if key == "target" else value)
        if parts:
            return cache_key_name(etype.name, parts)
    return _endpoint_value(item)


def _content_fields(item: Item) -> dict[str, Any]:
    own = {k: v for k, v in item.raw.items() if k not in item.etype.foreign}
    own.update({k: v for k, v in item.refs.items()})
    return own


def assign(items: list[Item], types: dict[str, EntityType], index: Index) -> None:
    """Resolve references and set ``item.id`` for every item, type by type."""
    by_type: dict[str, list[Item]] = {name: [] for name in types}
    for item in items:
        by_type[item.entity].append(item)
    for name, etype in types.items():
        used: dict[str, int] = {}
        for item in by_type[name]:
            _resolve(item, index)
            given = item.raw.get("id")
            if given is not None:
                item.id = given if isinstance(given, str) else str(given)
            else:
                natural = _natural_name(item)
                if natural is None:
                    key = content_key_name(name, _content_fields(item), etype.secret)
                    count = used.get(key, 0)
                    used[key] = count + 1
                    natural = key if count == 0 else f"{key}#{count}"
                item.id = entity_id(name, natural)
            index.add(item)
