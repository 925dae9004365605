"""Kong's generated entity endpoints (``kong/api/endpoints.lua``) for every collection.

Paths, for a collection ``E`` with a foreign key ``f`` to ``P``::

    /E                  GET (list)  POST (create, 201)
    /E/{e}              GET  PUT (upsert)  PATCH  DELETE (204, also when absent)
    /E/{e}/f            GET (the referenced entity)
    /P/{p}/E            GET  POST
    /P/{p}/E/{e}        GET  PUT  PATCH  DELETE

Writes build a :class:`~host.admin.state.Planned` change; the state validates
the whole configuration with it, commits and applies.  DB-less: writes are 405
(Kong's ``operation unsupported``).
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from host.admin.body import read_body
from host.admin.collections import Collection, ConfigIndex, is_uuid
from host.admin.errors import AdminError, method_not_allowed, not_found, operation_unsupported
from host.admin.pagination import paginate
from host.admin.schemas import entity_schema
from host.admin.state import ConfigState, Planned, now
from host.schema import Schema

__all__ = ["dispatch", "Target", "resolve"]

_VERBS = {"POST": "create", "PUT": "create or update", "PATCH": "update", "DELETE": "remove"}


@dataclass
class Target:
    """What a generic path names: a collection (``ref`` None) or one entity of it."""

    coll: Collection
    parent: tuple[str, str] | None = None  # (foreign key, parent id) for nested paths
    ref: str | None = None
    fk_view: str | None = None  # /E/{e}/f: the foreign key whose entity is shown


def resolve(state: ConfigState, segments: list[str]) -> Target:
    """The target of a generic path, or 404."""
    tops = {c.path: c for c in state.collections.values() if c.path}
    if not segments or segments[0] not in tops:
        raise not_found()
    coll = tops[segments[0]]
    if len(segments) <= 2:
        return Target(coll, ref=segments[1] if len(segments) == 2 else None)
    if len(segments) == 3 and segments[2] in coll.etype.foreign:
        return Target(coll, ref=segments[1], fk_view=segments[2])
    if len(segments) > 4:
        raise not_found()
    parent_row = state.index.find(coll, segments[1])
    if parent_row is None:
        raise not_found()
    for child in state.collections.values():
        for fk, ref in child.etype.foreign.items():
            if child.nested == segments[2] and ref == coll.entity:
                return Target(child, (fk, parent_row["id"]), segments[3] if len(segments) == 4 else None)
    raise not_found()


async def dispatch(request: web.Request, state: ConfigState, segments: list[str]) -> web.Response:
    target = resolve(state, segments)
    method = request.method
    if target.fk_view is not None:
        if method != "GET":
            raise method_not_allowed()
        return _show_reference(state, target)
    if target.ref is None:
        if method == "GET":
            return _list(request, state, target)
        if method == "POST":
            _writable(state, method, target)
            return await _create(request, state, target)
        raise method_not_allowed()
    if method == "GET":
        row = state.index.find(target.coll, target.ref, target.parent)
        if row is None:
            raise not_found()
        return web.json_response(row)
    if method not in ("PUT", "PATCH", "DELETE"):
        raise method_not_allowed()
    _writable(state, method, target)
    if method == "DELETE":
        await state.write(lambda index: _delete_plan(state, index, target))
        return web.Response(status=204)
    body = await read_body(request, lambda raw: _schema(state, target, raw))
    plan = _put_plan if method == "PUT" else _patch_plan
    row = await state.write(lambda index: plan(state, index, target, body))
    return web.json_response(row)


def _writable(state: ConfigState, method: str, target: Target) -> None:
    if state.db_less:
        raise operation_unsupported(_VERBS[method], target.coll.entity)


def _schema(state: ConfigState, target: Target, raw: dict[str, Any]) -> Schema | None:
    existing = state.index.find(target.coll, target.ref, target.parent) if target.ref else None
    name = raw.get("name") or (existing or {}).get("name")
    return entity_schema(state.registry, target.coll.etype, name)


def _list(request: web.Request, state: ConfigState, target: Target) -> web.Response:
    rows = state.index.rows(target.coll.entity)
    if target.parent is not None:
        fk, parent_id = target.parent
        rows = [r for r in rows if (r.get(fk) or {}).get("id") == parent_id]
    if target.coll.entity == "consumers" and "custom_id" in request.query:
        rows = [r for r in rows if r.get("custom_id") == request.query["custom_id"]]
    return web.json_response(paginate(rows, request.query, request.path))


def _show_reference(state: ConfigState, target: Target) -> web.Response:
    row = state.index.find(target.coll, target.ref or "")
    ref = (row or {}).get(target.fk_view or "")
    if not isinstance(ref, dict):
        raise not_found()
    parent = state.index.get(target.coll.etype.foreign[target.fk_view or ""], ref.get("id", ""))
    if parent is None:
        raise not_found()
    return web.json_response(parent)


# -- planning writes -----------------------------------------------------------------------------
def _has_field(state: ConfigState, coll: Collection, name: str) -> bool:
    schema = coll.etype.schema
    return coll.entity == "plugins" if schema is None else name in schema.fields


def _prepare(
    state: ConfigState, target: Target, body: dict[str, Any], row_id: str, created: Any
) -> dict[str, Any]:
    row = dict(body)
    row["id"] = row_id
    if target.parent is not None:
        fk, parent_id = target.parent
        row[fk] = {"id": parent_id}
    for stamp, value in (("created_at", created), ("updated_at", now())):
        if _has_field(state, target.coll, stamp):
            row[stamp] = value
    return row


def _transforms(coll: Collection, body: dict[str, Any]) -> bool:
    """Whether the body sets an input of the entity's write transformations."""
    return any(name in body for t in coll.etype.transformations for name in t.input)


