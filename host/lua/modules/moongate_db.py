"""Python half of ``moongate.db`` (``kong.db``): entity schemas and the rows of the snapshot.

The DAO itself is Lua (``host/lua/lua/modules/moongate.db.lua``); it asks Python for
three things, each at most once per configuration and entity:

* ``snapshot_key()``: the configuration hash of the request's snapshot (the Lua side
  keeps its indexes per hash, and remembers the hash on the request's state table);
* ``entity_meta(name)``: what a DAO needs to know of an entity's schema (primary key,
  cache key, endpoint key, unique and foreign fields), or nil for an unknown name;
* ``rows(name)``: every entity of that name in the snapshot, as Lua tables (unset
  fields absent, foreign keys as ``{id = ...}``).

Every entity is described by its :class:`~host.config.entities.EntityType`, the one
the declarative loader validates it with: core entities, the credentials of the auth
plugins, and the entities a plugin of this runtime declares in its ``daos.lua``
(:mod:`host.config.lua_daos`, read once per runtime).  Rows of plugin entities come
from ``snapshot.credentials(name)``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from host.config.credentials import CREDENTIALS
from host.config.entities import EntityType, catalog
from host.config.lua_daos import DECLARED_KEY, daos_file, load_daos
from host.config.model import CORE_ENTITIES
from host.context import current_context
from host.plugins.spec import PluginLoadError

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

__all__ = ["backing", "entity_meta", "daos_schemas", "daos_view", "meta_of", "DAOS_SCHEMAS_KEY"]

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


def meta_of(etype: EntityType) -> dict[str, Any]:
    """The DAO's view of an entity type's schema."""
    fields = _fields(etype)
    return {
        "name": etype.name,
        "primary_key": list(etype.primary_key),
        "cache_key": list(etype.cache_key) or None,
        "endpoint_key": etype.endpoint_key,
        "workspaceable": etype.workspaceable and etype.name not in _GLOBAL_ENTITIES,
        "field_order": [n for n, _ in fields],
        "fields": dict(fields),
    }


@cache
def _types() -> dict[str, EntityType]:
    return catalog(frozenset(etype.plugin for etype in CREDENTIALS if etype.plugin))


@cache
def entity_meta(name: str) -> dict[str, Any] | None:
    """The DAO's view of core or credential entity ``name``, or None when Moongate has none."""
    etype = _types().get(name)
    return None if etype is None else meta_of(etype)


def _declared(host: LuaHost) -> list[EntityType]:
    """The entity types of the runtime's plugins: those the gateway accepted when it built
    its registry, else (a runtime used alone) whatever each plugin folder's daos.lua declares."""
    accepted: list[EntityType] | None = host.state.get(DECLARED_KEY)
    if accepted is not None:
        return accepted
    types: list[EntityType] = []
    for plugin in sorted(host.plugin_dirs):
        folder = host.plugin_dirs[plugin]
        if daos_file(folder) is None:
            continue
        try:
            types.extend(load_daos(host, plugin, folder))
        except PluginLoadError as exc:
            log.error("kong.db: %s", exc)
    return types


#: where a runtime keeps kong.db's view of the daos.lua entities (``host.state``); an
#: isolated worker fills it from the gateway's ``init`` frame
DAOS_SCHEMAS_KEY = "daos_schemas"


def daos_view(declared: list[EntityType]) -> dict[str, dict[str, Any]]:
    """Entity name -> DAO view (plain data) of the entity types plugins declared; the
    first declaration wins; ``daos_plugin`` names the plugin whose ``dao`` module the Lua
    side looks up."""
    schemas: dict[str, dict[str, Any]] = {}
    for etype in declared:
        if etype.name not in CORE_ENTITIES:
            schemas.setdefault(etype.name, {**meta_of(etype), "daos_plugin": etype.plugin})
    return schemas


def daos_schemas(host: LuaHost) -> dict[str, dict[str, Any]]:
    """:func:`daos_view` of the runtime's plugins (built once per runtime)."""
    schemas: dict[str, dict[str, Any]] | None = host.state.get(DAOS_SCHEMAS_KEY)
    if schemas is None:
        schemas = host.state[DAOS_SCHEMAS_KEY] = daos_view(_declared(host))
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
        data = daos_schemas(host).get(entity) or entity_meta(entity)
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
