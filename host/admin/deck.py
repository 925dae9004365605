"""``moongate config diff/sync``: what would change, with decK's semantics.

Both sides are flat entity lists in storage form: the running gateway's (from
``GET /config``) and the file's (loaded by the declarative loader, so a file that
does not validate goes nowhere).  Entities are matched by identity, not by id:
the endpoint key (service name, consumer username, ...), else the cache key with
the parents' identities (a plugin's name and scope, a target's upstream and
address), else the id.  A matched file entity takes the gateway's id, so syncing
keeps ids (and what refers to them) stable.  With a select tag both sides are
limited to entities holding it, and the gateway's other entities are kept.

Limitation: write transformations (basic-auth password hashing) use the file's
consumer ids; a credential whose consumer was created through the Admin API with
another id shows as updated at each sync.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from host.config.entities import EntityType

__all__ = ["Plan", "plan_sync", "describe"]

_IGNORED = ("created_at", "updated_at")
Lists = dict[str, list[dict[str, Any]]]


@dataclass
class Plan:
    """The result of comparing the gateway with a file."""

    target: Lists  # what the gateway must hold afterwards (all entities)
    created: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    updated: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)  # new, old
    deleted: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    @property
    def changes(self) -> int:
        return len(self.created) + len(self.updated) + len(self.deleted)


class _Identities:
    def __init__(self, lists: Lists, types: dict[str, EntityType]) -> None:
        self.types = types
        self.by_id = {(name, row["id"]): row for name, rows in lists.items() for row in rows}
        self._memo: dict[tuple[str, str], Any] = {}

    def of(self, entity: str, row: dict[str, Any]) -> Any:
        memo_key = (entity, row["id"])
        if memo_key in self._memo:
            return self._memo[memo_key]
        self._memo[memo_key] = ("id", row["id"])  # cycles end at ids
        etype = self.types.get(entity)
        ident: Any = ("id", row["id"])
        if etype is not None:
            key = etype.endpoint_key
            if key and row.get(key) is not None:
                ident = (entity, key, row[key])
            elif etype.cache_key:
                parts = []
                for name in etype.cache_key:
                    value = row.get(name)
                    if name in etype.foreign:
                        ref_id = value.get("id") if isinstance(value, dict) else None
                        parent = self.by_id.get((etype.foreign[name], ref_id)) if ref_id else None
                        value = self.of(etype.foreign[name], parent) if parent is not None else ref_id
                    parts.append(value)
                ident = (entity, *map(_hashable, parts))
        self._memo[memo_key] = ident
        return ident


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def _remap(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, dict):
        if set(value) == {"id"} and isinstance(value["id"], str):
            return {"id": ids.get(value["id"], value["id"])}
        return {k: _remap(v, ids) for k, v in value.items()}
    return value


def _tagged(row: dict[str, Any], tag: str | None) -> bool:
    return tag is None or tag in (row.get("tags") or ())


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    strip = lambda r: {k: v for k, v in r.items() if k not in _IGNORED}  # noqa: E731
    return strip(a) == strip(b)


def plan_sync(
    current: Lists, wanted: Lists, types: dict[str, EntityType], select_tag: str | None = None
) -> Plan:
    """Compare the gateway's entities (``current``) with the file's (``wanted``)."""
    here = _Identities(current, types)
    there = _Identities(wanted, types)
    scope = {name: [r for r in rows if _tagged(r, select_tag)] for name, rows in current.items()}
    index = {here.of(name, r): r for name, rows in scope.items() for r in rows}
    ids: dict[str, str] = {}
    for name, rows in wanted.items():
        for row in rows:
            match = index.get(there.of(name, row))
            if match is not None:
                ids[row["id"]] = match["id"]
    plan = Plan(target={})
    kept_ids: set[tuple[str, str]] = set()
    for name, rows in wanted.items():
        out = plan.target.setdefault(name, [])
        old_rows = {r["id"]: r for r in scope.get(name, [])}
        for row in rows:
            if not _tagged(row, select_tag):
                continue
            new = {k: _remap(v, ids) for k, v in row.items()}
            new["id"] = ids.get(row["id"], row["id"])
            old = old_rows.get(new["id"])
            if old is None:
                plan.created.append((name, new))
            else:
                for stamp in _IGNORED:  # the gateway's timestamps stay
                    if stamp in old:
                        new[stamp] = old[stamp]
                if not _same(new, old):
                    plan.updated.append((name, new, old))
            kept_ids.add((name, new["id"]))
            out.append(new)
    for name, rows in current.items():
        for row in rows:
            if (name, row["id"]) in kept_ids:
                continue
            if _tagged(row, select_tag):
                plan.deleted.append((name, row))
            else:
                plan.target.setdefault(name, []).append(row)
    return plan


def _label(entity: str, row: dict[str, Any], types: dict[str, EntityType]) -> str:
    etype = types.get(entity)
    singular = etype.singular if etype is not None else entity
    for key in (*(etype.label if etype else ()), "name", "username", "target"):
        if etype is not None and key in etype.secret:
            continue
        if row.get(key) is not None:
            return f"{singular} {row[key]} ({row['id']})"
    return f"{singular} {row['id']}"


def describe(plan: Plan, types: dict[str, EntityType]) -> list[str]:
    """decK-style lines: ``creating service orders (id)``, then a summary."""
    lines = [f"creating {_label(e, r, types)}" for e, r in plan.created]
    for entity, new, old in plan.updated:
        changed = sorted(k for k in set(new) | set(old) if k not in _IGNORED and new.get(k) != old.get(k))
        lines.append(f"updating {_label(entity, new, types)}: {', '.join(changed)}")
    lines += [f"deleting {_label(e, r, types)}" for e, r in plan.deleted]
    lines += [
        "Summary:",
        f"  Created: {len(plan.created)}",
        f"  Updated: {len(plan.updated)}",
        f"  Deleted: {len(plan.deleted)}",
    ]
    return lines
