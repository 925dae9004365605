"""Uniqueness across the whole file: unique fields, cache keys and primary keys.

Messages follow Kong's ``uniqueness violation: '<entity>' entity with <field>
set to '<value>' already declared``; for cache keys that include a parent
(plugins, targets, acls) the scope is named: ``... already declared for service
'orders'`` or ``... already declared globally``.
"""

from __future__ import annotations

import json
from typing import Any

from host.config.flatten import Item
from host.config.resolve import Index
from host.schema import Schema
from host.schema.messages import lua_str

__all__ = ["check_uniqueness", "uniqueness_message"]


def uniqueness_message(entity: str, field: str, value: Any) -> str:
    return f"uniqueness violation: '{entity}' entity with {field} set to '{lua_str(value)}' already declared"


def _hashable(value: Any) -> Any:
    """A key equal for equal values: strings and lists of strings as tuples (most values,
    no serialization), anything else as sorted-key JSON; the tags keep the kinds apart."""
    if type(value) is str:
        return ("s", value)
    if type(value) is list and all(v is None or type(v) is str for v in value):
        return ("l", *value)
    return json.dumps(value, sort_keys=True, default=str)


def _describe(index: Index, entity: str, ref_id: str) -> str:
    target = index.by_id.get(entity, {}).get(ref_id)
    label = target.label if target is not None else None
    return f"'{label.split('=', 1)[1]}'" if label else f"'{ref_id}'"


def _cache_key_message(item: Item, index: Index) -> str:
    etype = item.etype
    data = item.data or {}
    own = [k for k in etype.cache_key if k not in etype.foreign]
    scope = []
    for key in etype.cache_key:
        if key in etype.foreign:
            ref = (data.get(key) or {}).get("id")
            if ref:
                singular = etype.foreign[key][:-1]
                scope.append(f"{singular} {_describe(index, etype.foreign[key], ref)}")
    where = "for " + " and ".join(scope) if scope else "globally"
    fields = ", ".join(f"{k} set to '{lua_str(data.get(k))}'" for k in own)
    return f"uniqueness violation: '{etype.name}' entity with {fields} already declared {where}"


def check_uniqueness(items: list[Item], schemas: dict[int, Schema], index: Index) -> None:
    """Flag the second and later declarations of a unique value, cache key or id."""
    seen: dict[tuple[str, str, Any], Item] = {}
    unique_of: dict[int, list[str]] = {}  # per schema, asked once
    for item in items:
        if item.data is None:
            continue
        flagged = False
        schema = schemas.get(id(item))
        unique: list[str] = []
        if schema is not None:
            unique = unique_of.get(id(schema))  # type: ignore[assignment]
            if unique is None:
                unique = unique_of[id(schema)] = schema.unique_fields()
        for field in unique:
            value = item.data.get(field)
            if value is None:
                continue
            key = (item.entity, field, _hashable(value))
            if key in seen:
                item.error(None, uniqueness_message(item.entity, field, value))
                flagged = True
            else:
                seen[key] = item
        etype = item.etype
        if etype.cache_key and any(k in etype.foreign for k in etype.cache_key):
            parts = []
            for k in etype.cache_key:
                value = item.data.get(k)
                parts.append(
                    (value or {}).get("id") if k in etype.foreign and isinstance(value, dict) else value
                )
            key = (item.entity, "<cache key>", _hashable(parts))
            if key in seen:
                item.error(None, _cache_key_message(item, index))
                flagged = True
            else:
                seen[key] = item
        key = (item.entity, "<id>", _hashable(item.id))
        if key in seen and not flagged:
            item.error(None, uniqueness_message(item.entity, "primary key", item.id))
        seen.setdefault(key, item)