async def _create(request: web.Request, state: ConfigState, target: Target) -> web.Response:
    body = await read_body(request, lambda raw: _schema(state, target, raw))

    def plan(index: ConfigIndex) -> Planned:
        row_id = body.get("id") if isinstance(body.get("id"), str) else str(uuid.uuid4())
        row = _prepare(state, target, body, row_id, now())
        return Planned(
            upserts=[(target.coll.entity, row)], target=(target.coll.entity, row_id), transform=True
        )

    row = await state.write(plan)
    return web.json_response(row, status=201)


def _put_plan(state: ConfigState, index: ConfigIndex, target: Target, body: dict[str, Any]) -> Planned:
    coll, ref = target.coll, target.ref or ""
    existing = index.find(coll, ref, target.parent)
    body = dict(body)
    if not is_uuid(ref) and coll.key is not None:
        given = body.get(coll.key)
        if given is not None and given != ref:
            raise AdminError(
                400,
                {
                    "code": 2,
                    "name": "schema violation",
                    "message": f"schema violation ({coll.key}: must match the value in the URL)",
                    "fields": {coll.key: "must match the value in the URL"},
                },
            )
        body[coll.key] = ref
    if existing is not None:
        row_id, created = existing["id"], existing.get("created_at") or now()
    else:
        row_id, created = (ref if is_uuid(ref) else str(uuid.uuid4())), now()
    row = _prepare(state, target, body, row_id, created)
    return Planned(upserts=[(coll.entity, row)], target=(coll.entity, row_id), transform=True)


def _merge(base: dict[str, Any], patch: dict[str, Any], schema: Schema | None) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in patch.items():
        fdef = schema.fields.get(key) if schema is not None else None
        if (
            isinstance(value, dict)
            and isinstance(out.get(key), dict)
            and fdef is not None
            and fdef.type == "record"
        ):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out


def _patch_plan(state: ConfigState, index: ConfigIndex, target: Target, body: dict[str, Any]) -> Planned:
    coll = target.coll
    existing = index.find(coll, target.ref or "", target.parent)
    if existing is None:
        raise not_found()
    from host.store.boot import storage_row

    schema = entity_schema(state.registry, coll.etype, body.get("name") or existing.get("name"))
    row = _merge(storage_row(coll.entity, existing), body, schema)
    row["id"] = existing["id"]
    if _has_field(state, coll, "updated_at"):
        row["updated_at"] = now()
    return Planned(
        upserts=[(coll.entity, row)], target=(coll.entity, row["id"]), transform=_transforms(coll, body)
    )


def _delete_plan(state: ConfigState, index: ConfigIndex, target: Target) -> Planned:
    existing = index.find(target.coll, target.ref or "", target.parent)
    planned = Planned()
    if existing is None:
        return planned  # deletes are idempotent: 204 all the same
    pending = [(target.coll.entity, existing["id"])]
    seen: set[tuple[str, str]] = set()
    while pending:
        entity, row_id = pending.pop()
        if (entity, row_id) in seen:
            continue
        seen.add((entity, row_id))
        planned.deletes.append((entity, row_id))
        for child, child_id, fk in index.referencing(entity, row_id, state.collections):
            if state.collections[child].cascades(fk):
                pending.append((child, child_id))
            elif (child, child_id) not in seen:
                raise AdminError(
                    400,
                    {
                        "code": 4,
                        "name": "foreign key violation",
                        "message": f"an existing '{child}' entity references this '{entity}' entity",
                        "fields": {"@referenced_by": child},
                    },
                )
    return planned
