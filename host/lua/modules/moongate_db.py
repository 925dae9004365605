"""Python half of ``moongate.db`` (``kong.db``): entity schemas and the rows of the snapshot.

The DAO itself is Lua (``host/lua/lua/modules/moongate.db.lua``); it asks Python for
three things, each at most once per configuration and entity:

* ``snapshot_key()``: the configuration hash of the request's snapshot (the Lua side
  keeps its indexes per hash, and remembers the hash on the request's state table);
* ``entity_meta(name)``: what a DAO needs to know of an entity's schema (primary key,
  cache key, endpoint key, unique and foreign fields), or nil for an unknown name;
* ``rows(name)``: every entity of that name in the snapshot, as Lua tables (unset
  fields absent, foreign keys as ``{id = ...}``).

Entities a loaded plugin declares in its own ``daos.lua`` (Kong's layout: a list of
schemas with ``name``, ``primary_key``, ``cache_key``, ``endpoint_key``, ``fields``) are
described by that file, read once per runtime; their rows come from
``snapshot.credentials(name)``, so they appear once the declarative loader knows them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from lupa.luajit21 import LuaError, lua_type

from host.config.credentials import CREDENTIALS
from host.config.entities import EntityType, catalog
from host.config.model import CORE_ENTITIES
from host.context import current_context

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

__all__ = ["backing", "entity_meta", "daos_schemas"]

log = logging.getLogger("moongate.lua")

_FIELD_ATTRS = ("unique", "uuid", "reference", "required", "auto", "len_min")
#: Kong's schemas that are not workspaceable (all others are)
_GLOBAL_ENTITIES = frozenset({"ca_certificates"})

#: the plugins entity has no single schema here (each plugin brings its config schema)
_PLUGIN_FIELDS: list[tuple[str, dict[str, Any]]] = [
    ("id", {"type": "string", "uuid": True, "auto": True}),
    ("name", {"type": "string", "required": True}),
    ("instance_name", {"type": "string", "unique": True}),
    ("created_at", {"type": "integer", "auto": True}),
    ("updated_at", {"type": "integer", "auto": True}),
    ("route", {"type": "foreign", "reference": "routes"}),
    ("service", {"type": "foreign", "reference": "services"}),
    ("consumer", {"type": "foreign", "reference": "consumers"}),
    ("config", {"type": "record", "required": True}),
    ("protocols", {"type": "set", "required": True}),
    ("enabled", {"type": "boolean", "required": True}),
    ("tags", {"type": "set"}),
    ("ordering", {"type": "record"}),
]


def _fields(etype: EntityType) -> list[tuple[str, dict[str, Any]]]:
    if etype.schema is None:
        return _PLUGIN_FIELDS
    out = []
    for name, fdef in etype.schema.fields.items():
        attrs = {"type": fdef.type}
        attrs.update({k: v for k, v in fdef.attrs.items() if k in _FIELD_ATTRS and v is not None})
        out.append((name, attrs))
    return out


@cache
def _types() -> dict[str, EntityType]:
    return catalog(frozenset(etype.plugin for etype in CREDENTIALS if etype.plugin))


@cache
def entity_meta(name: str) -> dict[str, Any] | None:
    """The DAO's view of entity ``name``'s schema, or None when Moongate has no such entity."""
    etype = _types().get(name)
    if etype is None:
        return None
    fields = _fields(etype)
    return {
        "name": etype.name,
        "primary_key": ["id"],
        "cache_key": list(etype.cache_key) or None,
        "endpoint_key": etype.endpoint_key,
        "workspaceable": etype.name not in _GLOBAL_ENTITIES,
        "field_order": [n for n, _ in fields],
        "fields": dict(fields),
    }


def _daos_schema(host: LuaHost, definition: Any) -> dict[str, Any] | None:
    """The DAO's view of one schema table of a plugin's daos.lua."""
    name = host.to_python(definition[b"name"])
    if not isinstance(name, str):
        return None
    fields: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    entries = definition[b"fields"]
    for entry in entries.values() if lua_type(entries) == "table" else ():
        if lua_type(entry) != "table":
            continue
        for fname, fdef in entry.items():
            if fname.__class__ is not bytes or lua_type(fdef) != "table":
                continue
            attrs = {a: host.to_python(fdef[a.encode()]) for a in ("type", *_FIELD_ATTRS)}
            order.append(fname.decode())
            fields[fname.decode()] = {k: v for k, v in attrs.items() if isinstance(v, str | bool | int)}
    return {
        "name": name,
        "primary_key": host.to_python(definition[b"primary_key"]) or ["id"],
        "cache_key": host.to_python(definition[b"cache_key"]),
        "endpoint_key": host.to_python(definition[b"endpoint_key"]),
        "workspaceable": bool(definition[b"workspaceable"]),
        "field_order": order,
        "fields": fields,
    }


def daos_schemas(host: LuaHost) -> dict[str, dict[str, Any]]:
    """Entity name -> schema, from the daos.lua of every loaded plugin (read once per runtime)."""
    schemas: dict[str, dict[str, Any]] | None = host.state.get("daos_schemas")
    if schemas is not None:
        return schemas
    schemas = host.state["daos_schemas"] = {}
    for plugin in sorted(host.plugin_dirs):
        if not (host.plugin_dirs[plugin] / "daos.lua").is_file():
            continue
        try:
            daos = host.H.load_module(f"kong.plugins.{plugin}.daos".encode())
        except LuaError as exc:
            log.error("plugin '%s': cannot load daos.lua: %s", plugin, exc)
            continue
        for definition in daos.values() if lua_type(daos) == "table" else ():
            schema = _daos_schema(host, definition) if lua_type(definition) == "table" else None
            if schema is not None:
                schemas.setdefault(schema["name"], schema)
    return schemas


def backing(host: LuaHost) -> dict[str, Callable[..., Any]]:
    to_lua = host.to_lua
    empty = b""

    def snapshot_key() -> bytes:
        snapshot = current_context().snapshot
        if snapshot is None:
            return empty
        return snapshot.hash.encode()

    def meta(name: bytes) -> Any:
        if name.__class__ is not bytes:
            return None
        entity = name.decode("utf-8", "replace")
        data = entity_meta(entity) or daos_schemas(host).get(entity)
        return None if data is None else to_lua(data)

    def rows(name: bytes) -> Any:
        snapshot = current_context().snapshot
        entity = name.decode("utf-8", "replace")
        if snapshot is None:
            data: list[dict[str, Any]] = []
        elif entity in CORE_ENTITIES:
            data = getattr(snapshot.config, entity)
        else:
            data = snapshot.credentials(entity)
        return host.runtime.table_from([to_lua(row) for row in data])

    return {"snapshot_key": snapshot_key, "entity_meta": meta, "rows": rows}
